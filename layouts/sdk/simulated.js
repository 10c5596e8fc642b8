/*
 * simulated.js — simulated call participants for previews and reference
 * screenshots (plain script, no module). Sets `window.WallflowerSimulated`.
 *
 * It offers the same connect() / event interface as sdk/janus-connector.js,
 * so the host treats both alike:
 *
 *   var conn = WallflowerSimulated.connect({participants: 4, animate: true,
 *       screen_share: false, names: [...], audio_only: [3], speaker: 0,
 *       events: [{type: 'chat', from_index: 0, text: 'hi'}, ...]});
 *   conn.on('participant-joined' | 'participant-left' | 'track-added' |
 *           'track-removed' | 'speaking' | 'status' | 'data', fn)
 *
 * Every participant with video is a canvas (640x360) captured with
 * captureStream(): its own saturated colour, a slowly moving shape and the
 * name in big letters. With screen_share participant 0 also shares a
 * 1280x720 "screen" (a slide: title, bar chart, bullet points). No audio
 * tracks; the `speaker` participant sends `speaking` levels (~0.7).
 * `events` (chat, reactions, slides) are sent at the start, right after the
 * first `status`, as `data` events from participant `from_index` (its
 * data-channel message is the event without `from_index`).
 *
 * animate: false draws every canvas for t = 0 only (deterministic), redrawn
 * every 200 ms so that video elements keep receiving (identical) frames.
 *
 * Test hooks on the returned object: participants(), add(name), remove(id),
 * setSpeaker(index), setVideo(id, on), setScreenShare(on, id),
 * sendData(index, message), close().
 */
