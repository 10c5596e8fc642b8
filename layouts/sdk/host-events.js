/*
 * host-events.js — call events on the host page (sdk/host.html): chat
 * messages, emoji reactions and slides. Plain script, loaded after
 * host-frames.js / host-boxes.js and before host-overlays.js and host.js.
 *
 * Owns where events come from (participants' data channels through the
 * connection's `data` events, the service through window.__wallflowerEvent),
 * checking them (schema in layouts/README.md, "Call events"), the forwarding
 * cap (50 a second), the overlay settings ({chat, reactions, slides}), the
 * counters and the reports to the service: `call_event` for every accepted
 * event (once it is on screen, or not shown) and `event_stats` (at most once
 * a second, when the numbers changed). What is drawn, and when, is
 * host-overlays.js.
 *
 * Exported as window.__wfHostInternals.events (see host.js for the namespace).
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  var MAX_BYTES = 4096;         // a message (the JSON text) larger than this is dropped
  var FORWARD_PER_S = 50;       // call_event reports in any second, at most
  var STATS_MS = 1000;          // event_stats at most this often
  var STATS_FIRST_MS = 250;     // ... and a little after the first change (coalesces a burst)
  var MAX_TEXT = 2000, MAX_EMOJI = 16, MAX_TITLE = 200, MAX_FROM = 200, MAX_URL = 2048;
  var ASSET_RE = /^[A-Za-z0-9_][A-Za-z0-9 _.,+~@%=-]*(\/[A-Za-z0-9_][A-Za-z0-9 _.,+~@%=-]*)*$/;

  var stats = { received: 0, shown: 0, dropped: 0 };
  var settings = { chat: true, reactions: true, slides: true };
  var forwarded = [];           // performance.now() of the last FORWARD_PER_S accepted events
  var statsTimer = null, statsAt = -1e9, statsKey = '{"received":0,"shown":0,"dropped":0}';

  function W() { return H.host.W; }
  function log(level, msg) { try { H.host.log(level, msg); } catch (e) { /* ignore */ } }

  // Unix ms now, on the clock the rAF reports use (performance.timeOrigin + t)
  function nowMs() { return (performance.timeOrigin || (Date.now() - performance.now())) + performance.now(); }

  // ------------------------------------------------------------- checks

  // code points, not UTF-16 units
  function chars(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0xDC00 || c > 0xDFFF) n++;
    }
    return n;
  }

  function utf8Bytes(s) {
    if (s.length > MAX_BYTES) return s.length;          // at least a byte per unit
    if (s.length * 3 <= MAX_BYTES) return s.length;     // at most three per unit: surely fits
    try { return new TextEncoder().encode(s).length; } catch (e) { return s.length * 3; }
  }

  function optString(v, max) {
    if (v === undefined || v === null) return '';
    return typeof v === 'string' && chars(v) <= max ? v : null;
  }

  // a slide's URL: absolute http(s), or an asset name (resolved against ../assets/)
  function slideUrl(u) {
    if (typeof u !== 'string' || !u || u.length > MAX_URL) return null;
    if (/^https?:\/\//i.test(u)) {
      try { var a = new URL(u); return /^https?:$/.test(a.protocol) && a.host ? a.href : null; } catch (e) { return null; }
    }
    if (!ASSET_RE.test(u)) return null;
    try { return new URL('../assets/' + u, location.href).href; } catch (e) { return null; }
  }

  // the fields an event of kind o.type carries, or null when it is not valid
  function validate(o) {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
    if (o.type === 'chat') {
      var t = o.text;
      return typeof t === 'string' && t.trim() !== '' && chars(t) <= MAX_TEXT ? { text: t } : null;
    }
    if (o.type === 'reaction') {
      var e = o.emoji;
      if (typeof e !== 'string' || e.trim() === '' || chars(e) > MAX_EMOJI) return null;
      return /[A-Za-z0-9\u0000-\u001f\u007f]/.test(e) ? null : { emoji: e };
    }
    if (o.type === 'slide') {
      var src = slideUrl(o.url);
      var title = optString(o.title, MAX_TITLE);
      var index = o.index === undefined || o.index === null ? null : o.index;
      if (!src || title === null || (index !== null && !(typeof index === 'number' && Math.floor(index) === index && isFinite(index)))) return null;
      return { url: o.url, index: index, title: title, src: src };
    }
    return null;
  }

  // ------------------------------------------------------------- intake

  function countReceived() { stats.received++; statsChanged(); }
  function dropped() { stats.dropped++; statsChanged(); }

  // room for one more report in the last second (a sliding window, not a bucket: no bursts)
  function takeToken() {
    var now = performance.now();
    if (forwarded.length >= FORWARD_PER_S && now - forwarded[0] < 1000) return false;
    forwarded.push(now);
    if (forwarded.length > FORWARD_PER_S) forwarded.shift();
    return true;
  }

  // a checked event goes to the overlays (which report it), or is dropped
  function accept(o, meta) {
    var fields = validate(o);
    if (!fields || !takeToken()) { dropped(); return; }
    var item = {
      kind: o.type, fields: fields, source: meta.source, id: meta.id,
      from: meta.from, fromId: meta.fromId, arrival: nowMs(), reported: false
    };
    H.overlays.take(item);
    H.frames.eachHandler(function (h) { h.event(publicEvent(item, true)); });
  }

  // a participant's data-channel message: {participantId, data, label}
  function fromData(ev) {
    countReceived();
    var raw = ev && ev.data;
    if (typeof raw !== 'string' || utf8Bytes(raw) > MAX_BYTES) { dropped(); return; }
    var o;
    try { o = JSON.parse(raw); } catch (e) { dropped(); return; }
    var pid = ev.participantId == null ? null : ev.participantId;
    var p = pid == null ? null : H.room.findPart(pid);
    accept(o, { source: 'data_channel', id: null, from: p && p.display ? p.display : null, fromId: pid });
  }

  // the service's event (window.__wallflowerEvent): {id, type, from?, …}
  function fromApi(ev) {
    countReceived();
    var raw = typeof ev === 'string' ? ev : null;
    var o = ev;
    try {
      if (raw === null) raw = JSON.stringify(ev);
      if (typeof raw !== 'string' || utf8Bytes(raw) > MAX_BYTES) { dropped(); return; }
      if (typeof ev === 'string') o = JSON.parse(raw);
    } catch (e) { dropped(); return; }
    if (!o || typeof o !== 'object') { dropped(); return; }
    var from = optString(o.from, MAX_FROM);
    if (from === null) { dropped(); return; }
    accept(o, { source: 'api', id: typeof o.id === 'string' ? o.id : null, from: from || null, fromId: null });
  }

  window.__wallflowerEvent = function (ev) {
    try { fromApi(ev); return true; } catch (e) {
      try { log('warn', 'event failed: ' + (e && e.message || e)); } catch (e2) { /* ignore */ }
      return false;
    }
  };

  // ------------------------------------------------------------- reports

  function publicEvent(item, withSource) {
    var e = { type: item.kind, from: item.from, from_id: item.fromId };
    var f = item.fields;
    if (item.kind === 'chat') e.text = f.text;
    else if (item.kind === 'reaction') e.emoji = f.emoji;
    else { e.url = f.url; e.index = f.index; e.title = f.title; }
    if (withSource) { e.source = item.source; e.id = item.id; }
    return e;
  }

  /* item is on screen since Unix ms t (shown), or will not be drawn (t ignored:
   * its arrival time is reported). Once per item. */
  function report(item, shown, t) {
    if (item.reported) return;
    item.reported = true;
    stats[shown ? 'shown' : 'dropped']++;
    statsChanged();
    var at = shown && isFinite(t) ? t : item.arrival;
    W().send('call_event', { event: publicEvent(item, false), id: item.id || null, source: item.source,
                             shown_at_ms: Math.round(at), shown: !!shown });
  }

  function statsChanged() {
    if (statsTimer !== null) return;
    var wait = Math.max(STATS_FIRST_MS, statsAt + STATS_MS - performance.now());
    statsTimer = setTimeout(sendStats, wait);
  }

  function sendStats() {
    statsTimer = null;
    var s = { received: stats.received, shown: stats.shown, dropped: stats.dropped };
    var key = JSON.stringify(s);
    if (key === statsKey) return;
    statsKey = key;
    statsAt = performance.now();
    W().send('event_stats', s);
  }

  // ------------------------------------------------------------- settings

  function normOverlays(o) {
    o = o && typeof o === 'object' && !Array.isArray(o) ? o : {};
    return { chat: o.chat !== false, reactions: o.reactions !== false, slides: o.slides !== false };
  }

  // the overlay settings of a config or update (missing fields: on); true when they changed
  function setOverlays(raw) {
    var next = normOverlays(raw);
    var differs = next.chat !== settings.chat || next.reactions !== settings.reactions || next.slides !== settings.slides;
    settings = next;
    return differs;
  }

  H.events = {
    fromData: fromData,
    report: report,
    nowMs: nowMs,
    setOverlays: setOverlays,
    get settings() { return settings; }
  };
})();
