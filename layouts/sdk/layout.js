/*
 * layout.js — the Wallflower layout SDK: the one entry point of layout pages,
 * the participant model, events and public API (plain script, no module).
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
 *   WallflowerLayout.slide             the current slide {url, index, title, from, width,
 *                                      height} (decoded, slides on), or null
 *   WallflowerLayout.slideElement()    the element showing it, for render() items
 *   WallflowerLayout.log(level, message)   a line in the service's log
 *
 * Participant: {id, key, name, display, initials, color, index, camera,
 *   cameraTrack, screen, screenTrack, audio, level, speaking, hasVideo,
 *   videoMuted, videoStalled, isActiveSpeaker, isPresenter}
 *
 * Opened directly as a top-level page, the layout redirects to
 * ../sdk/host.html?layout=<name>&<its own query> so previews in an ordinary
 * browser work. Every text is set with textContent.
 *
 * Parts. Pages load only this file (<script src="../sdk/layout.js"></script>,
 * a plain script tag). Classic scripts cannot import, so while the page is
 * being parsed this file document.write()s the tags of its parts (and the
 * overlay stylesheet) right after its own tag; the parser runs such scripts,
 * in order, before anything that follows, so the whole API exists when the
 * page's own scripts run:
 *   branding.js        branding defaults and checks, CSS variables and the
 *                      watermark fit (shared with the host)
 *   layout-tiles.js    tile(), render(), attachVideo(), moreTile(), bestFit(),
 *                      gridRects(), filmstripRects(), gap(), initials(), colorFor()
 *   layout-chrome.js   the branding chrome, CSS variables, custom CSS, fontStack(),
 *                      branding defaults
 *   layout-overlays.js call events over the stage: chat panel, floating reactions
 *   layout-slide.js    the current slide: slide, slideElement()
 *                      (both styled by layout-overlays.css)
 * (Loaded any other way, e.g. deferred, it appends them as ordered scripts
 * instead, and starts once they ran.) The parts share state with this file
 * through one object, window.__wfLayoutInternals, never through other globals.
 */
