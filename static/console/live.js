// Rows and pages of jobs in progress follow their status (poll.js); the URL to ask comes from the script tag.
(function () {
  "use strict";
  var url = document.currentScript.dataset.url;

  function pending() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-job-id][data-status="in_progress"]'));
  }

  function show(element, status) {
    element.dataset.status = status;
    // A job's page shows its status twice (heading and fields): update every place.
    element.querySelectorAll('[data-cell="status"]').forEach(function (cell) {
      var badge = document.createElement("span");
      badge.className = "badge badge-" + status;
      badge.textContent = status;
      cell.replaceChildren(badge);
    });
  }

  function update(element, job) {
    if (!job) {
      show(element, "deleted");
      element.classList.add("gone");
      return;
    }
    show(element, job.status);
    var text = job.message || "";
    element.querySelectorAll('[data-cell="message"]').forEach(function (message) {
      message.textContent = text.length > 300 ? text.slice(0, 299) + "\u2026" : text;
    });
    var finished = element.querySelector('[data-cell="finished"]');
    if (finished && job.status !== "in_progress") {
      finished.hidden = false;
    }
  }

  var elements = [];
  window.consolePoll(2000, function () {
    elements = pending();
    if (!elements.length) {
      return null;
    }
    var query = new URLSearchParams();
    elements.forEach(function (element) { query.append("id", element.dataset.jobId); });
    return url + "?" + query.toString();
  }, function (body) {
    elements.forEach(function (element) { update(element, body.jobs[element.dataset.jobId]); });
  });
})();
