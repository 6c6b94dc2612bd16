/* tenure pages: draw the charts whose data sits in <script type="application/json"> blocks
   (no inline scripts: the Content-Security-Policy forbids them), auto-submit marked selects,
   and redraw after htmx swaps. Everything here is an enhancement: pages work without it. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.Plotly === "undefined") return;
    var blocks = (root || document).querySelectorAll("script.chart-data");
    blocks.forEach(function (block) {
      var target = document.getElementById(block.id.replace(/-data$/, ""));
      if (!target || target.dataset.drawn === "1") return;
      try {
        var fig = JSON.parse(block.textContent);
        window.Plotly.newPlot(target, fig.data, fig.layout,
          {displayModeBar: false, responsive: true, displaylogo: false});
        target.dataset.drawn = "1";
      } catch (err) {
        target.textContent = "The chart could not be drawn; see the table below.";
      }
    });
  }

  function autoSubmit(root) {
    (root || document).querySelectorAll("select.auto-submit").forEach(function (sel) {
      if (sel.dataset.bound === "1") return;
      sel.dataset.bound = "1";
      sel.addEventListener("change", function () {
        if (sel.form) sel.form.requestSubmit ? sel.form.requestSubmit() : sel.form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    autoSubmit(document);
  });
  document.addEventListener("htmx:afterSwap", function (ev) {
    drawCharts(ev.target);
    autoSubmit(ev.target);
  });
  // htmx settings live in <meta name="htmx-config"> (base.html); forms carry the CSRF token,
  // and every htmx request also sends it as a header
  document.addEventListener("htmx:configRequest", function (ev) {
    var meta = document.querySelector('input[name="csrf_token"]');
    if (meta && meta.value) ev.detail.headers["X-CSRF-Token"] = meta.value;
  });
})();
