/*
 * speaker layout: the active speaker large, everyone else in a filmstrip
 * (param `filmstrip`: "bottom" | "right"). One participant: just the big tile.
 * A filmstrip that cannot hold everyone ends with a "+N" tile.
 */
(function () {
  'use strict';
  var L = window.WallflowerLayout;

  function render() {
    var st = L.stage;
    var ps = L.participants;
    if (!ps.length) { L.render(st, []); L.ready(); return; }
    var main = L.activeSpeaker || ps[0];
    var others = ps.filter(function (p) { return p !== main; });
    var pos = L.params.filmstrip === 'right' ? 'right' : 'bottom';
    var fs = L.filmstripRects(others.length, st.clientWidth, st.clientHeight, { position: pos, gap: L.gap() });
    var items = [{ participant: main, role: 'main', source: 'camera', x: fs.main.x, y: fs.main.y, w: fs.main.w, h: fs.main.h }];
    fs.strip.forEach(function (r, i) {
      items.push({ participant: others[i], role: 'strip', source: 'camera', x: r.x, y: r.y, w: r.w, h: r.h });
    });
    if (fs.more) {
      items.push({ el: L.moreTile(st, others.length - fs.shown), x: fs.more.x, y: fs.more.y, w: fs.more.w, h: fs.more.h });
    }
    L.render(st, items);
    document.body.dataset.filmstrip = pos;
    L.ready();
  }

  L.onChange(function (c) {
    if (c.participants || c.activeSpeaker || c.params || c.resize || c.branding || c.initial) render();
  });
})();
