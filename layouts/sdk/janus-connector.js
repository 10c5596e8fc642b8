/*
 * janus-connector.js — joins a Janus VideoRoom as a *hidden* subscriber and
 * reports what happens in the room as plain events (plain script, no module).
 *
 * Load it after sdk/janus-session.js (the session and handles), janus-room.js
 * (start-up requests, their error codes), janus-levels.js (speaking levels),
 * janus-tracks.js (tracks, RTP arrival, data channels), janus-sync.js
 * (participants' lip-sync), janus-layers.js (simulcast layers) and
 * janus-subscriber.js (the subscriber handle and its PeerConnection); it sets
 * `window.WallflowerJanus.connect`. Only talks to the
 * Janus server it is given (Janus JSON API over WebSocket, subprotocol
 * "janus-protocol"); no other network use.
 *
 * The event interface below is SFU-neutral: a connector for another SFU should
 * expose the same `connect(opts)` → emitter with the same events and payloads,
 * so layouts work unchanged.
 *
 *   var conn = WallflowerJanus.connect({server, room, pin, display});
 *   conn.on(event, fn)   // returns conn; handlers get one payload object
 *   conn.off(event, fn)
 *   conn.close()         // leave: no further events
 *   conn.participants()  // [{id, display}] currently known
 *   conn.fitVideo(sizes) // optional: mid -> {width, height}, where the page
 *                        // shows each video (device pixels; a mid left out is
 *                        // not shown), about once a second; a connector may
 *                        // pick the simulcast layer that fits (sdk/janus-layers.js)
 *
 * Events
 *   participant-joined {id, display}
 *   participant-left   {id}
 *   track-added        {participantId, kind: 'audio'|'video', track, stream, mid,
 *                       source: 'camera'|'screen'}      (stream holds only track)
 *   track-removed      {participantId, kind, mid}
 *   speaking           {participantId, level}           level 0..1, ~10 Hz while
 *                                                       the participant has audio
 *   data               {participantId, data, label}     data-channel message from
 *                                                       a publisher (text; binary
 *                                                       is decoded as UTF-8;
 *                                                       participantId null if
 *                                                       unknown)
 *   status             {connected, publishers: [{id, display}]}
 *                       first once the room check passed, then whenever the
 *                       publisher set or the connection state changes
 *   error              {code, message}   fatal; the connector stops afterwards.
 *                       code: janus_unreachable | room_not_found | auth_failed |
 *                             janus_error
 *   room-destroyed     {}                the room went away; connector stops
 *   incident           {kind: 'connection_lost'|'connection_restored', message}
 *
 * How it stays hidden: it never joins as a publisher. Publishers are found by
 * polling `listparticipants` (every POLL_MS) on a control handle; a second
 * handle joins as `ptype: "subscriber"` and `subscribe`s to each new publisher
 * (sdk/janus-subscriber.js). The `streams` list Janus sends with each offer
 * maps mids to feeds (`feed_id`, `feed_display`); inactive streams, and
 * streams whose RTP stops for 2.5 s (until it comes back), become
 * `track-removed` (sdk/janus-tracks.js); publishers no longer listed become
 * `participant-left`.
 *
 * Janus relays publishers' data-channel messages to subscribers only once the
 * subscriber has a channel open, so the subscriber opens one of its own
 * ("wallflower-recorder", never written to); Janus labels each relayed
 * channel with the sending publisher's id.
 *
 * Start-up: WebSocket + session within 4 s (retrying inside that window), else
 * `janus_unreachable`; `listparticipants` (426 → `room_not_found`); a
 * throw-away subscriber `join` without feeds checks the pin (433, or 429
 * "(pin)" → `auth_failed`). Only then the first `status`.
 * Connection loss after start: `incident connection_lost`, tracks removed,
 * participants kept; reconnect with backoff 0.5/1/2/2… s, new session,
 * resubscribe, `incident connection_restored`; publishers missing after the
 * reconnect get RESTORE_GRACE_MS to reappear before `participant-left`.
 */
