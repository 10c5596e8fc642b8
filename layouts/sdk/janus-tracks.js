/*
 * janus-tracks.js — the tracks and data channels of the connector's subscriber
 * PeerConnection, as `track-added`, `track-removed` and `data` events (plain
 * script, no module). Load it after sdk/janus-session.js and before
 * sdk/janus-connector.js; it adds WallflowerJanus.subscriberTracks.
 *
 *   var t = WallflowerJanus.subscriberTracks(ctx);
 *     ctx.emit(event, payload)   hand an event to the connector's listeners
 *     ctx.isClosed()             true once the connector stopped
 *     ctx.pc()                   the subscriber PeerConnection (or null)
 *     ctx.parts()                publishers: id -> {id, display, present}
 *     ctx.streams()              Janus' streams of the last offer: mid -> info
 *     ctx.levels()               the speaking levels (sdk/janus-levels.js)
 *     ctx.onReport(report)       every getStats() report seen here (optional)
 *   t.reconcile()        emitted tracks := live transceivers with an active
 *                        stream of a known publisher, RTP arriving
 *   t.removeParticipant(id), t.removeAll()
 *   t.watchFlow() / t.reset()   the RTP arrival check of a new PeerConnection /
 *                        everything dropped with it (tracks, flow, channels)
 *   t.noteFlow(report)   a getStats() report read for another reason
 *   t.wireDataChannel(dc), t.emitted() (mid -> entry), t.channels()
 *
 * Janus does not tell subscribers when a publisher stops sending a stream
 * (configure send:false, a renegotiation to inactive, a frozen network), so RTP
 * arrival per mid is watched: a mid whose packets stop for FLOW_STALL_MS counts
 * as removed until they come back (then `track-added` again, a new stream).
 */
(function (global) {
  'use strict';

  var FLOW_CHECK_MS = 1000;        // how often RTP arrival is checked (getStats)
  var FLOW_STALL_MS = 2500;        // no RTP for this long: the track counts as removed (muted)

  var J = global.WallflowerJanus;   // sdk/janus-session.js, loaded first

  function sourceOf(info) {
    var d = String(info.feed_description || info.description || '');
    return /screen|share|desktop|display/i.test(d) ? 'screen' : 'camera';
  }

  function subscriberTracks(ctx) {
    var emitted = {};         // mid -> {participantId, kind, track, mid}
    var flow = {};            // mid -> {packets, at, feed}: when RTP last arrived
    var flowTimer = null;
    var dataChannels = [];

    // The transceivers that should be tracks now, by mid.
    function liveTracks() {
      var live = {}, pc = ctx.pc(), streams = ctx.streams(), parts = ctx.parts();
      if (!pc) return live;
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
      return live;
    }

    // Brings the emitted tracks in line with the transceivers and Janus' streams.
    function reconcile() {
      if (ctx.isClosed()) return;
      var live = liveTracks();
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
        if (w.kind === 'audio') ctx.levels().watch(entry, w.receiver);
        ctx.emit('track-added', {
          participantId: w.participantId, kind: w.kind, track: w.track, stream: new MediaStream([w.track]),
          mid: mid, source: w.source
        });
      });
    }

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
      var myPc = ctx.pc();
      if (!myPc || ctx.isClosed()) return;
      if (Date.now() - ctx.levels().lastStatsAt() < FLOW_CHECK_MS) { reconcile(); return; }
      myPc.getStats().then(function (report) {
        if (myPc !== ctx.pc() || ctx.isClosed()) return;
        noteFlow(report);
        reconcile();
      }).catch(function () { /* ignore */ });
    }

    function noteFlow(report) {
      var now = Date.now(), streams = ctx.streams();
      if (ctx.onReport) ctx.onReport(report);
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
      ctx.emit('track-removed', { participantId: cur.participantId, kind: cur.kind, mid: mid });
    }

    // Janus (1.1) relays each publisher's data on a channel labelled with the
    // publisher's id; otherwise fall back to the data stream's only source.
    function dataSender(label) {
      var parts = ctx.parts(), streams = ctx.streams();
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
        ctx.emit('data', { participantId: dataSender(dc.label), data: d, label: dc.label });
      };
    }

    function removeAll() { Object.keys(emitted).forEach(removeTrack); }

    return {
      reconcile: reconcile,
      noteFlow: noteFlow,
      wireDataChannel: wireDataChannel,
      removeAll: removeAll,
      removeParticipant: function (id) {
        Object.keys(emitted).forEach(function (mid) {
          if (emitted[mid].participantId === id) removeTrack(mid);
        });
      },
      watchFlow: function () { if (!flowTimer) flowTimer = setInterval(checkFlow, FLOW_CHECK_MS); },
      reset: function () {
        removeAll();
        flow = {};
        if (flowTimer) { clearInterval(flowTimer); flowTimer = null; }
        dataChannels.forEach(function (dc) { try { dc.onmessage = null; } catch (e) { /* ignore */ } });
        dataChannels = [];
      },
      emitted: function () { return emitted; },
      channels: function () { return dataChannels.map(function (dc) { return dc.label + ':' + dc.readyState; }); }
    };
  }

  J.subscriberTracks = subscriberTracks;
})(window);