(function (global) {
  'use strict';

  var doc = global.document;
  var thisScript = doc.currentScript;   // this <script>: the parts are next to it
  var PARTS = ['branding.js', 'layout-tiles.js', 'layout-chrome.js', 'layout-overlays.js', 'layout-slide.js'];
  var STYLES = ['layout-overlays.css'];   // written before the parts (render-blocking, like the page's own)
  var FRAME_WAIT_MS = 1500;     // ready(): longest wait for tiles' first video frames
  var LOGO_WAIT_MS = 2000;      // ready(): longest wait for the logo image
  var OVERLAY_WAIT_MS = 2000;   // ready(): longest wait for the slide image

  // ------------------------------------------------------------- helpers

  function warn(msg) { try { console.warn('[layout] ' + msg); } catch (e) { /* ignore */ } }

  function safe(fn, what) {
    try { return fn(); } catch (e) { warn((what || 'callback') + ' threw: ' + (e && e.stack || e)); }
    return undefined;
  }

  function el(tag, cls, attrs) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function raf2(fn) {
    global.requestAnimationFrame(function () { global.requestAnimationFrame(fn); });
  }

  function layoutNameFromPath() {
    var segs = String(global.location.pathname || '').split('/').filter(Boolean);
    if (segs.length && /\.html?$/i.test(segs[segs.length - 1])) segs.pop();
    try { return decodeURIComponent(segs[segs.length - 1] || ''); } catch (e) { return segs[segs.length - 1] || ''; }
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
  var domReady = false;
  var registered = false;
  var readyAsked = false;
  var readyDone = false;

  var L = {
    name: name,
    participants: [],
    activeSpeaker: null,
    presenter: null,
    branding: null,              // layout-chrome.js fills in the defaults
    params: {},
    state: 'connecting',
    isStatic: false,
    stage: null,
    hosted: !!host
  };

  // What the parts use; they add their own exports (see each part's header).
  var I = global.__wfLayoutInternals = {
    L: L,
    host: host,
    byKey: byKey,            // key -> participant (the same object for the page's life)
    warn: warn,
    safe: safe,
    el: el,
    emit: emit,
    get registered() { return registered; },
    partDone: openGate       // each part calls it last
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
             presenter: true, branding: true, params: true, state: true, resize: true, slide: true };
  }

  // ------------------------------------------------------------- model

  // the participant object for host data d (the same object for the same key)
  function refreshPart(d, i, seen) {
    var key = String(d.id);
    seen[key] = true;
    var p = byKey[key] || (byKey[key] = { id: d.id, key: key });
    p.id = d.id;
    p.index = i;
    p.display = d.display == null ? '' : String(d.display);
    p.name = p.display.trim() || 'Guest';
    p.initials = I.initials(p.display || p.name);
    p.color = I.colorFor(p.display || key);
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
  }

  function applySnapshot(s) {
    if (!s) return;
    if (s.branding) L.branding = I.normBranding(s.branding);
    if (s.params && typeof s.params === 'object') L.params = s.params;
    if (typeof s.state === 'string') L.state = s.state;
    if (typeof s.isStatic === 'boolean') L.isStatic = s.isStatic;
    if (Array.isArray(s.participants)) {
      var seen = {};
      var list = s.participants.map(function (d, i) { return refreshPart(d, i, seen); });
      Object.keys(byKey).forEach(function (k) { if (!seen[k]) delete byKey[k]; });
      L.participants = list;
    }
    L.activeSpeaker = s.activeSpeakerId != null ? L.get(s.activeSpeakerId) : null;
    L.presenter = s.presenterId != null ? L.get(s.presenterId) : null;
    if (L.activeSpeaker) L.activeSpeaker.isActiveSpeaker = true;
    if (L.presenter) L.presenter.isPresenter = true;
  }

  // ------------------------------------------------------------- ready

  function waitLogo() {
    return new Promise(function (resolve) {
      if (!I.logoSettled || I.logoSettled()) { resolve(); return; }   // (no chrome yet: nothing to wait for)
      I.onLogoSettled(resolve);
      setTimeout(resolve, LOGO_WAIT_MS);
    });
  }

  // resolves once the part's I[test]() is false (or it has none), polling
  // every `every` ms, and at the latest `limit` ms after t0
  function waitWhile(test, t0, limit, every) {
    return new Promise(function (resolve) {
      (function check() {
        if (!I[test] || !I[test]() || performance.now() - t0 > limit) { resolve(); return; }
        setTimeout(check, every);
      })();
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
    Promise.race([fonts, fontsTimeout]).then(waitLogo).then(function () {
      return waitWhile('tilesWaiting', t0, FRAME_WAIT_MS, 30);            // the tiles' first video frames
    }).then(function () {
      return waitWhile('overlaysBusy', performance.now(), OVERLAY_WAIT_MS, 20);   // the slide image being decoded
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
    event: function (ev) { emit('event', ev); },
    // call-event overlays: {settings, frozen, chats, reactions, slide} (sdk/layout-overlays.js)
    overlays: function (st) { I.setOverlays(st); }
  };

  function afterModelChange(changes) {
    if (changes.branding) I.applyBranding();
    doc.documentElement.classList.toggle('wf-static', !!L.isStatic);
    I.syncTiles();
    if (!domReady) return;
    var c = {};
    Object.keys(changes).forEach(function (k) { c[k] = !!changes[k]; });
    emit('change', c);
  }

  function start() {
    if (redirecting) return;
    domReady = true;
    I.buildChrome();
    var snap = null;
    if (host) snap = safe(function () { return host._register(global, handle); }, 'host._register');
    registered = true;
    if (snap) applySnapshot(snap);
    doc.documentElement.classList.toggle('wf-static', !!L.isStatic);
    I.applyBranding(true);
    I.syncTiles();
    emit('change', allChanges());
    I.startOverlays(snap && snap.overlays);   // after the first render: reactions rise from tiles
  }

  var resizeTimer = null;
  global.addEventListener('resize', function () {
    if (resizeTimer) return;
    resizeTimer = setTimeout(function () {
      resizeTimer = null;
      if (registered) emit('change', { resize: true });
    }, 30);
  });

  // start() once the DOM is parsed and every part ran (with written parts the
  // second always comes first)
  var startGates = 1 + PARTS.length;
  function openGate() { if (--startGates === 0) start(); }
  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', openGate);
  else setTimeout(openGate, 0);

  /* A log line into the service's log (through the host's bridge). */
  L.log = function (level, message) {
    var lv = level ? String(level) : 'info';
    var msg = '[layout ' + name + '] ' + String(message);
    var W = null;
    try { W = host && global.parent.Wallflower; } catch (e) { W = null; }
    if (W && typeof W.log === 'function') { safe(function () { W.log(lv, msg); }, 'log'); return; }
    try { console.log('[' + lv + '] ' + msg); } catch (e) { /* ignore */ }
  };

  // ------------------------------------------------------------- parts

  function partUrl(file) {
    try { return new URL(file, thisScript.src).href; } catch (e) { return '../sdk/' + file; }
  }

  // While the page is parsed: parser-blocking tags right after this one (one
  // write: the parser takes the first tag at once and the rest after it ran).
  // Else (deferred, async, injected): ordered scripts at the end of <head>.
  function loadParts() {
    var urls = PARTS.map(partUrl);
    var attr = function (u) { return u.replace(/&/g, '&amp;').replace(/"/g, '&quot;'); };
    var links = STYLES.map(function (f) { return '<link rel="stylesheet" href="' + attr(partUrl(f)) + '" data-wf-part="' + f + '">'; });
    doc.addEventListener('error', function (e) {
      var t = e.target;
      if (t && t.tagName === 'SCRIPT' && t.hasAttribute('data-wf-part')) warn('could not load ' + t.src);
    }, true);
    if (doc.readyState === 'loading') {
      try {
        doc.write(links.join('') + urls.map(function (u, i) {
          return '<script src="' + attr(u) + '" data-wf-part="' + PARTS[i] + '"><\/script>';
        }).join(''));
      } catch (e) { /* not writable: below */ }
      if (doc.querySelector('script[data-wf-part]')) return;
    }
    STYLES.forEach(function (f) {
      (doc.head || doc.documentElement).appendChild(el('link', null, { rel: 'stylesheet', href: partUrl(f), 'data-wf-part': f }));
    });
    urls.forEach(function (u, i) {
      var s = el('script', null, { 'data-wf-part': PARTS[i] });
      s.async = false;
      s.src = u;
      (doc.head || doc.documentElement).appendChild(s);
    });
  }

  global.WallflowerLayout = L;
  // In a layout page `Wallflower` is this layout API too, so `Wallflower.ready()`
  // means "this layout has rendered" (the host talks to the service, not the layout).
  global.Wallflower = L;
  loadParts();
})(window);
