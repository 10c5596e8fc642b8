/*
 * wallflower.js — page <-> Wallflower service bridge (plain script, no module).
 *
 * Load it with a relative <script src="../sdk/wallflower.js"></script>; it sets
 * `window.Wallflower`. It never throws and never touches the network.
 *
 * Transport
 *   Before navigating, the service installs a CDP binding (Runtime.addBinding)
 *   named `__wallflower`. A page talks to the service by calling
 *   `window.__wallflower(JSON.stringify(msg))`; every message is one JSON object
 *   with a string "type". If the binding is missing (not installed yet, or the
 *   page is previewed in an ordinary browser), messages are queued and retried
 *   every 50 ms for up to 10 s, then dropped with a console.warn.
 *
 * Messages (page -> service)
 *   {"type":"ready"}
 *       Content is rendered; capture may begin. Sent at most once.
 *   {"type":"end","reason":"<string>"}
 *       The page says the session is over. reason defaults to "page_ended".
 *       Sent at most once.
 *   {"type":"log","level":"debug|info|warn|error","message":"<string>"}
 *       A log line for the service's log (also written to the page console).
 *   {"type":"<anything else>", ...payload}
 *       Generic event (chat, etc.): the payload's own fields, plus "type"
 *       (the "type" argument always wins over a payload field named "type").
 *
 * API
 *   Wallflower.params              query parameters of the page URL (strings)
 *   Wallflower.config              the recording's configuration object (see below)
 *   Wallflower.ready()             send "ready" (idempotent)
 *   Wallflower.end(reason)         send "end" (idempotent)
 *   Wallflower.send(type, payload) send a generic event
 *   Wallflower.log(level, message) send a log line and console.log it
 *
 * Configuration (Wallflower.config)
 *   A getter, read at call time (never cached), returning the first of:
 *   1. `window.__wallflowerConfig`: injected by the service before navigation
 *      (a script evaluated on every new document, before page scripts), so
 *      secrets such as a room pin never appear in the URL. An object, or a
 *      JSON string holding one.
 *   2. The URL parameter `config`: URL-encoded JSON (for previews in an
 *      ordinary browser), e.g. `?config=%7B%22start%22%3A%22immediately%22%7D`.
 *   3. `{}`.
 *   Invalid JSON is ignored (console.warn) and falls through to the next step.
 */
(function (global) {
  'use strict';

  var RETRY_MS = 50;
  var GIVE_UP_MS = 10000;

  var queue = [];          // JSON strings waiting for the binding
  var timer = null;        // retry interval id
  var firstQueuedAt = 0;   // when the current wait began
  var gaveUp = false;      // binding never appeared: drop instead of queueing
  var readySent = false;
  var endSent = false;

  function binding() {
    try {
      var b = global.__wallflower;
      return typeof b === 'function' ? b : null;
    } catch (e) {
      return null;
    }
  }

  function warn(text) {
    try { console.warn('[wallflower] ' + text); } catch (e) { /* ignore */ }
  }

  // Try to hand every queued message to the binding, in order.
  function flush() {
    var b = binding();
    if (!b) return false;
    while (queue.length) {
      var s = queue.shift();
      try { b(s); } catch (e) { warn('binding call failed: ' + e); }
    }
    return true;
  }

  function stopTimer() {
    if (timer !== null) { clearInterval(timer); timer = null; }
  }

  function tick() {
    if (flush()) { stopTimer(); return; }
    if (Date.now() - firstQueuedAt >= GIVE_UP_MS) {
      stopTimer();
      gaveUp = true;
      warn('no __wallflower binding after ' + GIVE_UP_MS / 1000 + ' s; dropping ' +
           queue.length + ' message(s) (preview mode?)');
      queue.length = 0;
    }
  }

  function post(msg) {
    var s;
    try { s = JSON.stringify(msg); } catch (e) { warn('cannot serialise message: ' + e); return; }
    if (typeof s !== 'string') return;
    queue.push(s);
    if (flush()) return;
    if (gaveUp) { queue.length = 0; return; }   // binding never came; stay quiet
    if (timer === null) {
      firstQueuedAt = Date.now();
      try { timer = setInterval(tick, RETRY_MS); } catch (e) { /* ignore */ }
    }
  }

  function readParams() {
    var out = {};
    try {
      var sp = new URLSearchParams(global.location.search);
      sp.forEach(function (value, key) { out[key] = String(value); });
    } catch (e) { /* ignore */ }
    return out;
  }

  function asObject(v, where) {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    if (typeof v === 'string' && v !== '') {
      try {
        var o = JSON.parse(v);
        if (o && typeof o === 'object' && !Array.isArray(o)) return o;
      } catch (e) { /* fall through */ }
      warn('ignoring ' + where + ': not a JSON object');
    }
    return null;
  }

  function readConfig() {
    var injected = null;
    try { injected = global.__wallflowerConfig; } catch (e) { /* ignore */ }
    var c = asObject(injected, 'window.__wallflowerConfig');
    if (c) return c;
    c = asObject(Wallflower.params.config, 'the "config" URL parameter');
    return c || {};
  }

  var Wallflower = {
    params: readParams(),

    ready: function () {
      if (readySent) return;
      readySent = true;
      post({ type: 'ready' });
    },

    end: function (reason) {
      if (endSent) return;
      endSent = true;
      post({ type: 'end', reason: reason ? String(reason) : 'page_ended' });
    },

    send: function (type, payload) {
      var msg = {};
      try {
        if (payload && typeof payload === 'object') {
          for (var k in payload) {
            if (Object.prototype.hasOwnProperty.call(payload, k)) msg[k] = payload[k];
          }
        }
      } catch (e) { /* ignore */ }
      msg.type = String(type);
      post(msg);
    },

    log: function (level, message) {
      level = level ? String(level) : 'info';
      message = String(message);
      try { console.log('[wallflower:' + level + '] ' + message); } catch (e) { /* ignore */ }
      post({ type: 'log', level: level, message: message });
    }
  };

  try {
    Object.defineProperty(Wallflower, 'config', { get: readConfig, enumerable: true });
  } catch (e) { /* ignore */ }

  global.Wallflower = Wallflower;
})(window);