(function (global) {
  'use strict';

  // ASCII source: non-ASCII names are \u escapes (served without a charset too)
  var NAMES = [
    'Alice Martin', '\u5c71\u7530 \u592a\u90ce', 'Bob \ud83c\udf89', 'Chiara Rossi', 'Dmitri Ivanov',
    '\u00c9milie Dubois', 'Farah Khan', 'Grace Ho', 'Hiro Tanaka', 'Isabel Ortiz', 'Jonas Berg',
    'Kemi Adeyemi', 'Lars Nilsson', 'Maya Patel', 'Noah Cohen', 'Olga Petrova'
  ];
  // distinct, saturated hues (deep enough for white text)
  var HUES = [212, 340, 28, 160, 268, 4, 190, 48, 300, 120, 230, 16, 176, 320, 88, 250];
  var FONT = 'system-ui, "Helvetica Neue", Arial, "Noto Sans", "Noto Sans CJK JP", "Noto Color Emoji", sans-serif';
  var W = 640, H = 360;
  var SW = 1280, SH = 720;
  var FRAME_MS = 1000 / 20;      // animated drawing rate
  var STATIC_MS = 200;           // static: redraw the t = 0 picture this often
  var SPEAK_MS = 100;

  function Emitter() { this._h = {}; }
  Emitter.prototype.on = function (ev, fn) { if (typeof fn === 'function') (this._h[ev] = this._h[ev] || []).push(fn); return this; };
  Emitter.prototype.off = function (ev, fn) { var l = this._h[ev]; if (l) this._h[ev] = l.filter(function (f) { return f !== fn; }); return this; };
  Emitter.prototype.emit = function (ev, arg) {
    (this._h[ev] || []).slice().forEach(function (fn) {
      try { fn(arg); } catch (e) { try { console.error('[simulated] "' + ev + '" handler threw', e); } catch (e2) { /* ignore */ } }
    });
  };

  function nameFor(i, names) {
    if (names && i < names.length && names[i] != null && String(names[i]).trim() !== '') return String(names[i]);
    var base = NAMES[i % NAMES.length];
    var round = Math.floor(i / NAMES.length);
    return round ? base + ' ' + (round + 1) : base;
  }

  function hsl(h, s, l) { return 'hsl(' + h + ', ' + s + '%, ' + l + '%)'; }

  // ------------------------------------------------------------- drawing

  function drawCamera(g, p, t) {
    var hue = p.hue;
    var grad = g.createLinearGradient(0, 0, W, H);
    grad.addColorStop(0, hsl(hue, 72, 46));
    grad.addColorStop(1, hsl((hue + 24) % 360, 78, 28));
    g.fillStyle = grad;
    g.fillRect(0, 0, W, H);
    // a soft glow drifting behind the name, and a small dot orbiting above it
    var a = t / 3.2 + p.phase;
    var gx = W * 0.5 + Math.cos(a) * W * 0.24;
    var gy = H * 0.5 + Math.sin(a * 1.3) * H * 0.16;
    var rg = g.createRadialGradient(gx, gy, 0, gx, gy, H * 0.45);
    rg.addColorStop(0, 'rgba(255,255,255,0.30)');
    rg.addColorStop(1, 'rgba(255,255,255,0)');
    g.fillStyle = rg;
    g.fillRect(0, 0, W, H);
    var dx = W * 0.5 + Math.cos(a * 1.6) * W * 0.34;
    var dy = H * 0.17 + Math.sin(a * 1.6) * H * 0.06;
    g.fillStyle = 'rgba(255,255,255,0.8)';
    g.beginPath();
    g.arc(dx, dy, H * 0.035, 0, Math.PI * 2);
    g.fill();
    // the name, big
    g.fillStyle = '#ffffff';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    var size = 64;
    g.font = '700 ' + size + 'px ' + FONT;
    var w = g.measureText(p.name).width;
    if (w > W * 0.86) { size = Math.floor(size * W * 0.86 / w); g.font = '700 ' + size + 'px ' + FONT; }
    g.shadowColor = 'rgba(0,0,0,0.35)';
    g.shadowBlur = 12;
    g.fillText(p.name, W / 2, H * 0.5);
    g.shadowBlur = 0;
    g.font = '500 20px ' + FONT;
    g.fillStyle = 'rgba(255,255,255,0.7)';
    g.fillText('simulated participant', W / 2, H * 0.5 + size * 0.5 + 26);
  }

  function drawScreen(g, t) {
    g.fillStyle = '#f6f7fb';
    g.fillRect(0, 0, SW, SH);
    g.fillStyle = '#1f6feb';
    g.fillRect(0, 0, SW, 14);
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
    g.fillStyle = '#141a26';
    g.font = '700 64px ' + FONT;
    g.fillText('Q3 review', 80, 130);
    g.fillStyle = '#5b6478';
    g.font = '400 28px ' + FONT;
    g.fillText('Revenue by quarter (M\u20ac)', 82, 178);
    // bar chart
    var x0 = 110, y0 = 620, bw = 96, gap = 52;
    var vals = [4.2, 5.1, 6.8, 8.3];
    var labels = ['Q4', 'Q1', 'Q2', 'Q3'];
    g.strokeStyle = '#c9cfdb';
    g.lineWidth = 2;
    for (var k = 0; k <= 4; k++) {
      var yy = y0 - k * 90;
      g.beginPath(); g.moveTo(x0 - 20, yy); g.lineTo(x0 + 4 * (bw + gap), yy); g.stroke();
    }
    vals.forEach(function (v, i) {
      var h = v * 43;
      g.fillStyle = i === 3 ? '#1f6feb' : '#9db8e8';
      g.fillRect(x0 + i * (bw + gap), y0 - h, bw, h);
      g.fillStyle = '#141a26';
      g.font = '600 26px ' + FONT;
      g.textAlign = 'center';
      g.fillText(v.toFixed(1), x0 + i * (bw + gap) + bw / 2, y0 - h - 14);
      g.fillStyle = '#5b6478';
      g.font = '500 24px ' + FONT;
      g.fillText(labels[i], x0 + i * (bw + gap) + bw / 2, y0 + 36);
    });
    g.textAlign = 'left';
    // bullet points
    var bx = 760, by = 300;
    var bullets = ['Revenue up 22 % on Q2', 'Two new enterprise customers', 'Churn down to 1.8 %', 'Hiring: 4 engineers'];
    bullets.forEach(function (s, i) {
      g.fillStyle = '#1f6feb';
      g.beginPath(); g.arc(bx, by + i * 72 - 10, 8, 0, Math.PI * 2); g.fill();
      g.fillStyle = '#141a26';
      g.font = '500 30px ' + FONT;
      g.fillText(s, bx + 26, by + i * 72);
    });
    // a discreet progress bar that moves when animated
    var prog = (t % 60) / 60;
    g.fillStyle = '#e3e7ef';
    g.fillRect(80, SH - 40, SW - 160, 6);
    g.fillStyle = '#1f6feb';
    g.fillRect(80, SH - 40, (SW - 160) * (0.25 + 0.75 * prog), 6);
    g.fillStyle = '#8a93a6';
    g.font = '400 20px ' + FONT;
    g.textAlign = 'right';
    g.fillText('3 / 12', SW - 80, SH - 56);
  }

  // ------------------------------------------------------------- connect

  // the `data` event for participant p sending msg: an object as JSON without
  // from_index (a simulated call event), anything else as text
  function dataEvent(p, msg) {
    var data = msg;
    if (msg && typeof msg === 'object') {
      var o = {};
      Object.keys(msg).forEach(function (k) { if (k !== 'from_index') o[k] = msg[k]; });
      data = JSON.stringify(o);
    }
    return { participantId: p ? p.id : null, data: String(data), label: 'wallflower' };
  }

  function connect(opts) {
    opts = opts || {};
    var conn = new Emitter();
    var animate = opts.animate !== false;
    var n = Math.max(0, Math.min(64, parseInt(opts.participants, 10) || 0));
    if (opts.participants == null) n = 4;
    var names = Array.isArray(opts.names) ? opts.names : null;
    var audioOnly = Array.isArray(opts.audio_only) ? opts.audio_only.map(Number) : (n >= 4 ? [3] : []);
    var speakerIdx = opts.speaker == null ? 0 : Number(opts.speaker);
    var parts = [];           // {id, name, hue, phase, canvas, g, stream, video: bool}
    var screen = null;        // {owner, canvas, g, stream}
    var closed = false;
    var nextId = 1;
    var t0 = performance.now();
    var speakerId = null;
    var midSeq = 0;

    function emit(ev, arg) { if (!closed) conn.emit(ev, arg); }

    function pub() { return parts.map(function (p) { return { id: p.id, display: p.name }; }); }

    function makeCanvas(w, h) {
      var c = global.document.createElement('canvas');
      c.width = w; c.height = h;
      return c;
    }

    function startVideo(p) {
      if (p.stream) return;
      p.canvas = p.canvas || makeCanvas(W, H);
      p.g = p.g || p.canvas.getContext('2d');
      drawCamera(p.g, p, 0);
      p.stream = p.canvas.captureStream();
      p.mid = 'sim-v' + (++midSeq);
      var track = p.stream.getVideoTracks()[0];
      emit('track-added', { participantId: p.id, kind: 'video', track: track, stream: p.stream, mid: p.mid, source: 'camera' });
    }

    function stopVideo(p) {
      if (!p.stream) return;
      var mid = p.mid;
      p.stream.getTracks().forEach(function (t) { try { t.stop(); } catch (e) { /* ignore */ } });
      p.stream = null;
      p.mid = null;
      emit('track-removed', { participantId: p.id, kind: 'video', mid: mid });
    }

    function add(name, index, withVideo) {
      var i = index == null ? parts.length : index;
      var p = { id: nextId++, name: name == null ? nameFor(i, names) : String(name),
                hue: HUES[i % HUES.length], phase: i * 1.7, canvas: null, g: null, stream: null, mid: null };
      parts.push(p);
      emit('participant-joined', { id: p.id, display: p.name });
      if (withVideo !== false) startVideo(p);
      return p;
    }

    function startScreen(owner) {
      stopScreen();
      var c = makeCanvas(SW, SH);
      screen = { owner: owner, canvas: c, g: c.getContext('2d'), stream: null, mid: 'sim-s' + (++midSeq) };
      drawScreen(screen.g, 0);
      screen.stream = c.captureStream();
      emit('track-added', { participantId: owner.id, kind: 'video', track: screen.stream.getVideoTracks()[0],
                            stream: screen.stream, mid: screen.mid, source: 'screen' });
    }

    function stopScreen() {
      if (!screen) return;
      var s = screen;
      screen = null;
      s.stream.getTracks().forEach(function (t) { try { t.stop(); } catch (e) { /* ignore */ } });
      emit('track-removed', { participantId: s.owner.id, kind: 'video', mid: s.mid });
    }

    function find(idOrIndex) {
      for (var i = 0; i < parts.length; i++) if (String(parts[i].id) === String(idOrIndex)) return parts[i];
      return null;
    }

    // participant `index` sends `msg` on its data channel
    function sendData(index, msg) {
      var p = index == null ? null : parts[Number(index)] || null;
      emit('data', dataEvent(p, msg));
      return !!p;
    }

    function draw() {
      if (closed) return;
      var t = animate ? (performance.now() - t0) / 1000 : 0;
      parts.forEach(function (p) { if (p.stream) drawCamera(p.g, p, t); });
      if (screen) drawScreen(screen.g, t);
    }

    function speakTick() {
      if (closed || speakerId == null) return;
      var p = find(speakerId);
      if (!p) return;
      var t = (performance.now() - t0) / 1000;
      var level = animate ? 0.62 + 0.16 * Math.sin(t * 7.3) * Math.sin(t * 2.1) : 0.7;
      emit('speaking', { participantId: p.id, level: Math.round(level * 1000) / 1000 });
    }

    var drawTimer = null, speakTimer = null;

    setTimeout(function () {
      if (closed) return;
      for (var i = 0; i < n; i++) add(null, i, audioOnly.indexOf(i) < 0);
      var sp = parts[speakerIdx] || parts[0];
      speakerId = sp ? sp.id : null;
      if (opts.screen_share && parts.length) startScreen(parts[0]);
      emit('status', { connected: true, publishers: pub() });
      (Array.isArray(opts.events) ? opts.events : []).forEach(function (ev) {
        sendData(ev && typeof ev === 'object' ? ev.from_index : null, ev);
      });
      drawTimer = setInterval(draw, animate ? FRAME_MS : STATIC_MS);
      speakTimer = setInterval(speakTick, SPEAK_MS);
      speakTick();
    }, 0);

    conn.simulated = true;
    conn.animate = animate;
    // the participant the host should treat as the active speaker from the start
    Object.defineProperty(conn, 'initialSpeaker', { get: function () { return speakerId; } });

    conn.participants = pub;
    conn.add = function (name) {
      var p = add(name, parts.length, true);
      emit('status', { connected: true, publishers: pub() });
      return p.id;
    };
    conn.remove = function (id) {
      var p = find(id);
      if (!p) return false;
      if (screen && screen.owner === p) stopScreen();
      stopVideo(p);
      parts.splice(parts.indexOf(p), 1);
      emit('participant-left', { id: p.id });
      emit('status', { connected: true, publishers: pub() });
      return true;
    };
    // index into the current participant list (join order); null = nobody speaks
    conn.setSpeaker = function (index) {
      var p = index == null ? null : parts[Number(index)];
      speakerId = p ? p.id : null;
      return speakerId;
    };
    conn.setVideo = function (id, on) {
      var p = find(id);
      if (!p) return false;
      if (on) startVideo(p); else stopVideo(p);
      return true;
    };
    conn.sendData = function (index, msg) { return closed ? false : sendData(index, msg); };
    conn.setScreenShare = function (on, id) {
      if (!on) { stopScreen(); return true; }
      var p = id == null ? parts[0] : find(id);
      if (!p) return false;
      startScreen(p);
      return true;
    };
    conn.close = function () {
      if (closed) return;
      stopScreen();
      parts.forEach(stopVideo);
      closed = true;
      clearInterval(drawTimer);
      clearInterval(speakTimer);
    };
    return conn;
  }

  global.WallflowerSimulated = { connect: connect, NAMES: NAMES.slice() };
})(window);
