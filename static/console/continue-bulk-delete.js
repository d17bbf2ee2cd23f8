// A bulk delete too large for one request goes on by itself, one batch after another, until it is stopped.
(function () {
  "use strict";
  setTimeout(function () { document.getElementById("bulk-delete").submit(); }, 300);
})();
