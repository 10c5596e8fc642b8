/*
 * Wallflower test pattern.
 *
 * Query parameters: id (shown on screen, default "preview"), tone (steady sine
 * in Hz, default 440; 0 disables it), beep (beep sine in Hz, default 2000),
 * volume (steady tone gain 0..1, default 0.3).
 *
 * A/V sync: beeps are scheduled on the AudioContext clock at t_k = t0 + k·PERIOD
 * (60 ms each). Every animation frame we estimate the audio time being heard
 * when that frame is on screen (getOutputTimestamp, extrapolated to the
 * frame's time) and show the full-screen white flash while heard is in
 * [t_k, t_k + 0.1).
 */
(function () {
  'use strict';

  var W = window.Wallflower || {
    params: {}, ready: function () {}, end: function () {}, send: function () {},
    log: function (l, m) { console.log(l, m); }
  };
  var P = W.params || {};

  function num(name, def, min, max) {
    var v = parseFloat(P[name]);
    if (!isFinite(v)) return def;
    return Math.min(max, Math.max(min, v));
  }

  var recId = P.id ? String(P.id) : 'preview';
  var toneHz = num('tone', 440, 0, 20000);
  var beepHz = num('beep', 2000, 1, 20000);
  var volume = num('volume', 0.3, 0, 1);

  var BEEP_LEN = 0.06;     // s
  var BEEP_GAIN = 0.5;
  var FLASH_LEN = 0.1;     // s
  var LOOKAHEAD = 1.5;     // schedule beeps this far ahead of currentTime (s)
  // Markers are 1.0133 s apart, not 1 s: a capture samples the screen at its own frame rate,
  // and a whole-second period would meet that grid at the same phase every time (at 30 fps,
  // 25 and 60 too), so every marker of a file would be late by the same part of a frame. This
  // period moves each marker 0.4 frame (at 30 fps) against the grid, and the median over a few
  // markers sees every phase.
  var PERIOD = 1.0133;     // s

  document.title = 'Wallflower test pattern';

  var elClock = document.getElementById('clock');
  var elFrame = document.getElementById('frame');
  var elId = document.getElementById('rec-id');
  var elAudio = document.getElementById('audio-info');
  var elMover = document.getElementById('mover');
  var elTrack = document.getElementById('track');
  var elFlash = document.getElementById('flash');

  elId.textContent = recId;

  // ---------------------------------------------------------------- audio
  var ctx = null;
  var t0 = -1;             // audio time of beep k = 0 (-1: not started)
  var nextBeep = 0;        // next k to schedule

  try {
    var AC = window.AudioContext || window.webkitAudioContext;
    ctx = new AC({ latencyHint: 'interactive' });
  } catch (e) {
    ctx = null;
    W.log('warn', 'test pattern: cannot create AudioContext: ' + e);
  }

  function startAudio() {
    if (!ctx || t0 >= 0 || ctx.state !== 'running') return;
    if (toneHz > 0 && volume > 0) {
      var osc = ctx.createOscillator();
      var g = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = toneHz;
      g.gain.value = volume;
      osc.connect(g).connect(ctx.destination);
      osc.start();
    }
    t0 = Math.ceil(ctx.currentTime + 0.25);
    nextBeep = 0;
    scheduleBeeps();
  }

  // Every fifth marker is left out (flash and beep alike), so a measurement can pair each flash
  // with its own beep even when they are more than half a second apart.
  function isGap(k) {
    return k % 5 === 4;
  }

  function scheduleBeeps() {
    if (!ctx || t0 < 0) return;
    var horizon = ctx.currentTime + LOOKAHEAD;
    while (t0 + nextBeep * PERIOD <= horizon) {
      var t = t0 + nextBeep * PERIOD;
      var k = nextBeep++;
      if (t < ctx.currentTime) continue;   // fell behind (tab stalled): skip
      if (isGap(k)) continue;
      var osc = ctx.createOscillator();
      var g = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = beepHz;
      // 2 ms ramps against clicks; onset is at t.
      g.gain.setValueAtTime(0, t);
      g.gain.linearRampToValueAtTime(BEEP_GAIN, t + 0.002);
      g.gain.setValueAtTime(BEEP_GAIN, t + BEEP_LEN - 0.002);
      g.gain.linearRampToValueAtTime(0, t + BEEP_LEN);
      osc.connect(g).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + BEEP_LEN + 0.01);
    }
  }

  // Audio time being heard at `now` (performance.now() time), or NaN if unknown.
  function heardTime(now) {
    if (!ctx || ctx.state !== 'running') return NaN;
    var est = NaN;
    try {
      if (typeof ctx.getOutputTimestamp === 'function') {
        var ts = ctx.getOutputTimestamp();
        if (ts && ts.contextTime > 0 && ts.performanceTime > 0) {
          est = ts.contextTime + (now - ts.performanceTime) / 1000;
        }
      }
    } catch (e) { est = NaN; }
    var fallback = ctx.currentTime - (ctx.outputLatency || ctx.baseLatency || 0);
    // Sanity: the estimate must be near the render clock.
    if (!isFinite(est) || Math.abs(est - fallback) > 1) est = fallback;
    return est;
  }

  // `now` is the frame's time: the flash shows on the frame nearest its marker, not the
  // next one, so the page's own 60 Hz steps put it early or late by under half a frame.
  function flashVisible(now) {
    var heard = heardTime(now);
    if (isFinite(heard) && t0 >= 0) {
      var d = (heard - t0) / PERIOD;
      var k = Math.floor(d);
      if (d < 0 || isGap(k)) return false;
      return (d - k) * PERIOD < FLASH_LEN;
    }
    // No running audio: keep a visual once-a-second flash on the page clock.
    var s = performance.now() / 1000;
    return s - Math.floor(s) < FLASH_LEN;
  }

  function audioRunning() {
    return !!ctx && ctx.state === 'running';
  }

  function showAudioState() {
    var st = ctx ? ctx.state : 'unavailable';
    elAudio.textContent = 'audio ' + st + ' · tone ' + toneHz + ' Hz · beep ' + beepHz + ' Hz';
    document.body.dataset.audio = st;
  }

  if (ctx) {
    ctx.addEventListener('statechange', function () { showAudioState(); startAudio(); });
    try {
      var p = ctx.resume();
      if (p && p.catch) p.catch(function (e) { W.log('warn', 'AudioContext.resume failed: ' + e); });
    } catch (e) { /* ignore */ }
  }
  showAudioState();
  startAudio();
  setInterval(scheduleBeeps, 200);

  // -------------------------------------------------------------- drawing
  var frames = 0;

  function pad(n, w) {
    var s = String(n);
    while (s.length < w) s = '0' + s;
    return s;
  }

  var lastFrameAt = 0;
  var frameInterval = 1000 / 60;   // ms, followed from the animation frames

  function frame(ts) {
    frames++;
    if (lastFrameAt > 0 && ts - lastFrameAt < 100) frameInterval += (ts - lastFrameAt - frameInterval) / 8;
    lastFrameAt = ts;
    var d = new Date();
    elClock.textContent = pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' +
      pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
    elFrame.textContent = String(frames);

    // Bounce left-right, 4 s per round trip, driven by time.
    var phase = (performance.now() / 4000) % 1;
    var tri = phase < 0.5 ? phase * 2 : 2 - phase * 2;
    var span = elTrack.clientWidth - elMover.offsetWidth;
    elMover.style.transform = 'translateX(' + (tri * Math.max(0, span)).toFixed(1) + 'px)';

    scheduleBeeps();
    var on = flashVisible(ts + frameInterval / 2);
    if (on !== elFlash.classList.contains('on')) elFlash.classList.toggle('on', on);

    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  // ---------------------------------------------------------------- ready
  function waitAudio(ms) {
    return new Promise(function (resolve) {
      if (!ctx || audioRunning()) { resolve(); return; }
      var start = performance.now();
      (function poll() {
        if (audioRunning() || performance.now() - start >= ms) resolve();
        else setTimeout(poll, 20);
      })();
    });
  }

  function twoFrames() {
    return new Promise(function (resolve) {
      requestAnimationFrame(function () { requestAnimationFrame(function () { resolve(); }); });
    });
  }

  var fontsReady = (document.fonts && document.fonts.ready) ? document.fonts.ready : Promise.resolve();

  Promise.resolve(fontsReady)
    .catch(function () {})
    .then(function () { return waitAudio(2000); })
    .then(function () {
      if (!audioRunning()) {
        W.log('warn', 'test pattern: AudioContext is ' + (ctx ? ctx.state : 'unavailable') +
          ' after 2 s; continuing without audio');
      }
      return twoFrames();
    })
    .then(function () {
      document.body.dataset.ready = '1';
      W.ready();
    })
    .catch(function (e) {
      document.body.dataset.ready = '1';
      W.log('error', 'test pattern: ' + e);
      W.ready();
    });
})();
