/*
 * host-frames.js — the host page's layout frames (sdk/host.html). Plain
 * script, loaded after host-room.js and before host.js.
 *
 * Owns the layout <iframe>s: loading a layout (../<name>/layout.json, then
 * its index.html underneath the current frame), the fallback when nothing is
 * on screen yet, the crossfade that swaps a ready layout in, the `auto`
 * layout (presentation while a slide is up or a screen is shared, else grid),
 * live updates (window.__wallflowerUpdate), delivering room snapshots to the
 * layouts (sdk/layout.js registers through wfHost._register) and the hooks on
 * window.wfHost (boxes() from host-boxes.js, snapshot(), update(), event(),
 * currentSlide(), layout; _register, _layoutReady, _videoFrame, _overlayDrawn
 * for sdk/layout.js).
 *
 * Exported as window.__wfHostInternals.frames (see host.js for the namespace).
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var LOAD_TIMEOUT_MS = 5000;   // a layout must say ready within this
  var FADE_MS = 250;            // crossfade on a layout switch
  var NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
  var AUTO = 'auto';            // requested layout: presentation or grid, see autoTarget()

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
  var autoFailed = {};         // layouts an `auto` switch could not load (not tried again)

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
      isStatic: H.host.isStatic || !H.host.animating,
      overlays: H.overlays.state()
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
    if (flags.presenter || flags.tracks || flags.participants) autoSync();
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
    if (job.auto) autoFailed[job.name] = true;
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
    // the first frame of the swap (the crossfade start): events this layout drew show from here
    requestAnimationFrame(function (ts) {
      job.visibleAt = performance.timeOrigin + ts;
      if (!job.dead) H.overlays.swapped(job, job.visibleAt);
    });
    var shown = function () {
      if (job.dead) return;
      body.dataset.layout = job.name;
      if (job.fromUpdate) send('applied', { revision: job.revision, layout: job.reportAs || job.name });
      if (!layoutShown) { layoutShown = true; H.host.checkReady(); }
    };
    if (!old) { H.host.raf2(shown); return; }
    old.iframe.classList.remove('wf-current');
    // An automatic switch (a slide came up) cuts at once: the slide's time in the timeline is
    // the frame it appears in, not somewhere in a crossfade.
    if (H.host.isStatic || job.auto) {
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
    var as = requested.name === AUTO ? AUTO : job.name;
    H.room.afterNextFlush(function () {
      H.host.raf2(function () {
        if (!job.dead) send('applied', { revision: revision, layout: as });
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
    if (s.layout != null && s.layout !== '') setRequested(String(s.layout));
    if (s.overlays !== undefined && H.events.setOverlays(s.overlays)) H.overlays.settingsChanged(false);
    var name = effectiveName();      // (after the overlays: slides off, `auto` shows grid)
    if (brandingChanged) changed({ branding: true });

    if (pending && pending.name === name) { retargetPending(revision); pending.reportAs = reportAs(); return true; }
    if (pending) {
      var old = pending;
      removeJob(old);
      supersede(old, revision);
    }
    if (current && current.name === name) { updateInPlace(revision); return true; }
    loadLayout(name, revision, true).reportAs = reportAs();
    return true;
  }

  // ------------------------------------------------------------- auto

  function setRequested(name) {
    requested.name = name;
    body.dataset.requestedLayout = name;
  }

  function reportAs() { return requested.name === AUTO ? AUTO : null; }

  // what `auto` shows now: presentation while a slide is up or someone shares a screen
  function autoTarget() {
    var screen = H.room.parts.some(function (p) { return !!p.screen; });
    return (screen || H.overlays.slideShown()) && !autoFailed.presentation ? 'presentation' : 'grid';
  }

  function effectiveName() { return requested.name === AUTO ? autoTarget() : requested.name; }

  // `auto` is requested and shows (or is switching to) the presentation layout
  function autoSwitchingToSlides() { return requested.name === AUTO && autoTarget() === 'presentation'; }

  // with `auto` requested, switch when its target changed (a slide, a screen share)
  function autoSync() {
    if (requested.name !== AUTO || (!current && !pending)) return;
    var want = autoTarget();
    if (pending) {
      if (pending.name === want) return;
      var p = pending;
      removeJob(p);
      if (current && current.name === want) {
        if (p.fromUpdate) updateInPlace(p.revision);
        return;
      }
      var j = loadLayout(want, p.revision, p.fromUpdate);
      j.reportAs = p.reportAs;
      j.auto = true;
      return;
    }
    if (current && current.name !== want && !autoFailed[want]) loadLayout(want, null, false).auto = true;
  }

  window.__wallflowerUpdate = function (settings) {
    try { return applyUpdate(settings); } catch (e) {
      try { log('error', 'update failed: ' + (e && e.message || e)); } catch (e2) { /* ignore */ }
      return false;
    }
  };

  // ------------------------------------------------------------- window.wfHost

  window.wfHost = {
    update: function (s) { return window.__wallflowerUpdate(s); },
    boxes: function () {
      try { return H.boxes.boxes(current); } catch (e) { return { error: String(e && e.message || e) }; }
    },
    // feeds an event to the layouts' on('event') (it is not drawn: see __wallflowerEvent)
    event: function (ev) { eachHandler(function (h) { h.event(ev); }); },
    // the slide the host keeps ({url, index, title, from}), or null
    currentSlide: function () { return H.overlays.currentSlide(); },
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
    },
    // the layout drew call events ([{seq, shown}]) in its frame at Unix ms t
    _overlayDrawn: function (win, list, t) {
      var job = findJob(win);
      if (!job || job.dead || !Array.isArray(list)) return;
      H.overlays.drawn(job, list, +t);
    }
  };

  H.frames = {
    // the first layout: `name` (also the fallback), with the configured layout_params
    start: function (name, rawParams) {
      initialName = name === AUTO ? 'grid' : name;
      requested = { name: name, raw: rawParams };
      setRequested(name);
      loadLayout(effectiveName(), null, false).auto = name === AUTO;
    },
    deliver: deliver,
    autoSync: autoSync,
    autoTarget: autoTarget,
    autoSwitchingToSlides: autoSwitchingToSlides,
    // job's first frame on screen has passed (its swap began a frame ago or more)
    isVisible: function (job) { return !!job && job === current && !!job.visibleAt && !job.dead; },
    get current() { return current; },
    get pending() { return pending; },
    get requestedName() { return requested.name; },
    eachHandler: eachHandler,
    videoTick: videoTick,
    get layoutShown() { return layoutShown; },
    get layoutFrameSeen() { return layoutFrameSeen; }
  };
})();
