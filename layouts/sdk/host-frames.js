/*
 * host-frames.js — the host page's layout frames (sdk/host.html). Plain
 * script, loaded after host-room.js and before host.js.
 *
 * Owns the layout <iframe>s: loading a layout (../<name>/layout.json, then
 * its index.html underneath the current frame), the fallback when nothing is
 * on screen yet, the crossfade that swaps a ready layout in, live updates
 * (window.__wallflowerUpdate), delivering room snapshots to the layouts
 * (sdk/layout.js registers through wfHost._register), and the test hooks on
 * window.wfHost (boxes(), snapshot(), update(), event(), layout).
 *
 * Exported as window.__wfHostInternals.frames (see host.js for the namespace).
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var LOAD_TIMEOUT_MS = 5000;   // a layout must say ready within this
  var FADE_MS = 250;            // crossfade on a layout switch
  var NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

  var body = document.body;
  var elFrames = document.getElementById('wf-frames');

  var jobs = [];               // live layout frames: the current one, one being loaded, one leaving
  var current = null;          // visible
  var pending = null;          // loading
  var layoutShown = false;     // the first layout is visible
  var layoutFrameSeen = false; // a layout reported a participant's video frame
  var jobSeq = 0;
  var initialName = 'grid';    // set by start()
  var requested = { name: initialName, raw: {} };
  var tried = {};              // names that failed while nothing was visible

  function log(level, msg) { H.host.log(level, msg); }
  function send(type, payload) { H.host.W.send(type, payload); }
  function safe(fn, what) { return H.host.safe(fn, what); }
  function changed(flags) { H.room.changed(flags); }
  function mergeParams(meta, raw) { return H.host.mergeParams(meta, raw); }

  // ------------------------------------------------------------- change delivery

  function snapshot(job) {
    var room = H.room.snapshot();
    return {
      layout: job ? job.name : null,
      participants: room.participants,
      activeSpeakerId: room.activeSpeakerId,
      presenterId: room.presenterId,
      branding: H.host.branding,
      params: job ? job.params : {},
      state: body.dataset.state,
      isStatic: H.host.isStatic || !H.host.readySent
    };
  }

  // every live layout gets a fresh snapshot and what changed
  function deliver(flags) {
    jobs.forEach(function (job) {
      if (!job.handler || job.dead) return;
      var snap = snapshot(job);
      var f = {};
      Object.keys(flags).forEach(function (k) { f[k] = true; });
      if (job.paramsChanged) { f.params = true; job.paramsChanged = false; }
      safe(function () { job.handler.update(snap, f); }, 'layout update');
    });
  }

  function eachHandler(fn) {
    jobs.forEach(function (job) { if (job.handler && !job.dead) safe(function () { fn(job.handler); }, 'layout call'); });
  }

  // tiles showing video in the visible layout (stalled videos refreshed first)
  function videoTick() {
    H.room.refreshVideo();
    var n = 0;
    if (current && current.iframe) {
      try {
        var d = current.iframe.contentDocument;
        if (d) n = d.querySelectorAll('[data-wf-participant].wf-has-video').length;
      } catch (e) { /* ignore */ }
    }
    if (body.dataset.videos !== String(n)) body.dataset.videos = String(n);
  }

  // ------------------------------------------------------------- loading

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
    var job = newJob(name, revision, fromUpdate);
    if (!NAME_RE.test(name)) {
      setTimeout(function () { failJob(job, 'invalid layout name "' + name + '"'); }, 0);
      return job;
    }
    var base = '../' + encodeURIComponent(name) + '/';
    fetchMeta(name, base).then(function (meta) {
      if (job.dead) return;
      job.meta = meta && typeof meta === 'object' ? meta : {};
      job.params = mergeParams(job.meta, requested.raw);
      openFrame(job, base);
    }, function (e) {
      failJob(job, e && e.message ? e.message : String(e));
    });
    return job;
  }

  function newJob(name, revision, fromUpdate) {
    var job = { id: ++jobSeq, name: name, revision: revision, fromUpdate: !!fromUpdate, iframe: null, handler: null,
                meta: null, params: {}, dead: false, timer: null, paramsChanged: false };
    jobs.push(job);
    pending = job;
    job.timer = setTimeout(function () {
      failJob(job, 'layout "' + name + '" did not become ready within ' + LOAD_TIMEOUT_MS / 1000 + ' s');
    }, LOAD_TIMEOUT_MS);
    return job;
  }

  function fetchMeta(name, base) {
    try {
      return fetch(base + 'layout.json', { cache: 'no-store' }).then(function (r) {
        if (!r.ok) throw new Error('layout "' + name + '" not found (layout.json: HTTP ' + r.status + ')');
        return r.json().catch(function () { throw new Error('layout "' + name + '": layout.json is not valid JSON'); });
      });
    } catch (e) { return Promise.reject(e); }
  }

  function openFrame(job, base) {
    var name = job.name;
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
    if (job.fromUpdate) send('apply_failed', { revision: job.revision, message: message });
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
      if (job.fromUpdate) send('applied', { revision: job.revision, layout: job.name });
      if (!layoutShown) { layoutShown = true; H.host.checkReady(); }
    };
    if (!old) { H.host.raf2(shown); return; }
    old.iframe.classList.remove('wf-current');
    if (H.host.isStatic) {
      removeJob(old);
      H.host.raf2(shown);
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

  function parseSettings(settings) {
    var s = settings;
    if (typeof s === 'string') { try { s = JSON.parse(s); } catch (e) { s = null; } }
    return s && typeof s === 'object' && !Array.isArray(s) ? s : null;
  }

  function supersede(job, revision) {
    if (job.fromUpdate && job.revision !== revision) {
      send('apply_failed', { revision: job.revision, message: 'superseded by revision ' + revision });
    }
  }

  // the layout being loaded already is the one asked for: it picks up the new settings
  function retargetPending(revision) {
    supersede(pending, revision);
    pending.revision = revision;
    pending.fromUpdate = true;
    if (pending.meta) { pending.params = mergeParams(pending.meta, requested.raw); pending.paramsChanged = true; changed({}); }
  }

  // same layout: tell it (params / branding) in place
  function updateInPlace(revision) {
    var np = mergeParams(current.meta, requested.raw);
    if (JSON.stringify(np) !== JSON.stringify(current.params)) { current.params = np; current.paramsChanged = true; }
    var job = current;
    H.room.afterNextFlush(function () {
      H.host.raf2(function () {
        if (!job.dead) send('applied', { revision: revision, layout: job.name });
      });
    });
    changed({});
  }

  function applyUpdate(settings) {
    var s = parseSettings(settings);
    if (!s) {
      log('warn', 'ignoring an update that is not an object');
      return false;
    }
    var revision = s.revision == null ? null : s.revision;
    var brandingChanged = s.branding !== undefined && H.host.setBranding(s.branding);
    if (s.layout_params !== undefined) requested.raw = H.host.objectOr(s.layout_params);
    if (s.layout != null && s.layout !== '') requested.name = String(s.layout);
    var name = requested.name;
    if (brandingChanged) changed({ branding: true });

    if (pending && pending.name === name) { retargetPending(revision); return true; }
    if (pending) {
      var old = pending;
      removeJob(old);
      supersede(old, revision);
    }
    if (current && current.name === name) { updateInPlace(revision); return true; }
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

  // a tile's name label: its text, its box (snapped inward to whole pixels:
  // cropping a screenshot at (x, y, w, h) gives only pixels of the label),
  // and whether it sticks out of the tile box r
  function labelBox(label, win, off, r) {
    var out = { name: '', box: null, overflow: false };
    if (!label) return out;
    var txt = label.querySelector('.wf-name-text') || label;
    out.name = txt.textContent;
    if (!displayed(label, win)) return out;
    var lr = label.getBoundingClientRect();
    var lx = Math.ceil(lr.left + off.left - 0.001), ly = Math.ceil(lr.top + off.top - 0.001);
    out.box = { x: lx, y: ly, w: Math.max(0, Math.floor(lr.right + off.left + 0.001) - lx),
                h: Math.max(0, Math.floor(lr.bottom + off.top + 0.001) - ly) };
    out.overflow = lr.left < r.left - 0.5 || lr.top < r.top - 0.5 || lr.right > r.right + 0.5 || lr.bottom > r.bottom + 0.5;
    return out;
  }

  function tileBox(el, win, off) {
    var r = el.getBoundingClientRect();
    var id = el.getAttribute('data-wf-participant');
    var l = labelBox(el.querySelector('[data-wf-name]'), win, off, r);
    var name = l.name;
    if (!name) { var p = H.room.findPart(id); name = p ? p.display : ''; }
    return { id: id, name: name, role: el.getAttribute('data-wf-role') || 'tile',
             source: el.getAttribute('data-wf-source') || 'camera',
             x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height),
             label: l.box, name_overflows: l.overflow };
  }

  function brandBox(el, off) {
    var r = el.getBoundingClientRect();
    var kind = el.getAttribute('data-wf-brand');
    return { kind: kind, text: kind === 'logo' ? (el.getAttribute('src') || '') : el.textContent,
             x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height) };
  }

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
      if (displayed(el, win)) out.tiles.push(tileBox(el, win, off));
    });
    Array.prototype.forEach.call(d.querySelectorAll('[data-wf-brand]'), function (el) {
      if (displayed(el, win)) out.brand.push(brandBox(el, off));
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
      if (!layoutFrameSeen) { layoutFrameSeen = true; H.host.checkReady(); }
    }
  };

  H.frames = {
    // the first layout: `name` (also the fallback), with the configured layout_params
    start: function (name, rawParams) {
      initialName = name;
      requested = { name: initialName, raw: rawParams };
      loadLayout(requested.name, null, false);
    },
    deliver: deliver,
    eachHandler: eachHandler,
    videoTick: videoTick,
    get layoutShown() { return layoutShown; },
    get layoutFrameSeen() { return layoutFrameSeen; }
  };
})();
