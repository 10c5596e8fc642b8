/*
 * janus-sync.js — holds each participant's picture back for as long as their sound
 * takes to be heard (plain script, no module). Load it after sdk/janus-session.js and
 * before sdk/janus-subscriber.js, which runs one per subscriber PeerConnection; it
 * adds WallflowerJanus.lipSync(ctx).
 *
 *   var s = WallflowerJanus.lipSync(ctx);
 *     ctx.pc()        the subscriber PeerConnection, or null
 *     ctx.streams()   Janus' streams of the last offer: mid -> {type, feed_id, ...}
 *     ctx.isClosed()  true once the connector stopped
 *   s.start()       read the PeerConnection's statistics from now on
 *   s.stop()        stop; what was learnt goes with the PeerConnection
 *   s.snapshot()    diagnostics: participant -> the picture's hold in ms
 *
 * Why: WebRTC's own A/V sync only starts once both of a participant's streams have
 * had an RTCP sender report (a few seconds in), then moves the picture's delay a
 * little each second: a participant joining a recording had their sound ~150 ms late
 * for 10-15 s (BENCHMARKS.md, "Lip-sync of a participant").
 *
 * How: a participant's sound waits in NetEQ (inbound-rtp jitterBufferDelay per sample
 * emitted, over the last read), then in the sound output (media-playout
 * totalPlayoutDelay per sample). Each of their video receivers gets that sum as its
 * jitterBufferTarget, so the picture leaves its jitter buffer when the sound leaves
 * the output. The rest of each way (decoder and compositor; the sound server) was
 * measured with the benchmark's lip-sync markers: nothing to add. WebRTC's sync then
 * has little left to do.
 *
 * Not followed: a backlog. At a recording's start Chromium's sound output starts
 * ~0.75 s after the first <audio> plays, and NetEQ would play what waited ~10 % fast.
 * Holding the picture that long put the first markers in sync, but each step down as
 * the backlog drained made WebRTC drop a picture to catch up: with two recordings at
 * once the tiles lost 13-25 % of their pictures. So NetEQ's wait counts up to
 * BACKLOG_MS over its own target (jitterBufferTargetDelay). The recorder's Chromium
 * also has NetEQ drop any backlog over 300 ms (src/recorder/launch.rs), so what is
 * left of one plays out within a second or two.
 *
 * A hold is never raised while WebRTC's own estimate (estimatedPlayoutTimestamp)
 * finds the picture already behind the sound: its sync answers that by delaying the
 * sound, and a hold raised after it would chase it.
 */
