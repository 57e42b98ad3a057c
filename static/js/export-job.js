// The page of an export made in the background: keep its progress bar current from the job's
// JSON status (GET data-status every two seconds) and reload the page once the job has finished,
// which then shows the download. Without JavaScript the page reloads itself (<noscript> refresh).
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box || !window.fetch) { return; }
  var bar = document.getElementById("export-bar");
  var count = document.getElementById("export-count");
  var pattern = count.dataset.pattern;

  function show(status) {
    if (status.total) {
      bar.max = status.total;
      bar.value = status.done;
      bar.textContent = status.done;
      if (pattern) {
        count.textContent = pattern.replace("{done}", status.done).replace("{total}", status.total);
      }
    }
  }

  function poll() {
    fetch(box.dataset.status, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        if (status.finished) { window.location.reload(); return; }
        show(status);
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 1000);
})();
