/*
 * janus-subscriber.js — the connector's subscriber: one VideoRoom handle joined
 * as `ptype: "subscriber"` (multistream, `use_msid`) and its PeerConnection
 * (plain script, no module). Load it after sdk/janus-session.js,
 * janus-room.js, janus-sync.js and janus-layers.js, before
 * sdk/janus-connector.js; it adds
 * WallflowerJanus.subscriber.
 *
 *   var s = WallflowerJanus.subscriber(ctx);
 *     ctx.gen(), ctx.isClosed(), ctx.isConnected()   the connector's state: a
 *                        callback of an older generation (before a reconnect)
 *                        or after close does nothing
 *     ctx.session()      the Janus session; ctx.room, ctx.pin
 *     ctx.parts()        publishers: id -> {id, display, present}
 *     ctx.tracks         sdk/janus-tracks.js, fed by the PeerConnection
 *     ctx.roomDestroyed(why), ctx.fatal(code, message)
 *   s.ensure()           subscribe to every present publisher not asked for yet
 *                        (the first request `join`s, later ones `subscribe`)
 *   s.forget(id)         a publisher left: ask for it again if it comes back
 *   s.teardown(detach)   drop the PeerConnection, the handle (detached if asked)
 *                        and what was subscribed; s.resetQueues() after a
 *                        lost session
 *   s.pc(), s.streams()  the PeerConnection; Janus' streams by mid
 *   s.holds()            diagnostics: each participant's picture hold for
 *                        lip-sync (sdk/janus-sync.js), in ms
 *   s.fit(sizes), s.noteReport(report), s.layers()   the simulcast layer each
 *                        video is received in (sdk/janus-layers.js)
 *
 * Janus' offers (`attached`, `updated`) are answered in arrival order with
 * `start`. Requests go one at a time; a failed one is retried on the next
 * poll; a hung-up or failed PeerConnection starts over on a fresh handle
 * (not sooner than a second after the last try).
 */
