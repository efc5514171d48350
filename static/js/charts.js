/* Charts drawn from JSON: every <div data-plotly-figure="ID"> is drawn with the figure (data,
   layout, config) in <script type="application/json" id="ID"> (inventory/plotly_figure.py), so pages
   need no inline script under the Content-Security-Policy. Needs plotly.js loaded before it. When
   the charts are drawn, "skyledger:charts-drawn" is dispatched on the document (inventory-charts.js
   wires clicks then). */
(function () {
  "use strict";

  function readFigure(id) {
    var node = id ? document.getElementById(id) : null;
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function draw() {
    if (typeof window.Plotly === "undefined") { return; }
    var holders = document.querySelectorAll("[data-plotly-figure]");
    Array.prototype.forEach.call(holders, function (holder) {
      if (holder.dataset.plotted) { return; }
      var figure = readFigure(holder.getAttribute("data-plotly-figure"));
      if (!figure) { return; }
      holder.dataset.plotted = "1";
      window.Plotly.newPlot(holder, figure.data || [], figure.layout || {}, figure.config || {});
    });
    document.dispatchEvent(new CustomEvent("skyledger:charts-drawn"));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
