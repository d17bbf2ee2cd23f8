// The import page's drop zone: a file dropped on it is chosen and sent to the preview at once.
(function () {
  "use strict";
  var form = document.querySelector("[data-bundle-form]");
  var zone = form.querySelector("[data-dropzone]");
  var input = form.querySelector('input[type="file"]');
  var label = form.querySelector("[data-file-name]");

  function showName() {
    label.textContent = input.files.length ? "Chosen: " + input.files[0].name : "";
  }

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
  });
  ["dragleave", "dragend"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("over");
    if (!event.dataTransfer.files.length) {
      return;
    }
    input.files = event.dataTransfer.files;
    showName();
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });
  input.addEventListener("change", showName);
  // A file chosen before this script ran (a fast hand, or the browser restoring the form) is named too.
  showName();
})();
