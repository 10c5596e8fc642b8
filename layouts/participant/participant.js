/*
 * Synthetic participant (test harness and demo; not a layout).
 *
 * Joins a Janus VideoRoom as a publisher and publishes the browser's camera and
 * microphone (Chromium's fake devices, fed from files) plus a data channel
 * labelled "wallflower".
 *
 * URL parameters
 *   server   Janus WebSocket URL (ws://127.0.0.1:8188)
 *   room     room number
 *   pin      room pin (empty = none)
 *   display  display name
 *   data     optional: text sent on the data channel once a second
 *   id       optional: numeric publisher id (default: random, kept across reconnects)
 *   video    "0" = publish no video;  audio  "0" = publish no audio
 *
 * Progress for the harness
 *   document.body.dataset.state: starting | connecting | publishing |
 *       reconnecting | unpublished | left | failed:<reason>
 *   document.title: "published:<display>" while publishing
 *
 * Test hooks (window.wfParticipant, e.g. via CDP Runtime.evaluate):
 *   unpublish(), publish(), leave(), configure(body), setVideo(on), state()
 *   (Promises where asynchronous); sendData(text): one message on the data
 *   channel, true when it went out (call events: JSON, see layouts/README.md)
 */
(function () {
  'use strict';

  var P = {};
  try { new URLSearchParams(location.search).forEach(function (v, k) { P[k] = v; }); } catch (e) { /* ignore */ }

  var server = P.server || 'ws://127.0.0.1:8188';
  var room = /^\d+$/.test(P.room || '') ? Number(P.room) : (P.room || 1234);
  var pin = P.pin ? String(P.pin) : null;
  var display = P.display || 'Participant';
  var dataText = P.data || '';
  var wantVideo = P.video !== '0';
  var wantAudio = P.audio !== '0';
  var myId = /^\d+$/.test(P.id || '') ? Number(P.id) : null;

  var elStatus = document.getElementById('status');
  var elSelf = document.getElementById('self');

  var J = window.WallflowerJanus;
  var media = null;
  var session = null;
  var handle = null;
  var pc = null;
  var dc = null;
  var dataTimer = null;
  var gen = 0;
  var left = false;

  function setState(state, detail) {
    document.body.dataset.state = state;
    elStatus.textContent = display + ': ' + state + (detail ? ' (' + detail + ')' : '');
    if (state === 'publishing') document.title = 'published:' + display;
    else if (state.indexOf('failed') === 0) document.title = 'failed:' + display;
    else document.title = 'participant:' + display;
    console.log('[participant] ' + display + ': ' + state + (detail ? ' — ' + detail : ''));
  }

  function fail(reason, e) {
    var msg = reason + (e ? ': ' + (e.message || e) : '');
    setState('failed:' + reason, e ? (e.message || String(e)) : '');
    console.error('[participant] ' + msg);
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function closePc() {
    if (dataTimer) { clearInterval(dataTimer); dataTimer = null; }
    if (pc) { try { pc.close(); } catch (e) { /* ignore */ } }
    pc = null; dc = null;
  }

  // Joins (with myId if known) and publishes. Throws on failure.
  async function joinAndPublish(myGen) {
    session = new J.Session(server);
    await session.connect();
    var s = session;
    s.on('closed', function (reason) { onLost(s, myGen, reason); });
    handle = await s.attach('janus.plugin.videoroom');
    var body = { request: 'join', ptype: 'publisher', room: room, display: display };
    if (pin) body.pin = pin;
    if (myId != null) body.id = myId;
    var joined;
    try {
      joined = await handle.send(body);
    } catch (e) {
      if (e.janusCode === 436 && myId != null) {   // id still taken: take a new one
        delete body.id;
        joined = await handle.send(body);
      } else throw e;
    }
    myId = joined.data.id;
    await publish(myGen);
  }

  async function publish(myGen) {
    closePc();
    pc = new RTCPeerConnection({ iceServers: [] });
    var h = handle, myPc = pc;
    pc.onicecandidate = function (ev) { if (myGen === gen) h.trickle(ev.candidate); };
    media.getTracks().forEach(function (t) {
      pc.addTransceiver(t, { direction: 'sendonly', streams: [media] });
    });
    dc = pc.createDataChannel('wallflower');
    dc.onopen = function () {
      if (!dataText) return;
      dataTimer = setInterval(function () {
        try { if (dc && dc.readyState === 'open') dc.send(dataText); } catch (e) { /* ignore */ }
      }, 1000);
    };
    var connectedP = new Promise(function (resolve, reject) {
      myPc.onconnectionstatechange = function () {
        if (myPc.connectionState === 'connected') resolve();
        else if (myPc.connectionState === 'failed') reject(new Error('PeerConnection failed'));
      };
    });
    var offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    var descriptions = pc.getTransceivers().filter(function (t) { return t.mid != null && t.sender.track; })
      .map(function (t) { return { mid: t.mid, description: t.sender.track.kind === 'video' ? 'camera' : 'microphone' }; });
    var res = await h.send({ request: 'publish', display: display, descriptions: descriptions },
                           { type: 'offer', sdp: pc.localDescription.sdp });
    if (!res.jsep) throw new Error('Janus sent no answer');
    await pc.setRemoteDescription(res.jsep);
    var timeout = sleep(15000).then(function () { throw new Error('PeerConnection not connected after 15 s'); });
    await Promise.race([connectedP, timeout]);
    if (myGen === gen) setState('publishing');
  }

  function onLost(s, myGen, reason) {
    if (left || myGen !== gen || s !== session) return;
    gen++;
    closePc();
    setState('reconnecting', reason);
    reconnect(gen);
  }

  async function reconnect(myGen) {
    var delays = [500, 1000, 2000];
    for (var i = 0; myGen === gen && !left; i++) {
      await sleep(delays[Math.min(i, delays.length - 1)]);
      if (myGen !== gen || left) return;
      try {
        await joinAndPublish(myGen);
        return;
      } catch (e) {
        if (session) session.destroy();
        console.log('[participant] reconnect attempt failed: ' + (e.message || e));
      }
    }
  }

  async function main() {
    if (!J) { fail('no_connector'); return; }
    setState('starting');
    try {
      media = await navigator.mediaDevices.getUserMedia({
        video: wantVideo,
        audio: wantAudio ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : false
      });
    } catch (e) { fail('getusermedia', e); return; }
    elSelf.srcObject = media;
    setState('connecting');
    var myGen = gen;
    try {
      await joinAndPublish(myGen);
    } catch (e) {
      var reason = e.code === 'janus_unreachable' ? 'janus_unreachable'
        : e.janusCode === 426 ? 'room_not_found'
        : e.janusCode === 433 || (e.janusCode === 429 && /pin/.test(e.message)) ? 'auth_failed'
        : 'janus_error';
      fail(reason, e);
    }
  }

  window.wfParticipant = {
    unpublish: function () {
      return handle.send({ request: 'unpublish' }).then(function (r) {
        closePc();
        setState('unpublished');
        return r.data;
      });
    },
    // Renegotiates with the camera (on=false: transceiver inactive) -- how
    // clients usually stop sending video; configure({streams: [{mid, send:
    // false}]}) instead only stops Janus relaying it.
    setVideo: async function (on) {
      var t = pc.getTransceivers().filter(function (x) { return x.sender.track && x.sender.track.kind === 'video'; })[0];
      if (!t) throw new Error('no video');
      t.direction = on ? 'sendonly' : 'inactive';
      var offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      var res = await handle.send({ request: 'configure' }, { type: 'offer', sdp: pc.localDescription.sdp });
      if (res.jsep) await pc.setRemoteDescription(res.jsep);
      return t.currentDirection;
    },
    publish: function () { return publish(gen); },
    configure: function (body) {
      body = Object.assign({ request: 'configure' }, body || {});
      return handle.send(body).then(function (r) { return r.data; });
    },
    state: function () {
      return { id: myId, pc: pc && pc.connectionState, data: dc && dc.readyState, sctp: pc && pc.sctp ? pc.sctp.state : null };
    },
    // Sends one text message on the data channel; true when it went out.
    sendData: function (text) {
      try {
        if (!dc || dc.readyState !== 'open') return false;
        dc.send(String(text));
        return true;
      } catch (e) { return false; }
    },
    leave: function () {
      left = true;
      gen++;
      closePc();
      var p = handle ? handle.send({ request: 'leave' }).catch(function () { /* ignore */ }) : Promise.resolve();
      return p.then(function () { if (session) session.destroy(); setState('left'); });
    }
  };

  main();
})();
