/*
 * branding.js — the branding rules both the host page and every layout page
 * apply (classic script; sets window.WallflowerBranding): the defaults, what
 * counts as a colour, a font family or a logo URL, and normalize(b), which
 * turns whatever the service sent into a complete branding object. The
 * service has already checked every field; this keeps a page safe even when
 * opened by hand with a hand-written config. Also the mechanics both pages
 * share: applyVariables(rootEl, b) sets --wf-bg, --wf-primary, --wf-text and
 * --wf-font on an element, and fitWatermark(el) sizes a rotated watermark to
 * its window's viewport.
 */
(function (global) {
  'use strict';

  var DEFAULTS = {
    title: '', subtitle: '', logo_url: '', logo_position: 'top-right',
    colors: { background: '#0b0e14', primary: '#5ee08f', text: '#e8ecf3' },
    font_family: '', show_names: true, watermark: '', custom_css: ''
  };
  var FONT_TAIL = '"Noto Sans", "Noto Sans CJK JP", "Noto Color Emoji", sans-serif';
  var FONT_BASE = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' + FONT_TAIL;

  function isHex(c) { return typeof c === 'string' && /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(c); }

  // a family name goes into CSS: nothing that could end the declaration
  function cleanFamily(f) { return String(f == null ? '' : f).replace(/["'\\;{}<>\n\r]/g, '').trim().slice(0, 100); }

  function safeUrl(u) { u = String(u || '').trim(); return /^(https?:|data:image\/|blob:)/i.test(u) ? u : ''; }

  // the branding's family first, then fonts that cover Latin, CJK and colour emoji
  function fontStack(family) {
    var f = cleanFamily(family);
    return (f ? '"' + f + '", ' : '') + FONT_BASE;
  }

  // the branding's CSS variables on rootEl (normally <html>)
  function applyVariables(rootEl, b) {
    rootEl.style.setProperty('--wf-bg', b.colors.background);
    rootEl.style.setProperty('--wf-primary', b.colors.primary);
    rootEl.style.setProperty('--wf-text', b.colors.text);
    rootEl.style.setProperty('--wf-font', fontStack(b.font_family));
  }

  // The watermark's rotated box must fit in 90 % of its window's viewport:
  // 10 % of the smaller side, shrunk until it fits, never below 6 px.
  function fitWatermark(el) {
    if (!el || !el.textContent) return;
    el.style.fontSize = '';
    var win = el.ownerDocument && el.ownerDocument.defaultView;
    var vw = win && win.innerWidth, vh = win && win.innerHeight;
    if (!vw || !vh) return;
    var base = Math.min(vw, vh) * 0.1;
    el.style.fontSize = base + 'px';
    var r = el.getBoundingClientRect();
    var k = Math.min(1, (vw * 0.9) / Math.max(1, r.width), (vh * 0.9) / Math.max(1, r.height));
    if (k < 1) el.style.fontSize = Math.max(6, base * k) + 'px';
  }

  function pick(v, fallback, ok) { return ok(v) ? v : fallback; }

  function normalize(b) {
    b = b && typeof b === 'object' && !Array.isArray(b) ? b : {};
    var c = b.colors && typeof b.colors === 'object' ? b.colors : {};
    var str = function (v) { return v == null ? '' : String(v); };
    var pos = str(b.logo_position);
    return {
      title: str(b.title),
      subtitle: str(b.subtitle),
      logo_url: str(b.logo_url),
      logo_position: /^(top|bottom)-(left|right)$/.test(pos) ? pos : DEFAULTS.logo_position,
      colors: {
        background: pick(c.background, DEFAULTS.colors.background, isHex),
        primary: pick(c.primary, DEFAULTS.colors.primary, isHex),
        text: pick(c.text, DEFAULTS.colors.text, isHex)
      },
      font_family: cleanFamily(b.font_family),
      show_names: b.show_names !== false,
      watermark: str(b.watermark),
      custom_css: str(b.custom_css)
    };
  }

  global.WallflowerBranding = {
    DEFAULTS: DEFAULTS, FONT_BASE: FONT_BASE, isHex: isHex, cleanFamily: cleanFamily,
    safeUrl: safeUrl, fontStack: fontStack, normalize: normalize,
    applyVariables: applyVariables, fitWatermark: fitWatermark
  };
  // loaded as a part of the layout SDK (sdk/layout.js): say it ran
  var I = global.__wfLayoutInternals;
  if (I && typeof I.partDone === 'function') I.partDone();
})(window);