(function (global) {
  'use strict';

  var POLL_MS = 1000;
  var RESTORE_GRACE_MS = 6000;     // after a reconnect, how long missing publishers may take to come back
  var BACKOFF_MS = [500, 1000, 2000];

  var J = global.WallflowerJanus;   // the sdk/janus-*.js above, loaded first
  var Session = J.Session, Emitter = J.Emitter, JanusError = J.JanusError;
  var log = J.util.log, sleep = J.util.sleep, CONNECT_TIMEOUT_MS = J.util.CONNECT_TIMEOUT_MS;
  var R = J.room, VIDEOROOM = R.VIDEOROOM;

  // ------------------------------------------------------------------ connect

  function connect(opts) {
    opts = opts || {};
    var conn = new Emitter();
    var server = String(opts.server || '');
    var room = R.normRoom(opts.room);
    var pin = opts.pin == null || opts.pin === '' ? null : String(opts.pin);

    var closed = false;       // close() / fatal error / room destroyed: no more events
    var connected = false;
    var gen = 0;              // bumps on every (re)connection; stale callbacks check it

    var session = null;
    var ctl = null;           // control handle: listparticipants
    var parts = {};           // id -> {id, display}
    var graceUntil = 0;
    var pollTimer = null;
    var pollTimeouts = 0;     // listparticipants timeouts in a row
    var lastStatusKey = null;
    var levels = null, subscriber = null;
    function pc() { return subscriber.pc(); }
    var tracks = J.subscriberTracks({
      emit: emit,
      isClosed: function () { return closed; },
      pc: pc,
      parts: function () { return parts; },
      streams: function () { return subscriber.streams(); },
      levels: function () { return levels; },
      onReport: function (report) { subscriber.noteReport(report); }
    });
    levels = J.speakingLevels({
      tracks: tracks.emitted,
      pc: pc,
      participantId: function (feed) { return parts[feed] ? parts[feed].id : Number(feed); },
      emit: emit,
      isClosed: function () { return closed; },
      onStats: tracks.noteFlow
    });
    subscriber = J.subscriber({
      gen: function () { return gen; },
      isClosed: function () { return closed; },
      isConnected: function () { return connected; },
      session: function () { return session; },
      room: room, pin: pin,
      parts: function () { return parts; },
      tracks: tracks,
      roomDestroyed: roomDestroyed,
      fatal: fatal
    });

    function emit(ev, payload) { if (!closed) conn.emit(ev, payload); }

    function publisherList() {
      return Object.keys(parts).map(function (k) { return { id: parts[k].id, display: parts[k].display }; });
    }

    function emitStatus(force) {
      var pubs = publisherList();
      var key = JSON.stringify([connected, pubs]);
      if (!force && key === lastStatusKey) return;
      lastStatusKey = key;
      emit('status', { connected: connected, publishers: pubs });
    }

    function fatal(code, message) {
      if (closed) return;
      log('error', code + ': ' + message);
      conn.emit('error', { code: code, message: message });
      shutdown();
    }

    function roomDestroyed(why) {
      if (closed) return;
      log('warn', 'room ' + room + ' destroyed (' + why + ')');
      conn.emit('room-destroyed', {});
      shutdown();
    }

    function shutdown() {
      closed = true;
      gen++;
      if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
      subscriber.teardown(false);
      levels.stop();
      if (session) { session.destroy(); session = null; }
    }

    conn.close = function () { if (!closed) shutdown(); };
    conn.participants = publisherList;
    conn.fitVideo = function (sizes) { if (!closed) subscriber.fit(sizes || {}); };
    // Diagnostics only (no stable format): Janus' streams and the tracks handed out.
    conn.debugState = function () {
      return {
        connected: connected, room: room, session: session && session.id,
        streams: JSON.parse(JSON.stringify(subscriber.streams())),
        tracks: Object.keys(tracks.emitted()).map(function (mid) {
          var e = tracks.emitted()[mid];
          return { mid: mid, participantId: e.participantId, kind: e.kind, muted: e.track.muted };
        }),
        levels: levels.snapshot(),
        lipSyncHolds: subscriber.holds(),
        layers: subscriber.layers(),
        pc: pc() && pc().connectionState,
        sctp: pc() && pc().sctp ? pc().sctp.state : null,
        dataChannels: tracks.channels()
      };
    };

    // --------------------------------------------------------- start-up

    async function start() {
      var myGen = gen;
      var s, list;
      try {
        s = await R.openSession(server, Date.now() + CONNECT_TIMEOUT_MS);
        if (closed || myGen !== gen) { s.destroy(); return; }
        session = s;
        ctl = await s.attach(VIDEOROOM);
        list = await R.listParticipants(ctl, room);
        await R.checkPin(s, room, pin);
      } catch (e) {
        var m = R.startError(e, room, pin);
        fatal(m[0], m[1]);
        return;
      }
      if (closed || myGen !== gen) return;
      if (s.isClosed) { fatal('janus_unreachable', 'Janus closed the connection during start-up'); return; }
      log('info', 'watching room ' + room + ' on ' + server + ' (hidden subscriber)');
      watch(s, list, true);
    }

    // The session s is up and list is the room's publishers: follow the room from here on.
    function watch(s, list, forceStatus) {
      connected = true;
      pollTimeouts = 0;
      s.on('closed', function (reason) { onSessionClosed(s, reason); });
      applyList(list);
      emitStatus(forceStatus);
      schedulePoll();
    }

    // --------------------------------------------------------- polling

    function schedulePoll() {
      if (pollTimer) clearTimeout(pollTimer);
      var myGen = gen;
      pollTimer = setTimeout(function () { poll(myGen); }, POLL_MS);
    }

    async function poll(myGen) {
      pollTimer = null;
      if (closed || myGen !== gen || !connected) return;
      try {
        var list = await R.listParticipants(ctl, room);
        if (closed || myGen !== gen) return;
        pollTimeouts = 0;
        applyList(list);
      } catch (e) {
        if (closed || myGen !== gen) return;
        if (e.code === 'janus' && e.janusCode === 426) { roomDestroyed('listparticipants: no such room'); return; }
        if (session && session.isClosed) { onSessionClosed(session, 'connection closed'); return; }
        if (e.code === 'timeout') {
          log('warn', 'listparticipants timed out');
          if (++pollTimeouts >= 2 && session) {   // Janus hangs with the socket still open
            session._close('Janus stopped answering', false);
            return;
          }
        }
        else if (e.code !== 'closed') log('warn', 'listparticipants failed: ' + e.message);
      }
      if (!closed && myGen === gen && connected) schedulePoll();
    }

    function applyList(list) {
      var now = Date.now();
      var seen = {};
      var changed = false;
      list.forEach(function (p) {
        if (!p || !p.publisher || p.id == null) return;
        seen[p.id] = true;
        var display = p.display == null ? '' : String(p.display);
        var cur = parts[p.id];
        if (!cur) {
          parts[p.id] = { id: p.id, display: display, present: true };
          changed = true;
          emit('participant-joined', { id: p.id, display: display });
        } else {
          cur.present = true;
          if (cur.display !== display) { cur.display = display; changed = true; }
        }
      });
      Object.keys(parts).forEach(function (k) {
        var id = parts[k].id;
        if (seen[id]) return;
        parts[k].present = false;   // kept (for now) only during the grace period
        if (now < graceUntil) return;   // just reconnected: give them time to come back
        removeParticipant(id);
        changed = true;
      });
      if (changed) emitStatus();
      tracks.reconcile();
      subscriber.ensure();
    }

    function removeParticipant(id) {
      tracks.removeParticipant(id);
      delete parts[id];
      subscriber.forget(id);
      emit('participant-left', { id: id });
    }

    // --------------------------------------------------------- reconnect

    function onSessionClosed(s, reason) {
      if (closed || s !== session) return;
      log('warn', 'connection to Janus lost: ' + reason);
      connected = false;
      gen++;
      if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
      subscriber.teardown(false);
      session = null; ctl = null;
      subscriber.resetQueues();
      emit('incident', { kind: 'connection_lost', message: 'connection to Janus lost (' + reason + '); reconnecting' });
      emitStatus();
      reconnect(gen);
    }

    async function reconnect(myGen) {
      for (var attempt = 0; !closed && myGen === gen; attempt++) {
        await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]);
        if (closed || myGen !== gen) return;
        var s = new Session(server, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
        var list;
        try {
          await s.connect();
          var h = await s.attach(VIDEOROOM);
          list = await R.listParticipants(h, room);
          if (closed || myGen !== gen) { s.destroy(); return; }
          if (s.isClosed) throw new JanusError('closed', 'closed again right away');
          session = s; ctl = h;
        } catch (e) {
          s.destroy();
          if (closed || myGen !== gen) return;
          if (e.code === 'janus' && e.janusCode === 426) { roomDestroyed('gone after reconnecting'); return; }
          log('debug', 'reconnect attempt ' + (attempt + 1) + ' failed: ' + e.message);
          continue;
        }
        graceUntil = Date.now() + RESTORE_GRACE_MS;
        log('info', 'reconnected to Janus after ' + (attempt + 1) + ' attempt(s)');
        emit('incident', { kind: 'connection_restored', message: 'reconnected to Janus' });
        watch(s, list, false);
        return;
      }
    }

    setTimeout(function () {
      if (closed) return;
      if (!server) { fatal('janus_error', 'no Janus server given'); return; }
      if (room == null || room === '') { fatal('janus_error', 'no room given'); return; }
      start();
    }, 0);

    return conn;
  }

  J.connect = connect;
})(window);
