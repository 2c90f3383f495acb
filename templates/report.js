(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  var controls = document.getElementById("findings-filters");
  if (table && controls) {
    controls.hidden = false;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var text = document.getElementById("filter-text");
    var boxes = Array.prototype.slice.call(controls.querySelectorAll("input[data-sev]"));
    var shown = document.getElementById("filter-count");
    var apply = function () {
      var q = (text.value || "").toLowerCase();
      var allowed = {};
      boxes.forEach(function (b) { allowed[b.getAttribute("data-sev")] = b.checked; });
      var n = 0;
      rows.forEach(function (r) {
        var ok = allowed[r.getAttribute("data-sev")] !== false &&
          (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
        r.hidden = !ok;
        if (ok) { n += 1; }
      });
      shown.textContent = n + " of " + rows.length + " shown";
    };
    text.addEventListener("input", apply);
    boxes.forEach(function (b) { b.addEventListener("change", apply); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (!th.hasAttribute("data-sort")) { return; }
      th.tabIndex = 0;
      var sortBy = function () {
        var numeric = th.getAttribute("data-sort") === "num";
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var keyed = rows.map(function (r, i) {
          var cell = r.cells[col];
          var k = cell.hasAttribute("data-key") ? cell.getAttribute("data-key") : cell.textContent;
          return { r: r, k: numeric ? parseFloat(k) || 0 : k.toLowerCase(), i: i };
        });
        keyed.sort(function (a, b) {
          if (a.k < b.k) { return asc ? -1 : 1; }
          if (a.k > b.k) { return asc ? 1 : -1; }
          return a.i - b.i;
        });
        keyed.forEach(function (e) { body.appendChild(e.r); });
      };
      th.addEventListener("click", sortBy);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { sortBy(); } });
    });
    apply();
  }
  var opened = [];
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true; opened.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
