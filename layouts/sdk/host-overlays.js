/*
 * host-overlays.js — what call events put on screen (sdk/host.html). Plain
 * script, loaded after host-events.js and before host.js.
 *
 * Owns the overlay state the layouts draw through sdk/layout.js (the recent
 * chat messages, the floating reactions, the current slide), the drawing
 * limits (about 10 chat messages a second, 30 reactions on screen, slides
 * coalesced to the latest within 200 ms and preloaded before they show), and
 * the timing of the reports: a layout says "drawn in the frame at t" (its
 * first requestAnimationFrame after the DOM change); a layout that is not
 * visible yet (loading underneath, e.g. the `auto` switch to presentation)
 * keeps those until the first frame of its swap, which is then the time.
 *
 * Exported as window.__wfHostInternals.overlays (see host.js for the namespace).
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var CHAT_KEEP = 5;            // messages in the panel
  var CHAT_SHOW_MS = 20000;     // the layouts' panel fades a message out after this
  var CHAT_LIFE_MS = 21000;     // kept for new layouts this long (past the panel's fade)
  var CHAT_PER_S = 10;          // drawn a second at most
  var REACTION_MS = 2500;       // rise and fade
  var REACTION_MAX = 30;        // on screen at once
  var SLIDE_GAP_MS = 200;       // the latest slide within this wins
  var SLIDE_LOAD_MS = 10000;    // a slide image that has not loaded by then failed
  var DRAW_TIMEOUT_MS = 8000;   // no layout reported an accepted event: not shown

  var seq = 0;
  var chats = [];               // {seq, from, fromId, text, at (Unix ms)}
  var reactions = [];           // {seq, emoji, fromId, at}
  var slide = null;             // {seq, url, src, index, title, from, fromId, width, height}
  var chatDraws = [];           // performance.now() of recent chat draws
  var waiting = {};             // seq -> item: sent to the layouts, not reported yet
  var slideNext = null, slideTimer = null, slideStartedAt = -1e9, slideLoads = 0;
  var slideGen = 0, slideShownGen = 0;
  var slideImgs = [];           // the last preloaded images (kept in the memory cache)

  function events() { return H.events; }
  function frozen() { return !!H.host.isStatic; }   // simulated animate:false: nothing moves or expires

  // ------------------------------------------------------------- state for the layouts

  function prune() {
    var now = events().nowMs();
    if (frozen()) return;
    while (reactions.length && now - reactions[0].at >= REACTION_MS) reactions.shift();
    while (chats.length && now - chats[0].at >= CHAT_LIFE_MS) chats.shift();
  }

  function copy(o) { var c = {}; Object.keys(o).forEach(function (k) { c[k] = o[k]; }); return c; }

  // plain data for sdk/layout.js: settings, how long a chat message and a
  // reaction show, chats (fresh = not on screen yet), reactions, slide
  function state() {
    prune();
    var s = events().settings;
    return {
      settings: { chat: s.chat, reactions: s.reactions, slides: s.slides },
      frozen: frozen(),
      chatLifeMs: CHAT_SHOW_MS,
      reactionMs: REACTION_MS,
      chats: chats.map(function (c) { var o = copy(c); o.fresh = !!waiting[c.seq]; return o; }),
      reactions: reactions.map(copy),
      slide: slide && s.slides ? copy(slide) : null
    };
  }

  function push() {
    var st = null;
    H.frames.eachHandler(function (h) {
      if (typeof h.overlays !== 'function') return;
      h.overlays(st || (st = state()));
    });
  }

  // ------------------------------------------------------------- taking events

  function notShown(item) { events().report(item, false); settledCheck(); }

  function waitFor(item) {
    item.seq = ++seq;
    item.sentAt = performance.now();
    waiting[item.seq] = item;
  }

  function chatBudget(now) {
    while (chatDraws.length && now - chatDraws[0] >= 1000) chatDraws.shift();
    return chatDraws.length < CHAT_PER_S;
  }

  // an accepted event (host-events.js): drawn, queued (slides) or reported as not shown
  function take(item) {
    var s = events().settings;
    var now = performance.now();
    var f = item.fields;
    if (item.kind === 'chat') {
      if (!s.chat || !chatBudget(now)) { notShown(item); return; }
      chatDraws.push(now);
      waitFor(item);
      chats.push({ seq: item.seq, from: item.from, fromId: item.fromId, text: f.text, at: item.arrival });
      while (chats.length > CHAT_KEEP) chats.shift();
      push();
    } else if (item.kind === 'reaction') {
      prune();
      if (!s.reactions || reactions.length >= REACTION_MAX) { notShown(item); return; }
      waitFor(item);
      reactions.push({ seq: item.seq, emoji: f.emoji, from: item.from, fromId: item.fromId, at: item.arrival });
      push();
    } else if (item.kind === 'slide') {
      if (!s.slides) { notShown(item); return; }
      queueSlide(item);
    }
  }

  // ------------------------------------------------------------- slides

  function queueSlide(item) {
    if (slideNext) notShown(slideNext);        // superseded within SLIDE_GAP_MS
    slideNext = item;
    if (slideTimer !== null) return;
    slideTimer = setTimeout(startSlide, Math.max(0, slideStartedAt + SLIDE_GAP_MS - performance.now()));
  }

  function startSlide() {
    slideTimer = null;
    var item = slideNext;
    slideNext = null;
    if (!item) return;
    slideStartedAt = performance.now();
    var gen = ++slideGen;
    slideLoads++;
    preload(item.fields.src, function (ok, w, h) {
      slideLoads--;
      if (!ok) H.host.log('warn', 'slide image did not load: ' + item.fields.src);
      if (!ok || gen < slideShownGen || !events().settings.slides) { notShown(item); return; }
      slideShownGen = gen;
      waitFor(item);
      var f = item.fields;
      slide = { seq: item.seq, url: f.src, index: f.index, title: f.title, from: item.from, fromId: item.fromId,
                width: w, height: h };
      push();
      H.frames.autoSync();
    });
  }

  // loads and decodes url in this document: cb(ok, naturalWidth, naturalHeight)
  function preload(url, cb) {
    var img = new Image();
    var done = false;
    var timer = setTimeout(function () { finish(false); }, SLIDE_LOAD_MS);
    function finish(ok) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) { slideImgs.push(img); if (slideImgs.length > 3) slideImgs.shift(); }
      cb(ok && img.naturalWidth > 0, img.naturalWidth, img.naturalHeight);
    }
    img.onload = function () {
      var d = img.decode ? img.decode() : Promise.resolve();
      d.then(function () { finish(true); }, function () { finish(img.naturalWidth > 0); });
    };
    img.onerror = function () { finish(false); };
    img.src = url;
  }

  // ------------------------------------------------------------- reports from the layouts

  // a slide the visible layout does not show, but the `auto` layout is about to
  function autoWillShow(item) {
    return item.kind === 'slide' && H.frames.autoSwitchingToSlides() &&
           !!slide && slide.seq === item.seq;
  }

  /* A layout drew (or could not draw) these events in its frame at Unix ms t:
   * list = [{seq, shown}]. */
  function drawn(job, list, t) {
    list.forEach(function (d) {
      var item = waiting[d.seq];
      if (!item) return;
      if (!H.frames.isVisible(job)) {
        (job.overlayStash = job.overlayStash || {})[d.seq] = !!d.shown;
        return;
      }
      if (d.shown) settle(item, true, t);
      else if (job === H.frames.current && !autoWillShow(item)) settle(item, false);
    });
  }

  // the first frame of job's swap (its first visible frame) was at Unix ms t
  function swapped(job, t) {
    var st = job.overlayStash;
    job.overlayStash = null;
    if (!st) return;
    Object.keys(st).forEach(function (k) {
      var item = waiting[k];
      if (!item) return;
      if (st[k]) settle(item, true, t);
      else if (!autoWillShow(item)) settle(item, false);
    });
  }

  function settle(item, shown, t) {
    delete waiting[item.seq];
    events().report(item, shown, t);
    settledCheck();
  }

  // every event waiting for a layout has been drawn or reported, and no slide is loading
  function settled() {
    return !slideNext && slideTimer === null && slideLoads === 0 && Object.keys(waiting).length === 0;
  }

  function settledCheck() { if (settled()) H.host.checkReady(); }

  // events no layout reported in time are not shown
  setInterval(function () {
    var now = performance.now();
    Object.keys(waiting).forEach(function (k) {
      var item = waiting[k];
      if (now - item.sentAt > DRAW_TIMEOUT_MS) settle(item, false);
    });
  }, 1000);

  // new overlay settings (host-events.js took them): what is off goes away;
  // sync: whether the `auto` layout follows now (not when the caller switches itself)
  function settingsChanged(sync) {
    var s = events().settings;
    if (!s.chat) chats = [];
    if (!s.reactions) reactions = [];
    push();
    if (sync !== false) H.frames.autoSync();
  }

  H.overlays = {
    take: take,
    state: state,
    drawn: drawn,
    swapped: swapped,
    settled: settled,
    settingsChanged: settingsChanged,
    // a slide is up (and slides are drawn): the `auto` layout shows presentation
    slideShown: function () { return !!slide && events().settings.slides; },
    currentSlide: function () {
      return slide ? { url: slide.url, index: slide.index, title: slide.title, from: slide.from } : null;
    }
  };
})();
