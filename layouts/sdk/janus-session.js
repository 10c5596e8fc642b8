/*
 * janus-session.js — a small client of the Janus JSON API over WebSocket
 * (subprotocol "janus-protocol"): a session with keepalives, plugin handles,
 * requests matched to their answers (plain script, no module).
 *
 * Load it before sdk/janus-connector.js (the hidden subscriber builds on it);
 * the synthetic participant page uses it alone. It sets
 * `window.WallflowerJanus` to {Session, Emitter, JanusError} and the helpers
 * the connector shares (`util`: log, sleep, CONNECT_TIMEOUT_MS).
 */
(function (global) {
  'use strict';

  var CONNECT_TIMEOUT_MS = 4000;   // open + create session, at start
  var REQUEST_TIMEOUT_MS = 10000;  // any single request
  var KEEPALIVE_MS = 25000;

  function log(level, msg) {
    try {
      var W = global.Wallflower;
      if (level !== 'debug' && W && typeof W.log === 'function') { W.log(level, '[janus] ' + msg); return; }
      console.log('[janus:' + level + '] ' + msg);
    } catch (e) { /* ignore */ }
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // ------------------------------------------------------------------ Emitter

  function Emitter() { this._handlers = {}; }
  Emitter.prototype.on = function (ev, fn) {
    if (typeof fn === 'function') (this._handlers[ev] = this._handlers[ev] || []).push(fn);
    return this;
  };
  Emitter.prototype.off = function (ev, fn) {
    var list = this._handlers[ev];
    if (list) this._handlers[ev] = list.filter(function (f) { return f !== fn; });
    return this;
  };
  Emitter.prototype.emit = function (ev) {
    var args = Array.prototype.slice.call(arguments, 1);
    var list = (this._handlers[ev] || []).slice();
    for (var i = 0; i < list.length; i++) {
      try { list[i].apply(null, args); } catch (e) {
        try { console.error('[janus] "' + ev + '" handler threw', e); } catch (e2) { /* ignore */ }
      }
    }
  };

  // ------------------------------------------------------------------ errors

  /* code: a connector error code (janus_unreachable, ...) or 'janus' for an
   * error answered by Janus (janusCode holds its number), 'timeout', 'closed'. */
  function JanusError(code, message, janusCode) {
    this.name = 'JanusError';
    this.code = code;
    this.message = message;
    this.janusCode = janusCode == null ? null : janusCode;
  }
  JanusError.prototype = Object.create(Error.prototype);
  JanusError.prototype.constructor = JanusError;

  // ------------------------------------------------------------------ Session

  /*
   * new Session(server, {connectTimeoutMs, keepaliveMs})
   *   .connect()              → Promise<Session>: WebSocket open + session created
   *   .attach(plugin)         → Promise<Handle>
   *   .destroy()              close (best-effort "destroy" first)
   *   .on('closed', fn(reason)) the WebSocket closed / session lost (once)
   *   .id                     Janus session id
   * Handle
   *   .send(body, jsep)       → Promise<{data, jsep}>; rejects with JanusError
   *                             for Janus errors and plugin `error_code`s
   *   .trickle(candidate)     candidate: RTCIceCandidate or null (= completed)
   *   .detach()
   *   .on('message', fn(data, jsep, solicited))  every plugin event, in arrival
   *                             order (responses to .send too, solicited=true)
   *   .on('webrtcup'|'hangup'|'media'|'slowlink'|'detached', fn(msg))
   */
  function Session(server, opts) {
    Emitter.call(this);
    opts = opts || {};
    this.server = server;
    this.connectTimeoutMs = opts.connectTimeoutMs || CONNECT_TIMEOUT_MS;
    this.keepaliveMs = opts.keepaliveMs || KEEPALIVE_MS;
    this.id = null;
    this.ws = null;
    this.handles = {};
    this.pending = {};
    this.nextTx = 1;
    this.keepaliveTimer = null;
    this.isClosed = false;
  }
  Session.prototype = Object.create(Emitter.prototype);
  Session.prototype.constructor = Session;

  Session.prototype.connect = function () {
    var self = this;
    return new Promise(function (resolve, reject) {
      var done = false;
      function fail(msg) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        self._close(msg, true);
        reject(new JanusError('janus_unreachable', msg));
      }
      var timer = setTimeout(function () {
        fail('no answer from Janus at ' + self.server + ' within ' + self.connectTimeoutMs / 1000 + ' s');
      }, self.connectTimeoutMs);
      var ws;
      try { ws = new WebSocket(self.server, 'janus-protocol'); } catch (e) {
        fail('cannot open ' + self.server + ': ' + (e && e.message || e));
        return;
      }
      self.ws = ws;
      ws.onmessage = function (ev) { self._onMessage(ev.data); };
      ws.onerror = function () { /* onclose follows */ };
      ws.onclose = function (ev) {
        if (!done) { fail('WebSocket to ' + self.server + ' closed (code ' + ev.code + ')'); return; }
        self._close('WebSocket closed (code ' + ev.code + ')', false);
      };
      ws.onopen = function () {
        self._request({ janus: 'create' }, false, self.connectTimeoutMs).then(function (msg) {
          if (done) return;
          done = true;
          clearTimeout(timer);
          self.id = msg.data && msg.data.id;
          self._startKeepalive();
          resolve(self);
        }, function (err) { fail('creating a Janus session failed: ' + err.message); });
      };
    });
  };

  Session.prototype._startKeepalive = function () {
    var self = this;
    this.keepaliveTimer = setInterval(function () {
      self._request({ janus: 'keepalive', session_id: self.id }, false).catch(function (e) {
        log('warn', 'keepalive failed: ' + e.message);
      });
    }, this.keepaliveMs);
  };

  // Sends one request; resolves with Janus' answer message. For "message"
  // requests an "ack" means: the answer comes later as an "event".
  Session.prototype._request = function (msg, waitEvent, timeoutMs) {
    var self = this;
    return new Promise(function (resolve, reject) {
      if (self.isClosed || !self.ws || self.ws.readyState !== 1) {
        reject(new JanusError('closed', 'not connected to Janus'));
        return;
      }
      var tx = 'wf' + (self.nextTx++);
      msg.transaction = tx;
      var entry = {
        resolve: resolve, reject: reject, waitEvent: !!waitEvent,
        timer: setTimeout(function () {
          delete self.pending[tx];
          reject(new JanusError('timeout', 'Janus did not answer "' + (msg.body && msg.body.request || msg.janus) + '"'));
        }, timeoutMs || REQUEST_TIMEOUT_MS)
      };
      self.pending[tx] = entry;
      try { self.ws.send(JSON.stringify(msg)); } catch (e) {
        clearTimeout(entry.timer);
        delete self.pending[tx];
        reject(new JanusError('closed', 'send failed: ' + e));
      }
    });
  };

  Session.prototype._settle = function (tx, fn) {
    var entry = this.pending[tx];
    if (!entry) return false;
    delete this.pending[tx];
    clearTimeout(entry.timer);
    fn(entry);
    return true;
  };

  Session.prototype._onMessage = function (text) {
    var msg;
    try { msg = JSON.parse(text); } catch (e) { return; }
    var self = this;
    var kind = msg.janus;
    var tx = msg.transaction;
    if (kind === 'ack') {
      var entry = tx && this.pending[tx];
      if (entry && !entry.waitEvent) this._settle(tx, function (e) { e.resolve(msg); });
      return;
    }
    if (kind === 'success' || kind === 'error') {
      if (kind === 'success' && msg.plugindata && msg.sender && this.handles[msg.sender]) {
        // synchronous plugin answer: surface plugin errors as rejections
        var d = msg.plugindata.data || {};
        this._settle(tx, function (e) {
          if (d.error_code) e.reject(new JanusError('janus', d.error || ('error ' + d.error_code), d.error_code));
          else e.resolve(msg);
        });
        return;
      }
      this._settle(tx, function (e) {
        if (kind === 'error') {
          var err = msg.error || {};
          e.reject(new JanusError('janus', err.reason || 'Janus error', err.code));
        } else e.resolve(msg);
      });
      if (kind === 'error' && msg.error && msg.error.code === 458) this._close('Janus lost the session', false);
      return;
    }
    if (kind === 'timeout') { this._close('Janus session timed out', false); return; }
    var handle = msg.sender && this.handles[msg.sender];
    if (kind === 'event') {
      var data = (msg.plugindata && msg.plugindata.data) || {};
      var solicited = false;
      if (tx) {
        solicited = this._settle(tx, function (e) {
          if (data.error_code) e.reject(new JanusError('janus', data.error || ('error ' + data.error_code), data.error_code));
          else e.resolve({ data: data, jsep: msg.jsep || null });
        });
      }
      if (handle) handle.emit('message', data, msg.jsep || null, solicited);
      return;
    }
    if (handle) {
      if (kind === 'detached') delete self.handles[msg.sender];
      handle.emit(kind, msg);
    }
  };

  Session.prototype.attach = function (plugin) {
    var self = this;
    return this._request({ janus: 'attach', session_id: this.id, plugin: plugin }, false).then(function (msg) {
      var h = new Handle(self, msg.data.id, plugin);
      self.handles[h.id] = h;
      return h;
    });
  };

  Session.prototype._close = function (reason, silent) {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.keepaliveTimer) { clearInterval(this.keepaliveTimer); this.keepaliveTimer = null; }
    var pend = this.pending;
    this.pending = {};
    Object.keys(pend).forEach(function (tx) {
      clearTimeout(pend[tx].timer);
      pend[tx].reject(new JanusError('closed', reason));
    });
    try {
      if (this.ws) {
        this.ws.onclose = null; this.ws.onmessage = null; this.ws.onopen = null;
        if (this.ws.readyState <= 1) this.ws.close();
      }
    } catch (e) { /* ignore */ }
    if (!silent) this.emit('closed', reason);
  };

  Session.prototype.destroy = function () {
    if (this.isClosed) return;
    try {
      if (this.ws && this.ws.readyState === 1 && this.id) {
        this.ws.send(JSON.stringify({ janus: 'destroy', session_id: this.id, transaction: 'wfbye' }));
      }
    } catch (e) { /* ignore */ }
    this._close('closed by the page', true);
  };

  function Handle(session, id, plugin) {
    Emitter.call(this);
    this.session = session;
    this.id = id;
    this.plugin = plugin;
  }
  Handle.prototype = Object.create(Emitter.prototype);
  Handle.prototype.constructor = Handle;

  Handle.prototype.send = function (body, jsep, timeoutMs) {
    var msg = { janus: 'message', session_id: this.session.id, handle_id: this.id, body: body };
    if (jsep) msg.jsep = { type: jsep.type, sdp: jsep.sdp };
    return this.session._request(msg, true, timeoutMs).then(function (res) {
      if (res && res.janus === 'success') {
        return { data: (res.plugindata && res.plugindata.data) || {}, jsep: null };
      }
      return res;
    });
  };

  Handle.prototype.trickle = function (candidate) {
    var c = candidate && candidate.candidate
      ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
      : { completed: true };
    var msg = { janus: 'trickle', session_id: this.session.id, handle_id: this.id, candidate: c };
    return this.session._request(msg, false).catch(function () { /* ignore */ });
  };

  Handle.prototype.detach = function () {
    delete this.session.handles[this.id];
    var msg = { janus: 'detach', session_id: this.session.id, handle_id: this.id };
    return this.session._request(msg, false).catch(function () { /* ignore */ });
  };
  global.WallflowerJanus = {
    Session: Session,
    Emitter: Emitter,
    JanusError: JanusError,
    util: { log: log, sleep: sleep, CONNECT_TIMEOUT_MS: CONNECT_TIMEOUT_MS }
  };
})(window);
