/* The network map and the estate treemap (templates/inventory/map.html).

   The server lays the figures out and sends them as JSON (json_script). A click on a map node
   follows the link the server made for the node's customdata (an ARN, a group key, "internet"):
   customdata is looked up, never turned into a URL here, and only same-site paths are followed.
   Treemap sector ids ("account<US>region<US>service<US>type") become resource-list filters through
   URLSearchParams, so names from AWS never reach the DOM as markup. */
(function () {
  "use strict";

  var SEPARATOR = "\u001f";
  var CONFIG = { displaylogo: false, responsive: true, scrollZoom: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function readJson(id) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function samePath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\";
  }

  function lookup(table, key) {
    // a plain object from JSON: only its own keys count ("__proto__" and friends are not links)
    if (!table || typeof key !== "string" || !Object.prototype.hasOwnProperty.call(table, key)) { return null; }
    var url = table[key];
    return samePath(url) ? url : null;
  }

  /* --- the filter bar: a new account or region reloads the choices that depend on it --- */
  function wireFilters() {
    var form = document.querySelector("form[data-map-filters]");
    if (!form) { return; }
    function clear(names) {
      names.forEach(function (name) {
        var field = form.elements[name];
        if (field) { field.value = ""; }
      });
    }
    ["environment", "account", "region"].forEach(function (name) {
      var field = form.elements[name];
      if (!field) { return; }
      field.addEventListener("change", function () {
        if (name === "environment") { clear(["account", "region", "vpc"]); }
        if (name === "account") { clear(["region", "vpc"]); }
        if (name === "region") { clear(["vpc"]); }
        form.submit();
      });
    });
  }

  /* --- the network map --- */
  function drawMap() {
    var target = document.querySelector("[data-map]");
    var figure = readJson("map-figure");
    if (!target || !figure || typeof Plotly === "undefined") { return; }
    var links = readJson("map-links") || {};
    var layout = figure.layout || {};
    layout.autosize = true;
    Plotly.newPlot(target, figure.data || [], layout, CONFIG).then(function () {
      target.setAttribute("data-ready", "1");
    });
    target.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var url = point ? lookup(links, point.customdata) : null;
      if (url) { window.location.assign(url); }
    });
    target.on("plotly_hover", function (event) {
      var point = event && event.points && event.points[0];
      target.classList.toggle("linkable", !!(point && lookup(links, point.customdata)));
    });
    target.on("plotly_unhover", function () { target.classList.remove("linkable"); });
  }

  /* --- the estate treemap --- */
  function treemapUrl(base, accounts, id) {
    if (typeof id !== "string" || !samePath(base)) { return null; }
    var parts = id.split(SEPARATOR);
    var params = new URLSearchParams();
    if (parts[0] && Object.prototype.hasOwnProperty.call(accounts, parts[0])) {
      params.set("account_id", String(accounts[parts[0]]));
    }
    if (parts[1] && parts[1] !== "?") { params.set("region", parts[1]); }
    if (parts[2] && parts[2] !== "?") { params.set("service", parts[2]); }
    if (parts[3] && parts[3] !== "?") { params.set("type", parts[3]); }
    var query = params.toString();
    return query ? base + "?" + query : base;
  }

  function drawTreemap() {
    var target = document.querySelector("[data-treemap]");
    var figure = readJson("treemap-figure");
    if (!target || !figure || typeof Plotly === "undefined") { return; }
    var accounts = readJson("treemap-accounts") || {};
    var link = document.querySelector("[data-treemap-link]");
    var base = target.getAttribute("data-resources-url") || "";
    var layout = figure.layout || {};
    layout.height = 520;
    Plotly.newPlot(target, figure.data || [], layout, CONFIG).then(function () {
      target.setAttribute("data-ready", "1");
    });
    target.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (!point || !link) { return; }
      var id = typeof point.id === "string" ? point.id : null;
      var url = treemapUrl(base, accounts, id);
      if (!url) { return; }
      link.setAttribute("href", url);
      link.textContent = "Open " + id.split(SEPARATOR).join(" / ") + " in the inventory";
    });
  }

  function start() {
    wireFilters();
    drawMap();
    drawTreemap();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
