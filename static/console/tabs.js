// Tabs (data-tabs="<id of the panel shown first>" on a role=tablist): one panel shown at a time. Without this
// script the tab buttons stay hidden and every panel shows, one under the other.
(function () {
  "use strict";
  document.querySelectorAll("[data-tabs]").forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function show(id) {
      tabs.forEach(function (tab) {
        var on = tab.getAttribute("aria-controls") === id;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
      });
    }
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () { show(tab.getAttribute("aria-controls")); });
    });
    list.hidden = false;
    show(list.dataset.tabs);
  });
})();
