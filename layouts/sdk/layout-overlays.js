/*
 * layout-overlays.js — part of the layout SDK (loaded by sdk/layout.js, never
 * by a page itself): the call-event overlays every layout gets for free.
 *
 * Owns the overlay layer over the stage ([data-wf-stage], else the page): the
 * chat panel (bottom left: the last messages, sender names in their colour,
 * text clamped to 3 lines, fading after 20 s) and the emoji reactions floating
 * up over the sender's tile; the slide is layout-slide.js. Styles:
 * sdk/layout-overlays.css. The host sends the state (settings, chats,
 * reactions, slide; see host-overlays.js); this part draws it and reports, per
 * event, the time of the first animation frame that shows it
 * (wfHost._overlayDrawn). Every text is set with textContent.
 * Shares state through window.__wfLayoutInternals (see sdk/layout.js) and adds
 * setOverlays(state), startOverlays(state) and overlayReport(entry) to it.
 */
(function (global) {
  'use strict';

  var I = global.__wfLayoutInternals;
  var L = I.L;
  var el = I.el;
  var doc = global.document;

  var CHAT_FADE_MS = 800;
  var CHAT_MAX_H = 0.45;        // of the stage's height
  var ENTER_MS = 180;           // a new message slides in (from 65 % opacity)
  var MOVE_MS = 200;            // older messages move up
  var FROZEN_AT = 0.4;          // still pictures: a reaction this far up its path
  var EASE = 'cubic-bezier(.2, .7, .3, 1)';

  var started = false;
  var st = null;                // the host's latest state (with chatLifeMs, reactionMs)
  var root = null, panel = null, layer = null;
  var cards = {};               // seq -> chat card
  var fades = {};               // seq -> fade timer
  var floats = {};              // seq -> {el, r (the host's reaction)}
  var gone = {};                // seq -> true: a card or reaction that was drawn and went away
  var placeTimer = null;
  var reports = [];             // {seq, shown | check()} for the next frame
  var reportRaf = 0;

  function epoch() { return (performance.timeOrigin || 0) + performance.now(); }
  function animated() { return !L.isStatic && typeof doc.documentElement.animate === 'function'; }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }

  // ------------------------------------------------------------- layer

  function ensureRoot() {
    var stage = L.stage || doc.body;
    if (!root) {
      root = el('div', 'wf-overlays', { 'aria-hidden': 'true' });
      layer = el('div', 'wf-reactions');
      panel = el('div', 'wf-chat');
      root.appendChild(layer);
      root.appendChild(panel);
    }
    // (kept last in the stage: a layout that emptied its stage gets it back)
    if (root.parentNode !== stage) stage.appendChild(root);
    root.classList.toggle('wf-overlays-page', stage === doc.body);
  }

  function apply() {
    ensureRoot();
    var set = st.settings || {};
    root.classList.toggle('wf-no-chat', set.chat === false);
    root.classList.toggle('wf-no-reactions', set.reactions === false);
    syncChats(Array.isArray(st.chats) ? st.chats : []);
    syncReactions(Array.isArray(st.reactions) ? st.reactions : []);
    if (I.syncSlide) I.syncSlide(st.slide || null);
    scheduleReport();
  }

  // ------------------------------------------------------------- reports

  /* An event drawn: {seq, shown} or {seq, check: fn -> shown}, reported with the
   * time of the next animation frame (check() is asked then). */
  function overlayReport(entry) {
    reports.push(entry);
    scheduleReport();
  }

  // the first frame after the DOM changes: its time is when those events show
  function scheduleReport() {
    if (reportRaf || !reports.length) return;
    reportRaf = global.requestAnimationFrame(function (ts) {
      reportRaf = 0;
      var t = (performance.timeOrigin || 0) + ts;
      var list = reports.splice(0).map(function (r) { return { seq: r.seq, shown: r.check ? !!r.check() : !!r.shown }; });
      if (I.host && typeof I.host._overlayDrawn === 'function') {
        I.safe(function () { I.host._overlayDrawn(global, list, t); }, 'host._overlayDrawn');
      }
    });
  }

  // ------------------------------------------------------------- chat

  // the sender's hue: their tile's (participant) colour's, else one for the name
  function senderHue(c) {
    var p = c.fromId != null ? L.get(c.fromId) : null;
    if (p) return I.hueFor(p.display || p.key);   // as sdk/layout.js colours the participant
    return c.from ? I.hueFor(c.from) : null;
  }

  function makeCard(c) {
    var card = el('div', 'wf-chat-msg', { 'data-wf-overlay': 'chat', 'data-wf-seq': String(c.seq) });
    var hue = senderHue(c);
    if (hue !== null) {
      card.style.setProperty('--wf-chat-accent', 'hsl(' + hue + ', 62%, 58%)');
      card.style.setProperty('--wf-chat-name', 'hsl(' + hue + ', 85%, 76%)');
    }
    var from = el('div', 'wf-chat-from');
    from.textContent = c.from || '';
    if (c.from) card.setAttribute('data-wf-from', String(c.from));
    var text = el('div', 'wf-chat-text', { 'data-wf-text': '' });
    text.textContent = String(c.text);
    card.appendChild(from);
    card.appendChild(text);
    return card;
  }

  function dropCard(seq) {
    var card = cards[seq];
    delete cards[seq];
    gone[seq] = true;
    clearTimeout(fades[seq]);
    delete fades[seq];
    if (card && card.parentNode) card.parentNode.removeChild(card);
  }

  // no taller than CHAT_MAX_H of the stage: the oldest go (the host keeps the count)
  function trimChats() {
    if (!panel) return;
    var maxH = (root.clientHeight || global.innerHeight) * CHAT_MAX_H;
    var kids = panel.children;
    while (kids.length > 1 && panel.offsetHeight > maxH) {
      dropCard(kids[0].getAttribute('data-wf-seq'));
    }
  }

  function scheduleFade(seq, delay) {
    fades[seq] = setTimeout(function () {
      var card = cards[seq];
      if (!card) return;
      if (!animated()) { dropCard(seq); return; }
      var a = card.animate([{ opacity: 1 }, { opacity: 0 }], { duration: CHAT_FADE_MS, easing: 'ease', fill: 'forwards' });
      a.onfinish = function () { dropCard(seq); };
    }, delay);
  }

  function tops() {
    var out = [];
    Array.prototype.forEach.call(panel.children, function (c) { out.push([c, c.getBoundingClientRect().top]); });
    return out;
  }

  // older messages glide to where the new one pushed them
  function glide(before) {
    before.forEach(function (b) {
      if (!b[0].isConnected) return;
      var dy = b[1] - b[0].getBoundingClientRect().top;
      if (Math.abs(dy) < 0.5) return;
      b[0].animate([{ transform: 'translateY(' + dy + 'px)' }, { transform: 'translateY(0)' }],
                   { duration: MOVE_MS, easing: EASE, composite: 'add' });
    });
  }

  function syncChats(list) {
    var want = {};
    list.forEach(function (c) { want[c.seq] = true; });
    Object.keys(cards).forEach(function (k) { if (!want[k]) dropCard(k); });
    var fresh = list.filter(function (c) { return !cards[c.seq] && !gone[c.seq]; });
    if (!fresh.length) return;
    var anim = animated();
    var before = anim ? tops() : [];
    var now = epoch();
    var added = [];
    fresh.forEach(function (c) {
      var age = Math.max(0, now - c.at);
      if (!st.frozen && age >= st.chatLifeMs) { gone[c.seq] = true; return; }
      cards[c.seq] = makeCard(c);
      panel.appendChild(cards[c.seq]);
      added.push({ c: c, age: age });
    });
    trimChats();
    added.forEach(function (a) {
      var card = cards[a.c.seq];
      if (!card) return;
      if (anim && a.c.fresh) {
        card.animate([{ opacity: 0.65, transform: 'translateY(0.7em) scale(0.97)' }, { opacity: 1, transform: 'none' }],
                     { duration: ENTER_MS, easing: EASE });
      }
      if (!st.frozen) scheduleFade(a.c.seq, Math.max(0, st.chatLifeMs - a.age));
      reports.push({ seq: a.c.seq, shown: true });
    });
    if (anim) glide(before);
  }

  // ------------------------------------------------------------- reactions

  // deterministic "random" numbers per event (mulberry32): still pictures stay still
  function seeded(n) {
    var a = (Math.imul(n | 0, 0x9E3779B1) ^ 0x5bd1e995) >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // the sender's tile on show (camera before screen), or null
  function tileOf(id) {
    if (id == null || !L.stage) return null;
    var key = String(id), best = null;
    var list = L.stage.querySelectorAll('[data-wf-participant]');
    for (var i = 0; i < list.length; i++) {
      var t = list[i];
      if (t.getAttribute('data-wf-participant') !== key) continue;
      var r = t.getBoundingClientRect();
      if (r.width < 4 || r.height < 4) continue;
      if (t.getAttribute('data-wf-source') !== 'screen') return t;
      best = best || t;
    }
    return best;
  }

  // where a reaction starts (x, y in the layer), how far it rises, drifts and sways
  function path(r) {
    var rb = root.getBoundingClientRect();
    var w = rb.width || global.innerWidth, h = rb.height || global.innerHeight;
    var size = clamp(Math.min(global.innerWidth, global.innerHeight) * 0.07, 18, 150);
    var rnd = seeded(r.seq);
    var tile = tileOf(r.fromId);
    var x, y, tr = null;
    if (tile) {
      tr = tile.getBoundingClientRect();
      x = tr.left - rb.left + tr.width * (0.3 + 0.4 * rnd());
      y = tr.bottom - rb.top - Math.max(size * 0.8, tr.height * 0.16);
    } else {
      x = w * (0.6 + 0.32 * rnd());
      y = h - size * 0.8;
    }
    x = clamp(x, size * 0.6, Math.max(size * 0.6, w - size * 0.6));
    y = clamp(y, size * 0.6, Math.max(size * 0.6, h - size * 0.6));
    var rise = Math.max(0, Math.min(y - size * 0.6, Math.max(h * 0.3, tr ? tr.height * 0.75 : 0), h * 0.5));
    // a still picture shows it over the tile, whose it is
    var frozen = Math.min(rise * FROZEN_AT, tr ? Math.max(0, tr.height * 0.55 - size) : rise);
    return { x: x, y: y, size: size, rise: rise, frozen: frozen, drift: (rnd() - 0.5) * size * 1.4,
             sway: size * (0.15 + 0.12 * rnd()) * (rnd() < 0.5 ? -1 : 1) };
  }

  var CENTER = 'translate(-50%, -50%) ';

  function animateFloat(e, inner, p, age) {
    var ms = st.reactionMs;
    var up = function (k) { return CENTER + 'translateY(' + (-p.rise * k) + 'px)'; };
    var a = e.animate([
      { offset: 0, transform: up(0), opacity: 1 },
      { offset: 0.65, transform: up(0.68), opacity: 1 },
      { offset: 1, transform: up(1), opacity: 0 }
    ], { duration: ms, easing: 'cubic-bezier(.3, .45, .55, 1)', fill: 'forwards' });
    var side = function (k, s, sc) { return 'translateX(' + (p.drift * k + p.sway * s) + 'px) scale(' + sc + ')'; };
    var b = inner.animate([
      { offset: 0, transform: side(0, 0, 0.55) },
      { offset: 0.07, transform: side(0.04, 0, 1.2) },
      { offset: 0.15, transform: side(0.12, 0.3, 1) },
      { offset: 0.4, transform: side(0.4, -1, 1) },
      { offset: 0.65, transform: side(0.65, 0.8, 1) },
      { offset: 0.85, transform: side(0.85, -0.4, 0.96) },
      { offset: 1, transform: side(1, 0, 0.9) }
    ], { duration: ms, easing: 'linear', fill: 'forwards' });
    if (age > 0) { a.currentTime = age; b.currentTime = age; }
    return a;
  }

  function spawn(r, age) {
    var p = path(r);
    var e = el('div', 'wf-reaction', { 'data-wf-overlay': 'reaction' });
    if (r.from) e.setAttribute('data-wf-from', String(r.from));
    var inner = el('span', 'wf-reaction-glyph');
    inner.textContent = String(r.emoji);
    e.appendChild(inner);
    e.style.left = p.x + 'px';
    e.style.top = p.y + 'px';
    e.style.fontSize = p.size + 'px';
    layer.appendChild(e);
    var seq = r.seq;
    if (st.frozen || !animated()) {
      e.style.transform = CENTER + 'translateY(' + (-p.frozen) + 'px)';
      inner.style.transform = 'translateX(' + (p.drift * FROZEN_AT - p.sway) + 'px)';
      if (!st.frozen) setTimeout(function () { removeFloat(seq); }, Math.max(0, st.reactionMs - age));
    } else {
      animateFloat(e, inner, p, age).onfinish = function () { removeFloat(seq); };
    }
    return e;
  }

  function removeFloat(seq) {
    var f = floats[seq];
    delete floats[seq];
    gone[seq] = true;
    if (f && f.el.parentNode) f.el.parentNode.removeChild(f.el);
  }

  // after a change the layout drew: the layer is back if the layout emptied its
  // stage, and (still pictures) frozen reactions follow their tiles
  function afterChange() {
    placeTimer = null;
    ensureRoot();
    if (!st || !st.frozen) return;
    Object.keys(floats).forEach(function (k) {
      var f = floats[k];
      if (f.el.parentNode) f.el.parentNode.removeChild(f.el);
      f.el = spawn(f.r, 0);
    });
  }

  function syncReactions(list) {
    var want = {};
    list.forEach(function (r) { want[r.seq] = true; });
    Object.keys(floats).forEach(function (k) { if (!want[k]) removeFloat(k); });   // expired, or switched off
    var now = epoch();
    list.forEach(function (r) {
      if (floats[r.seq] || gone[r.seq]) return;
      var age = st.frozen ? 0 : Math.max(0, now - r.at);
      if (age >= st.reactionMs) { gone[r.seq] = true; return; }
      floats[r.seq] = { el: spawn(r, age), r: r };
      reports.push({ seq: r.seq, shown: true });
    });
  }

  // ------------------------------------------------------------- wiring

  L.on('change', function (c) {
    if (!started) return;
    if (c.resize) trimChats();
    // (after the layout's own handlers, which run after this one)
    if (placeTimer === null) placeTimer = setTimeout(function () { I.safe(afterChange, 'overlays'); }, 0);
  });

  I.setOverlays = function (state) {
    if (!state || typeof state !== 'object') return;
    st = state;
    if (started) I.safe(apply, 'overlays');
  };
  I.startOverlays = function (state) {
    started = true;
    if (state && typeof state === 'object') st = state;
    if (st) I.safe(apply, 'overlays');
    else ensureRoot();
  };
  I.overlayReport = overlayReport;
  I.partDone();
})(window);
