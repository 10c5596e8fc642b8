/*
 * layout.js — the Wallflower layout SDK (plain script, no module).
 *
 * A layout is a page (layouts/<name>/index.html) that the host page
 * (sdk/host.html) shows in a full-viewport, same-origin <iframe>. The host owns
 * the call (connection, audio, slate, bridge to the service); the layout only
 * draws. This script sets `window.WallflowerLayout` (see layouts/README.md):
 *
 *   WallflowerLayout.name              this layout's folder name
 *   WallflowerLayout.participants      [participant] in join order (see below)
 *   WallflowerLayout.get(id)           participant by id (or null)
 *   WallflowerLayout.activeSpeaker     participant or null
 *   WallflowerLayout.presenter         participant sharing a screen, or null
 *   WallflowerLayout.branding          branding with defaults filled in
 *   WallflowerLayout.params            layout_params over layout.json defaults
 *   WallflowerLayout.state             connecting | waiting | live | error:<code> | room_destroyed
 *   WallflowerLayout.isStatic          true when animations are off (reference screenshots)
 *   WallflowerLayout.stage             the element to draw participants into
 *   WallflowerLayout.onChange(fn)      fn(changes) now (changes.initial) and on every change
 *   WallflowerLayout.on(ev, fn) / off  'change' | 'event' | 'levels'
 *   WallflowerLayout.ready()           this layout has rendered (the host decides the rest)
 *   WallflowerLayout.tile(p, opts)     standard tile element (cached per participant + source)
 *   WallflowerLayout.attachVideo(video, p, source)
 *   WallflowerLayout.render(container, items)   place tiles (absolute, in %)
 *   WallflowerLayout.bestFit(n, w, h, opts) / gridRects(n, w, h, opts) /
 *     filmstripRects(n, w, h, opts) / gap() / moreTile(container, count)
 *   WallflowerLayout.initials(name) / colorFor(key) / fontStack(family)
 *   WallflowerLayout.log(level, message)   a line in the service's log
 *
 * Participant: {id, key, name, display, initials, color, index, camera,
 *   cameraTrack, screen, screenTrack, audio, level, speaking, hasVideo,
 *   videoMuted, videoStalled, isActiveSpeaker, isPresenter}
 *
 * Opened directly as a top-level page, the layout redirects to
 * ../sdk/host.html?layout=<name>&<its own query> so previews in an ordinary
 * browser work. Every text is set with textContent.
 */
