// The ops console's only script. The templates page previews a draft as it is typed.
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
    // getAttribute: the form's buttons are named "action", which shadows form.action.
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
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

// The strategy page: a draft changed after its simulation may not be applied (the server
// refuses it too); say so at once and disable Apply until it is simulated again.
(function () {
  "use strict";
  var editor = document.getElementById("editor");
  var mark = document.getElementById("simulated-mark");
  var content = document.getElementById("content");
  if (!editor || !mark || !mark.value || !content) { return; }
  var apply = editor.querySelector("button[value=apply]");
  var hint = document.getElementById("apply-hint");
  var simulated = content.value;
  content.addEventListener("input", function () {
    var same = content.value === simulated;
    apply.disabled = !same;
    if (hint) {
      hint.textContent = same
        ? "Apply stores the draft simulated above; change it and you simulate again."
        : "Changed since the simulation above: simulate again to apply it.";
    }
  });
})();
