// Findings list: the header checkbox selects every finding on the page; the triage bar counts them.
(function () {
  "use strict";
  var form = document.getElementById("triage-form");
  if (!form) { return; }
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="triage-form"]'));
  }
  function update() {
    var n = boxes().filter(function (b) { return b.checked; }).length;
    var counter = form.querySelector(".selected-count");
    if (counter) { counter.textContent = String(n); }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("select-all")) {
      boxes().forEach(function (b) { b.checked = target.checked; });
    }
    update();
  });
  update();
})();
