// The ops console's only script: the templates page previews a draft as it is typed.
// Without it the Preview button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  var preview = document.getElementById("preview");
  if (!form || !preview || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function refresh() {
    var mine = ++sent;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== sent) { return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("preview");
        if (fresh) { preview.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { /* the Preview button still works */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