(function (global) {
  'use strict';

  var FAST_MS = 500;            // reads while a hold moved lately
  var SLOW_MS = 2000;           // reads once holds have been still for QUIET_MS
  var QUIET_MS = 10000;
  var STEP_MS = 20;             // smaller changes are left alone (each one jolts the picture)
  var MAX_HOLD_MS = 4000;       // what Chromium takes
  var BEHIND_MS = 25;           // the picture this far behind the sound: no higher hold
  var BACKLOG_MS = 60;          // NetEQ's wait ran 20-45 ms over its target in steady play

  var J = global.WallflowerJanus;   // sdk/janus-session.js, loaded first
  var log = J.util.log;
  var supported = typeof RTCRtpReceiver !== 'undefined' && 'jitterBufferTarget' in RTCRtpReceiver.prototype;

  function lipSync(ctx) {
    var timer = null, running = false;
    var last = {};       // stats id -> the previous read of that statistic
    var holds = {};      // video mid -> {feed, ms}
    var movedAt = 0;

    // What grew in a counter pair since the last read of stat: d(sum) / d(count), or null
    // (nothing grew, or a browser without that statistic).
    function perSample(stat, sum, count) {
      var prev = last[stat.id];
      if (!prev || typeof stat[sum] !== 'number' || !(stat[count] > prev[count])) return null;
      return 1000 * (stat[sum] - prev[sum]) / (stat[count] - prev[count]);
    }

    // feed -> {audio: inbound-rtp, videos: [inbound-rtp]}
    function byFeed(report) {
      var feeds = {}, streams = ctx.streams();
      report.forEach(function (r) {
        if (r.type !== 'inbound-rtp' || r.mid == null) return;
        var info = streams[String(r.mid)];
        if (!info || info.feed_id == null) return;
        var f = feeds[info.feed_id] || (feeds[info.feed_id] = { audio: null, videos: [] });
        if (r.kind === 'audio' && !f.audio) f.audio = r;
        if (r.kind === 'video') f.videos.push(r);
      });
      return feeds;
    }

    // How long a sample of audio (an inbound-rtp) takes from arrival to the output, or null;
    // without a backlog (see above).
    function soundDelay(report, audio) {
      var playout = audio.playoutId && report.get(audio.playoutId);
      var waited = perSample(audio, 'jitterBufferDelay', 'jitterBufferEmittedCount');
      var target = perSample(audio, 'jitterBufferTargetDelay', 'jitterBufferEmittedCount');
      var output = playout ? perSample(playout, 'totalPlayoutDelay', 'totalSamplesCount') : null;
      if (waited === null || output === null) return null;
      return Math.min(waited, (target === null ? waited : target) + BACKLOG_MS) + output;
    }

    function hold(receivers, feed, audio, video, want) {
      var receiver = receivers[String(video.mid)];
      var cur = receiver && receiver.jitterBufferTarget || 0;   // null until set
      if (!receiver || Math.abs(want - cur) < STEP_MS) return;
      var behind = audio.estimatedPlayoutTimestamp && video.estimatedPlayoutTimestamp &&
        video.estimatedPlayoutTimestamp - audio.estimatedPlayoutTimestamp < -BEHIND_MS;
      if (want > cur && behind) return;
      receiver.jitterBufferTarget = want;
      if (!holds[video.mid]) log('debug', 'participant ' + feed + ': picture held ' + want + ' ms for lip-sync');
      holds[video.mid] = { feed: feed, ms: want };
      movedAt = Date.now();
    }

    function apply(pc, report) {
      var receivers = {};
      pc.getTransceivers().forEach(function (t) { if (t.mid != null) receivers[String(t.mid)] = t.receiver; });
      var feeds = byFeed(report);
      Object.keys(feeds).forEach(function (feed) {
        var f = feeds[feed];
        var sound = f.audio && soundDelay(report, f.audio);
        if (sound === null || sound === undefined) return;
        var want = Math.max(0, Math.min(MAX_HOLD_MS, Math.round(sound)));
        f.videos.forEach(function (v) { hold(receivers, feed, f.audio, v, want); });
      });
      report.forEach(function (r) {
        if (r.type === 'inbound-rtp' || r.type === 'media-playout') last[r.id] = r;
      });
    }

    function tick() {
      timer = null;
      var pc = ctx.pc();
      if (!pc || ctx.isClosed()) return;
      pc.getStats().then(function (report) {
        if (pc === ctx.pc() && !ctx.isClosed()) apply(pc, report);
      }).catch(function () { /* the next read tries again */ }).then(function () {
        if (pc === ctx.pc() && !ctx.isClosed() && running) schedule();
      });
    }

    function schedule() {
      if (!timer) timer = setTimeout(tick, Date.now() - movedAt < QUIET_MS ? FAST_MS : SLOW_MS);
    }

    return {
      start: function () {
        if (running || !supported) return;
        running = true;
        movedAt = Date.now();
        schedule();
      },
      stop: function () {
        running = false;
        if (timer) { clearTimeout(timer); timer = null; }
        last = {};
        holds = {};
      },
      snapshot: function () {
        var out = {};
        Object.keys(holds).forEach(function (mid) { out[holds[mid].feed] = holds[mid].ms; });
        return out;
      }
    };
  }

  J.lipSync = lipSync;
})(window);
