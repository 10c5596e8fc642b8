/*
 * layout-tiles.js — part of the layout SDK (loaded by sdk/layout.js, never by
 * a page itself): participant tiles and the geometry to place them.
 *
 * Owns WallflowerLayout.tile(), render(), moreTile(), attachVideo() — the
 * standard tile elements, kept up to date with the model (name, stream,
 * speaking, avatar when there is no video or it stalled), with initials() and
 * colorFor() for the avatars — and the pure geometry helpers bestFit(),
 * gridRects(), filmstripRects(), gap(). Shares state through
 * window.__wfLayoutInternals (see sdk/layout.js) and adds initials(),
 * hueFor(), colorFor(), syncTiles() and tilesWaiting() to it.
 */
(function (global) {
  'use strict';

  var I = global.__wfLayoutInternals;
  var L = I.L;
  var doc = global.document;
  var STALL_MS = 3000;          // no new frame for this long: the tile shows initials
  var FRAME_WATCH_MS = 1000;    // how often each tile asks to see its next frame

  var tiles = {};               // 'key|source' -> tile element

  // ------------------------------------------------------------- geometry

  /* Best fit: the column count giving the largest tiles of `aspect` (w/h)
   * for n tiles in w x h with `gap` between them. */
  function bestFit(n, w, h, opts) {
    opts = opts || {};
    var aspect = opts.aspect > 0 ? opts.aspect : 16 / 9;
    var gap = opts.gap >= 0 ? opts.gap : 0;
    n = Math.max(0, n | 0);
    if (!n || !(w > 0) || !(h > 0)) return { cols: 0, rows: 0, w: 0, h: 0 };
    var best = { cols: 1, rows: n, w: 0, h: 0 };
    for (var c = 1; c <= n; c++) {
      var rows = Math.ceil(n / c);
      var tw = Math.min((w - gap * (c - 1)) / c, ((h - gap * (rows - 1)) / rows) * aspect);
      if (tw > best.w + 0.01) best = { cols: c, rows: rows, w: tw, h: tw / aspect };
    }
    best.w = Math.max(0, best.w);
    best.h = Math.max(0, best.h);
    return best;
  }

  /* n rectangles {x, y, w, h} (px in a w x h box): equal tiles, best fit,
   * rows centred vertically, every row (the last one too) centred. */
  function gridRects(n, w, h, opts) {
    opts = opts || {};
    var gap = opts.gap >= 0 ? opts.gap : 0;
    var fit = bestFit(n, w, h, opts);
    var out = [];
    if (!fit.cols) return out;
    var top0 = (h - (fit.rows * fit.h + (fit.rows - 1) * gap)) / 2;
    for (var i = 0; i < n; i++) {
      var r = Math.floor(i / fit.cols), col = i % fit.cols;
      var inRow = r === fit.rows - 1 ? n - r * fit.cols : fit.cols;
      var left0 = (w - (inRow * fit.w + (inRow - 1) * gap)) / 2;
      out.push({ x: left0 + col * (fit.w + gap), y: top0 + r * (fit.h + gap), w: fit.w, h: fit.h });
    }
    return out;
  }

  function filmstripOpts(opts) {
    opts = opts || {};
    var right = opts.position === 'right';
    return {
      g: opts.gap >= 0 ? opts.gap : 0,
      aspect: opts.aspect > 0 ? opts.aspect : 16 / 9,
      mainAspect: opts.mainAspect === 0 ? 0 : (opts.mainAspect > 0 ? opts.mainAspect : 16 / 9),
      extra: opts.mainExtraH > 0 ? opts.mainExtraH : 0,
      right: right,
      size: opts.size > 0 ? opts.size : 0.2,
      minFrac: opts.min > 0 ? opts.min : (right ? 0.12 : 0.095),
      minPx: right ? 40 : 64
    };
  }

  // the main rectangle's size in an aw x ah area
  function fitMain(o, aw, ah) {
    if (!o.mainAspect) return { w: aw, h: ah };
    var mw = Math.max(1, Math.min(aw, (ah - o.extra) * o.mainAspect));
    return { w: mw, h: mw / o.mainAspect + o.extra };
  }

  // strip tile size and how many fit: {tw, th, tAlong, count, withMore, shown, stripLen}
  function stripTiles(n, w, h, o) {
    var g = o.g, aspect = o.aspect, right = o.right;
    var along = right ? h : w;                          // length of the strip
    var tAlong, tAcross;                                 // tile size along / across the strip
    if (right) { tAcross = w * o.size; tAlong = tAcross / aspect; } else { tAcross = h * o.size; tAlong = tAcross * aspect; }
    var slots = n, shown = n, withMore = false;
    if (n * tAlong + (n - 1) * g > along) {
      tAlong = (along - g * (n - 1)) / n;
      var minAlong = Math.max(o.minPx, (right ? h : w) * o.minFrac);
      if (tAlong < minAlong) {
        slots = Math.max(1, Math.floor((along + g) / (minAlong + g)));
        tAlong = (along - g * (slots - 1)) / slots;
        withMore = slots < n;
        shown = withMore ? slots - 1 : n;
      }
      tAcross = right ? tAlong * aspect : tAlong / aspect;
    }
    var count = withMore ? slots : n;
    return { tw: right ? tAcross : tAlong, th: right ? tAlong : tAcross, count: count, withMore: withMore,
             shown: shown, stripLen: count * tAlong + (count - 1) * g };
  }

  // main and strip side by side (strip on the right), or stacked (strip at the bottom)
  function placeFilmstrip(out, t, w, h, o) {
    var g = o.g, m, x0, y0, i, r;
    if (o.right) {
      m = fitMain(o, Math.max(1, w - t.tw - g), h);
      x0 = (w - (m.w + g + t.tw)) / 2;
      out.main = { x: x0, y: (h - m.h) / 2, w: m.w, h: m.h };
      y0 = (h - t.stripLen) / 2;
    } else {
      m = fitMain(o, w, Math.max(1, h - t.th - g));
      y0 = (h - (m.h + g + t.th)) / 2;
      out.main = { x: (w - m.w) / 2, y: y0, w: m.w, h: m.h };
      x0 = (w - t.stripLen) / 2;
    }
    for (i = 0; i < t.count; i++) {
      r = o.right ? { x: x0 + m.w + g, y: y0 + i * (t.th + g), w: t.tw, h: t.th }
                  : { x: x0 + i * (t.tw + g), y: y0 + m.h + g, w: t.tw, h: t.th };
      if (t.withMore && i === t.count - 1) out.more = r; else out.strip.push(r);
    }
  }

  /* One large rectangle plus a filmstrip of n small ones, in a w x h box.
   * opts: {position: 'bottom'|'right', gap, aspect (strip tiles, 16/9),
   *        mainAspect (main rect; 0 = fill its area), mainExtraH (px added to
   *        the main rect's height beyond its aspect, e.g. a caption band),
   *        size (strip tile height for 'bottom' / width for 'right', as a
   *        fraction of h / w; default .2), min (smallest strip tile length
   *        along the strip, fraction of w / h; .095 bottom, .12 right)}
   * Returns {main: {x,y,w,h}, strip: [{x,y,w,h}] (the first `shown` of the n),
   *          more: {x,y,w,h} | null (a "+N" spot when not all fit), shown}.
   * Main and strip never overlap; the group is centred. */
  function filmstripRects(n, w, h, opts) {
    var o = filmstripOpts(opts);
    n = Math.max(0, n | 0);
    var out = { main: null, strip: [], more: null, shown: 0 };
    if (!n) {
      var m0 = fitMain(o, w, h);
      out.main = { x: (w - m0.w) / 2, y: (h - m0.h) / 2, w: m0.w, h: m0.h };
      return out;
    }
    var t = stripTiles(n, w, h, o);
    placeFilmstrip(out, t, w, h, o);
    out.shown = t.shown;
    return out;
  }

  function gap() {
    var m = Math.min(global.innerWidth || 0, global.innerHeight || 0);
    return Math.max(3, Math.round(m * 0.014));
  }

  // ------------------------------------------------------------- tiles

  // First letter (or digit) of the first and last word; else the first character.
  function initials(name) {
    var text = String(name == null ? '' : name).trim();
    var firsts = text.split(/\s+/).map(function (w) {
      var m = w.match(/[\p{L}\p{N}]/u);
      return m ? m[0] : '';
    }).filter(Boolean);
    if (!firsts.length) return Array.from(text)[0] || '?';
    var out = firsts[0] + (firsts.length > 1 ? firsts[firsts.length - 1] : '');
    return out.toUpperCase();
  }

  // a hue (0-359) from a key's hash: a name keeps its colour
  function hueFor(key) {
    var h = 0;
    key = String(key == null ? '' : key);
    for (var i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  function colorFor(key) { return 'hsl(' + hueFor(key) + ', 45%, 44%)'; }

  function tileKey(p, source) { return String(p && p.key != null ? p.key : p && p.id) + '|' + source; }

  function makeTile(k, p, source) {
    var el = I.el;
    var t = el('div', 'wf-tile wf-enter wf-fresh');
    t.setAttribute('data-wf-tile', '');
    var video = el('video', 'wf-video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('muted', '');
    var avatar = el('div', 'wf-avatar');
    var ini = el('div', 'wf-initials');
    avatar.appendChild(ini);
    var label = el('div', 'wf-name', { 'data-wf-name': '' });
    var text = el('span', 'wf-name-text');
    var tag = el('span', 'wf-name-tag');
    label.appendChild(text);
    label.appendChild(tag);
    t.appendChild(video);
    t.appendChild(avatar);
    t.appendChild(label);
    t._wf = { key: k, pkey: String(p.key != null ? p.key : p.id), source: source, video: video,
              ini: ini, text: text, tag: tag, stream: null, lastFrame: 0, reported: false };
    if (source === 'screen') t.classList.add('wf-screen');
    return t;
  }

  /* Standard tile for participant p: {role: 'tile'|'main'|'strip'|'presentation',
   * source: 'camera'|'screen'}. The same element comes back for the same
   * participant and source, so moving it between roles animates. */
  L.tile = function (p, opts) {
    opts = opts || {};
    if (!p) return null;
    var source = opts.source === 'screen' ? 'screen' : 'camera';
    var role = opts.role || 'tile';
    var k = tileKey(p, source);
    var t = tiles[k];
    if (!t) {
      t = tiles[k] = makeTile(k, p, source);
      wireFrames(t);
    }
    t.setAttribute('data-wf-participant', t._wf.pkey);
    t.setAttribute('data-wf-role', role);
    t.setAttribute('data-wf-source', source);
    syncTile(t);
    return t;
  };

  // A tile's frames are watched with requestVideoFrameCallback, asked for again once a second
  // (FRAME_WATCH_MS) instead of from every callback: each callback asks for a rendering update
  // of the page, and four 15 fps cameras (with the host's monitors) asked for 60-120 a second,
  // ~0.02 cores of the renderer's main thread (BENCHMARKS.md). A tile's first frame is still seen
  // at once: a new stream asks right away. A frame seen up to a second late only makes a stall
  // count from a little earlier.
  function wireFrames(t) {
    var v = t._wf.video;
    var onFrame = function () {
      var w = t._wf;
      w.watching = false;
      if (w.stream && v.srcObject === w.stream) {
        w.lastFrame = performance.now();
        if (!t.classList.contains('wf-has-video')) t.classList.add('wf-has-video');
        if (!w.reported) {
          w.reported = true;
          if (I.host) I.safe(function () { I.host._videoFrame(global, w.pkey, w.source); }, 'host._videoFrame');
        }
      } else {
        watchFrames(t);
      }
    };
    t._wf.onFrame = onFrame;
    if (!v.requestVideoFrameCallback) {
      v.addEventListener('loadeddata', onFrame);
      v.addEventListener('timeupdate', onFrame);
    }
    watchFrames(t);
  }

  function watchFrames(t) {
    var w = t._wf, v = w.video;
    if (w.watching || !v.requestVideoFrameCallback) return;
    w.watching = true;
    v.requestVideoFrameCallback(w.onFrame);
  }

  function setStream(video, stream) {
    if (video.srcObject !== stream) {
      try { video.srcObject = stream || null; } catch (e) { I.warn('srcObject: ' + e); }
    }
    if (stream && video.paused) {
      var pr = I.safe(function () { return video.play(); }, 'video.play');
      if (pr && pr.catch) pr.catch(function () { /* the recorder runs with the autoplay flag */ });
    }
  }

  function syncTile(t) {
    var w = t._wf;
    var p = I.byKey[w.pkey];
    if (!p) return;
    w.text.textContent = p.name;
    w.tag.textContent = w.source === 'screen' ? 'Screen' : '';
    w.ini.textContent = p.initials;
    t.style.setProperty('--wf-avatar', p.color);
    t.classList.toggle('wf-speaking', !!p.speaking && w.source === 'camera');
    t.classList.toggle('wf-active', !!p.isActiveSpeaker);
    var stream = w.source === 'screen' ? p.screen : p.camera;
    if (stream !== w.stream) {
      w.stream = stream;
      w.lastFrame = 0;
      w.reported = false;
      t.classList.remove('wf-has-video');
      watchFrames(t);
    }
    setStream(w.video, stream);
    t.classList.toggle('wf-no-video', !stream);
  }

  function releaseTile(t) {
    var w = t && t._wf;
    if (!w) return;
    if (tiles[w.key] === t) delete tiles[w.key];
    try { w.video.srcObject = null; } catch (e) { /* ignore */ }
    w.stream = null;
    if (t.parentNode) t.parentNode.removeChild(t);
  }

  /* Attach participant p's camera (or screen) to any <video> element. */
  L.attachVideo = function (video, p, source) {
    if (!video) return;
    var stream = p ? (source === 'screen' ? p.screen : p.camera) : null;
    video.muted = true;
    video.playsInline = true;
    setStream(video, stream);
  };

  function pct(v) { return (Math.round(v * 100000) / 1000) + '%'; }

  // first placement without a slide-in from 0,0; later moves transition
  function settleFresh(container, keep) {
    var fresh = keep.filter(function (e) { return e.classList.contains('wf-enter'); });
    if (!fresh.length) return;
    void container.offsetWidth;
    global.requestAnimationFrame(function () {
      fresh.forEach(function (e) { e.classList.remove('wf-enter'); });
      setTimeout(function () { fresh.forEach(function (e) { e.classList.remove('wf-fresh'); }); }, 400);
    });
  }

  /* Places items in container (position: relative), absolute, in % of its size.
   * items: [{participant, role, source, x, y, w, h}] or [{el, x, y, w, h}]
   * with x/y/w/h in container pixels. Tiles (and "+N" elements made by
   * L.moreTile, the slide element of L.slideElement) in the container that
   * are not in items are removed. */
  L.render = function (container, items) {
    container = container || L.stage;
    if (!container) return [];
    var W = container.clientWidth || 1, H = container.clientHeight || 1;
    var keep = [];
    (items || []).forEach(function (it) {
      var e = it.el || L.tile(it.participant, { role: it.role, source: it.source });
      if (!e) return;
      keep.push(e);
      var s = e.style;
      s.left = pct(it.x / W);
      s.top = pct(it.y / H);
      s.width = pct(it.w / W);
      s.height = pct(it.h / H);
      if (e.parentNode !== container) container.appendChild(e);
    });
    Array.prototype.slice.call(container.children).forEach(function (c) {
      if (keep.indexOf(c) >= 0) return;
      if (c._wf) releaseTile(c);
      else if (c.hasAttribute('data-wf-more') || c.hasAttribute('data-wf-slide')) container.removeChild(c);
    });
    settleFresh(container, keep);
    return keep;
  };

  /* A "+N" element for filmstrips that cannot show everyone. */
  L.moreTile = function (container, count) {
    container = container || L.stage;
    var e = container.querySelector('[data-wf-more]');
    if (!e) {
      e = I.el('div', 'wf-more', { 'data-wf-more': '' });
    }
    var span = e.firstChild || e.appendChild(doc.createElement('span'));
    span.textContent = '+' + count;
    return e;
  };

  L.initials = initials;
  L.colorFor = colorFor;
  L.bestFit = bestFit;
  L.gridRects = gridRects;
  L.filmstripRects = filmstripRects;
  L.gap = gap;

  // stalled video -> initials (the tile's own frames)
  setInterval(function () {
    var now = performance.now();
    Object.keys(tiles).forEach(function (k) {
      var t = tiles[k];
      if (t.classList.contains('wf-has-video') && now - t._wf.lastFrame > STALL_MS) t.classList.remove('wf-has-video');
    });
  }, 250);
  setInterval(function () { Object.keys(tiles).forEach(function (k) { watchFrames(tiles[k]); }); }, FRAME_WATCH_MS);

  // a tile on show still waits for the first frame of a video the host has seen frames of
  // (a stalled track would never come)
  function tilesWaiting() {
    return Object.keys(tiles).some(function (k) {
      var t = tiles[k];
      if (!t.isConnected || !t._wf.stream) return false;
      var p = I.byKey[t._wf.pkey];
      if (!p) return false;
      var live = t._wf.source === 'screen' ? !!p.screen : p.hasVideo;
      return live && !t.classList.contains('wf-has-video');
    });
  }

  I.initials = initials;
  I.colorFor = colorFor;
  I.hueFor = hueFor;
  I.syncTiles = function () { Object.keys(tiles).forEach(function (k) { syncTile(tiles[k]); }); };
  I.tilesWaiting = tilesWaiting;
  I.partDone();
})(window);
