/*
 * Wallflower grid layout: every publisher of a Janus VideoRoom in equal 16:9
 * tiles, a "Waiting for participants…" slate while nobody publishes, all audio
 * played into the page. See layouts/README.md.
 *
 * Config (Wallflower.config):
 *   {recording_id, source: {type: "janus", server, room, pin, display},
 *    start: "immediately" | "first_publisher"}
 *
 * Bridge messages sent (Wallflower.send):
 *   status         {waiting, publishers: [{id, display}]}  on every change of the publisher set
 *   error          {code, message}                         fatal connector error
 *   room_destroyed {}
 *   incident       {kind, message}                         connection_lost / connection_restored
 * and Wallflower.ready() (see README for when).
 *
 * For tests: document.body.dataset.state is connecting | waiting | live |
 * error:<code> | room_destroyed; dataset.participants is the tile count;
 * dataset.videos the number of tiles showing video frames.
 */
(function () {
  'use strict';

  var W = window.Wallflower || {
    params: {}, config: {}, ready: function () {}, end: function () {}, send: function () {},
    log: function (l, m) { console.log(l, m); }
  };
  var cfg = W.config || {};
  var src = cfg.source || {};
  var startMode = cfg.start === 'first_publisher' ? 'first_publisher' : 'immediately';

  var STALL_MS = 3000;        // no new video frame for this long: show initials instead
  var SPEAK_LEVEL = 0.4;      // speaking level (0..1) that lights the border
  var SPEAK_HOLD_MS = 600;

  var elStage = document.getElementById('stage');
  var elTitle = document.getElementById('slate-title');
  var elRoom = document.getElementById('slate-room');
  var elDetail = document.getElementById('slate-detail');
  var elNotice = document.getElementById('notice');
  var elAudio = document.getElementById('audio');

  var tiles = [];             // in join order: {id, display, el, video, videoMid, lastFrame, speakUntil, ...}
  var audios = {};            // mid -> <audio>
  var lastStatusKey = null;
  var terminal = false;       // error / room destroyed
  var readyPending = false;

  var roomLabel = src.room != null && src.room !== '' ? 'Room ' + src.room : '';
  elRoom.textContent = roomLabel;
  document.title = 'Wallflower' + (roomLabel ? ' — ' + roomLabel : '');

  function setState(s) { document.body.dataset.state = s; }
  document.body.dataset.videos = '0';

  // --------------------------------------------------------------- ready

  function readySoon() {
    if (readyPending) return;
    readyPending = true;
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        if (terminal) return;
        W.ready();
      });
    });
  }

  // --------------------------------------------------------------- tiles

  function findTile(id) {
    for (var i = 0; i < tiles.length; i++) if (String(tiles[i].id) === String(id)) return tiles[i];
    return null;
  }

  // First letter (or digit) of the first and last word; else the first character.
  function initials(name) {
    var text = String(name || '').trim();
    var firsts = text.split(/\s+/).map(function (w) {
      var m = w.match(/[\p{L}\p{N}]/u);
      return m ? m[0] : '';
    }).filter(Boolean);
    if (!firsts.length) return Array.from(text)[0] || '?';
    var out = firsts[0] + (firsts.length > 1 ? firsts[firsts.length - 1] : '');
    return out.toUpperCase();
  }

  function avatarColour(key) {
    var h = 0;
    key = String(key);
    for (var i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    return 'hsl(' + (h % 360) + ', 42%, 42%)';
  }

  function addTile(id, display) {
    var t = findTile(id);
    if (t) { setName(t, display); return t; }
    var el = document.createElement('div');
    el.className = 'tile';
    el.dataset.id = String(id);
    var avatar = document.createElement('div');
    avatar.className = 'avatar';
    var ini = document.createElement('div');
    ini.className = 'initials';
    avatar.appendChild(ini);
    var name = document.createElement('div');
    name.className = 'name';
    el.appendChild(avatar);
    el.appendChild(name);
    t = { id: id, display: '', el: el, ini: ini, name: name, video: null, videoMid: null, lastFrame: 0, speakUntil: 0 };
    setName(t, display);
    tiles.push(t);
    elStage.appendChild(el);
    update();
    return t;
  }

  function setName(t, display) {
    t.display = display == null ? '' : String(display);
    t.name.textContent = t.display || 'Guest';
    t.name.hidden = false;
    t.ini.textContent = initials(t.display);
    t.el.style.setProperty('--avatar', avatarColour(t.display || t.id));
  }

  function removeTile(id) {
    var t = findTile(id);
    if (!t) return;
    dropVideo(t);
    tiles.splice(tiles.indexOf(t), 1);
    if (t.el.parentNode) t.el.parentNode.removeChild(t.el);
    update();
  }

  function setVideo(t, ev) {
    dropVideo(t);
    var v = document.createElement('video');
    v.autoplay = true;
    v.muted = true;           // sound is played by the <audio> elements
    v.playsInline = true;
    v.srcObject = ev.stream;
    t.el.insertBefore(v, t.el.firstChild);
    t.video = v;
    t.videoMid = ev.mid;
    t.el.classList.toggle('screen', ev.source === 'screen');
    var onFrame = function () {
      if (t.video !== v) return;
      t.lastFrame = performance.now();
      if (!t.el.classList.contains('has-video')) {
        t.el.classList.add('has-video');
        countVideos();
        if (startMode === 'first_publisher') readySoon();
      }
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    else {
      v.addEventListener('loadeddata', onFrame);
      v.addEventListener('timeupdate', onFrame);
    }
    v.play().catch(function () { /* autoplay policy flag makes this work in the recorder */ });
  }

  function dropVideo(t) {
    if (!t.video) return;
    try { t.video.srcObject = null; } catch (e) { /* ignore */ }
    if (t.video.parentNode) t.video.parentNode.removeChild(t.video);
    t.video = null;
    t.videoMid = null;
    t.el.classList.remove('has-video', 'screen');
    countVideos();
  }

  function countVideos() {
    document.body.dataset.videos = String(tiles.filter(function (t) { return t.el.classList.contains('has-video'); }).length);
  }

  // Best fit: the column count that gives the largest 16:9 tiles.
  function layout() {
    var n = tiles.length;
    if (!n) return;
    var Wd = elStage.clientWidth || window.innerWidth;
    var Ht = elStage.clientHeight || window.innerHeight;
    var gap = Math.max(2, Math.min(Wd, Ht) * 0.012);
    var best = { cols: 1, w: 0 };
    for (var c = 1; c <= n; c++) {
      var rows = Math.ceil(n / c);
      var w = Math.min((Wd - gap * (c - 1)) / c, ((Ht - gap * (rows - 1)) / rows) * 16 / 9);
      if (w > best.w + 0.01) best = { cols: c, w: w };
    }
    var cols = best.cols, tw = best.w, th = tw * 9 / 16;
    var nrows = Math.ceil(n / cols);
    var top0 = (Ht - (nrows * th + (nrows - 1) * gap)) / 2;
    tiles.forEach(function (t, i) {
      var r = Math.floor(i / cols), col = i % cols;
      var inRow = r === nrows - 1 ? n - r * cols : cols;
      var left0 = (Wd - (inRow * tw + (inRow - 1) * gap)) / 2;
      var s = t.el.style;
      s.left = ((left0 + col * (tw + gap)) / Wd * 100) + '%';
      s.top = ((top0 + r * (th + gap)) / Ht * 100) + '%';
      s.width = (tw / Wd * 100) + '%';
      s.height = (th / Ht * 100) + '%';
    });
  }

  function update() {
    var n = tiles.length;
    document.body.dataset.participants = String(n);
    document.body.classList.toggle('has-participants', n > 0);
    if (!terminal) {
      setState(n > 0 ? 'live' : (document.body.dataset.state === 'connecting' ? 'connecting' : 'waiting'));
    }
    layout();
  }

  window.addEventListener('resize', layout);

  // stalled video -> initials; speaking border hold
  setInterval(function () {
    var now = performance.now();
    tiles.forEach(function (t) {
      if (t.video && t.el.classList.contains('has-video') && now - t.lastFrame > STALL_MS) {
        t.el.classList.remove('has-video');
        countVideos();
      }
      if (t.el.classList.contains('speaking') && now > t.speakUntil) t.el.classList.remove('speaking');
    });
  }, 250);

  // --------------------------------------------------------------- audio

  function addAudio(ev) {
    removeAudio(ev.mid);
    var a = document.createElement('audio');
    a.autoplay = true;
    a.srcObject = ev.stream;
    a.dataset.participant = String(ev.participantId);
    elAudio.appendChild(a);
    audios[ev.mid] = a;
    a.play().catch(function (e) { W.log('warn', 'audio did not start: ' + e); });
  }

  function removeAudio(mid) {
    var a = audios[mid];
    if (!a) return;
    delete audios[mid];
    try { a.srcObject = null; } catch (e) { /* ignore */ }
    if (a.parentNode) a.parentNode.removeChild(a);
  }

  // --------------------------------------------------------------- slate

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

  function failWith(code, message) {
    if (terminal) return;
    terminal = true;
    setState('error:' + code);
    tiles.slice().forEach(function (t) { removeTile(t.id); });
    var titles = {
      janus_unreachable: 'Cannot reach the call server',
      room_not_found: 'This room does not exist',
      auth_failed: 'Not allowed into this room',
      janus_error: 'Cannot join the call'
    };
    slate(titles[code] || 'Cannot join the call', message);
    W.send('error', { code: code, message: message });
  }

  // --------------------------------------------------------------- connect

  function start() {
    if (src.type && src.type !== 'janus') {
      failWith('janus_error', 'unsupported source type "' + src.type + '"');
      return;
    }
    if (!window.WallflowerJanus) { failWith('janus_error', 'Janus connector not loaded'); return; }
    if (!src.server || src.room == null || src.room === '') {
      failWith('janus_error', 'config needs source.server and source.room');
      return;
    }
    slate('Connecting…');
    var conn = window.WallflowerJanus.connect({
      server: src.server, room: src.room, pin: src.pin, display: src.display
    });

    conn.on('participant-joined', function (p) { addTile(p.id, p.display); });
    conn.on('participant-left', function (p) {
      removeTile(p.id);
    });

    conn.on('track-added', function (ev) {
      if (ev.kind === 'audio') { addAudio(ev); return; }
      var t = findTile(ev.participantId) || addTile(ev.participantId, '');
      // several videos (camera + screen): the screen share wins, else the latest
      if (t.video && t.el.classList.contains('screen') && ev.source !== 'screen') return;
      setVideo(t, ev);
    });
    conn.on('track-removed', function (ev) {
      if (ev.kind === 'audio') { removeAudio(ev.mid); return; }
      var t = findTile(ev.participantId);
      if (t && t.videoMid === ev.mid) dropVideo(t);
    });

    conn.on('speaking', function (ev) {
      if (!(ev.level >= SPEAK_LEVEL)) return;
      var t = findTile(ev.participantId);
      if (!t) return;
      t.speakUntil = performance.now() + SPEAK_HOLD_MS;
      t.el.classList.add('speaking');
    });

    conn.on('status', function (st) {
      if (terminal) return;
      // keep tiles in line with the publisher list (names may change)
      st.publishers.forEach(function (p) {
        var t = findTile(p.id);
        if (t && t.display !== p.display) setName(t, p.display);
      });
      if (!st.publishers.length) {
        setState('waiting');
        slate('Waiting for participants…');
      }
      update();
      sendStatus(st.publishers);
      if (startMode === 'immediately') readySoon();
    });

    conn.on('incident', function (ev) {
      if (ev.kind === 'connection_lost') {
        elNotice.textContent = 'Connection to the call lost — reconnecting…';
        elNotice.hidden = false;
      } else {
        elNotice.hidden = true;
      }
      W.send('incident', { kind: ev.kind, message: ev.message });
    });

    conn.on('error', function (ev) { failWith(ev.code, ev.message); });

    conn.on('room-destroyed', function () {
      if (terminal) return;
      terminal = true;
      setState('room_destroyed');
      tiles.slice().forEach(function (t) { removeTile(t.id); });
      Object.keys(audios).forEach(removeAudio);
      slate('The call has ended', 'The room was closed.');
      W.send('room_destroyed', {});
    });

    conn.on('data', function (ev) {
      try { console.debug('[grid] data from ' + (ev.participantId == null ? '?' : ev.participantId) + ': ' + String(ev.data).slice(0, 200)); } catch (e) { /* ignore */ }
    });

    window.wfConnection = conn;   // diagnostics
  }

  // Diagnostics and layout previews (e.g. via CDP): fake tiles without a call.
  window.wfGrid = { addTile: function (id, display) { addTile(id, display); }, removeTile: removeTile };

  start();
})();
