// The run page: poll the progress endpoint while the run is going, update the counters and the
// bar, and reload once when the run ends (to show the final error list). Text only: no innerHTML.
(function () {
  "use strict";
  var box = document.getElementById("run-status");
  if (!box || box.dataset.finished === "true") return;
  var url = box.dataset.progressUrl;
  var every = Math.max(1, parseInt(box.dataset.pollSeconds || "2", 10)) * 1000;
  var bar = box.querySelector("progress");
  var badge = box.querySelector("[data-badge]");
  var number = new Intl.NumberFormat("en-GB");

  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = data[el.dataset.field];
      if (value === undefined || value === null) return;
      el.textContent = typeof value === "number" ? number.format(value) : String(value);
    });
    if (bar) {
      bar.max = Math.max(1, data.units_planned);
      bar.value = data.finished ? bar.max : data.units_done;
    }
    if (badge) badge.className = "badge " + data.state;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || (response.headers.get("content-type") || "").indexOf("json") < 0) throw new Error("stop");
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.finished) window.location.reload();
        else window.setTimeout(poll, every);
      })
      .catch(function () { /* logged out or gone: stop polling, the page still shows the last values */ });
  }
  window.setTimeout(poll, every);
})();
