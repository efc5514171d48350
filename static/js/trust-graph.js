/* The trust graph: draw the server-built figure (JSON from json_script) with plotly.js, and open an
   account's access page when its node is clicked. Only same-site paths are followed. */
(function () {
  "use strict";

  function sameSite(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\";
  }

  function draw() {
    var holder = document.querySelector("[data-trust-graph]");
    var data = document.getElementById("trust-figure");
    if (!holder || !data || typeof window.Plotly === "undefined") { return; }
    var figure = JSON.parse(data.textContent);
    var config = { displaylogo: false, responsive: true, scrollZoom: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
    window.Plotly.newPlot(holder, figure.data, figure.layout, config).then(function () {
      holder.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        var url = point && point.customdata;
        if (sameSite(url)) { window.location.assign(url); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
