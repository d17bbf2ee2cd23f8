// The dashboard's counts, refreshed every few seconds while the page is visible (poll.js).
(function () {
  "use strict";
  var box = document.getElementById("job-counts");
  function put(key, n) {
    var element = document.querySelector('[data-count="' + key + '"]');
    if (element) {
      element.textContent = n.toLocaleString("en-US");
    }
  }
  window.consolePoll(5000, function () { return box.dataset.url; }, function (body) {
    put("total", body.total);
    Object.keys(body.byStatus).forEach(function (status) { put("status:" + status, body.byStatus[status]); });
    Object.keys(body.byType).forEach(function (type) { put("type:" + type, body.byType[type]); });
    Object.keys(body.counts).forEach(function (type) {
      Object.keys(body.counts[type]).forEach(function (status) { put(type + ":" + status, body.counts[type][status]); });
    });
  });
})();
