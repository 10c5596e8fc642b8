/*
 * presentation layout: the current slide, else the presenter's shared screen,
 * large (letterboxed, never cropped), every participant in a filmstrip (param
 * `filmstrip`: "right" | "bottom"). While there is neither it is the speaker
 * layout. The slide (L.slide, shown in L.slideElement()) wins over a screen:
 * it is newer and explicit.
 */
(function () {
  'use strict';
  var L = window.WallflowerLayout;

  function screenAspect(p) {
    try {
      var s = p.screenTrack && p.screenTrack.getSettings ? p.screenTrack.getSettings() : null;
      if (s && s.width > 0 && s.height > 0) return s.width / s.height;
    } catch (e) { /* ignore */ }
    return 16 / 9;
  }

  function slideAspect(slide) {
    // a 4:3 to 16:9 plate: odd images are letterboxed rather than reshaping the layout
    var a = slide.width > 0 && slide.height > 0 ? slide.width / slide.height : 16 / 9;
    return Math.max(4 / 3, Math.min(16 / 9, a));
  }

  // the caption band under the big picture (the presenter's name, a slide's index and title)
  function captionHeight() {
    return Math.round(Math.min(140, Math.max(16, Math.min(window.innerWidth, window.innerHeight) * 0.046)));
  }

  function render() {
    var st = L.stage;
    var ps = L.participants;
    if (!ps.length) { L.render(st, []); L.ready(); return; }
    var pos = L.params.filmstrip === 'bottom' ? 'bottom' : 'right';
    var slide = L.slide;
    var presenter = L.presenter && L.presenter.screen ? L.presenter : null;
    var main, strip, mainAspect;
    if (slide) {
      strip = ps;
      mainAspect = slideAspect(slide);
    } else if (presenter) {
      strip = ps;
      mainAspect = screenAspect(presenter);
    } else {
      // nobody presents: the speaker arrangement
      main = L.activeSpeaker || ps[0];
      strip = ps.filter(function (p) { return p !== main; });
      mainAspect = 16 / 9;
    }
    var cap = 0;
    if (slide) cap = slide.index != null || slide.title || slide.from ? captionHeight() : 0;
    else if (presenter && L.branding.show_names) cap = captionHeight();
    document.documentElement.style.setProperty('--wf-caption-h', cap + 'px');
    var fs = L.filmstripRects(strip.length, st.clientWidth, st.clientHeight,
                              { position: pos, gap: L.gap(), mainAspect: mainAspect, mainExtraH: cap });
    var m = fs.main;
    var items = [];
    if (slide) items.push({ el: L.slideElement(), x: m.x, y: m.y, w: m.w, h: m.h });
    else if (presenter) items.push({ participant: presenter, role: 'presentation', source: 'screen', x: m.x, y: m.y, w: m.w, h: m.h });
    else items.push({ participant: main, role: 'main', source: 'camera', x: m.x, y: m.y, w: m.w, h: m.h });
    fs.strip.forEach(function (r, i) {
      items.push({ participant: strip[i], role: 'strip', source: 'camera', x: r.x, y: r.y, w: r.w, h: r.h });
    });
    if (fs.more) items.push({ el: L.moreTile(st, strip.length - fs.shown), x: fs.more.x, y: fs.more.y, w: fs.more.w, h: fs.more.h });
    L.render(st, items);
    document.body.dataset.mode = slide ? 'slide' : (presenter ? 'presentation' : 'speaker');
    L.ready();
  }

  L.onChange(function (c) {
    if (c.participants || c.tracks || c.presenter || c.activeSpeaker || c.params || c.resize || c.branding ||
        c.slide || c.initial) render();
  });
})();
