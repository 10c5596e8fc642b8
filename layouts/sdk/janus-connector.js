/*
 * janus-connector.js — joins a Janus VideoRoom as a *hidden* subscriber and
 * reports what happens in the room as plain events (plain script, no module).
 *
 * Load it after sdk/janus-session.js, sdk/janus-room.js and sdk/janus-levels.js
 * (in that order); it sets `window.WallflowerJanus.connect`. Only talks to the
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
 * handle joins as `ptype: "subscriber"` (multistream, `use_msid`) and then
 * `subscribe`s to each new publisher. Janus' offers (`attached`, `updated`) are
 * answered in arrival order with `start`. The `streams` list Janus sends with
 * each offer maps mids to feeds (`feed_id`, `feed_display`); inactive streams
 * become `track-removed`, publishers no longer listed become
 * `participant-left`. Janus does not tell subscribers when a publisher stops
 * sending a stream (configure send:false, renegotiating it inactive), so RTP
 * arrival per mid is watched too (getStats, 1 Hz, or the level reads'): no packets for 2.5 s →
 * `track-removed`; packets again → `track-added` (same track, new stream).
 *
 * Janus relays publishers' data-channel messages to subscribers only once the
 * subscriber has a channel open, so the connector opens one of its own
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
 *
 * It builds on sdk/janus-session.js (load that first: the Janus session and
 * handles, WallflowerJanus.Session and .Emitter), sdk/janus-room.js (the
 * start-up requests and their error codes) and sdk/janus-levels.js (the
 * speaking levels), and adds WallflowerJanus.connect.
 */
