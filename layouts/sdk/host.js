/*
 * host.js — the Wallflower host page (sdk/host.html). Plain script.
 *
 * The recorder (and the preview renderer) opens sdk/host.html. The host owns
 * everything that must survive a layout switch:
 *   - the connection: the Janus connector (source.type "janus") or simulated
 *     participants (source.type "simulated", sdk/simulated.js);
 *   - all participant audio (one <audio autoplay> per audio track);
 *   - the room model (participants, tracks, speaking, active speaker, presenter);
 *   - the full-screen slate (connecting, waiting, errors, the end) and the
 *     reconnecting banner, in the branding's colours;
 *   - the bridge messages to the service (status, error, room_destroyed,
 *     incident, ready, applied, apply_failed).
 * The layout (../<layout>/index.html) renders in a full-viewport same-origin
 * <iframe> and gets the room model through sdk/layout.js. Live updates
 * (window.__wallflowerUpdate) switch layout / params / branding without a
 * reload: a new layout loads underneath, and replaces the old one (short
 * crossfade) once it said ready.
 *
 * Config (Wallflower.config): {recording_id, source, start, layout,
 * layout_params, branding}; see layouts/README.md. With no config at all (a
 * preview in an ordinary browser) the source is 4 simulated participants and
 * the layout comes from the `layout` URL parameter.
 *
 * Test hooks: document.body.dataset.state | participants | videos | layout |
 * ready; window.wfHost.boxes(); window.wfConnection.
 */