(function (global) {
  'use strict';

  var J = global.WallflowerJanus;   // sdk/janus-session.js and janus-room.js, loaded first
  var log = J.util.log, sleep = J.util.sleep;
  var R = J.room, VIDEOROOM = R.VIDEOROOM;

  function subscriber(ctx) {
    var sub = null;           // subscriber handle (null until the first join)
    var subJoined = false;
    var pc = null;
    var subscribed = {};      // feed id -> true (asked Janus for it)
    var streams = {};         // mid -> stream info from Janus
    var ownChannel = null;    // our own data channel on the subscriber PeerConnection
    var opChain = Promise.resolve();     // subscription requests, one at a time
    var offerChain = Promise.resolve();  // Janus events for the subscriber, in order
    var resubscribeAt = 0;
    var sync = J.lipSync({ pc: function () { return pc; }, streams: function () { return streams; }, isClosed: ctx.isClosed });   // one per PeerConnection
    var layers = J.simulcastLayers({
      configure: configure,
      active: function (mid) { return !!ctx.tracks.emitted()[mid]; }   // handed out: live, RTP arriving
    });

    function current(myGen) { return myGen === ctx.gen() && !ctx.isClosed(); }

    function enqueueOp(fn) {
      opChain = opChain.then(fn).catch(function (e) { log('warn', 'subscription: ' + (e && e.message || e)); });
      return opChain;
    }

    function ensureSubscriptions() {
      if (ctx.isClosed() || !ctx.isConnected()) return;
      var parts = ctx.parts();
      var want = Object.keys(parts).filter(function (k) { return parts[k].present && !subscribed[parts[k].id]; });
      if (!want.length) return;
      var myGen = ctx.gen();
      enqueueOp(async function () {
        if (!current(myGen) || !ctx.isConnected()) return;
        if (Date.now() < resubscribeAt) await sleep(resubscribeAt - Date.now());
        if (!current(myGen) || !ctx.isConnected()) return;
        parts = ctx.parts();
        var feeds = Object.keys(parts).filter(function (k) { return parts[k].present; })
          .map(function (k) { return parts[k].id; })
          .filter(function (id) { return !subscribed[id]; });
        if (!feeds.length) return;
        feeds.forEach(function (id) { subscribed[id] = true; });
        var list = feeds.map(function (id) { return { feed: id }; });
        try {
          if (!sub || !subJoined) {
            if (!sub) {
              sub = await ctx.session().attach(VIDEOROOM);
              if (!current(myGen)) return;
              wireSubscriber(sub, myGen);
            }
            var body = { request: 'join', ptype: 'subscriber', room: ctx.room, streams: list, use_msid: true };
            if (ctx.pin) body.pin = ctx.pin;
            await sub.send(body);
            subJoined = true;
          } else {
            await sub.send({ request: 'subscribe', streams: list });
          }
          log('debug', 'subscribed to ' + feeds.join(', '));
        } catch (e) {
          if (myGen !== ctx.gen()) return;
          feeds.forEach(function (id) { delete subscribed[id]; });   // retried on the next poll
          if (e.code === 'janus' && e.janusCode === 426) { ctx.roomDestroyed('subscribe: no such room'); return; }
          if (R.isPinError(e)) { ctx.fatal('auth_failed', 'room ' + ctx.room + ': subscriber join refused (pin)'); return; }
          throw e;
        }
      });
    }

    // Asks Janus to relay one simulcast layer of a video (sdk/janus-layers.js).
    function configure(mid, substream) {
      var myGen = ctx.gen();
      enqueueOp(async function () {
        if (!current(myGen) || !sub || !subJoined) return;
        await sub.send({ request: 'configure', streams: [{ mid: mid, substream: substream }] });
        log('debug', 'asked for simulcast layer ' + substream + ' of mid ' + mid);
      });
    }

    function wireSubscriber(h, myGen) {
      h.on('message', function (data, jsep) {
        if (!current(myGen)) return;
        if (data.videoroom === 'destroyed') { ctx.roomDestroyed('destroyed event'); return; }
        if (data.error_code) return;   // answered to the request that caused it
        if (data.mid != null && data.substream != null) { layers.noteSubstream(data.mid, data.substream); return; }
        offerChain = offerChain.then(function () { return onSubscriberEvent(h, myGen, data, jsep); })
          .catch(function (e) { log('warn', 'negotiation failed: ' + (e && e.message || e)); });
      });
      h.on('hangup', function (msg) {
        if (!current(myGen) || h !== sub) return;
        log('warn', 'Janus hung up the subscriber PeerConnection (' + (msg.reason || '?') + '); subscribing again');
        resubscribe();
      });
      h.on('webrtcup', function () { log('debug', 'subscriber PeerConnection up'); });
    }

    async function onSubscriberEvent(h, myGen, data, jsep) {
      if (!current(myGen) || h !== sub) return;
      if (Array.isArray(data.streams)) {
        var next = {};
        data.streams.forEach(function (s) { if (s && s.mid != null) next[String(s.mid)] = s; });
        Object.keys(next).forEach(function (mid) {   // an m-line Janus reused for someone else
          if (streams[mid] && streams[mid].feed_id !== next[mid].feed_id) layers.newFeed(mid);
        });
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
        if (!current(myGen) || h !== sub) return;
        await h.send({ request: 'start' }, { type: 'answer', sdp: myPc.localDescription.sdp });
      }
      ctx.tracks.reconcile();
    }

    function ensurePc(h, myGen) {
      if (pc) return;
      pc = new RTCPeerConnection({ iceServers: [] });
      var myPc = pc;
      pc.onicecandidate = function (ev) { if (myGen === ctx.gen() && h === sub) h.trickle(ev.candidate); };
      pc.ontrack = function (ev) {
        var t = ev.track;
        if (t.__wallflowerWired) return;
        t.__wallflowerWired = true;
        t.addEventListener('mute', ctx.tracks.reconcile);
        t.addEventListener('unmute', ctx.tracks.reconcile);
        t.addEventListener('ended', ctx.tracks.reconcile);
      };
      pc.ondatachannel = function (ev) { ctx.tracks.wireDataChannel(ev.channel); };
      ctx.tracks.watchFlow();
      sync.start();
      pc.onconnectionstatechange = function () {
        if (myPc !== pc || ctx.isClosed()) return;
        log('debug', 'subscriber PeerConnection ' + myPc.connectionState);
        if (myPc.connectionState === 'failed') resubscribe();
      };
    }

    // Starts the subscription over on a fresh handle and PeerConnection.
    function resubscribe() {
      var myGen = ctx.gen();
      enqueueOp(async function () {
        if (!current(myGen)) return;
        teardownSubscriber(true);
        resubscribeAt = Date.now() + 1000;   // do not spin if it keeps failing
        ensureSubscriptions();
      });
    }

    function teardownSubscriber(detach) {
      ctx.tracks.reset();
      sync.stop();
      if (pc) { try { pc.close(); } catch (e) { /* ignore */ } pc = null; }
      ownChannel = null;
      if (sub && detach) sub.detach();
      sub = null;
      subJoined = false;
      subscribed = {};
      streams = {};
      layers.reset();
    }

    return {
      ensure: ensureSubscriptions,
      forget: function (id) { delete subscribed[id]; },
      teardown: teardownSubscriber,
      resetQueues: function () { opChain = Promise.resolve(); offerChain = Promise.resolve(); },
      pc: function () { return pc; },
      streams: function () { return streams; },
      holds: function () { return sync.snapshot(); },
      fit: layers.fit,
      noteReport: layers.noteReport,
      layers: layers.snapshot
    };
  }

  J.subscriber = subscriber;
})(window);
