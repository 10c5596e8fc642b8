/*
 * single layout: one participant, full frame. Param `participant`: a display
 * name (case-insensitive) or an id; unset or not in the call: the active
 * speaker. Shows the camera (the screen if that is all they send).
 */
(function () {
  'use strict';
  var L = window.WallflowerLayout;

  function chosen() {
    var want = String(L.params.participant == null ? '' : L.params.participant).trim();
    var ps = L.participants;
    if (want) {
      var lw = want.toLowerCase();
      for (var i = 0; i < ps.length; i++) if (String(ps[i].id) === want) return ps[i];
      for (var j = 0; j < ps.length; j++) if (ps[j].display.trim().toLowerCase() === lw) return ps[j];
    }
    return L.activeSpeaker || ps[0] || null;
  }

  function render() {
    var st = L.stage;
    var p = chosen();
    if (!p) { L.render(st, []); L.ready(); return; }
    var source = !p.camera && p.screen ? 'screen' : 'camera';
    L.render(st, [{ participant: p, role: 'main', source: source, x: 0, y: 0, w: st.clientWidth, h: st.clientHeight }]);
    L.ready();
  }

  L.onChange(function (c) {
    if (c.participants || c.tracks || c.activeSpeaker || c.params || c.resize || c.branding || c.initial) render();
  });
})();
