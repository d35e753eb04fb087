// Zoom and pan of the maps, and the searchable, sortable table of the lowest level.
// Vanilla JavaScript, no network. The maps' zones sit in an inner <svg class="frame"> whose
// viewBox is zoomed; the scale bar and north arrow sit outside it and stay put, the scale
// bar's length being recomputed for the zoom.
(function () {
  "use strict";
  var MAX_ZOOM = 60;

  // The longest 1, 2 or 5 x 10^n metres not longer than `limit`.
  function roundLength(limit) {
    if (!(limit > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(limit)));
    var c = [5, 2, 1];
    for (var i = 0; i < c.length; i++) if (c[i] * p <= limit * (1 + 1e-12)) return c[i] * p;
    return p;
  }

  function setupMap(fig) {
    var outer = fig.querySelector("svg.choropleth");
    var inner = outer && outer.querySelector("svg.frame");
    if (!inner) return null;
    var vb = inner.getAttribute("viewBox").split(/\s+/).map(Number);
    var full = vb.slice();
    var mpp = Number(outer.getAttribute("data-mpp"));
    var maxPx = Number(outer.getAttribute("data-maxpx"));
    var bar = outer.querySelector(".scale-bar");
    var labels = Array.prototype.slice.call(inner.querySelectorAll(".labels text[data-z]"));

    function apply(v) {
      var z = full[2] / v[2];
      if (z < 1) { v = full.slice(); z = 1; }
      if (z > MAX_ZOOM) return;
      // Keep the view over the frame.
      v[0] = Math.min(Math.max(v[0], full[0]), full[0] + full[2] - v[2]);
      v[1] = Math.min(Math.max(v[1], full[1]), full[1] + full[3] - v[3]);
      vb = v;
      inner.setAttribute("viewBox", v.join(" "));
      inner.style.setProperty("--z", z);
      labels.forEach(function (t) {
        t.style.display = z >= Number(t.getAttribute("data-z")) ? "inline" : "";
      });
      if (bar && mpp > 0) {
        var m = roundLength(mpp / z * maxPx);
        var px = m / (mpp / z);
        var r = bar.querySelectorAll("rect");
        r[0].setAttribute("width", px / 2);
        r[1].setAttribute("x", px / 2);
        r[1].setAttribute("width", px / 2);
        var lab = bar.querySelector(".scale-label");
        lab.setAttribute("x", px);
        lab.textContent = m >= 1000 ? m / 1000 + " km" : m + " m";
        bar.setAttribute("data-metres", m);
      }
    }
    function zoomAt(f, cx, cy) {
      var w = vb[2] / f, h = vb[3] / f;
      apply([cx - (cx - vb[0]) / f, cy - (cy - vb[1]) / f, w, h]);
    }
    function point(e) {
      var r = inner.getBoundingClientRect();
      return [vb[0] + (e.clientX - r.left) / r.width * vb[2],
              vb[1] + (e.clientY - r.top) / r.height * vb[3]];
    }
    inner.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = point(e);
      zoomAt(e.deltaY < 0 ? 1.25 : 0.8, p[0], p[1]);
    }, { passive: false });
    inner.addEventListener("dblclick", function (e) {
      var p = point(e);
      zoomAt(2, p[0], p[1]);
    });
    var drag = null;
    inner.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, vb: vb.slice() };
    });
    window.addEventListener("pointerup", function () { drag = null; });
    inner.addEventListener("pointermove", function (e) {
      if (!drag || !(e.buttons & 1)) return;
      var r = inner.getBoundingClientRect();
      var dx = (e.clientX - drag.x) / r.width * drag.vb[2];
      var dy = (e.clientY - drag.y) / r.height * drag.vb[3];
      apply([drag.vb[0] - dx, drag.vb[1] - dy, drag.vb[2], drag.vb[3]]);
    });
    fig.querySelectorAll("[data-zoom]").forEach(function (b) {
      b.addEventListener("click", function () {
        var k = b.getAttribute("data-zoom");
        if (k === "reset") apply(full.slice());
        else zoomAt(k === "in" ? 2 : 0.5, vb[0] + vb[2] / 2, vb[1] + vb[3] / 2);
      });
    });
    return {
      paths: inner.querySelectorAll(".zones path"),
      // Zooms to box `b` of the inner frame, with a margin.
      show: function (b) {
        var s = Math.max(b.width, b.height * full[2] / full[3], full[2] / MAX_ZOOM) * 1.6;
        var h = s * full[3] / full[2];
        apply([b.x + b.width / 2 - s / 2, b.y + b.height / 2 - h / 2, s, h]);
      }
    };
  }

  var maps = {};
  document.querySelectorAll("figure.map").forEach(function (fig) {
    var m = setupMap(fig);
    if (m) maps[fig.getAttribute("data-level")] = m;
  });

  // The table of the lowest level.
  var section = document.getElementById("zone-table");
  var dataEl = document.getElementById("zone-data");
  if (!section || !dataEl) return;
  var level = section.getAttribute("data-level");
  var rows = JSON.parse(dataEl.textContent);
  rows.forEach(function (r, i) { r.i = i; });
  var tbody = section.querySelector("#zone-rows tbody");
  var count = document.getElementById("zone-count");
  var search = document.getElementById("zone-search");
  var fmt = function (v, d) {
    return v === null || v === undefined ? "–"
      : v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  };
  var trs = rows.map(function (r) {
    var tr = document.createElement("tr");
    tr.className = "zone-row";
    tr.setAttribute("data-i", r.i);
    var cells = [r[1], r[0], r[2], r[3], fmt(r[4], 1), fmt(r[5], 0), fmt(r[6], 0)];
    cells.forEach(function (c, k) {
      var td = document.createElement("td");
      td.textContent = c;
      if (k === 1) td.className = "code";
      if (k >= 4) td.className = "n";
      tr.appendChild(td);
    });
    tr.addEventListener("click", function () { select(r.i); });
    return tr;
  });
  var frag = document.createDocumentFragment();
  trs.forEach(function (tr) { frag.appendChild(tr); });
  tbody.appendChild(frag);

  var selected = null;
  function select(i) {
    var map = maps[level];
    if (selected !== null) {
      trs[selected].classList.remove("selected");
      if (map && map.paths[selected]) map.paths[selected].classList.remove("hit");
    }
    selected = i;
    trs[i].classList.add("selected");
    if (map && map.paths[i]) {
      var p = map.paths[i];
      p.classList.add("hit");
      p.parentNode.appendChild(p); // drawn last: its outline on top
      map.show(p.getBBox());
      var fig = document.getElementById("map-" + level);
      if (fig && fig.scrollIntoView) fig.scrollIntoView({ block: "center" });
    }
  }

  function filter() {
    var q = search.value.trim().toLowerCase();
    var n = 0, first = null;
    rows.forEach(function (r) {
      var hit = !q || [r[0], r[1], r[2], r[3]].some(function (s) {
        return String(s).toLowerCase().indexOf(q) >= 0;
      });
      trs[r.i].hidden = !hit;
      if (hit) { n++; if (first === null) first = r.i; }
    });
    count.textContent = q ? n + " " + count.getAttribute("data-matches") : "";
    return first;
  }
  search.addEventListener("input", filter);
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      var exact = rows.filter(function (r) {
        var q = search.value.trim();
        return r[0] === q || r[1] === q;
      });
      var i = exact.length ? exact[0].i : filter();
      if (i !== null && i !== undefined) select(i);
    }
  });

  // Sorting: click a header; again to reverse.
  var sortCol = null, asc = true;
  section.querySelectorAll("th[data-col]").forEach(function (th) {
    th.addEventListener("click", function () {
      var c = Number(th.getAttribute("data-col"));
      asc = sortCol === c ? !asc : c < 4;
      sortCol = c;
      var order = rows.slice().sort(function (a, b) {
        var x = a[c], y = b[c];
        if (x === null) return 1;
        if (y === null) return -1;
        var d = c >= 4 ? x - y : String(x).localeCompare(String(y), "zh");
        return asc ? d : -d;
      });
      var f = document.createDocumentFragment();
      order.forEach(function (r) { f.appendChild(trs[r.i]); });
      tbody.appendChild(f);
      section.querySelectorAll("th[data-col]").forEach(function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    });
  });
})();
