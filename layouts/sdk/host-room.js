/*
 * host-room.js — the host page's room model (sdk/host.html). Plain script,
 * loaded first, before host-frames.js and host.js.
 *
 * Owns the participants (join order, names, camera / screen tracks), one tiny
 * invisible <video> monitor per video track (the host sees frames arrive
 * whatever the layout shows: stall detection, readiness), all participant
 * audio (one <audio autoplay> per audio track), speaking levels, the active
 * speaker (with hysteresis) and the presenter, and the change feed that
 * batches changes and hands them to the layouts (host-frames.js delivers).
 *
 * Exported as window.__wfHostInternals.room (see host.js for the namespace).
 * Nothing here runs before host.js starts the connection.
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var STALL_MS = 3000;          // no frame for this long: the video counts as stalled
  var SPEAK_LEVEL = 0.4;        // level (0..1) that counts as speaking
  var SPEAK_HOLD_MS = 600;      // speaking stays on this long after the last loud level
  var LEVEL_TTL_MS = 400;       // a level older than this counts as silence
  var CANDIDATE_MS = 400;       // a new active speaker must be loudest this long
  var HOLD_MS = 1500;           // ... and the current one must have held the spot this long

  var elMonitor = document.getElementById('wf-monitor');
  var elAudio = document.getElementById('wf-audio');

  var parts = [];              // join order: see addPart()
  var monitors = {};           // mid -> {video, lastFrame, key, source}
  var audios = {};             // mid -> <audio>
  var activeKey = null, activeSince = 0, candKey = null, candSince = 0;
  var presenterKey = null;
  var firstMonitorFrameAt = 0;

  function log(level, msg) { H.host.log(level, msg); }
  function terminal() { return H.host.terminal; }

  // ------------------------------------------------------------- participants

  function keyOf(id) { return String(id); }
  function findPart(id) {
    var k = keyOf(id);
    for (var i = 0; i < parts.length; i++) if (parts[i].key === k) return parts[i];
    return null;
  }

  function addPart(id, display) {
    var p = findPart(id);
    if (p) {
      // (an empty name never clears a known one)
      if (display != null && String(display)) setName(p, display);
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
    if (terminal()) return;
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

  function clearRoom() {
    parts.slice().forEach(function (p) { removePart(p.id); });
    Object.keys(monitors).forEach(dropMonitor);
  }

  // ------------------------------------------------------------- video monitors

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
    var m = { video: v, lastFrame: 0, key: p.key, source: slot, watching: false };
    monitors[t.mid] = m;
    m.onFrame = function () {
      m.watching = false;
      if (monitors[t.mid] !== m) return;
      var first = !m.lastFrame;
      m.lastFrame = performance.now();
      if (first) firstFrame(m);
    };
    if (!v.requestVideoFrameCallback) { v.addEventListener('loadeddata', m.onFrame); v.addEventListener('timeupdate', m.onFrame); }
    watchMonitor(m);
    var pr = v.play();
    if (pr && pr.catch) pr.catch(function () { /* the recorder runs with the autoplay flag */ });
  }

  // Asked for again once a second (watchMonitors), not from every callback: each callback asks
  // for a rendering update of the page (see FRAME_WATCH_MS in layout-tiles.js).
  function watchMonitor(m) {
    if (m.watching || !m.video.requestVideoFrameCallback) return;
    m.watching = true;
    m.video.requestVideoFrameCallback(m.onFrame);
  }

  function watchMonitors() { Object.keys(monitors).forEach(function (mid) { watchMonitor(monitors[mid]); }); }

  function firstFrame(m) {
    if (!firstMonitorFrameAt) {
      firstMonitorFrameAt = m.lastFrame;
      setTimeout(H.host.checkReady, 1100);
    }
    refreshVideo();
    H.host.checkReady();
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

  // every camera and screen produced a frame (the simulated source's readiness)
  function videosStarted() {
    // no such track, or its monitor saw a frame
    function framed(slot) { return !slot || !!(monitors[slot.mid] && monitors[slot.mid].lastFrame); }
    return parts.every(function (p) { return framed(p.camera) && framed(p.screen); });
  }

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

  function removeAllAudio() { Object.keys(audios).forEach(removeAudio); }

  // ------------------------------------------------------------- speaking

  function onSpeaking(ev) {
    var p = findPart(ev.participantId);
    if (!p) return;
    p.level = Math.max(0, Math.min(1, +ev.level || 0));
    p.levelAt = performance.now();
  }

  function initialSpeaker() {
    var conn = H.host.conn;
    return conn && conn.initialSpeaker != null ? findPart(conn.initialSpeaker) : null;
  }

  // levels (stale ones count as silence) and speaking (held SPEAK_HOLD_MS);
  // fills tick.levels (changed levels only), tick.loudest, tick.flags.speaking
  function readLevels(now, tick) {
    var loudLevel = 0;
    parts.forEach(function (p) {
      var lvl = now - p.levelAt <= LEVEL_TTL_MS ? p.level : 0;
      if (Math.abs(lvl - p.sentLevel) >= 0.01) {
        p.sentLevel = lvl;
        (tick.levels = tick.levels || {})[p.key] = lvl;
      }
      if (lvl >= SPEAK_LEVEL) {
        p.speakUntil = now + SPEAK_HOLD_MS;
        if (lvl > loudLevel) { tick.loudest = p; loudLevel = lvl; }
      }
      var sp = now < p.speakUntil;
      if (sp !== p.speaking) { p.speaking = sp; tick.flags.speaking = true; }
    });
  }

  // the active speaker, with hysteresis
  function pickActive(now, loudest, flags) {
    var cur = activeKey != null ? findPart(activeKey) : null;
    if (!cur) {
      var pick = loudest || initialSpeaker() || parts[0] || null;
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
  }

  function speakerTick() {
    var now = performance.now();
    var tick = { flags: {}, levels: null, loudest: null };
    readLevels(now, tick);
    pickActive(now, tick.loudest, tick.flags);
    if (Object.keys(tick.flags).length) changed(tick.flags);
    var levels = tick.levels;
    if (levels) H.frames.eachHandler(function (h) { h.levels(levels); });
  }

  // before each delivery: an active speaker who left is replaced right away,
  // and the presenter is the latest participant to start sharing a screen
  function settleRoles(flags) {
    if (activeKey != null && !findPart(activeKey)) {
      activeKey = null;
      flags.activeSpeaker = true;
    }
    if (activeKey == null && parts.length) {
      activeKey = (initialSpeaker() || parts[0]).key;
      activeSince = performance.now();
      flags.activeSpeaker = true;
    }
    var cur = presenterKey != null ? findPart(presenterKey) : null;
    if (cur && cur.screen) return;
    var best = null;
    parts.forEach(function (p) { if (p.screen && (!best || p.screen.since > best.screen.since)) best = p; });
    var k = best ? best.key : null;
    if (k !== presenterKey) { presenterKey = k; flags.presenter = true; }
  }

  // ------------------------------------------------------------- change feed

  var pendingFlags = {};
  var flushTimer = null;
  var afterFlush = [];

  function changed(flags) {
    Object.keys(flags || {}).forEach(function (k) { if (flags[k]) pendingFlags[k] = true; });
    if (flushTimer === null) flushTimer = setTimeout(flush, 0);
  }

  function flush() {
    flushTimer = null;
    settleRoles(pendingFlags);
    H.host.updateState(pendingFlags);
    var flags = pendingFlags;
    pendingFlags = {};
    if (flags.branding) H.host.styleHost();
    H.frames.deliver(flags);
    var cbs = afterFlush;
    afterFlush = [];
    cbs.forEach(function (fn) { H.host.safe(fn, 'after-flush callback'); });
  }

  // the room as plain data, for a layout's snapshot (host-frames.js adds the rest)
  function snapshot() {
    return {
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
      presenterId: presenterKey != null && findPart(presenterKey) ? findPart(presenterKey).id : null
    };
  }

  H.room = {
    parts: parts,                          // the same array for the page's life
    findPart: findPart,
    addPart: addPart,
    removePart: removePart,
    setName: setName,
    onTrackAdded: onTrackAdded,
    onTrackRemoved: onTrackRemoved,
    onSpeaking: onSpeaking,
    clearRoom: clearRoom,
    removeAllAudio: removeAllAudio,
    refreshVideo: refreshVideo,
    watchMonitors: watchMonitors,
    videosStarted: videosStarted,
    speakerTick: speakerTick,
    changed: changed,                      // changed({flag: true, ...}): batched, delivered on a 0 ms timer
    afterNextFlush: function (fn) { afterFlush.push(fn); },
    snapshot: snapshot,
    // [{mid, track}] of every camera and screen
    videoTracks: function () {
      var out = [];
      parts.forEach(function (p) {
        ['camera', 'screen'].forEach(function (slot) { if (p[slot]) out.push({ mid: p[slot].mid, track: p[slot].track }); });
      });
      return out;
    },
    get firstMonitorFrameAt() { return firstMonitorFrameAt; }
  };
})();
