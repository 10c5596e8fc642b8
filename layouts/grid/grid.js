/*
 * grid layout: every participant in an equal 16:9 tile, best fit (the column
 * count that gives the largest tiles), rows and the last row centred.
 * A participant who shares a screen shows the screen in their tile.
 */
(function () {
  'use strict';
  var L = window.WallflowerLayout;

  function render() {
    var st = L.stage;
    var ps = L.participants;
    var rects = L.gridRects(ps.length, st.clientWidth, st.clientHeight, { gap: L.gap() });
    L.render(st, ps.map(function (p, i) {
      var r = rects[i];
      return { participant: p, role: 'tile', source: p.screen ? 'screen' : 'camera', x: r.x, y: r.y, w: r.w, h: r.h };
    }));
    L.ready();
  }

  L.onChange(function (changes) {
    if (changes.participants || changes.tracks || changes.resize || changes.branding || changes.initial) render();
  });
})();