(function (global) {
  'use strict';

  var POLL_MS = 1000;
  var FLOW_CHECK_MS = 1000;        // how often RTP arrival is checked (getStats)
  var FLOW_STALL_MS = 2500;        // no RTP for this long: the track counts as removed (muted)
  var RESTORE_GRACE_MS = 6000;     // after a reconnect, how long missing publishers may take to come back
  var BACKOFF_MS = [500, 1000, 2000];

  var J = global.WallflowerJanus;   // sdk/janus-session.js, janus-room.js and janus-levels.js, loaded first
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
    var sub = null;           // subscriber handle (null until the first join)
    var subJoined = false;
    var pc = null;
    var subscribed = {};      // feed id -> true (asked Janus for it)
    var streams = {};         // mid -> stream info from Janus
    var emitted = {};         // mid -> {participantId, kind, track, mid, receiver, measured...}
    var parts = {};           // id -> {id, display}
    var graceUntil = 0;
    var pollTimer = null;
    var pollTimeouts = 0;     // listparticipants timeouts in a row
    var opChain = Promise.resolve();     // subscription requests, one at a time
    var offerChain = Promise.resolve();  // Janus events for the subscriber, in order
    var lastStatusKey = null;
    var levels = J.speakingLevels({
      tracks: function () { return emitted; },
      pc: function () { return pc; },
      participantId: function (feed) { return parts[feed] ? parts[feed].id : Number(feed); },
      emit: emit,
      isClosed: function () { return closed; },
      onStats: noteFlow
    });
    var dataChannels = [];
    var ownChannel = null;    // our own data channel on the subscriber PeerConnection
    var flow = {};            // mid -> {packets, at, feed}: when RTP last arrived
    var flowTimer = null;
    var resubscribeAt = 0;

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
      teardownSubscriber(false);
      levels.stop();
      if (session) { session.destroy(); session = null; }
    }

    conn.close = function () { if (!closed) shutdown(); };
    conn.participants = publisherList;
    // Diagnostics only (no stable format): Janus' streams and the tracks handed out.
    conn.debugState = function () {
      return {
        connected: connected, room: room, session: session && session.id,
        streams: JSON.parse(JSON.stringify(streams)),
        tracks: Object.keys(emitted).map(function (mid) {
          var e = emitted[mid];
          return { mid: mid, participantId: e.participantId, kind: e.kind, muted: e.track.muted };
        }),
        levels: levels.snapshot(),
        pc: pc && pc.connectionState,
        sctp: pc && pc.sctp ? pc.sctp.state : null,
        dataChannels: dataChannels.map(function (dc) { return dc.label + ':' + dc.readyState; })
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
      connected = true;
      s.on('closed', function (reason) { onSessionClosed(s, reason); });
      log('info', 'watching room ' + room + ' on ' + server + ' (hidden subscriber)');
      applyList(list);
      emitStatus(true);
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
      reconcile();
      ensureSubscriptions();
    }

    function removeParticipant(id) {
      Object.keys(emitted).forEach(function (mid) {
        if (emitted[mid].participantId === id) removeTrack(mid);
      });
      delete parts[id];
      delete subscribed[id];
      emit('participant-left', { id: id });
    }

    // --------------------------------------------------------- subscription

    function enqueueOp(fn) {
      opChain = opChain.then(fn).catch(function (e) { log('warn', 'subscription: ' + (e && e.message || e)); });
      return opChain;
    }

    function ensureSubscriptions() {
      if (closed || !connected) return;
      var want = Object.keys(parts).filter(function (k) { return parts[k].present && !subscribed[parts[k].id]; });
      if (!want.length) return;
      var myGen = gen;
      enqueueOp(async function () {
        if (closed || myGen !== gen || !connected) return;
        if (Date.now() < resubscribeAt) await sleep(resubscribeAt - Date.now());
        if (closed || myGen !== gen || !connected) return;
        var feeds = Object.keys(parts).filter(function (k) { return parts[k].present; })
          .map(function (k) { return parts[k].id; })
          .filter(function (id) { return !subscribed[id]; });
        if (!feeds.length) return;
        feeds.forEach(function (id) { subscribed[id] = true; });
        var list = feeds.map(function (id) { return { feed: id }; });
        try {
          if (!sub || !subJoined) {
            if (!sub) {
              sub = await session.attach(VIDEOROOM);
              if (closed || myGen !== gen) return;
              wireSubscriber(sub, myGen);
            }
            var body = { request: 'join', ptype: 'subscriber', room: room, streams: list, use_msid: true };
            if (pin) body.pin = pin;
            await sub.send(body);
            subJoined = true;
          } else {
            await sub.send({ request: 'subscribe', streams: list });
          }
          log('debug', 'subscribed to ' + feeds.join(', '));
        } catch (e) {
          if (myGen !== gen) return;
          feeds.forEach(function (id) { delete subscribed[id]; });   // retried on the next poll
          if (e.code === 'janus' && e.janusCode === 426) { roomDestroyed('subscribe: no such room'); return; }
          if (R.isPinError(e)) { fatal('auth_failed', 'room ' + room + ': subscriber join refused (pin)'); return; }
          throw e;
        }
      });
    }

    function wireSubscriber(h, myGen) {
      h.on('message', function (data, jsep) {
        if (myGen !== gen || closed) return;
        if (data.videoroom === 'destroyed') { roomDestroyed('destroyed event'); return; }
        if (data.error_code) return;   // answered to the request that caused it
        offerChain = offerChain.then(function () { return onSubscriberEvent(h, myGen, data, jsep); })
          .catch(function (e) { log('warn', 'negotiation failed: ' + (e && e.message || e)); });
      });
      h.on('hangup', function (msg) {
        if (myGen !== gen || closed || h !== sub) return;
        log('warn', 'Janus hung up the subscriber PeerConnection (' + (msg.reason || '?') + '); subscribing again');
        resubscribe();
      });
      h.on('webrtcup', function () { log('debug', 'subscriber PeerConnection up'); });
    }

    async function onSubscriberEvent(h, myGen, data, jsep) {
      if (myGen !== gen || closed || h !== sub) return;
      if (Array.isArray(data.streams)) {
        var next = {};
        data.streams.forEach(function (s) { if (s && s.mid != null) next[String(s.mid)] = s; });
        streams = next;
      }
      if (jsep && jsep.type === 'offer') {
        ensurePc(h, myGen);
        var myPc = pc;
        await myPc.setRemoteDescription({ type: 'offer', sdp: jsep.sdp });
        if (!ownChannel && /\r?\nm=application /.test(jsep.sdp)) {
          // Janus forwards data to a subscriber only once a channel is open
          // on its PeerConnection: open one of our own (never written to).
          ownChannel = myPc.createDataChannel('wallflower-recorder');
        }
        var answer = await myPc.createAnswer();
        await myPc.setLocalDescription(answer);
        if (myGen !== gen || closed || h !== sub) return;
        await h.send({ request: 'start' }, { type: 'answer', sdp: myPc.localDescription.sdp });
      }
      reconcile();
    }

    function ensurePc(h, myGen) {
      if (pc) return;
      pc = new RTCPeerConnection({ iceServers: [] });
      var myPc = pc;
      pc.onicecandidate = function (ev) { if (myGen === gen && h === sub) h.trickle(ev.candidate); };
      pc.ontrack = function (ev) {
        var t = ev.track;
        if (t.__wallflowerWired) return;
        t.__wallflowerWired = true;
        t.addEventListener('mute', reconcile);
        t.addEventListener('unmute', reconcile);
        t.addEventListener('ended', reconcile);
      };
      pc.ondatachannel = function (ev) { wireDataChannel(ev.channel); };
      if (!flowTimer) flowTimer = setInterval(checkFlow, FLOW_CHECK_MS);
      pc.onconnectionstatechange = function () {
        if (myPc !== pc || closed) return;
        log('debug', 'subscriber PeerConnection ' + myPc.connectionState);
        if (myPc.connectionState === 'failed') resubscribe();
      };
    }

    // Starts the subscription over on a fresh handle and PeerConnection.
    function resubscribe() {
      var myGen = gen;
      enqueueOp(async function () {
        if (myGen !== gen || closed) return;
        teardownSubscriber(true);
        resubscribeAt = Date.now() + 1000;   // do not spin if it keeps failing
        ensureSubscriptions();
      });
    }

    function teardownSubscriber(detach) {
      Object.keys(emitted).forEach(removeTrack);
      if (pc) { try { pc.close(); } catch (e) { /* ignore */ } pc = null; }
      ownChannel = null;
      flow = {};
      if (flowTimer) { clearInterval(flowTimer); flowTimer = null; }
      if (sub && detach) sub.detach();
      sub = null;
      subJoined = false;
      subscribed = {};
      streams = {};
      dataChannels.forEach(function (dc) { try { dc.onmessage = null; } catch (e) { /* ignore */ } });
      dataChannels = [];
    }

    function sourceOf(info) {
      var d = String(info.feed_description || info.description || '');
      return /screen|share|desktop|display/i.test(d) ? 'screen' : 'camera';
    }

    // Brings the emitted tracks in line with the transceivers and Janus' streams.
    function reconcile() {
      if (closed) return;
      var live = {};
      if (pc) {
        pc.getTransceivers().forEach(function (t) {
          if (t.mid == null) return;
          var mid = String(t.mid);
          var info = streams[mid];
          var track = t.receiver && t.receiver.track;
          var dir = t.currentDirection;
          var ok = info && (info.type === 'audio' || info.type === 'video') && info.active !== false &&
            info.feed_id != null && parts[info.feed_id] && track && track.readyState === 'live' &&
            !track.muted && !t.stopped && (dir === 'recvonly' || dir === 'sendrecv') &&
            !stalled(mid, info.feed_id);
          if (!ok) return;
          live[mid] = { participantId: info.feed_id, kind: info.type, track: track, source: sourceOf(info), receiver: t.receiver };
        });
      }
      Object.keys(emitted).forEach(function (mid) {
        var cur = emitted[mid], want = live[mid];
        if (!want || want.participantId !== cur.participantId || want.track !== cur.track || want.kind !== cur.kind) {
          removeTrack(mid);
        }
      });
      Object.keys(live).forEach(function (mid) {
        if (emitted[mid]) return;
        var w = live[mid];
        var entry = { participantId: w.participantId, kind: w.kind, track: w.track, mid: mid };
        emitted[mid] = entry;
        var stream = new MediaStream([w.track]);
        if (w.kind === 'audio') levels.watch(entry, w.receiver);
        emit('track-added', {
          participantId: w.participantId, kind: w.kind, track: w.track, stream: stream, mid: mid, source: w.source
        });
      });
    }

    // Janus does not tell subscribers when a publisher stops sending a stream
    // (configure send:false, a renegotiation to inactive, a frozen network):
    // watch RTP arrival per mid instead. A mid whose packets stop for
    // FLOW_STALL_MS counts as removed until they come back.
    function stalled(mid, feed) {
      var f = flow[mid];
      var now = Date.now();
      if (!f) { flow[mid] = { packets: -1, at: now, feed: feed }; return false; }
      if (f.feed !== feed) { f.feed = feed; f.at = now; return false; }   // mid reused for another feed
      return now - f.at > FLOW_STALL_MS;
    }

    // A read of the statistics for the speaking levels (sdk/janus-levels.js) also serves this check:
    // one getStats() walks every stream of the PeerConnection, so it is not done twice.
    function checkFlow() {
      var myPc = pc;
      if (!myPc || closed) return;
      if (Date.now() - levels.lastStatsAt() < FLOW_CHECK_MS) { reconcile(); return; }
      myPc.getStats().then(function (report) {
        if (myPc !== pc || closed) return;
        noteFlow(report);
        reconcile();
      }).catch(function () { /* ignore */ });
    }

    function noteFlow(report) {
      var now = Date.now();
      report.forEach(function (r) {
        if (r.type !== 'inbound-rtp' || r.mid == null) return;
        var mid = String(r.mid);
        var f = flow[mid] || (flow[mid] = { packets: -1, at: now, feed: streams[mid] && streams[mid].feed_id });
        if (r.packetsReceived !== f.packets) { f.packets = r.packetsReceived; f.at = now; }
      });
    }

    function removeTrack(mid) {
      var cur = emitted[mid];
      if (!cur) return;
      delete emitted[mid];
      emit('track-removed', { participantId: cur.participantId, kind: cur.kind, mid: mid });
    }

    // --------------------------------------------------------- data

    // Janus (1.1) relays each publisher's data on a channel labelled with the
    // publisher's id; otherwise fall back to the data stream's only source.
    function dataSender(label) {
      if (label != null && parts[label]) return parts[label].id;
      var feeds = {};
      Object.keys(streams).forEach(function (mid) {
        var s = streams[mid];
        if (s.type !== 'data') return;
        if (s.feed_id != null) feeds[s.feed_id] = true;
        (Array.isArray(s.source_ids) ? s.source_ids : []).forEach(function (id) { feeds[id] = true; });
      });
      var ids = Object.keys(feeds);
      if (ids.length === 1 && parts[ids[0]]) return parts[ids[0]].id;
      return null;
    }

    function wireDataChannel(dc) {
      dataChannels.push(dc);
      dc.onmessage = function (ev) {
        var d = ev.data;
        if (typeof d !== 'string') {
          try { d = new TextDecoder().decode(d); } catch (e) { return; }
        }
        emit('data', { participantId: dataSender(dc.label), data: d, label: dc.label });
      };
    }

    // --------------------------------------------------------- reconnect

    function onSessionClosed(s, reason) {
      if (closed || s !== session) return;
      log('warn', 'connection to Janus lost: ' + reason);
      connected = false;
      gen++;
      if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
      teardownSubscriber(false);
      session = null; ctl = null;
      opChain = Promise.resolve();
      offerChain = Promise.resolve();
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
        connected = true;
        pollTimeouts = 0;
        s.on('closed', function (reason) { onSessionClosed(s, reason); });
        graceUntil = Date.now() + RESTORE_GRACE_MS;
        log('info', 'reconnected to Janus after ' + (attempt + 1) + ' attempt(s)');
        emit('incident', { kind: 'connection_restored', message: 'reconnected to Janus' });
        applyList(list);
        emitStatus();
        schedulePoll();
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