(function (global) {
  'use strict';

  var doc = global.document;
  var STALL_MS = 3000;          // no new frame for this long: the tile shows initials
  var FRAME_WAIT_MS = 1500;     // ready(): longest wait for tiles' first video frames
  var LOGO_WAIT_MS = 2000;      // ready(): longest wait for the logo image
  var FONT_TAIL = '"Noto Sans", "Noto Sans CJK JP", "Noto Color Emoji", sans-serif';
  var FONT_BASE = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' + FONT_TAIL;

  var DEFAULT_BRANDING = {
    title: '', subtitle: '', logo_url: '', logo_position: 'top-right',
    colors: { background: '#0b0e14', primary: '#5ee08f', text: '#e8ecf3' },
    font_family: '', show_names: true, watermark: '', custom_css: ''
  };

  // ------------------------------------------------------------- helpers

  function warn(msg) { try { console.warn('[layout] ' + msg); } catch (e) { /* ignore */ } }

  function safe(fn, what) {
    try { return fn(); } catch (e) { warn((what || 'callback') + ' threw: ' + (e && e.stack || e)); }
    return undefined;
  }

  function layoutNameFromPath() {
    var segs = String(global.location.pathname || '').split('/').filter(Boolean);
    if (segs.length && /\.html?$/i.test(segs[segs.length - 1])) segs.pop();
    try { return decodeURIComponent(segs[segs.length - 1] || ''); } catch (e) { return segs[segs.length - 1] || ''; }
  }

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

  function colorFor(key) {
    var h = 0;
    key = String(key == null ? '' : key);
    for (var i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    return 'hsl(' + (h % 360) + ', 45%, 44%)';
  }

  function cleanFamily(f) {
    return String(f == null ? '' : f).replace(/["'\\;{}<>\n\r]/g, '').trim().slice(0, 100);
  }

  function fontStack(family) {
    var f = cleanFamily(family);
    return (f ? '"' + f + '", ' : '') + FONT_BASE;
  }

  function isHex(c) { return typeof c === 'string' && /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(c); }

  function normBranding(b) {
    b = b && typeof b === 'object' ? b : {};
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

  function safeUrl(u) {
    u = String(u || '').trim();
    return /^(https?:|data:image\/|blob:)/i.test(u) ? u : '';
  }

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
    opts = opts || {};
    var g = opts.gap >= 0 ? opts.gap : 0;
    var aspect = opts.aspect > 0 ? opts.aspect : 16 / 9;
    var mainAspect = opts.mainAspect === 0 ? 0 : (opts.mainAspect > 0 ? opts.mainAspect : 16 / 9);
    var extra = opts.mainExtraH > 0 ? opts.mainExtraH : 0;
    var right = opts.position === 'right';
    var size = opts.size > 0 ? opts.size : 0.2;
    var minFrac = opts.min > 0 ? opts.min : (right ? 0.12 : 0.095);
    var minPx = right ? 40 : 64;
    n = Math.max(0, n | 0);
    function fitMain(aw, ah) {
      if (!mainAspect) return { w: aw, h: ah };
      var mw = Math.max(1, Math.min(aw, (ah - extra) * mainAspect));
      return { w: mw, h: mw / mainAspect + extra };
    }
    var out = { main: null, strip: [], more: null, shown: 0 };
    if (!n) {
      var m0 = fitMain(w, h);
      out.main = { x: (w - m0.w) / 2, y: (h - m0.h) / 2, w: m0.w, h: m0.h };
      return out;
    }
    var along = right ? h : w;                          // length of the strip
    var tAlong, tAcross;                                 // tile size along / across the strip
    if (right) { tAcross = w * size; tAlong = tAcross / aspect; } else { tAcross = h * size; tAlong = tAcross * aspect; }
    var slots = n, shown = n, withMore = false;
    if (n * tAlong + (n - 1) * g > along) {
      tAlong = (along - g * (n - 1)) / n;
      var minAlong = Math.max(minPx, (right ? h : w) * minFrac);
      if (tAlong < minAlong) {
        slots = Math.max(1, Math.floor((along + g) / (minAlong + g)));
        tAlong = (along - g * (slots - 1)) / slots;
        withMore = slots < n;
        shown = withMore ? slots - 1 : n;
      }
      tAcross = right ? tAlong * aspect : tAlong / aspect;
    }
    var tw = right ? tAcross : tAlong, th = right ? tAlong : tAcross;
    var count = withMore ? slots : n;
    var stripLen = count * tAlong + (count - 1) * g;
    var m, x0, y0, i;
    if (right) {
      m = fitMain(Math.max(1, w - tw - g), h);
      x0 = (w - (m.w + g + tw)) / 2;
      out.main = { x: x0, y: (h - m.h) / 2, w: m.w, h: m.h };
      y0 = (h - stripLen) / 2;
      for (i = 0; i < count; i++) {
        var r = { x: x0 + m.w + g, y: y0 + i * (th + g), w: tw, h: th };
        if (withMore && i === count - 1) out.more = r; else out.strip.push(r);
      }
    } else {
      m = fitMain(w, Math.max(1, h - th - g));
      y0 = (h - (m.h + g + th)) / 2;
      out.main = { x: (w - m.w) / 2, y: y0, w: m.w, h: m.h };
      x0 = (w - stripLen) / 2;
      for (i = 0; i < count; i++) {
        var r2 = { x: x0 + i * (tw + g), y: y0 + m.h + g, w: tw, h: th };
        if (withMore && i === count - 1) out.more = r2; else out.strip.push(r2);
      }
    }
    out.shown = shown;
    return out;
  }

  function gap() {
    var m = Math.min(global.innerWidth || 0, global.innerHeight || 0);
    return Math.max(3, Math.round(m * 0.014));
  }

  // ------------------------------------------------------------- host link

  var host = null;
  try {
    if (global.parent && global.parent !== global && global.parent.wfHost &&
        typeof global.parent.wfHost._register === 'function') host = global.parent.wfHost;
  } catch (e) { host = null; }   // cross-origin parent: standalone

  var name = layoutNameFromPath();
  var redirecting = false;
  if (!host) {
    var isTop = true;
    try { isTop = global.top === global; } catch (e) { isTop = false; }
    if (isTop && name) {
      redirecting = true;
      var q = String(global.location.search || '').replace(/^\?/, '');
      try {
        global.location.replace('../sdk/host.html?layout=' + encodeURIComponent(name) + (q ? '&' + q : ''));
      } catch (e) { redirecting = false; }
    }
  }

  // ------------------------------------------------------------- state

  var handlers = { change: [], event: [], levels: [] };
  var byKey = {};                    // key -> participant object (this realm)
  var tiles = {};                    // 'key|source' -> tile element
  var domReady = false;
  var registered = false;
  var readyAsked = false;
  var readyDone = false;
  var chrome = null;                 // {topbar, footbar, title, subtitle, logoTop, logoFoot, watermark, css}
  var lastBrandingKey = null;

  var L = {
    name: name,
    participants: [],
    activeSpeaker: null,
    presenter: null,
    branding: normBranding(null),
    params: {},
    state: 'connecting',
    isStatic: false,
    stage: null,
    hosted: !!host
  };

  function emit(ev, arg) {
    (handlers[ev] || []).slice().forEach(function (fn) { safe(function () { fn(arg, L); }, '"' + ev + '" handler'); });
  }

  L.on = function (ev, fn) {
    if (typeof fn !== 'function') return L;
    (handlers[ev] = handlers[ev] || []).push(fn);
    if (ev === 'change' && registered) {
      // late subscriber: give it the current picture right away
      setTimeout(function () { if (handlers.change.indexOf(fn) >= 0) safe(function () { fn(allChanges(), L); }, 'change handler'); }, 0);
    }
    return L;
  };
  L.off = function (ev, fn) {
    if (handlers[ev]) handlers[ev] = handlers[ev].filter(function (f) { return f !== fn; });
    return L;
  };
  L.onChange = function (fn) { return L.on('change', fn); };

  L.get = function (id) { return id == null ? null : (byKey[String(id)] || null); };

  function allChanges() {
    return { initial: true, participants: true, tracks: true, speaking: true, activeSpeaker: true,
             presenter: true, branding: true, params: true, state: true, resize: true };
  }

  // ------------------------------------------------------------- model

  function applySnapshot(s) {
    if (!s) return;
    if (s.branding) L.branding = normBranding(s.branding);
    if (s.params && typeof s.params === 'object') L.params = s.params;
    if (typeof s.state === 'string') L.state = s.state;
    if (typeof s.isStatic === 'boolean') L.isStatic = s.isStatic;
    if (Array.isArray(s.participants)) {
      var seen = {};
      var list = s.participants.map(function (d, i) {
        var key = String(d.id);
        seen[key] = true;
        var p = byKey[key] || (byKey[key] = { id: d.id, key: key });
        p.id = d.id;
        p.index = i;
        p.display = d.display == null ? '' : String(d.display);
        p.name = p.display.trim() || 'Guest';
        p.initials = initials(p.display || p.name);
        p.color = colorFor(p.display || key);
        p.camera = d.camera || null;
        p.cameraTrack = d.cameraTrack || null;
        p.screen = d.screen || null;
        p.screenTrack = d.screenTrack || null;
        p.audio = !!d.audio;
        p.level = +d.level || 0;
        p.speaking = !!d.speaking;
        p.hasVideo = !!d.hasVideo;
        p.videoMuted = !p.camera;
        p.videoStalled = !!p.camera && !p.hasVideo;
        p.isActiveSpeaker = false;
        p.isPresenter = false;
        return p;
      });
      Object.keys(byKey).forEach(function (k) { if (!seen[k]) delete byKey[k]; });
      L.participants = list;
    }
    L.activeSpeaker = s.activeSpeakerId != null ? L.get(s.activeSpeakerId) : null;
    L.presenter = s.presenterId != null ? L.get(s.presenterId) : null;
    if (L.activeSpeaker) L.activeSpeaker.isActiveSpeaker = true;
    if (L.presenter) L.presenter.isPresenter = true;
  }

  // ------------------------------------------------------------- chrome

  function el(tag, cls, attrs) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  // The standard chrome goes around the page's [data-wf-stage] element; a
  // page without one gets none (L.stage is then <body>) but still the CSS
  // variables, show_names and custom_css.
  function buildChrome() {
    if (chrome) return;
    var css = el('style', null, { 'data-wf-custom-css': '' });
    (doc.head || doc.documentElement).appendChild(css);
    var stage = doc.querySelector('[data-wf-stage]');
    if (!stage) {
      L.stage = doc.body;
      chrome = { css: css, bare: true };
      return;
    }
    stage.classList.add('wf-stage');
    L.stage = stage;

    var topbar = el('header', 'wf-topbar');
    var titles = el('div', 'wf-titles');
    var accent = el('span', 'wf-accent');
    var title = el('div', 'wf-title', { 'data-wf-brand': 'title' });
    var subtitle = el('div', 'wf-subtitle', { 'data-wf-brand': 'subtitle' });
    titles.appendChild(accent);
    titles.appendChild(title);
    titles.appendChild(subtitle);
    var logoTop = el('img', 'wf-logo', { 'data-wf-brand': 'logo', alt: '' });
    topbar.appendChild(titles);
    var footbar = el('footer', 'wf-footbar');
    var spacer = el('div', 'wf-spacer');
    var logoFoot = el('img', 'wf-logo', { 'data-wf-brand': 'logo', alt: '' });
    footbar.appendChild(spacer);
    var watermark = el('div', 'wf-watermark', { 'data-wf-brand': 'watermark', 'aria-hidden': 'true' });
    stage.parentNode.insertBefore(topbar, stage);
    stage.parentNode.insertBefore(footbar, stage.nextSibling);
    doc.body.appendChild(watermark);
    [logoTop, logoFoot].forEach(function (img) {
      img.hidden = true;
      img.addEventListener('error', function () {
        img.dataset.failed = '1';
        img.hidden = true;
        settleLogo();
        // a bar that only held the logo goes away: the layout reflows
        lastBrandingKey = null;
        applyBranding();
        if (registered) emit('change', { branding: true });
      });
      img.addEventListener('load', function () { settleLogo(); });
    });
    chrome = { topbar: topbar, titles: titles, title: title, subtitle: subtitle, logoTop: logoTop,
               footbar: footbar, spacer: spacer, logoFoot: logoFoot, watermark: watermark, css: css };
  }

  var logoWaiters = [];
  function logoSettled() {
    if (!chrome || chrome.bare) return true;
    return [chrome.logoTop, chrome.logoFoot].every(function (img) {
      return img.hidden || !img.getAttribute('src') || img.complete || img.dataset.failed === '1';
    });
  }
  function settleLogo() {
    if (!logoSettled()) return;
    var w = logoWaiters; logoWaiters = [];
    w.forEach(function (fn) { fn(); });
  }

  function applyBranding() {
    if (!chrome) return;
    var b = L.branding;
    var key = JSON.stringify(b);
    if (key === lastBrandingKey) return;
    lastBrandingKey = key;
    var root = doc.documentElement;
    root.style.setProperty('--wf-bg', b.colors.background);
    root.style.setProperty('--wf-primary', b.colors.primary);
    root.style.setProperty('--wf-text', b.colors.text);
    root.style.setProperty('--wf-font', fontStack(b.font_family));
    root.classList.toggle('wf-no-names', !b.show_names);
    applyCustomCss(b.custom_css);
    if (chrome.bare) return;

    chrome.title.textContent = b.title;
    chrome.subtitle.textContent = b.subtitle;
    var logo = safeUrl(b.logo_url);
    var pos = b.logo_position;
    var top = pos.indexOf('top') === 0, right = /right$/.test(pos);
    var useImg = top ? chrome.logoTop : chrome.logoFoot;
    var other = top ? chrome.logoFoot : chrome.logoTop;
    other.hidden = true;
    other.removeAttribute('src');
    delete other.dataset.failed;
    if (logo) {
      if (useImg.getAttribute('src') !== logo) {
        delete useImg.dataset.failed;
        useImg.setAttribute('src', logo);
      }
      useImg.hidden = useImg.dataset.failed === '1';
      var bar = top ? chrome.topbar : chrome.footbar;
      // order: logo at the left or the right end of its bar
      if (right) bar.appendChild(useImg); else bar.insertBefore(useImg, bar.firstChild);
      if (!top) {
        chrome.spacer.style.display = '';
        if (right) chrome.footbar.insertBefore(chrome.spacer, useImg);
        else chrome.footbar.appendChild(chrome.spacer);
      }
    } else {
      useImg.hidden = true;
      useImg.removeAttribute('src');
    }
    var hasTitles = !!(b.title || b.subtitle);
    chrome.titles.style.display = hasTitles ? '' : 'none';
    var logoOk = !!logo && useImg.dataset.failed !== '1';
    var topVisible = hasTitles || (logoOk && top);
    chrome.topbar.hidden = !topVisible;
    chrome.footbar.hidden = !(logoOk && !top);
    if (topVisible && !hasTitles && logoOk && top) {
      // logo only: keep it at its side of the bar
      chrome.topbar.style.justifyContent = right ? 'flex-end' : 'flex-start';
    } else chrome.topbar.style.justifyContent = '';
    doc.body.classList.toggle('wf-has-topbar', topVisible);
    doc.body.classList.toggle('wf-has-footbar', logoOk && !top);
    chrome.watermark.textContent = b.watermark;
    fitWatermark();
  }

  function applyCustomCss(text) {
    var css = chrome.css;
    if (css.textContent !== text) css.textContent = text;
    // custom CSS goes last, after every stylesheet of the page
    var head = doc.head || doc.documentElement;
    if (css.parentNode !== head || css !== head.lastElementChild) head.appendChild(css);
  }

  // The watermark's rotated box must fit in 90 % of the viewport.
  function fitWatermark() {
    var wm = chrome && !chrome.bare && chrome.watermark;
    if (!wm || !wm.textContent) return;
    wm.style.fontSize = '';
    var vw = global.innerWidth, vh = global.innerHeight;
    if (!vw || !vh) return;
    var base = Math.min(vw, vh) * 0.1;
    wm.style.fontSize = base + 'px';
    var r = wm.getBoundingClientRect();
    var k = Math.min(1, (vw * 0.9) / Math.max(1, r.width), (vh * 0.9) / Math.max(1, r.height));
    if (k < 1) wm.style.fontSize = Math.max(6, base * k) + 'px';
  }

  // ------------------------------------------------------------- tiles

  function tileKey(p, source) { return String(p && p.key != null ? p.key : p && p.id) + '|' + source; }

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
      t = el('div', 'wf-tile wf-enter wf-fresh');
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
      tiles[k] = t;
      if (source === 'screen') t.classList.add('wf-screen');
      wireFrames(t);
    }
    t.setAttribute('data-wf-participant', t._wf.pkey);
    t.setAttribute('data-wf-role', role);
    t.setAttribute('data-wf-source', source);
    syncTile(t);
    return t;
  };

  function wireFrames(t) {
    var v = t._wf.video;
    var onFrame = function () {
      var w = t._wf;
      if (w.stream && v.srcObject === w.stream) {
        w.lastFrame = performance.now();
        if (!t.classList.contains('wf-has-video')) t.classList.add('wf-has-video');
        if (!w.reported) {
          w.reported = true;
          if (host) safe(function () { host._videoFrame(global, w.pkey, w.source); }, 'host._videoFrame');
        }
      }
      if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
    else {
      v.addEventListener('loadeddata', onFrame);
      v.addEventListener('timeupdate', onFrame);
    }
  }

  function setStream(video, stream) {
    if (video.srcObject !== stream) {
      try { video.srcObject = stream || null; } catch (e) { warn('srcObject: ' + e); }
    }
    if (stream && video.paused) {
      var pr = safe(function () { return video.play(); }, 'video.play');
      if (pr && pr.catch) pr.catch(function () { /* the recorder runs with the autoplay flag */ });
    }
  }

  function syncTile(t) {
    var w = t._wf;
    var p = byKey[w.pkey];
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

  /* Places items in container (position: relative), absolute, in % of its size.
   * items: [{participant, role, source, x, y, w, h}] or [{el, x, y, w, h}]
   * with x/y/w/h in container pixels. Tiles (and "+N" elements made by
   * L.moreTile) in the container that are not in items are removed. */
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
      else if (c.hasAttribute('data-wf-more')) container.removeChild(c);
    });
    // first placement without a slide-in from 0,0; later moves transition
    var fresh = keep.filter(function (e) { return e.classList.contains('wf-enter'); });
    if (fresh.length) {
      void container.offsetWidth;
      global.requestAnimationFrame(function () {
        fresh.forEach(function (e) { e.classList.remove('wf-enter'); });
        setTimeout(function () { fresh.forEach(function (e) { e.classList.remove('wf-fresh'); }); }, 400);
      });
    }
    return keep;
  };

  /* A "+N" element for filmstrips that cannot show everyone. */
  L.moreTile = function (container, count) {
    container = container || L.stage;
    var e = container.querySelector('[data-wf-more]');
    if (!e) {
      e = el('div', 'wf-more', { 'data-wf-more': '' });
    }
    var span = e.firstChild || e.appendChild(doc.createElement('span'));
    span.textContent = '+' + count;
    return e;
  };

  L.bestFit = bestFit;
  L.gridRects = gridRects;
  L.filmstripRects = filmstripRects;
  L.gap = gap;
  L.initials = initials;
  L.colorFor = colorFor;
  L.fontStack = fontStack;

  // stalled video -> initials (the tile's own frames)
  setInterval(function () {
    var now = performance.now();
    Object.keys(tiles).forEach(function (k) {
      var t = tiles[k];
      if (t.classList.contains('wf-has-video') && now - t._wf.lastFrame > STALL_MS) t.classList.remove('wf-has-video');
    });
  }, 250);

  // ------------------------------------------------------------- ready

  function raf2(fn) {
    global.requestAnimationFrame(function () { global.requestAnimationFrame(fn); });
  }

  function tilesWaiting() {
    return Object.keys(tiles).some(function (k) {
      var t = tiles[k];
      if (!t.isConnected || !t._wf.stream) return false;
      var p = byKey[t._wf.pkey];
      if (!p) return false;
      // only videos the host has seen frames of (a stalled track would never come)
      var live = t._wf.source === 'screen' ? !!p.screen : p.hasVideo;
      return live && !t.classList.contains('wf-has-video');
    });
  }

  /* The layout has rendered. Waits (bounded) for fonts, the logo and the first
   * frames of the videos on show, then two animation frames, then tells the
   * host. Later calls do nothing. */
  L.ready = function () {
    if (readyAsked) return;
    readyAsked = true;
    var t0 = performance.now();
    var fonts = (doc.fonts && doc.fonts.ready) ? doc.fonts.ready : Promise.resolve();
    var fontsTimeout = new Promise(function (r) { setTimeout(r, 1500); });
    Promise.race([fonts, fontsTimeout]).then(function () {
      return new Promise(function (resolve) {
        if (logoSettled()) { resolve(); return; }
        logoWaiters.push(resolve);
        setTimeout(resolve, LOGO_WAIT_MS);
      });
    }).then(function () {
      return new Promise(function (resolve) {
        (function check() {
          if (!tilesWaiting() || performance.now() - t0 > FRAME_WAIT_MS) { resolve(); return; }
          setTimeout(check, 30);
        })();
      });
    }).then(function () {
      raf2(function () {
        if (readyDone) return;
        readyDone = true;
        doc.documentElement.dataset.wfReady = '1';
        if (host) safe(function () { host._layoutReady(global); }, 'host._layoutReady');
      });
    });
  };

  // ------------------------------------------------------------- host feed

  var handle = {
    // full snapshot + what changed
    update: function (snap, changes) {
      applySnapshot(snap);
      afterModelChange(changes || {});
    },
    // level-only refresh: {key: level}
    levels: function (map) {
      Object.keys(map || {}).forEach(function (k) { if (byKey[k]) byKey[k].level = +map[k] || 0; });
      emit('levels', map);
    },
    event: function (ev) { emit('event', ev); }
  };

  function afterModelChange(changes) {
    if (changes.branding) applyBranding();
    doc.documentElement.classList.toggle('wf-static', !!L.isStatic);
    Object.keys(tiles).forEach(function (k) { syncTile(tiles[k]); });
    if (!domReady) return;
    var c = {};
    Object.keys(changes).forEach(function (k) { c[k] = !!changes[k]; });
    emit('change', c);
  }

  function start() {
    if (redirecting) return;
    domReady = true;
    buildChrome();
    var snap = null;
    if (host) snap = safe(function () { return host._register(global, handle); }, 'host._register');
    registered = true;
    if (snap) applySnapshot(snap);
    doc.documentElement.classList.toggle('wf-static', !!L.isStatic);
    lastBrandingKey = null;
    applyBranding();
    Object.keys(tiles).forEach(function (k) { syncTile(tiles[k]); });
    emit('change', allChanges());
  }

  var resizeTimer = null;
  global.addEventListener('resize', function () {
    fitWatermark();
    if (resizeTimer) return;
    resizeTimer = setTimeout(function () {
      resizeTimer = null;
      if (registered) emit('change', { resize: true });
    }, 30);
  });

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', start);
  else setTimeout(start, 0);
  if (doc.fonts && doc.fonts.ready) doc.fonts.ready.then(function () { fitWatermark(); });

  /* A log line into the service's log (through the host's bridge). */
  L.log = function (level, message) {
    var lv = level ? String(level) : 'info';
    var msg = '[layout ' + name + '] ' + String(message);
    var W = null;
    try { W = host && global.parent.Wallflower; } catch (e) { W = null; }
    if (W && typeof W.log === 'function') { safe(function () { W.log(lv, msg); }, 'log'); return; }
    try { console.log('[' + lv + '] ' + msg); } catch (e) { /* ignore */ }
  };

  global.WallflowerLayout = L;
  // In a layout page `Wallflower` is this layout API too, so `Wallflower.ready()`
  // means "this layout has rendered" (the host talks to the service, not the layout).
  global.Wallflower = L;
})(window);
