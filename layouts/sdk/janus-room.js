/*
 * janus-room.js — the VideoRoom requests the hidden subscriber makes before it watches a room,
 * for sdk/janus-connector.js: a session opened within the start-up window, the room's
 * publishers, the pin check, and the start-up error codes. Load it after sdk/janus-session.js;
 * it adds `WallflowerJanus.room`. Plain functions: the connector keeps all state.
 */
(function (global) {
  'use strict';

  var VIDEOROOM = 'janus.plugin.videoroom';

  var J = global.WallflowerJanus;   // sdk/janus-session.js, loaded first
  var Session = J.Session, JanusError = J.JanusError;
  var sleep = J.util.sleep, CONNECT_TIMEOUT_MS = J.util.CONNECT_TIMEOUT_MS;

  // Janus rooms are numbers unless the server was set up for string ids: "1234" is room 1234.
  function normRoom(room) {
    if (typeof room === 'string' && /^\d+$/.test(room)) {
      var n = Number(room);
      if (Number.isSafeInteger(n)) return n;
    }
    return room;
  }

  function isPinError(e) {
    return e && e.code === 'janus' &&
      (e.janusCode === 433 || (e.janusCode === 429 && /\bpin\b/i.test(e.message || '')));
  }

  // [code, message] of the connector's fatal error for a failed start-up.
  function startError(e, room, pin) {
    if (!e) return ['janus_error', 'unknown error'];
    if (e.code === 'janus_unreachable' || e.code === 'timeout' || e.code === 'closed') {
      return ['janus_unreachable', e.message];
    }
    if (e.code === 'janus' && e.janusCode === 426) return ['room_not_found', 'room ' + room + ' does not exist'];
    if (isPinError(e)) return ['auth_failed', 'room ' + room + ': ' + (pin ? 'wrong pin' : 'a pin is required')];
    return ['janus_error', (e.janusCode ? e.janusCode + ' ' : '') + (e.message || String(e))];
  }

  // Opens a session on server, retrying until the deadline (Janus may still be starting).
  async function openSession(server, deadline) {
    var last = null;
    for (;;) {
      var left = deadline - Date.now();
      if (left <= 0) {
        throw new JanusError('janus_unreachable', 'no Janus answering at ' + server + ' within ' +
          CONNECT_TIMEOUT_MS / 1000 + ' s' + (last ? ' (' + last.message + ')' : ''));
      }
      var s = new Session(server, { connectTimeoutMs: Math.max(200, left) });
      try {
        await s.connect();
        return s;
      } catch (e) {
        last = e;
        if (Date.now() + 250 < deadline) await sleep(250);
      }
    }
  }

  async function listParticipants(h, room) {
    var res = await h.send({ request: 'listparticipants', room: room }, null, 4000);
    return res.data.participants || [];
  }

  // The pin is only checked on join: a subscriber join that names no feed
  // fails with 433 (wrong pin) / 429 "(pin)" (missing pin) before it fails
  // for the missing feed. Uses a throw-away handle.
  async function checkPin(s, room, pin) {
    var h = await s.attach(VIDEOROOM);
    var body = { request: 'join', ptype: 'subscriber', room: room, streams: [] };
    if (pin) body.pin = pin;
    try {
      await h.send(body, null, 4000);
      // (a Janus that accepts an empty subscription: leave again)
      try { await h.send({ request: 'leave' }, null, 2000); } catch (e) { /* ignore */ }
    } catch (e) {
      if (isPinError(e) || e.code !== 'janus') throw e;
      if (e.janusCode === 426) throw e;
      // any other refusal (missing feed, ...) means the pin was accepted
    } finally {
      h.detach();
    }
  }

  J.room = {
    VIDEOROOM: VIDEOROOM,
    normRoom: normRoom,
    isPinError: isPinError,
    startError: startError,
    openSession: openSession,
    listParticipants: listParticipants,
    checkPin: checkPin
  };
})(window);
