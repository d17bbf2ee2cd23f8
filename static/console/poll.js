// Asks the console for JSON every few seconds while the page is visible, for the pages that follow live data.
// `request` returns the URL to ask (null: nothing left to follow); `handle` takes each answer. A session that
// has ended (a sign-in page instead of JSON) stops the polling; a network error only slows it down.
window.consolePoll = function (every, request, handle) {
  "use strict";
  function tick() {
    var url = request();
    if (url === null) {
      return;
    }
    if (document.hidden) {  // nobody is looking: spare the database
      setTimeout(tick, every);
      return;
    }
    fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("stop");
        }
        return response.json();
      })
      .then(function (body) {
        handle(body);
        setTimeout(tick, every);
      })
      .catch(function (error) {
        if (error.message !== "stop") {
          setTimeout(tick, every * 3);
        }
      });
  }
  setTimeout(tick, every);
};
