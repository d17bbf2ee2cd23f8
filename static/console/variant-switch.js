// Choosing another type or provider (select[data-variant]) shows that shape's fields at once: the page is sent
// back with its "Show the fields" button, which saves nothing. Without this script that button is clicked by hand.
(function () {
  "use strict";
  document.querySelectorAll("select[data-variant]").forEach(function (select) {
    var button = select.parentElement.querySelector("[data-switch]");
    if (!button) { return; }
    button.hidden = true;
    select.addEventListener("change", function () {
      if (select.form.requestSubmit) { select.form.requestSubmit(button); } else { button.click(); }
    });
  });
})();
