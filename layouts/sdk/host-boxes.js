/*
 * host-boxes.js — the host page's geometry test hook (sdk/host.html):
 * window.wfHost.boxes() reports, in host-viewport CSS pixels, the visible
 * layout's tiles (with their name labels), its branding elements and the
 * call-event overlays (chat cards, floating reactions, the slide image);
 * H.boxes.videoSizes() where each video is shown, for its simulcast layer.
 * Plain script, loaded after host-frames.js (which defines window.wfHost and
 * calls boxes(job) here) and before host.js.
 *
 * Exported as window.__wfHostInternals.boxes (see host.js for the namespace).
 */
(function () {
  'use strict';

  var H = window.__wfHostInternals = window.__wfHostInternals || {};

  function displayed(el, win) {
    var r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    var cs = win.getComputedStyle(el);
    return cs.display !== 'none' && cs.visibility !== 'hidden' && parseFloat(cs.opacity) > 0;
  }

  function rnd(v) { return Math.round(v * 100) / 100; }

  // a tile's name label: its text, its box (snapped inward to whole pixels:
  // cropping a screenshot at (x, y, w, h) gives only pixels of the label),
  // and whether it sticks out of the tile box r
  function labelBox(label, win, off, r) {
    var out = { name: '', box: null, overflow: false };
    if (!label) return out;
    var txt = label.querySelector('.wf-name-text') || label;
    out.name = txt.textContent;
    if (!displayed(label, win)) return out;
    var lr = label.getBoundingClientRect();
    var lx = Math.ceil(lr.left + off.left - 0.001), ly = Math.ceil(lr.top + off.top - 0.001);
    out.box = { x: lx, y: ly, w: Math.max(0, Math.floor(lr.right + off.left + 0.001) - lx),
                h: Math.max(0, Math.floor(lr.bottom + off.top + 0.001) - ly) };
    out.overflow = lr.left < r.left - 0.5 || lr.top < r.top - 0.5 || lr.right > r.right + 0.5 || lr.bottom > r.bottom + 0.5;
    return out;
  }

  function tileBox(el, win, off) {
    var r = el.getBoundingClientRect();
    var id = el.getAttribute('data-wf-participant');
    var l = labelBox(el.querySelector('[data-wf-name]'), win, off, r);
    var name = l.name;
    if (!name) { var p = H.room.findPart(id); name = p ? p.display : ''; }
    return { id: id, name: name, role: el.getAttribute('data-wf-role') || 'tile',
             source: el.getAttribute('data-wf-source') || 'camera',
             x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height),
             label: l.box, name_overflows: l.overflow };
  }

  function brandBox(el, off) {
    var r = el.getBoundingClientRect();
    var kind = el.getAttribute('data-wf-brand');
    return { kind: kind, text: kind === 'logo' ? (el.getAttribute('src') || '') : el.textContent,
             x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height) };
  }

  // an overlay element ([data-wf-overlay], sdk/layout-overlays.js): chat card, reaction, slide image
  function overlayBox(el, off) {
    var r = el.getBoundingClientRect();
    var kind = el.getAttribute('data-wf-overlay');
    var text = '', from = el.getAttribute('data-wf-from') || null;
    if (kind === 'chat') {
      var t = el.querySelector('[data-wf-text]');
      text = t ? t.textContent : '';
    } else if (kind === 'slide') {
      text = el.getAttribute('alt') || '';
    } else text = el.textContent;
    return { kind: kind, text: text, from: from,
             x: rnd(r.left + off.left), y: rnd(r.top + off.top), w: rnd(r.width), h: rnd(r.height) };
  }

  function isReaction(a) {
    var t = a && a.effect && a.effect.target;
    return !!(t && t.closest && t.closest('[data-wf-overlay="reaction"]'));
  }

  // report where things end up, not where a transition currently has them
  // (floating reactions are where they are now: they never "end up" anywhere)
  function finishAnimations(d) {
    try {
      d.getAnimations().forEach(function (a) {
        if (isReaction(a)) return;
        try { a.finish(); } catch (e) { /* infinite */ }
      });
    } catch (e) { /* ignore */ }
  }

  function boxes(job) {
    var body = document.body;
    var out = { width: window.innerWidth, height: window.innerHeight, layout: body.dataset.layout || null,
                tiles: [], brand: [], overlays: [] };
    if (!job || !job.iframe) return out;
    var d, win;
    try { d = job.iframe.contentDocument; win = job.iframe.contentWindow; } catch (e) { return out; }
    if (!d || !win) return out;
    finishAnimations(d);
    var off = job.iframe.getBoundingClientRect();
    var each = function (sel, fn) { Array.prototype.forEach.call(d.querySelectorAll(sel), fn); };
    each('[data-wf-participant]', function (el) { if (displayed(el, win)) out.tiles.push(tileBox(el, win, off)); });
    each('[data-wf-brand]', function (el) { if (displayed(el, win)) out.brand.push(brandBox(el, off)); });
    each('[data-wf-overlay]', function (el) { if (displayed(el, win)) out.overlays.push(overlayBox(el, off)); });
    return out;
  }

  // Where the layouts on screen (and one being loaded) show each video: mid -> {width, height}
  // of its biggest <video> (found by its track, whatever stream holds it), in device pixels.
  // The connector picks the simulcast layer that fits (conn.fitVideo); a video shown nowhere is
  // left out. null when no <video> shows any of the call's videos (a layout drawing them some
  // other way, or none yet): then nothing can be said.
  function videoSizes() {
    var out = null, byTrack = new Map(), dpr = window.devicePixelRatio || 1;
    H.room.videoTracks().forEach(function (v) { byTrack.set(v.track, v.mid); });
    function note(el) {
      var src = el.srcObject, tracks = src && src.getVideoTracks ? src.getVideoTracks() : [];
      var mid = tracks.length ? byTrack.get(tracks[0]) : null;
      if (mid == null) return;
      var r = el.getBoundingClientRect(), w = Math.round(r.width * dpr), h = Math.round(r.height * dpr);
      out = out || {};
      var o = out[mid] || (out[mid] = { width: 0, height: 0 });
      if (w * h > o.width * o.height) { o.width = w; o.height = h; }
    }
    [H.frames.current, H.frames.pending].forEach(function (job) {
      if (!job || !job.iframe || job.dead) return;
      var d;
      try { d = job.iframe.contentDocument; } catch (e) { return; }
      if (d) Array.prototype.forEach.call(d.querySelectorAll('video'), note);
    });
    return out;
  }

  H.boxes = { boxes: boxes, videoSizes: videoSizes };
})();
