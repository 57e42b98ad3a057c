// The import page: follow a running import without reloading, then show its result.
// Without JavaScript the page refreshes itself (<noscript> meta refresh) instead.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box) { return; }
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var phase = document.getElementById("import-phase");
  var state = document.getElementById("import-state");

  function show(status) {
    state.textContent = status.label;
    if (status.total) {
      bar.max = status.total;
      bar.value = status.done;
      count.textContent = status.count_text;  // written by the server, in the user's language
      phase.textContent = status.phase_text;
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (status.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
})();
