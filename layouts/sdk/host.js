/*
 * host.js — the Wallflower host page (sdk/host.html): configuration, slate,
 * page state, ready logic, bridge and connection wiring. Plain script, loaded
 * last, after host-room.js, host-frames.js, host-boxes.js, host-events.js and
 * host-overlays.js.
 *
 * The recorder (and the preview renderer) opens sdk/host.html. The host owns
 * all that must survive a layout switch: the connection (Janus connector or
 * sdk/simulated.js), the audio, the room model, call events, the slate and
 * reconnecting banner, and the bridge to the service. The layout
 * (../<name>/index.html) renders in a same-origin full-viewport <iframe>
 * through sdk/layout.js.
 *
 * Six classic scripts, one internal namespace (window.__wfHostInternals):
 *   .room      participants, tracks, monitors, audio, speaking, presenter, change feed
 *   .frames    layout iframes, switching, `auto`, __wallflowerUpdate, window.wfHost
 *   .boxes     wfHost.boxes(): tiles, branding, overlays
 *   .events    call events in (data channels, __wallflowerEvent), checks,
 *              overlay settings, call_event / event_stats
 *   .overlays  what the layouts draw (chat, reactions, slide), limits, shown-at times
 *   .host      (this file) config, layout_params checks, logging, host branding,
 *              slate, page state, ready, connection
 * Each keeps its state private and exports functions (and getters for the few
 * values others read); only start() at the end of this file sets things going.
 * Config (Wallflower.config): {recording_id, source, start, layout, layout_params,
 * branding, overlays}; see layouts/README.md. No config at all (a preview in a
 * browser): 4 simulated participants, the layout from the URL `layout`.
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var W = window.Wallflower || {
    params: {}, config: {}, ready: function () {}, end: function () {}, send: function () {},
    log: function (l, m) { try { console.log(l, m); } catch (e) { /* ignore */ } }
  };

  var B = window.WallflowerBranding;
  var normBranding = B.normalize, safeUrl = B.safeUrl;

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
  var elSlate = document.getElementById('wf-slate');
  var elBrand = elSlate.querySelector('.brand');
  var elLogo = elSlate.querySelector('.logo');
  var elBrandTitle = elSlate.querySelector('.title');
  var elBrandSub = elSlate.querySelector('.subtitle');
  var elTitle = document.getElementById('slate-title');
  var elRoom = document.getElementById('slate-room');
  var elDetail = document.getElementById('slate-detail');
  var elNotice = document.getElementById('wf-notice');
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

  var branding = normBranding(cfg.branding);

  // a live update's branding; true when it differs from the current one
  function setBranding(raw) {
    var nb = normBranding(raw);
    var differs = JSON.stringify(nb) !== JSON.stringify(branding);
    branding = nb;
    return differs;
  }

  function styleHost() {
    B.applyVariables(root, branding);
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

  // the rotated watermark must fit in 90 % of the viewport (sdk/branding.js)
  function fitWatermark() { B.fitWatermark(elWatermark); }
  window.addEventListener('resize', fitWatermark);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitWatermark);
  elLogo.addEventListener('error', function () {
    elLogo.dataset.failed = '1';
    elLogo.hidden = true;
    elBrand.classList.remove('has-logo');
  });

  // ------------------------------------------------------------- layout params

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

  // ------------------------------------------------------------- state and slate

  var terminal = false;        // error / room destroyed
  var statusSeen = false;
  var lastStatusKey = null;
  var conn = null;

  function slate(title, detail) {
    elTitle.textContent = title;
    elDetail.textContent = detail || '';
  }

  // body.dataset: participants, state (live / waiting); sets flags.state on a change
  function updateState(flags) {
    var n = H.room.parts.length;
    body.dataset.participants = String(n);
    body.classList.toggle('has-participants', n > 0 && !terminal);
    if (!terminal) {
      var s = body.dataset.state;
      var next = n > 0 ? 'live' : (s === 'connecting' ? 'connecting' : 'waiting');
      if (next !== s) {
        body.dataset.state = next;
        if (next === 'waiting') slate('Waiting for participants\u2026');
        flags.state = true;
      }
    }
  }

  function sendStatus(publishers) {
    var pubs = publishers.map(function (p) { return { id: p.id, display: p.display }; });
    var key = JSON.stringify(pubs);
    if (key === lastStatusKey) return;
    lastStatusKey = key;
    W.send('status', { waiting: pubs.length === 0, publishers: pubs });
  }

  function failWith(code, message) {
    if (terminal) return;
    terminal = true;
    body.dataset.state = 'error:' + code;
    H.room.clearRoom();
    var titles = {
      janus_unreachable: 'Cannot reach the call server',
      room_not_found: 'This room does not exist',
      auth_failed: 'Not allowed into this room',
      janus_error: 'Cannot join the call'
    };
    slate(titles[code] || 'Cannot join the call', message);
    H.room.changed({ state: true });
    W.send('error', { code: code, message: message });
  }

  // ------------------------------------------------------------- ready

  var readySent = false, readyPending = false, animating = false;

  function checkReady() {
    if (readySent || readyPending || terminal || !H.frames.layoutShown) return;
    if (simulated) {
      // (and the simulated events are drawn, or known not to be)
      if (!statusSeen || !H.room.videosStarted() || !H.overlays.settled()) return;
    } else if (startMode === 'immediately') {
      if (!statusSeen) return;
    } else {
      // first_publisher: a participant's video rendered a frame in the layout,
      // or (the layout shows no video of anyone) the host saw one a second ago
      var firstAt = H.room.firstMonitorFrameAt;
      var fallback = firstAt && performance.now() - firstAt >= 1000;
      if (!H.frames.layoutFrameSeen && !fallback) return;
    }
    readyPending = true;
    raf2(function () {
      readyPending = false;
      if (terminal || readySent) return;
      readySent = true;
      body.dataset.ready = '1';
      W.ready();
      // Animations resume once the first recorded second is on screen: whatever settles
      // right after ready (the slate leaving, a tile's first frame) snaps instead of fading.
      if (!isStatic) {
        setTimeout(function () {
          animating = true;
          root.classList.remove('wf-static');
          H.room.changed({ state: true });
        }, 1000);
      }
    });
  }

  // ------------------------------------------------------------- connect

  function onStatus(st) {
    if (terminal) return;
    var pubs = Array.isArray(st.publishers) ? st.publishers : [];
    pubs.forEach(function (p) {
      var q = H.room.findPart(p.id);
      if (q) H.room.setName(q, p.display);
    });
    if (!pubs.length) {
      body.dataset.state = 'waiting';
      slate('Waiting for participants\u2026');
    }
    statusSeen = true;
    H.room.changed({ state: true });
    sendStatus(pubs);
    checkReady();
  }

  function onIncident(ev) {
    if (ev.kind === 'connection_lost') {
      elNotice.textContent = 'Connection to the call lost \u2014 reconnecting\u2026';
      elNotice.hidden = false;
    } else {
      elNotice.hidden = true;
    }
    W.send('incident', { kind: ev.kind, message: ev.message });
  }

  function onRoomDestroyed() {
    if (terminal) return;
    terminal = true;
    body.dataset.state = 'room_destroyed';
    H.room.clearRoom();
    H.room.removeAllAudio();
    slate('The call has ended', 'The room was closed.');
    H.room.changed({ state: true });
    W.send('room_destroyed', {});
  }

  function wire(c) {
    var room = H.room;
    c.on('participant-joined', function (p) { if (!terminal) room.addPart(p.id, p.display); });
    c.on('participant-left', function (p) { room.removePart(p.id); });
    c.on('track-added', room.onTrackAdded);
    c.on('track-removed', room.onTrackRemoved);
    c.on('speaking', room.onSpeaking);
    c.on('status', onStatus);
    c.on('incident', onIncident);
    c.on('error', function (ev) { failWith(ev.code, ev.message); });
    c.on('room-destroyed', onRoomDestroyed);
    c.on('data', H.events.fromData);
  }

  // the connection for the configured source; null after failWith()
  function connect() {
    if (simulated) {
      if (!window.WallflowerSimulated) { failWith('janus_error', 'simulated source not loaded'); return null; }
      slate('Waiting for participants\u2026');
      return window.WallflowerSimulated.connect(src);
    }
    if (src.type && src.type !== 'janus') {
      failWith('janus_error', 'unsupported source type "' + src.type + '"');
      return null;
    }
    if (!window.WallflowerJanus || !window.WallflowerJanus.connect) { failWith('janus_error', 'Janus connector not loaded'); return null; }
    if (!src.server || src.room == null || src.room === '') {
      failWith('janus_error', 'config needs source.server and source.room');
      return null;
    }
    slate('Connecting\u2026');
    return window.WallflowerJanus.connect({ server: src.server, room: src.room, pin: src.pin, display: src.display });
  }

  function start() {
    styleHost();
    H.events.setOverlays(cfg.overlays);
    H.frames.start(String(cfg.layout || W.params.layout || 'grid'), objectOr(cfg.layout_params));
    var c = connect();
    if (!c) return;
    conn = c;
    wire(conn);
    window.wfConnection = conn;
  }

  H.host = {
    W: W,
    isStatic: isStatic,
    log: log,
    safe: safe,
    raf2: raf2,
    objectOr: objectOr,
    mergeParams: mergeParams,
    setBranding: setBranding,
    styleHost: styleHost,
    updateState: updateState,
    checkReady: checkReady,
    get branding() { return branding; },
    get terminal() { return terminal; },
    // layouts animate from the same moment as the host: a change in the first recorded
    // second (a tile's video restarting, a level) snaps instead of fading in on camera
    get animating() { return animating; },
    get conn() { return conn; }
  };

  setInterval(H.frames.videoTick, 250);     // stalled videos; body.dataset.videos
  setInterval(H.room.speakerTick, 100);     // levels, speaking, active speaker
  setInterval(H.room.watchMonitors, 1000);  // each video monitor's next frame
  setInterval(function () {                  // each video's simulcast layer
    if (!conn || !conn.fitVideo) return;
    safe(function () { var sizes = H.boxes.videoSizes(); if (sizes) conn.fitVideo(sizes); }, 'fitVideo');
  }, 1000);

  var roomLabel = src.room != null && src.room !== '' ? 'Room ' + src.room : (simulated ? 'Preview' : '');
  elRoom.textContent = roomLabel;
  document.title = 'Wallflower' + (roomLabel ? ' \u2014 ' + roomLabel : '');
  body.dataset.state = 'connecting';
  body.dataset.videos = '0';

  start();
})();
