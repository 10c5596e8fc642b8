/*
 * layout-slide.js — part of the layout SDK (loaded by sdk/layout.js after
 * layout-overlays.js, never by a page itself): the current slide.
 *
 * Owns WallflowerLayout.slide (the host's current slide {url, index, title,
 * from, width, height} once its image is decoded here; null without one or
 * with slides off) and WallflowerLayout.slideElement(): the element showing
 * it, which a layout places with render() when it shows slides (presentation
 * does); a change {slide: true} says when to. A newer slide replaces the old
 * one once its image decoded; an image that fails keeps the previous one.
 * Reports each slide shown (placed and visible) or not through
 * overlayReport() (layout-overlays.js). Styles: sdk/layout-overlays.css.
 * Shares state through window.__wfLayoutInternals (see sdk/layout.js) and adds
 * syncSlide(slide) and overlaysBusy() to it.
 */
(function (global) {
  'use strict';

  var I = global.__wfLayoutInternals;
  var L = I.L;
  var el = I.el;

  var SLIDE_LOAD_MS = 5000;     // an image that has not decoded by then failed
  var slide = { el: null, img: null, idx: null, title: null, from: null, shownSeq: null, loadingSeq: null, busy: 0 };

  /* The element showing the current slide (image letterboxed on a dark plate,
   * a caption band with its index and title under it, as tall as
   * --wf-caption-h). Place it with render() ({el: L.slideElement(), x, y, w, h});
   * render() removes it again when it is not among the items. */
  function slideElement() {
    if (!slide.el) {
      var e = el('div', 'wf-slide', { 'data-wf-slide': '' });
      var cap = el('div', 'wf-slide-cap');
      slide.idx = el('span', 'wf-slide-index');
      slide.title = el('span', 'wf-slide-title');
      slide.from = el('span', 'wf-slide-from');
      cap.appendChild(slide.from);
      cap.appendChild(slide.idx);
      cap.appendChild(slide.title);
      e.appendChild(cap);
      slide.el = e;
    }
    return slide.el;
  }

  function slidePlaced() {
    var img = slide.img;
    if (!img || !slide.el || !slide.el.isConnected) return false;
    var r = img.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && global.getComputedStyle(slide.el).display !== 'none';
  }

  function showSlide(s, img) {
    var e = slideElement();
    if (slide.img && slide.img.parentNode) slide.img.parentNode.removeChild(slide.img);
    slide.img = img;
    if (img) e.insertBefore(img, e.firstChild);
    slide.shownSeq = s ? s.seq : null;
    L.slide = s ? { url: s.url, index: s.index == null ? null : s.index, title: s.title || '', from: s.from || null,
                    width: +s.width || 0, height: +s.height || 0 } : null;
    slide.idx.textContent = s && s.index != null ? String(s.index) : '';
    slide.title.textContent = s && s.title ? s.title : '';
    slide.from.textContent = s && s.from ? s.from : '';
    if (I.registered) I.emit('change', { slide: true });
    if (s) I.overlayReport({ seq: s.seq, check: slidePlaced });
  }

  // a new slide shows once its image is decoded; one that fails keeps the previous
  function syncSlide(s) {
    var want = s ? s.seq : null;
    if (want === null) {
      slide.loadingSeq = null;
      if (slide.shownSeq !== null) showSlide(null, null);
      return;
    }
    if (want === slide.loadingSeq) return;
    if (want === slide.shownSeq) { slide.loadingSeq = null; return; }
    slide.loadingSeq = want;
    var img = el('img', 'wf-slide-img', { 'data-wf-overlay': 'slide', alt: s.title || '' });
    if (s.from) img.setAttribute('data-wf-from', String(s.from));
    slide.busy++;
    var done = false;
    var finish = function (ok) {
      if (done) return;
      done = true;
      slide.busy--;
      if (slide.loadingSeq !== want) return;
      slide.loadingSeq = null;
      if (ok) showSlide(s, img);
      else I.overlayReport({ seq: want, shown: false });
    };
    img.onload = function () {
      (img.decode ? img.decode() : Promise.resolve()).then(function () { finish(true); },
        function () { finish(img.naturalWidth > 0); });
    };
    img.onerror = function () { finish(false); };
    setTimeout(function () { finish(img.naturalWidth > 0); }, SLIDE_LOAD_MS);
    img.src = String(s.url);
  }

  L.slide = null;
  L.slideElement = slideElement;
  I.syncSlide = syncSlide;
  // a slide image is being decoded (ready() waits for it)
  I.overlaysBusy = function () { return slide.busy > 0; };
  I.partDone();
})(window);
