// The new-request form: while the title is typed, show the ward's open requests that look alike
// (GET data-url?title=…, an HTML fragment of buttons inside this form). Without JavaScript the
// server shows the same suggestions when the form is sent.
(function () {
  "use strict";
  var box = document.getElementById("similar-requests");
  var title = document.getElementById("title");
  if (!box || !title || !window.fetch) { return; }
  var description = document.getElementById("description");
  var timer = null;
  var last = null;
  var pending = null;

  function query() {
    var params = new URLSearchParams();
    params.set("title", title.value.trim());
    if (description && description.value.trim()) {
      params.set("description", description.value.trim().slice(0, 2000));
    }
    return params.toString();
  }

  function refresh() {
    var wanted = query();
    if (wanted === last) { return; }
    last = wanted;
    if (title.value.trim().length < 2) { box.innerHTML = ""; return; }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(box.dataset.url + "?" + wanted, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: pending.signal
    })
      .then(function (response) {
        // A redirect (to the login page, when the session ended) is not a fragment.
        if (!response.ok || response.redirected) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { /* suggestions are a help only; the server checks again on send */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  title.addEventListener("input", later);
  if (description) { description.addEventListener("change", later); }
})();
