/*
 * layout-chrome.js — part of the layout SDK (loaded by sdk/layout.js, never
 * by a page itself): the branding chrome around the page's [data-wf-stage].
 *
 * Owns the title bar (accent, title, subtitle, logo at its left or right
 * end), the bottom bar (a bottom logo), the watermark (sized to fit the
 * viewport, refitted on resize and once the fonts are in), the CSS variables (--wf-bg, --wf-primary, --wf-text, --wf-font),
 * the wf-no-names class, custom_css as the last <style> in <head>, and
 * WallflowerLayout.fontStack(). A page without a stage gets no bars (the
 * stage is then <body>) but still the variables, show_names and custom_css.
 * The branding rules and the shared mechanics (variables, watermark fit)
 * live in sdk/branding.js. Shares state through window.__wfLayoutInternals (see sdk/layout.js)
 * and adds normBranding(b), buildChrome(), applyBranding(force),
 * fitWatermark(), logoSettled() and onLogoSettled(fn) to it.
 */
(function (global) {
  'use strict';

  var I = global.__wfLayoutInternals;
  var L = I.L;
  var el = I.el;
  var doc = global.document;
  var B = global.WallflowerBranding;
  var normBranding = B.normalize, fontStack = B.fontStack, safeUrl = B.safeUrl;

  var chrome = null;                 // {topbar, footbar, title, subtitle, logoTop, logoFoot, watermark, css}
  var lastBrandingKey = null;
  var logoWaiters = [];

  // ------------------------------------------------------------- building

  function buildTopbar() {
    var topbar = el('header', 'wf-topbar');
    var titles = el('div', 'wf-titles');
    var accent = el('span', 'wf-accent');
    var title = el('div', 'wf-title', { 'data-wf-brand': 'title' });
    var subtitle = el('div', 'wf-subtitle', { 'data-wf-brand': 'subtitle' });
    titles.appendChild(accent);
    titles.appendChild(title);
    titles.appendChild(subtitle);
    var logoTop = el('img', 'wf-logo', { 'data-wf-brand': 'logo', alt: '' });
    topbar.appendChild(titles);
    return { topbar: topbar, titles: titles, title: title, subtitle: subtitle, logoTop: logoTop };
  }

  function watchLogo(img) {
    img.hidden = true;
    img.addEventListener('error', function () {
      img.dataset.failed = '1';
      img.hidden = true;
      settleLogo();
      // a bar that only held the logo goes away: the layout reflows
      applyBranding(true);
      if (I.registered) I.emit('change', { branding: true });
    });
    img.addEventListener('load', function () { settleLogo(); });
  }

  function buildChrome() {
    if (chrome) return;
    var css = el('style', null, { 'data-wf-custom-css': '' });
    (doc.head || doc.documentElement).appendChild(css);
    var stage = doc.querySelector('[data-wf-stage]');
    if (!stage) {
      L.stage = doc.body;
      chrome = { css: css, bare: true };
      return;
    }
    stage.classList.add('wf-stage');
    L.stage = stage;

    var top = buildTopbar();
    var footbar = el('footer', 'wf-footbar');
    var spacer = el('div', 'wf-spacer');
    var logoFoot = el('img', 'wf-logo', { 'data-wf-brand': 'logo', alt: '' });
    footbar.appendChild(spacer);
    var watermark = el('div', 'wf-watermark', { 'data-wf-brand': 'watermark', 'aria-hidden': 'true' });
    stage.parentNode.insertBefore(top.topbar, stage);
    stage.parentNode.insertBefore(footbar, stage.nextSibling);
    doc.body.appendChild(watermark);
    [top.logoTop, logoFoot].forEach(watchLogo);
    chrome = { topbar: top.topbar, titles: top.titles, title: top.title, subtitle: top.subtitle, logoTop: top.logoTop,
               footbar: footbar, spacer: spacer, logoFoot: logoFoot, watermark: watermark, css: css };
  }

  function logoSettled() {
    if (!chrome || chrome.bare) return true;
    return [chrome.logoTop, chrome.logoFoot].every(function (img) {
      return img.hidden || !img.getAttribute('src') || img.complete || img.dataset.failed === '1';
    });
  }
  function settleLogo() {
    if (!logoSettled()) return;
    var w = logoWaiters; logoWaiters = [];
    w.forEach(function (fn) { fn(); });
  }

  // ------------------------------------------------------------- applying

  function applyVariables(b) {
    var root = doc.documentElement;
    B.applyVariables(root, b);
    root.classList.toggle('wf-no-names', !b.show_names);
    applyCustomCss(b.custom_css);
  }

  // the logo in the image of its bar (top or bottom), at the bar's left or
  // right end; the other image is cleared. Returns the image in use.
  function placeLogo(logo, top, right) {
    var useImg = top ? chrome.logoTop : chrome.logoFoot;
    var other = top ? chrome.logoFoot : chrome.logoTop;
    other.hidden = true;
    other.removeAttribute('src');
    delete other.dataset.failed;
    if (!logo) {
      useImg.hidden = true;
      useImg.removeAttribute('src');
      return useImg;
    }
    if (useImg.getAttribute('src') !== logo) {
      delete useImg.dataset.failed;
      useImg.setAttribute('src', logo);
    }
    useImg.hidden = useImg.dataset.failed === '1';
    var bar = top ? chrome.topbar : chrome.footbar;
    if (right) bar.appendChild(useImg); else bar.insertBefore(useImg, bar.firstChild);
    if (!top) {
      chrome.spacer.style.display = '';
      if (right) chrome.footbar.insertBefore(chrome.spacer, useImg);
      else chrome.footbar.appendChild(chrome.spacer);
    }
    return useImg;
  }

  // which bars show: the title bar with titles or a top logo, the bottom bar with a bottom logo
  function showBars(b, logoOk, top, right) {
    var hasTitles = !!(b.title || b.subtitle);
    chrome.titles.style.display = hasTitles ? '' : 'none';
    var topVisible = hasTitles || (logoOk && top);
    chrome.topbar.hidden = !topVisible;
    chrome.footbar.hidden = !(logoOk && !top);
    if (topVisible && !hasTitles && logoOk && top) {
      // logo only: keep it at its side of the bar
      chrome.topbar.style.justifyContent = right ? 'flex-end' : 'flex-start';
    } else chrome.topbar.style.justifyContent = '';
    doc.body.classList.toggle('wf-has-topbar', topVisible);
    doc.body.classList.toggle('wf-has-footbar', logoOk && !top);
  }

  // L.branding onto the page; does nothing when it did not change (force: redo it)
  function applyBranding(force) {
    if (force) lastBrandingKey = null;
    if (!chrome) return;
    var b = L.branding;
    var key = JSON.stringify(b);
    if (key === lastBrandingKey) return;
    lastBrandingKey = key;
    applyVariables(b);
    if (chrome.bare) return;

    chrome.title.textContent = b.title;
    chrome.subtitle.textContent = b.subtitle;
    var logo = safeUrl(b.logo_url);
    var pos = b.logo_position;
    var top = pos.indexOf('top') === 0, right = /right$/.test(pos);
    var useImg = placeLogo(logo, top, right);
    showBars(b, !!logo && useImg.dataset.failed !== '1', top, right);
    chrome.watermark.textContent = b.watermark;
    fitWatermark();
  }

  function applyCustomCss(text) {
    var css = chrome.css;
    if (css.textContent !== text) css.textContent = text;
    // custom CSS goes last, after every stylesheet of the page
    var head = doc.head || doc.documentElement;
    if (css.parentNode !== head || css !== head.lastElementChild) head.appendChild(css);
  }

  // The watermark's rotated box must fit in 90 % of the viewport (sdk/branding.js).
  function fitWatermark() {
    var wm = chrome && !chrome.bare && chrome.watermark;
    if (wm) B.fitWatermark(wm);
  }
  // refit when the viewport changes size and once the fonts are in
  global.addEventListener('resize', fitWatermark);
  if (doc.fonts && doc.fonts.ready) doc.fonts.ready.then(fitWatermark);

  L.fontStack = fontStack;
  L.branding = normBranding(null);
  I.normBranding = normBranding;
  I.buildChrome = buildChrome;
  I.applyBranding = applyBranding;
  I.fitWatermark = fitWatermark;
  I.logoSettled = logoSettled;
  I.onLogoSettled = function (fn) { logoWaiters.push(fn); };
  I.partDone();
})(window);
