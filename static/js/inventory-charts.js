/* Inventory charts: a click on a bar or a heat-map cell opens the URL in the point's customdata
   (the filtered resource list). Only same-site paths are followed. */
(function () {
  "use strict";

  function target(event) {
    var point = event && event.points && event.points[0];
    var url = point && point.customdata;
    if (Array.isArray(url)) { url = url[0]; }
    if (typeof url !== "string" || url.charAt(0) !== "/" || url.charAt(1) === "/" || url.charAt(1) === "\\") {
      return null;
    }
    return url;
  }

  function wire() {
    var plots = document.querySelectorAll(".chart-links .plotly-graph-div");
    Array.prototype.forEach.call(plots, function (plot) {
      if (typeof plot.on !== "function" || plot.dataset.linksWired) { return; }
      plot.dataset.linksWired = "1";
      plot.on("plotly_click", function (event) {
        var url = target(event);
        if (url) { window.location.assign(url); }
      });
      plot.style.cursor = "pointer";
    });
  }

  // js/charts.js draws the figures from their JSON and then says so; wire what is drawn by now too
  document.addEventListener("skyledger:charts-drawn", wire);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
