// The dashboard's counts, refreshed every few seconds while the page is visible.
(function () {
  "use strict";
  var box = document.getElementById("job-counts");
  var every = 5000;
  function put(key, n) {
    var element = document.querySelector('[data-count="' + key + '"]');
    if (element) {
      element.textContent = n.toLocaleString("en-US");
    }
  }
  function refresh() {
    if (document.hidden) {  // nobody is looking: spare the database
      setTimeout(refresh, every);
      return;
    }
    fetch(box.dataset.url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("stop");
        }
        return response.json();
      })
      .then(function (body) {
        put("total", body.total);
        Object.keys(body.byStatus).forEach(function (status) { put("status:" + status, body.byStatus[status]); });
        Object.keys(body.byType).forEach(function (type) { put("type:" + type, body.byType[type]); });
        Object.keys(body.counts).forEach(function (type) {
          Object.keys(body.counts[type]).forEach(function (status) { put(type + ":" + status, body.counts[type][status]); });
        });
        setTimeout(refresh, every);
      })
      .catch(function (error) {
        if (error.message !== "stop") {
          setTimeout(refresh, every * 3);
        }
      });
  }
  setTimeout(refresh, every);
})();