(function () {
  'use strict';

  var W = window.Wallflower || {
    params: {}, config: {}, ready: function () {}, end: function () {}, send: function () {},
    log: function (l, m) { try { console.log(l, m); } catch (e) { /* ignore */ } }
  };

  var STALL_MS = 3000;          // no frame for this long: the video counts as stalled
  var SPEAK_LEVEL = 0.4;        // level (0..1) that counts as speaking
  var SPEAK_HOLD_MS = 600;      // speaking stays on this long after the last loud level
  var LEVEL_TTL_MS = 400;       // a level older than this counts as silence
  var CANDIDATE_MS = 400;       // a new active speaker must be loudest this long
  var HOLD_MS = 1500;           // ... and the current one must have held the spot this long
  var TICK_MS = 100;
  var LOAD_TIMEOUT_MS = 5000;   // a layout must say ready within this
  var FADE_MS = 250;            // crossfade on a layout switch
  var NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

  var DEFAULT_BRANDING = {
    title: '', subtitle: '', logo_url: '', logo_position: 'top-right',
    colors: { background: '#0b0e14', primary: '#5ee08f', text: '#e8ecf3' },
    font_family: '', show_names: true, watermark: '', custom_css: ''
  };
  var FONT_BASE = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' +
                  '"Noto Sans", "Noto Sans CJK JP", "Noto Color Emoji", sans-serif';

  // ------------------------------------------------------------- config

  var cfg = W.config || {};
  var preview = !cfg || typeof cfg !== 'object' || Object.keys(cfg).length === 0;
  var src = cfg.source && typeof cfg.source === 'object' ? cfg.source
    : (preview ? { type: 'simulated', participants: 4, animate: true } : {});
  var simulated = src.type === 'simulated';
  var startMode = cfg.start === 'first_publisher' ? 'first_publisher' : 'immediately';
  var isStatic = simulated && src.animate === false;

  var body = document.body;
  var root = document.documentElement;
  var elFrames = document.getElementById('wf-frames');
  var elMonitor = document.getElementById('wf-monitor');
  var elSlate = document.getElementById('wf-slate');
  var elBrand = elSlate.querySelector('.brand');
  var elLogo = elSlate.querySelector('.logo');
  var elBrandTitle = elSlate.querySelector('.title');
  var elBrandSub = elSlate.querySelector('.subtitle');
  var elTitle = document.getElementById('slate-title');
  var elRoom = document.getElementById('slate-room');
  var elDetail = document.getElementById('slate-detail');
  var elNotice = document.getElementById('wf-notice');
  var elAudio = document.getElementById('wf-audio');
  var elWatermark = elSlate.querySelector('.watermark');

  // Until capture begins nothing is recorded, so nothing animates: the first recorded frame
  // shows the final picture, not a slate or a tile halfway through fading.
  root.classList.add('wf-static');

  function log(level, msg) { try { W.log(level, '[host] ' + msg); } catch (e) { /* ignore */ } }

  function safe(fn, what) {
    try { return fn(); } catch (e) { log('warn', (what || 'call') + ' failed: ' + (e && e.message || e)); }
    return undefined;
  }

  function raf2(fn) { requestAnimationFrame(function () { requestAnimationFrame(fn); }); }

  // ------------------------------------------------------------- branding

  function isHex(c) { return typeof c === 'string' && /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(c); }
  function cleanFamily(f) { return String(f == null ? '' : f).replace(/["'\\;{}<>\n\r]/g, '').trim().slice(0, 100); }
  function safeUrl(u) { u = String(u || '').trim(); return /^(https?:|data:image\/|blob:)/i.test(u) ? u : ''; }

  function normBranding(b) {
    b = b && typeof b === 'object' && !Array.isArray(b) ? b : {};
    var c = b.colors && typeof b.colors === 'object' ? b.colors : {};
    var str = function (v) { return v == null ? '' : String(v); };
    var pos = str(b.logo_position);
    return {
      title: str(b.title),
      subtitle: str(b.subtitle),
      logo_url: str(b.logo_url),
      logo_position: /^(top|bottom)-(left|right)$/.test(pos) ? pos : DEFAULT_BRANDING.logo_position,
      colors: {
        background: isHex(c.background) ? c.background : DEFAULT_BRANDING.colors.background,
        primary: isHex(c.primary) ? c.primary : DEFAULT_BRANDING.colors.primary,
        text: isHex(c.text) ? c.text : DEFAULT_BRANDING.colors.text
      },
      font_family: cleanFamily(b.font_family),
      show_names: b.show_names !== false,
      watermark: str(b.watermark),
      custom_css: str(b.custom_css)
    };
  }

  var branding = normBranding(cfg.branding);

  function styleHost() {
    root.style.setProperty('--wf-bg', branding.colors.background);
    root.style.setProperty('--wf-primary', branding.colors.primary);
    root.style.setProperty('--wf-text', branding.colors.text);
    var f = branding.font_family;
    root.style.setProperty('--wf-font', (f ? '"' + f + '", ' : '') + FONT_BASE);
    var logo = safeUrl(branding.logo_url);
    if (logo) {
      if (elLogo.getAttribute('src') !== logo) { elLogo.dataset.failed = ''; elLogo.setAttribute('src', logo); }
      elLogo.hidden = elLogo.dataset.failed === '1';
    } else {
      elLogo.hidden = true;
      elLogo.removeAttribute('src');
    }
    elBrand.classList.toggle('has-logo', !elLogo.hidden);
    elBrand.classList.toggle('default', !branding.title);
    elBrandTitle.textContent = branding.title || 'wallflower';
    elBrandSub.textContent = branding.subtitle;
    elWatermark.textContent = branding.watermark;
    fitWatermark();
  }

  // the rotated watermark must fit in 90 % of the viewport
  function fitWatermark() {
    if (!elWatermark.textContent) return;
    var vw = window.innerWidth, vh = window.innerHeight;
    if (!vw || !vh) return;
    var base = Math.min(vw, vh) * 0.1;
    elWatermark.style.fontSize = base + 'px';
    var r = elWatermark.getBoundingClientRect();
    var k = Math.min(1, (vw * 0.9) / Math.max(1, r.width), (vh * 0.9) / Math.max(1, r.height));
    if (k < 1) elWatermark.style.fontSize = Math.max(6, base * k) + 'px';
  }
  window.addEventListener('resize', fitWatermark);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitWatermark);
  elLogo.addEventListener('error', function () {
    elLogo.dataset.failed = '1';
    elLogo.hidden = true;
    elBrand.classList.remove('has-logo');
  });

  // ------------------------------------------------------------- room model

  var parts = [];              // join order: see addPart()
  var monitors = {};           // mid -> {video, lastFrame, key, source}
  var audios = {};             // mid -> <audio>
  var activeKey = null, activeSince = 0, candKey = null, candSince = 0;
  var presenterKey = null;
  var terminal = false;        // error / room destroyed
  var statusSeen = false;
  var lastStatusKey = null;
  var firstMonitorFrameAt = 0;
  var layoutFrameSeen = false;
  var conn = null;

  function keyOf(id) { return String(id); }
  function findPart(id) {
    var k = keyOf(id);
    for (var i = 0; i < parts.length; i++) if (parts[i].key === k) return parts[i];
    return null;
  }

  function addPart(id, display) {
    var p = findPart(id);
    if (p) {
      var d = display == null ? '' : String(display);
      if (d && d !== p.display) { p.display = d; changed({ participants: true }); }
      return p;
    }
    p = {
      id: id, key: keyOf(id), display: display == null ? '' : String(display),
      camera: null, screen: null, audioMids: {},
      level: 0, levelAt: 0, sentLevel: 0, speakUntil: 0, speaking: false, hasVideo: false
    };
    parts.push(p);
    changed({ participants: true });
    return p;
  }

  function removePart(id) {
    var p = findPart(id);
    if (!p) return;
    if (p.camera) dropMonitor(p.camera.mid);
    if (p.screen) dropMonitor(p.screen.mid);
    Object.keys(p.audioMids).forEach(removeAudio);
    parts.splice(parts.indexOf(p), 1);
    changed({ participants: true, tracks: true });
  }

  function setName(p, display) {
    var d = display == null ? '' : String(display);
    if (d === p.display) return;
    p.display = d;
    changed({ participants: true });
  }

  function onTrackAdded(ev) {
    if (terminal) return;
    if (ev.kind === 'audio') {
      var pa = findPart(ev.participantId) || addPart(ev.participantId, '');
      pa.audioMids[ev.mid] = true;
      addAudio(ev);
      changed({ tracks: true });
      return;
    }
    var p = findPart(ev.participantId) || addPart(ev.participantId, '');
    var slot = ev.source === 'screen' ? 'screen' : 'camera';
    if (p[slot]) dropMonitor(p[slot].mid);
    p[slot] = { track: ev.track, stream: ev.stream, mid: String(ev.mid), since: performance.now() };
    addMonitor(p, slot);
    changed({ tracks: true });
  }

  function onTrackRemoved(ev) {
    var mid = String(ev.mid);
    var p = findPart(ev.participantId);
    if (ev.kind === 'audio') {
      removeAudio(mid);
      if (p && p.audioMids[mid]) { delete p.audioMids[mid]; changed({ tracks: true }); }
      return;
    }
    if (!p) { dropMonitor(mid); return; }
    ['camera', 'screen'].forEach(function (slot) {
      if (p[slot] && p[slot].mid === mid) {
        dropMonitor(mid);
        p[slot] = null;
        changed({ tracks: true });
      }
    });
  }

  // Tiny invisible <video> per video track: the host sees frames arrive
  // (stall detection, readiness) whatever the layout shows.
  function addMonitor(p, slot) {
    var t = p[slot];
    dropMonitor(t.mid);
    var v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    v.srcObject = t.stream;
    elMonitor.appendChild(v);
    var m = { video: v, lastFrame: 0, key: p.key, source: slot };
    monitors[t.mid] = m;
    var onFrame = function () {
      if (monitors[t.mid] !== m) return;
      var first = !m.lastFrame;
      m.lastFrame = performance.now();
      if (first) {
        if (!firstMonitorFrameAt) {
          firstMonitorFrameAt = m.lastFrame;
          setTimeout(checkReady, 1100);
        }
        refreshVideo();
        checkReady();
      }
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    else { v.addEventListener('loadeddata', onFrame); v.addEventListener('timeupdate', onFrame); }
    var pr = v.play();
    if (pr && pr.catch) pr.catch(function () { /* the recorder runs with the autoplay flag */ });
  }

  function dropMonitor(mid) {
    var m = monitors[mid];
    if (!m) return;
    delete monitors[mid];
    try { m.video.srcObject = null; } catch (e) { /* ignore */ }
    if (m.video.parentNode) m.video.parentNode.removeChild(m.video);
  }

  function frameRecent(slotObj, now) {
    var m = slotObj && monitors[slotObj.mid];
    return !!(m && m.lastFrame && now - m.lastFrame <= STALL_MS);
  }

  // hasVideo = camera present and a frame in the last 3 s
  function refreshVideo() {
    var now = performance.now();
    var any = false;
    parts.forEach(function (p) {
      var hv = frameRecent(p.camera, now);
      if (hv !== p.hasVideo) { p.hasVideo = hv; any = true; }
    });
    if (any) changed({ tracks: true });
  }

  // ------------------------------------------------------------- speaking

  function onSpeaking(ev) {
    var p = findPart(ev.participantId);
    if (!p) return;
    p.level = Math.max(0, Math.min(1, +ev.level || 0));
    p.levelAt = performance.now();
  }

  function speakerTick() {
    var now = performance.now();
    var flags = {};
    var levels = null;
    var loudest = null, loudLevel = 0;
    parts.forEach(function (p) {
      var lvl = now - p.levelAt <= LEVEL_TTL_MS ? p.level : 0;
      if (Math.abs(lvl - p.sentLevel) >= 0.01) {
        p.sentLevel = lvl;
        (levels = levels || {})[p.key] = lvl;
      }
      if (lvl >= SPEAK_LEVEL) {
        p.speakUntil = now + SPEAK_HOLD_MS;
        if (lvl > loudLevel) { loudest = p; loudLevel = lvl; }
      }
      var sp = now < p.speakUntil;
      if (sp !== p.speaking) { p.speaking = sp; flags.speaking = true; }
    });
    // active speaker, with hysteresis
    var cur = activeKey != null ? findPart(activeKey) : null;
    if (!cur) {
      var init = conn && conn.initialSpeaker != null ? findPart(conn.initialSpeaker) : null;
      var pick = loudest || init || parts[0] || null;
      var k = pick ? pick.key : null;
      if (k !== activeKey) { activeKey = k; activeSince = now; flags.activeSpeaker = true; }
      candKey = null;
    } else if (loudest && loudest !== cur) {
      if (candKey !== loudest.key) { candKey = loudest.key; candSince = now; }
      else if (now - candSince >= CANDIDATE_MS && now - activeSince >= HOLD_MS) {
        activeKey = loudest.key; activeSince = now; candKey = null;
        flags.activeSpeaker = true;
      }
    } else {
      candKey = null;
    }
    if (Object.keys(flags).length) changed(flags);
    if (levels) eachHandler(function (h) { h.levels(levels); });
  }

  function pickPresenter() {
    var cur = presenterKey != null ? findPart(presenterKey) : null;
    if (cur && cur.screen) return;
    var best = null;
    parts.forEach(function (p) { if (p.screen && (!best || p.screen.since > best.screen.since)) best = p; });
    var k = best ? best.key : null;
    if (k !== presenterKey) { presenterKey = k; pendingFlags.presenter = true; }
  }

  // ------------------------------------------------------------- change feed

  var pendingFlags = {};
  var flushTimer = null;
  var afterFlush = [];

  function changed(flags) {
    Object.keys(flags || {}).forEach(function (k) { if (flags[k]) pendingFlags[k] = true; });
    if (flushTimer === null) flushTimer = setTimeout(flush, 0);
  }

  function snapshot(job) {
    return {
      layout: job ? job.name : null,
      participants: parts.map(function (p) {
        return {
          id: p.id, display: p.display,
          camera: p.camera ? p.camera.stream : null, cameraTrack: p.camera ? p.camera.track : null,
          screen: p.screen ? p.screen.stream : null, screenTrack: p.screen ? p.screen.track : null,
          audio: Object.keys(p.audioMids).length > 0,
          level: p.sentLevel, speaking: p.speaking, hasVideo: p.hasVideo
        };
      }),
      activeSpeakerId: activeKey != null && findPart(activeKey) ? findPart(activeKey).id : null,
      presenterId: presenterKey != null && findPart(presenterKey) ? findPart(presenterKey).id : null,
      branding: branding,
      params: job ? job.params : {},
      state: body.dataset.state,
      isStatic: isStatic || !readySent
    };
  }

  function flush() {
    flushTimer = null;
    // active speaker gone (left): pick again right away
    if (activeKey != null && !findPart(activeKey)) {
      activeKey = null;
      pendingFlags.activeSpeaker = true;
    }
    if (activeKey == null && parts.length) {
      var init = conn && conn.initialSpeaker != null ? findPart(conn.initialSpeaker) : null;
      activeKey = (init || parts[0]).key;
      activeSince = performance.now();
      pendingFlags.activeSpeaker = true;
    }
    pickPresenter();
    updateState();
    var flags = pendingFlags;
    pendingFlags = {};
    if (flags.branding) styleHost();
    jobs.forEach(function (job) {
      if (!job.handler || job.dead) return;
      var snap = snapshot(job);
      var f = {};
      Object.keys(flags).forEach(function (k) { f[k] = true; });
      if (job.paramsChanged) { f.params = true; job.paramsChanged = false; }
      safe(function () { job.handler.update(snap, f); }, 'layout update');
    });
    var cbs = afterFlush;
    afterFlush = [];
    cbs.forEach(function (fn) { safe(fn, 'after-flush callback'); });
  }

  function eachHandler(fn) {
    jobs.forEach(function (job) { if (job.handler && !job.dead) safe(function () { fn(job.handler); }, 'layout call'); });
  }

  function updateState() {
    var n = parts.length;
    body.dataset.participants = String(n);
    body.classList.toggle('has-participants', n > 0 && !terminal);
    if (!terminal) {
      var s = body.dataset.state;
      var next = n > 0 ? 'live' : (s === 'connecting' ? 'connecting' : 'waiting');
      if (next !== s) {
        body.dataset.state = next;
        if (next === 'waiting') slate('Waiting for participants\u2026');
        pendingFlags.state = true;
      }
    }
  }

  // tiles showing video in the visible layout; stalled videos
  setInterval(function () {
    refreshVideo();
    var n = 0;
    if (current && current.iframe) {
      try {
        var d = current.iframe.contentDocument;
        if (d) n = d.querySelectorAll('[data-wf-participant].wf-has-video').length;
      } catch (e) { /* ignore */ }
    }
    if (body.dataset.videos !== String(n)) body.dataset.videos = String(n);
  }, 250);
  setInterval(speakerTick, TICK_MS);

  // ------------------------------------------------------------- audio

  function addAudio(ev) {
    removeAudio(String(ev.mid));
    var a = document.createElement('audio');
    a.autoplay = true;
    a.srcObject = ev.stream;
    a.dataset.participant = String(ev.participantId);
    elAudio.appendChild(a);
    audios[String(ev.mid)] = a;
    var pr = a.play();
    if (pr && pr.catch) pr.catch(function (e) { log('warn', 'audio did not start: ' + e); });
  }

  function removeAudio(mid) {
    var a = audios[mid];
    if (!a) return;
    delete audios[mid];
    try { a.srcObject = null; } catch (e) { /* ignore */ }
    if (a.parentNode) a.parentNode.removeChild(a);
  }

  // ------------------------------------------------------------- slate

  var roomLabel = src.room != null && src.room !== '' ? 'Room ' + src.room : (simulated ? 'Preview' : '');
  elRoom.textContent = roomLabel;
  document.title = 'Wallflower' + (roomLabel ? ' \u2014 ' + roomLabel : '');
  body.dataset.state = 'connecting';
  body.dataset.videos = '0';

  function slate(title, detail) {
    elTitle.textContent = title;
    elDetail.textContent = detail || '';
  }

  function sendStatus(publishers) {
    var pubs = publishers.map(function (p) { return { id: p.id, display: p.display }; });
    var key = JSON.stringify(pubs);
    if (key === lastStatusKey) return;
    lastStatusKey = key;
    W.send('status', { waiting: pubs.length === 0, publishers: pubs });
  }

  function clearRoom() {
    parts.slice().forEach(function (p) { removePart(p.id); });
    Object.keys(monitors).forEach(dropMonitor);
  }

  function failWith(code, message) {
    if (terminal) return;
    terminal = true;
    body.dataset.state = 'error:' + code;
    clearRoom();
    var titles = {
      janus_unreachable: 'Cannot reach the call server',
      room_not_found: 'This room does not exist',
      auth_failed: 'Not allowed into this room',
      janus_error: 'Cannot join the call'
    };
    slate(titles[code] || 'Cannot join the call', message);
    changed({ state: true });
    W.send('error', { code: code, message: message });
  }

  // ------------------------------------------------------------- ready

  var readySent = false, readyPending = false;

  function simulatedFramesIn() {
    return parts.every(function (p) {
      return (!p.camera || frameRecent(p.camera, performance.now()) || (monitors[p.camera.mid] && monitors[p.camera.mid].lastFrame)) &&
             (!p.screen || (monitors[p.screen.mid] && monitors[p.screen.mid].lastFrame));
    });
  }

  function checkReady() {
    if (readySent || readyPending || terminal || !layoutShown) return;
    if (simulated) {
      if (!statusSeen || !simulatedFramesIn()) return;
    } else if (startMode === 'immediately') {
      if (!statusSeen) return;
    } else {
      // first_publisher: a participant's video rendered a frame in the layout,
      // or (the layout shows no video of anyone) the host saw one a second ago
      var fallback = firstMonitorFrameAt && performance.now() - firstMonitorFrameAt >= 1000;
      if (!layoutFrameSeen && !fallback) return;
    }
    readyPending = true;
    raf2(function () {
      readyPending = false;
      if (terminal || readySent) return;
      readySent = true;
      body.dataset.ready = '1';
      W.ready();
      if (!isStatic) {
        root.classList.remove('wf-static');
        changed({ state: true });
      }
    });
  }

  // ------------------------------------------------------------- layouts

  var jobs = [];               // live layout frames: the current one, one being loaded, one leaving
  var current = null;          // visible
  var pending = null;          // loading
  var layoutShown = false;     // the first layout is visible
  var jobSeq = 0;
  var initialName = String(cfg.layout || W.params.layout || 'grid');
  var requested = { name: initialName, raw: objectOr(cfg.layout_params) };
  var tried = {};              // names that failed while nothing was visible

  function objectOr(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }

  function coerce(v, spec) {
    if (v === undefined || v === null) return undefined;
    var t = spec.type;
    var out;
    if (t === 'boolean') {
      if (typeof v === 'boolean') out = v;
      else if (v === 'true' || v === '1') out = true;
      else if (v === 'false' || v === '0') out = false;
    } else if (t === 'number' || t === 'integer') {
      var n = typeof v === 'number' ? v : (typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
      if (isFinite(n)) {
        out = t === 'integer' ? Math.round(n) : n;
        if (typeof spec.minimum === 'number' && out < spec.minimum) out = undefined;
        else if (typeof spec.maximum === 'number' && out > spec.maximum) out = undefined;
      }
    } else {
      out = typeof v === 'string' ? v : (typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
      if (out !== undefined && typeof spec.max_length === 'number' && out.length > spec.max_length) out = undefined;
    }
    if (out !== undefined && Array.isArray(spec.enum) && spec.enum.indexOf(out) < 0) out = undefined;
    return out;
  }

  // request's layout_params over layout.json defaults
  function mergeParams(meta, raw) {
    var spec = meta && meta.params && typeof meta.params === 'object' ? meta.params : {};
    var out = {};
    raw = objectOr(raw);
    Object.keys(raw).forEach(function (k) { if (!spec[k]) out[k] = raw[k]; });
    Object.keys(spec).forEach(function (k) {
      var s = spec[k] && typeof spec[k] === 'object' ? spec[k] : {};
      var v = coerce(raw[k], s);
      if (v === undefined && raw[k] !== undefined) log('warn', 'layout param "' + k + '": invalid value, using the default');
      out[k] = v !== undefined ? v : (s['default'] !== undefined ? s['default'] : null);
    });
    return out;
  }

  function findJob(win) {
    for (var i = 0; i < jobs.length; i++) {
      var j = jobs[i];
      try { if (j.iframe && j.iframe.contentWindow === win) return j; } catch (e) { /* ignore */ }
    }
    return null;
  }

  // fromUpdate: loaded for __wallflowerUpdate (answered with applied /
  // apply_failed), not the initial layout
  function loadLayout(name, revision, fromUpdate) {
    var job = { id: ++jobSeq, name: name, revision: revision, fromUpdate: !!fromUpdate, iframe: null, handler: null,
                meta: null, params: {}, dead: false, timer: null, paramsChanged: false };
    jobs.push(job);
    pending = job;
    job.timer = setTimeout(function () {
      failJob(job, 'layout "' + name + '" did not become ready within ' + LOAD_TIMEOUT_MS / 1000 + ' s');
    }, LOAD_TIMEOUT_MS);
    if (!NAME_RE.test(name)) {
      setTimeout(function () { failJob(job, 'invalid layout name "' + name + '"'); }, 0);
      return job;
    }
    var base = '../' + encodeURIComponent(name) + '/';
    var metaP;
    try {
      metaP = fetch(base + 'layout.json', { cache: 'no-store' }).then(function (r) {
        if (!r.ok) throw new Error('layout "' + name + '" not found (layout.json: HTTP ' + r.status + ')');
        return r.json().catch(function () { throw new Error('layout "' + name + '": layout.json is not valid JSON'); });
      });
    } catch (e) { metaP = Promise.reject(e); }
    metaP.then(function (meta) {
      if (job.dead) return;
      job.meta = meta && typeof meta === 'object' ? meta : {};
      job.params = mergeParams(job.meta, requested.raw);
      var f = document.createElement('iframe');
      f.className = 'wf-layout';
      f.setAttribute('title', name);
      f.setAttribute('scrolling', 'no');
      job.iframe = f;
      f.addEventListener('load', function () {
        setTimeout(function () {
          if (!job.dead && !job.handler) failJob(job, 'layout "' + name + '": index.html did not load the layout SDK (sdk/layout.js), or the page is missing');
        }, 200);
      });
      f.src = base + 'index.html';
      elFrames.insertBefore(f, elFrames.firstChild);   // underneath the current one
    }, function (e) {
      failJob(job, e && e.message ? e.message : String(e));
    });
    return job;
  }

  function removeJob(job) {
    if (!job) return;
    job.dead = true;
    clearTimeout(job.timer);
    var i = jobs.indexOf(job);
    if (i >= 0) jobs.splice(i, 1);
    if (job.iframe && job.iframe.parentNode) job.iframe.parentNode.removeChild(job.iframe);
    if (pending === job) pending = null;
  }

  function failJob(job, message) {
    if (job.dead) return;
    removeJob(job);
    log('warn', message);
    if (job.fromUpdate) W.send('apply_failed', { revision: job.revision, message: message });
    if (!current && !pending) {
      // nothing on screen yet: fall back to the configured layout, then grid
      tried[job.name] = true;
      var next = !tried[initialName] ? initialName : (!tried.grid ? 'grid' : null);
      if (next) {
        log('warn', 'falling back to layout "' + next + '"');
        requested.name = next;
        loadLayout(next, null, false);
      } else log('error', 'no layout could be loaded');
    }
  }

  function swapIn(job) {
    clearTimeout(job.timer);
    if (pending === job) pending = null;
    var old = current;
    current = job;
    job.iframe.classList.add('wf-current');
    var shown = function () {
      if (job.dead) return;
      body.dataset.layout = job.name;
      if (job.fromUpdate) W.send('applied', { revision: job.revision, layout: job.name });
      if (!layoutShown) { layoutShown = true; checkReady(); }
    };
    if (!old) { raf2(shown); return; }
    old.iframe.classList.remove('wf-current');
    if (isStatic) {
      removeJob(old);
      raf2(shown);
      return;
    }
    old.dead = true;
    old.iframe.classList.add('wf-leaving');
    setTimeout(function () {
      removeJob(old);
      requestAnimationFrame(shown);
    }, FADE_MS + 20);
  }

  // ------------------------------------------------------------- live updates

  function applyUpdate(settings) {
    var s = settings;
    if (typeof s === 'string') { try { s = JSON.parse(s); } catch (e) { s = null; } }
    if (!s || typeof s !== 'object' || Array.isArray(s)) {
      log('warn', 'ignoring an update that is not an object');
      return false;
    }
    var revision = s.revision == null ? null : s.revision;
    var brandingChanged = false;
    if (s.branding !== undefined) {
      var nb = normBranding(s.branding);
      brandingChanged = JSON.stringify(nb) !== JSON.stringify(branding);
      branding = nb;
    }
    var paramsGiven = s.layout_params !== undefined;
    if (paramsGiven) requested.raw = objectOr(s.layout_params);
    if (s.layout != null && s.layout !== '') requested.name = String(s.layout);
    var name = requested.name;
    var supersede = function (job) {
      if (job.fromUpdate && job.revision !== revision) {
        W.send('apply_failed', { revision: job.revision, message: 'superseded by revision ' + revision });
      }
    };

    if (brandingChanged) changed({ branding: true });

    if (pending && pending.name === name) {
      // the layout being loaded already: it picks up the new settings
      supersede(pending);
      pending.revision = revision;
      pending.fromUpdate = true;
      if (pending.meta) { pending.params = mergeParams(pending.meta, requested.raw); pending.paramsChanged = true; changed({}); }
      return true;
    }
    if (pending) {
      var old = pending;
      removeJob(old);
      supersede(old);
    }
    if (current && current.name === name) {
      // same layout: tell it (params / branding) in place
      var np = mergeParams(current.meta, requested.raw);
      if (JSON.stringify(np) !== JSON.stringify(current.params)) { current.params = np; current.paramsChanged = true; }
      var job = current;
      afterFlush.push(function () {
        raf2(function () {
          if (!job.dead) W.send('applied', { revision: revision, layout: job.name });
        });
      });
      changed({});
      return true;
    }
    loadLayout(name, revision, true);
    return true;
  }

  window.__wallflowerUpdate = function (settings) {
    try { return applyUpdate(settings); } catch (e) {
      try { log('error', 'update failed: ' + (e && e.message || e)); } catch (e2) { /* ignore */ }
      return false;
    }
  };

  // ------------------------------------------------------------- test hooks

  function displayed(el, win) {
    var r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    var cs = win.getComputedStyle(el);
    return cs.display !== 'none' && cs.visibility !== 'hidden' && parseFloat(cs.opacity) > 0;
  }

  function rnd(v) { return Math.round(v * 100) / 100; }

  function boxes() {
    var out = { width: window.innerWidth, height: window.innerHeight, layout: body.dataset.layout || null, tiles: [], brand: [] };
    var job = current;
    if (!job || !job.iframe) return out;
    var d, win;
    try { d = job.iframe.contentDocument; win = job.iframe.contentWindow; } catch (e) { return out; }
    if (!d || !win) return out;
    // report where things end up, not where a transition currently has them
    try { d.getAnimations().forEach(function (a) { try { a.finish(); } catch (e) { /* infinite */ } }); } catch (e) { /* ignore */ }
    var off = job.iframe.getBoundingClientRect();
    Array.prototype.forEach.call(d.querySelectorAll('[data-wf-participant]'), function (el) {
      if (!displayed(el, win)) return;
      var r = el.getBoundingClientRect();
      var id = el.getAttribute('data-wf-participant');
      var label = el.querySelector('[data-wf-name]');
      var overflow = false, name = '', lbox = null;
      if (label) {
        var txt = label.querySelector('.wf-name-text') || label;
        name = txt.textContent;
        if (displayed(label, win)) {
          var lr = label.getBoundingClientRect();
          // snapped inward to whole pixels: cropping a screenshot at (x, y, w, h)
          // gives only pixels of the label
          var lx = Math.ceil(lr.left + off.left - 0.001), ly = Math.ceil(lr.top + off.top - 0.001);
          lbox = { x: lx, y: ly, w: Math.max(0, Math.floor(lr.right + off.left + 0.001) - lx),
                   h: Math.max(0, Math.floor(lr.bottom + off.top + 0.001) - ly) };
          overflow = lr.left < r.left - 0.5 || lr.top < r.top - 0.5 || lr.right > r.right + 0.5 || lr.bottom > r.bottom + 0.5;
        }
      }
      if (!name) { var p = findPart(id); name = p ? p.display : ''; }
      out.tiles.push({ id: id, name: name, role: el.getAttribute('data-wf-role') || 'tile',
                       source: el.getAttribute('data-wf-source') || 'camera',
                       x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height),
                       label: lbox, name_overflows: overflow });
    });
    Array.prototype.forEach.call(d.querySelectorAll('[data-wf-brand]'), function (el) {
      if (!displayed(el, win)) return;
      var r = el.getBoundingClientRect();
      var kind = el.getAttribute('data-wf-brand');
      out.brand.push({ kind: kind, text: kind === 'logo' ? (el.getAttribute('src') || '') : el.textContent,
                       x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height) });
    });
    return out;
  }

  window.wfHost = {
    boxes: function () { try { return boxes(); } catch (e) { return { error: String(e && e.message || e) }; } },
    update: function (s) { return window.__wallflowerUpdate(s); },
    // feeds an event (chat, reactions, slides: later) to the layouts' on('event')
    event: function (ev) { eachHandler(function (h) { h.event(ev); }); },
    snapshot: function () {
      var s = snapshot(current);
      s.participants.forEach(function (p) {
        p.camera = !!p.camera; p.screen = !!p.screen; delete p.cameraTrack; delete p.screenTrack;
      });
      return s;
    },
    get layout() { return current ? current.name : null; },

    // --- for sdk/layout.js (same origin) ---
    _register: function (win, handler) {
      var job = findJob(win);
      if (!job || job.dead) return null;
      job.handler = handler;
      return snapshot(job);
    },
    _layoutReady: function (win) {
      var job = findJob(win);
      if (!job || job.dead) return;
      if (job === pending) swapIn(job);
    },
    _videoFrame: function (win) {
      var job = findJob(win);
      if (!job || job.dead) return;
      if (!layoutFrameSeen) { layoutFrameSeen = true; checkReady(); }
    }
  };

  // ------------------------------------------------------------- connect

  function wire(c) {
    c.on('participant-joined', function (p) { if (!terminal) addPart(p.id, p.display); });
    c.on('participant-left', function (p) { removePart(p.id); });
    c.on('track-added', onTrackAdded);
    c.on('track-removed', onTrackRemoved);
    c.on('speaking', onSpeaking);

    c.on('status', function (st) {
      if (terminal) return;
      var pubs = Array.isArray(st.publishers) ? st.publishers : [];
      pubs.forEach(function (p) {
        var q = findPart(p.id);
        if (q) setName(q, p.display);
      });
      if (!pubs.length) {
        body.dataset.state = 'waiting';
        slate('Waiting for participants\u2026');
      }
      statusSeen = true;
      changed({ state: true });
      sendStatus(pubs);
      checkReady();
    });

    c.on('incident', function (ev) {
      if (ev.kind === 'connection_lost') {
        elNotice.textContent = 'Connection to the call lost \u2014 reconnecting\u2026';
        elNotice.hidden = false;
      } else {
        elNotice.hidden = true;
      }
      W.send('incident', { kind: ev.kind, message: ev.message });
    });

    c.on('error', function (ev) { failWith(ev.code, ev.message); });

    c.on('room-destroyed', function () {
      if (terminal) return;
      terminal = true;
      body.dataset.state = 'room_destroyed';
      clearRoom();
      Object.keys(audios).forEach(removeAudio);
      slate('The call has ended', 'The room was closed.');
      changed({ state: true });
      W.send('room_destroyed', {});
    });

    c.on('data', function (ev) {
      try { console.debug('[host] data from ' + (ev.participantId == null ? '?' : ev.participantId) + ': ' + String(ev.data).slice(0, 200)); } catch (e) { /* ignore */ }
    });
  }

  function start() {
    styleHost();
    loadLayout(requested.name, null, false);
    if (simulated) {
      if (!window.WallflowerSimulated) { failWith('janus_error', 'simulated source not loaded'); return; }
      slate('Waiting for participants\u2026');
      conn = window.WallflowerSimulated.connect(src);
    } else {
      if (src.type && src.type !== 'janus') {
        failWith('janus_error', 'unsupported source type "' + src.type + '"');
        return;
      }
      if (!window.WallflowerJanus) { failWith('janus_error', 'Janus connector not loaded'); return; }
      if (!src.server || src.room == null || src.room === '') {
        failWith('janus_error', 'config needs source.server and source.room');
        return;
      }
      slate('Connecting\u2026');
      conn = window.WallflowerJanus.connect({ server: src.server, room: src.room, pin: src.pin, display: src.display });
    }
    wire(conn);
    window.wfConnection = conn;
  }

  start();
})();
