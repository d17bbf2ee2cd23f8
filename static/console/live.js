// Rows and pages of jobs in progress follow their status (poll.js); the URL to ask comes from the script tag.
// A page showing an agent run's transcript ([data-transcript] inside the job's element) also asks for the lines
// written since the last one it shows, and appends them.
// A job's own page (its element has data-revision) is fetched again whenever the job's revision changes, and its
// element replaced by the new one: everything the server shows for the new state, not only the status.
(function () {
  "use strict";
  var url = document.currentScript.dataset.url;
  var refreshing = {};

  function refresh(element) {
    var jobId = element.dataset.jobId;
    if (refreshing[jobId]) {
      return;
    }
    refreshing[jobId] = true;
    // The header keeps the server from showing (and so using up) messages meant for the next page the user opens.
    fetch(window.location.href, {headers: {Accept: "text/html", "X-Live-Refresh": "1"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("not ok");
        }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector('[data-job-id="' + CSS.escape(jobId) + '"][data-revision]');
        if (!fresh) {  // signed out meanwhile, or the job was deleted
          throw new Error("gone");
        }
        var current = document.querySelector('[data-job-id="' + CSS.escape(jobId) + '"][data-revision]');
        current.replaceWith(document.adoptNode(fresh));
      })
      .catch(function () {
        var finished = element.querySelector('[data-cell="finished"]');
        if (finished) {
          finished.hidden = false;
        }
      })
      .finally(function () { delete refreshing[jobId]; });
  }

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
    if (element.dataset.revision !== undefined && job.revision !== element.dataset.revision) {
      refresh(element);
    }
    show(element, job.status);
    var text = job.message || "";
    element.querySelectorAll('[data-cell="message"]').forEach(function (message) {
      // An agent's answer is shown whole; elsewhere a message is cut to fit its cell.
      var whole = message.hasAttribute("data-full");
      message.textContent = whole || text.length <= 300 ? text : text.slice(0, 299) + "\u2026";
    });
    if (job.status !== "in_progress") {
      element.querySelectorAll("[data-hide-when-finished]").forEach(function (part) { part.hidden = true; });
    }
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function append(transcript, line) {
    var row = document.createElement("tr");
    row.dataset.lineId = line.id;
    row.className = "line-" + line.kind;
    var time = document.createElement("time");
    time.dateTime = line.at;
    time.textContent = line.at.slice(11, 23);
    cell(row, "").appendChild(time);
    var badge = document.createElement("span");
    badge.className = "badge badge-" + line.severity;
    badge.textContent = line.severity;
    cell(row, "").appendChild(badge);
    var agent = document.createElement("code");
    agent.textContent = line.agentId;
    cell(row, "").appendChild(agent);
    cell(row, line.label);
    cell(row, line.text, "line-text");
    transcript.appendChild(row);
    transcript.dataset.after = line.id;
  }

  function follow(log) {
    var element = document.querySelector('[data-job-id="' + CSS.escape(log.jobId) + '"]');
    var transcript = element && element.querySelector("[data-transcript]");
    if (!transcript) {
      return;
    }
    log.lines.forEach(function (line) {
      if (Number(line.id) > Number(transcript.dataset.after || 0)) {
        append(transcript, line);
      }
    });
    var empty = element.querySelector("[data-transcript-empty]");
    if (empty && transcript.children.length) {
      empty.hidden = true;
    }
    Object.keys(log.usage || {}).forEach(function (key) {
      element.querySelectorAll('[data-usage="' + key + '"]').forEach(function (value) {
        value.textContent = log.usage[key];
      });
    });
  }

  var elements = [];
  window.consolePoll(2000, function () {
    elements = pending();
    if (!elements.length) {
      return null;
    }
    var query = new URLSearchParams();
    elements.forEach(function (element) { query.append("id", element.dataset.jobId); });
    // One transcript per page at most.
    var followed = elements.find(function (element) { return element.querySelector("[data-transcript]"); });
    if (followed) {
      query.append("log", followed.dataset.jobId);
      query.append("after", followed.querySelector("[data-transcript]").dataset.after || "0");
    }
    return url + "?" + query.toString();
  }, function (body) {
    elements.forEach(function (element) { update(element, body.jobs[element.dataset.jobId]); });
    if (body.log) {
      follow(body.log);
    }
  });
})();
