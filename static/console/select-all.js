// A "select all" checkbox (data-select-all="<selector of the boxes it ticks>") ticks or clears those boxes.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll(all.dataset.selectAll).forEach(function (box) { box.checked = all.checked; });
    });
  });
})();
