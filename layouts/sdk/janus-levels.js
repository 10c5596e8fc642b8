/*
 * janus-levels.js — the speaking levels of the hidden subscriber's audio tracks, for
 * sdk/janus-connector.js. Load it after sdk/janus-session.js and before the connector;
 * it adds `WallflowerJanus.speakingLevels(ctx)`.
 *
 * The level comes with the RTP packets (the audio-level header extension, which browsers
 * send and Janus relays): reading it costs nothing. A sender without it (a plain RTP
 * publisher) is measured from the receiver's own statistics of the sound it plays. A Web
 * Audio analyser did that before, but its audio thread and second sound output cost ~0.05
 * cores with four such senders (BENCHMARKS.md).
 *
 * ctx (what the connector lends it):
 *   tracks()             the connector's emitted tracks by mid ({participantId, kind, ...})
 *   pc()                 the subscriber PeerConnection, or null
 *   participantId(feed)  the id to report for a feed
 *   emit(event, payload) the connector's `speaking` events go out here
 *   isClosed()           true once the connector stopped
 *   onStats(report)      each getStats() report read here, for the connector's own use
 */
(function (global) {
  'use strict';

  var SPEAKING_MS = 100;
  var LEVEL_WAIT_MS = 1500;        // no RTP audio level by then: measure the sound received
  var STATS_MS = 250;              // how often those levels are read
  var LEVEL_STALE_MS = 500;        // an RTP level older than this is silence (DTX sends nothing)

  var J = global.WallflowerJanus;   // sdk/janus-session.js, loaded first
  var log = J.util.log;

  function speakingLevels(ctx) {
    var timer = null;
    var levels = {};                               // participantId -> smoothed level
    var statsRead = { pending: false, at: 0 };     // the last read of levels from getStats()

    // Starts measuring entry (an audio track the connector handed out) through receiver.
    function watch(entry, receiver) {
      entry.receiver = receiver;
      entry.since = Date.now();
      if (!timer) timer = setInterval(tick, SPEAKING_MS);
    }

    function stop() {
      if (timer) { clearInterval(timer); timer = null; }
    }

    // the newest RTP audio level of entry's receiver (0..1 linear, 1 = full scale; 0 once
    // packets stopped), or null when its packets carry none
    function rtpLevel(entry) {
      var r = entry.receiver;
      if (!r || typeof r.getSynchronizationSources !== 'function') return null;
      var best = null;
      r.getSynchronizationSources().forEach(function (src) {
        if (typeof src.audioLevel === 'number' && (best === null || src.timestamp > best.timestamp)) best = src;
      });
      if (!best) return null;
      // Chromium has stamped these on the Unix epoch and on the page's clock: take either.
      var now = performance.now();
      var age = best.timestamp > 1e12 ? performance.timeOrigin + now - best.timestamp : now - best.timestamp;
      return age > LEVEL_STALE_MS ? 0 : best.audioLevel;
    }

    // entry's level in dBFS, from RTP or (once RTP has carried none for a while) the receiver's
    // statistics; null while unknown
    function levelDb(entry) {
      var linear = entry.measured ? null : rtpLevel(entry);
      if (linear !== null) {
        entry.rtpLevels = true;
        return linear > 0 ? 20 * Math.log10(linear) : -100;
      }
      if (!entry.measured) {
        if (entry.rtpLevels || Date.now() - entry.since < LEVEL_WAIT_MS) return null;
        entry.measured = { energy: null, duration: null, db: null };
        log('info', 'participant ' + entry.participantId + ' sends no RTP audio level: measuring the sound received');
      }
      readMeasuredLevels();
      return entry.measured.db;
    }

    // The receiver adds up the energy of what it plays out (inbound-rtp totalAudioEnergy: the
    // square of each 10 ms frame's peak times its duration) and how long it played
    // (totalSamplesDuration); their growth between two reads is the mean square in between.
    // One read of the PeerConnection's statistics serves every such sender, every STATS_MS.
    function readMeasuredLevels() {
      var myPc = ctx.pc();
      if (statsRead.pending || !myPc || Date.now() - statsRead.at < STATS_MS) return;
      statsRead.pending = true;
      statsRead.at = Date.now();
      myPc.getStats().then(function (report) {
        statsRead.pending = false;
        if (myPc !== ctx.pc() || ctx.isClosed()) return;
        ctx.onStats(report);
        var tracks = ctx.tracks();
        report.forEach(function (st) {
          if (st.type !== 'inbound-rtp' || typeof st.totalAudioEnergy !== 'number') return;
          var entry = tracks[st.mid];
          if (entry && entry.measured) measure(entry.measured, st.totalAudioEnergy, st.totalSamplesDuration);
        });
      }, function () { statsRead.pending = false; });
    }

    function measure(m, energy, duration) {
      if (m.duration !== null) {
        var played = duration - m.duration;
        var meanSquare = played > 0 ? (energy - m.energy) / played : 0;
        m.db = meanSquare > 0 ? 10 * Math.log10(meanSquare) : -100;
      }
      m.energy = energy;
      m.duration = duration;
    }

    function tick() {
      if (ctx.isClosed()) return;
      var tracks = ctx.tracks();
      var raw = {};
      var any = false;
      Object.keys(tracks).forEach(function (mid) {
        var e = tracks[mid];
        if (e.kind !== 'audio') return;
        any = true;
        var db = levelDb(e);
        if (db === null) return;
        var level = Math.min(1, Math.max(0, (db + 60) / 60));   // -60 dBFS..0 dBFS -> 0..1
        raw[e.participantId] = Math.max(raw[e.participantId] || 0, level);
      });
      if (!any) { stop(); levels = {}; return; }
      Object.keys(raw).forEach(function (k) {
        var prev = levels[k] || 0, v = raw[k];
        var lvl = v >= prev ? v : prev * 0.6 + v * 0.4;
        levels[k] = lvl;
        ctx.emit('speaking', { participantId: ctx.participantId(k), level: Math.round(lvl * 1000) / 1000 });
      });
    }

    return {
      watch: watch,
      stop: stop,
      // when the statistics were last read here (their reader serves the connector's checks too)
      lastStatsAt: function () { return statsRead.at; },
      // diagnostics: the smoothed levels by participant
      snapshot: function () { return JSON.parse(JSON.stringify(levels)); }
    };
  }

  J.speakingLevels = speakingLevels;
})(window);
