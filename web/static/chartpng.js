// chartpng.js: "Download PNG" of the Reports page's charts. No library: the
// chart's standalone SVG (the same file as "Download SVG") is drawn into a
// canvas of the chart's own size and saved with toBlob('image/png').
// A button names its SVG in data-png-src and the file in data-png-name.
(function () {
  'use strict';

  function size(svg) {
    var vb = (svg.getAttribute('viewBox') || '').split(/[\s,]+/).map(Number);
    if (vb.length === 4 && vb[2] > 0 && vb[3] > 0) {
      return { w: Math.round(vb[2]), h: Math.round(vb[3]) };
    }
    return { w: Math.round(svg.width.baseVal.value) || 720, h: Math.round(svg.height.baseVal.value) || 220 };
  }

  function save(blob, name) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
  }

  function toPNG(button) {
    button.disabled = true;
    var done = function () { button.disabled = false; };
    fetch(button.dataset.pngSrc, { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) { throw new Error('the chart could not be read (' + r.status + ')'); }
        return r.text();
      })
      .then(function (text) {
        var svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
        var s = size(svg);
        svg.setAttribute('width', s.w);
        svg.setAttribute('height', s.h);
        var img = new Image();
        img.onload = function () {
          var c = document.createElement('canvas');
          c.width = s.w;
          c.height = s.h;
          var g = c.getContext('2d');
          g.fillStyle = '#ffffff';
          g.fillRect(0, 0, s.w, s.h);
          g.drawImage(img, 0, 0, s.w, s.h);
          c.toBlob(function (blob) {
            if (blob) { save(blob, button.dataset.pngName || 'chart.png'); }
            done();
          }, 'image/png');
        };
        img.onerror = done;
        img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(svg));
      })
      .catch(done);
  }

  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button[data-png-src]');
    if (b) {
      ev.preventDefault();
      toPNG(b);
    }
  });
})();
