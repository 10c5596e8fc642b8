/*
 * janus-layers.js — which simulcast layer of each participant's video the
 * recorder receives (plain script, no module). Load it after
 * sdk/janus-session.js and before sdk/janus-subscriber.js; it adds
 * WallflowerJanus.simulcastLayers.
 *
 *   var l = WallflowerJanus.simulcastLayers(ctx);
 *     ctx.configure(mid, substream)  ask Janus to relay that layer of the mid
 *     ctx.active(mid)                the mid carries a publisher's stream now
 *   l.noteSubstream(mid, substream)  Janus relays this layer now (it says so
 *                                    only of simulcast streams)
 *   l.noteReport(report)             a getStats() report: each mid's decoded size
 *   l.fit(sizes)                     mid -> {width, height}: the biggest place the
 *                                    page shows that video, device pixels; a mid
 *                                    left out is not shown
 *   l.newFeed(mid)                   the mid now carries another publisher's
 *                                    stream: the layers' sizes are theirs to learn
 *   l.reset()                        a new PeerConnection: everything forgotten
 *   l.snapshot()                     mid -> {substream, target, frame, sizes}
 *
 * Janus relays a simulcast publisher's highest layer unless told otherwise, so
 * four 1280x720 cameras in 632x352 tiles would cost four 720p decodes and as
 * many downscales. Like LiveKit's adaptive stream, the recorder asks for the
 * smallest layer whose picture still covers where it is shown (no upscaling):
 * one layer down while the picture is at least twice that size each way, one
 * up while it is smaller. Each layer's size is learnt once it has been seen,
 * so layers that are not halves of each other do not make it swing between
 * two. A video shown nowhere for NOT_SHOWN_MS gets the lowest layer (its
 * frames still tell the page it is alive).
 */
(function (global) {
  'use strict';

  var SETTLE_MS = 1000;     // after a switch, the decoded size is the new layer's
  var PENDING_MS = 4000;    // a request Janus has not carried out is repeated after this
  var NOT_SHOWN_MS = 3000;  // a layout switch hides a video for less than this
  var TOP = 2;              // Janus' simulcast layers: 0 (smallest) .. 2
  var EPS = 0.01;

  var J = global.WallflowerJanus;   // sdk/janus-session.js, loaded first

  function simulcastLayers(ctx) {
    var state = {};   // mid -> see entry()

    function entry(mid) {
      return state[mid] || (state[mid] = {
        substream: null, since: 0, frame: null, sizes: {}, target: null, askedAt: 0, hiddenSince: 0
      });
    }

    function noteSubstream(mid, substream) {
      var st = entry(String(mid));
      if (st.substream !== substream) { st.substream = substream; st.since = Date.now(); }
    }

    // (Janus tells the layer only when it changes: the one relayed now is kept)
    function newFeed(mid) {
      var st = state[String(mid)];
      if (!st) return;
      st.since = Date.now();
      st.frame = null;
      st.sizes = {};
      st.target = null;
      st.hiddenSince = 0;
    }

    function noteReport(report) {
      var now = Date.now();
      report.forEach(function (r) {
        if (r.type !== 'inbound-rtp' || r.kind !== 'video' || r.mid == null || !r.frameWidth) return;
        var st = state[String(r.mid)];
        if (!st || st.substream == null) return;   // not a simulcast stream
        st.frame = { w: r.frameWidth, h: r.frameHeight };
        if (now - st.since >= SETTLE_MS) st.sizes[st.substream] = st.frame;
      });
    }

    // how much the picture is scaled where it is shown (cover: it fills both ways)
    function scale(size, want) { return Math.max(want.width / size.w, want.height / size.h); }

    function next(st, want) {
      var cur = st.substream, size = st.sizes[cur];
      if (!size) return cur;   // this layer's size is not known yet
      var s = scale(size, want);
      if (s > 1 + EPS && cur < TOP) return cur + 1;
      if (s <= 0.5 + EPS && cur > 0) {
        var below = st.sizes[cur - 1] || { w: size.w / 2, h: size.h / 2 };
        if (scale(below, want) <= 1 + EPS) return cur - 1;
      }
      return cur;
    }

    function ask(mid, st, substream) {
      if (substream === st.substream && (st.target == null || st.target === substream)) return;
      var now = Date.now();
      if (substream === st.target && now - st.askedAt < PENDING_MS) return;
      st.target = substream;
      st.askedAt = now;
      ctx.configure(mid, substream);
    }

    function fit(sizes) {
      var now = Date.now();
      Object.keys(state).forEach(function (mid) {
        var st = state[mid];
        if (st.substream == null || !ctx.active(mid)) return;
        var want = sizes[mid];
        if (!want || !(want.width > 0 && want.height > 0)) {
          if (!st.hiddenSince) st.hiddenSince = now;
          if (now - st.hiddenSince >= NOT_SHOWN_MS) ask(mid, st, 0);
          return;
        }
        st.hiddenSince = 0;
        ask(mid, st, next(st, want));
      });
    }

    return {
      noteSubstream: noteSubstream,
      noteReport: noteReport,
      newFeed: newFeed,
      fit: fit,
      reset: function () { state = {}; },
      snapshot: function () { return JSON.parse(JSON.stringify(state)); }
    };
  }

  J.simulcastLayers = simulcastLayers;
})(window);
