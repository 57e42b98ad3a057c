// Amount fields (千円 by default, a unit switch beside them): say back, as the city writes it, what
// the typed amount will be stored as, or why it will be refused. The server reads the amount
// (GET data-amount-url?text=…&unit=… → {"words": …} or {"error": …}); this script parses nothing.
// Without JavaScript the same words are shown when the form comes back, and after saving.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams) { return; }
  var boxes = document.querySelectorAll("input[data-amount-words]");
  Array.prototype.forEach.call(boxes, function (box) {
    var output = document.getElementById(box.dataset.amountWords);
    var unit = document.getElementsByName(box.dataset.amountUnit)[0];
    var timer = null;
    var pending = null;
    if (!output || !box.dataset.amountUrl) { return; }

    function show(text, refused) {
      output.textContent = text;
      output.classList.toggle("amount-refused", refused);
    }

    function refresh() {
      if (!box.value.trim()) { show("", false); return; }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var params = new URLSearchParams();
      params.set("text", box.value);
      params.set("unit", unit ? unit.value : "thousand");
      if (box.dataset.amountZero) { params.set("zero", "1"); }
      fetch(box.dataset.amountUrl + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: pending.signal
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (answer) {
        if (answer) { show(answer.error || answer.words, Boolean(answer.error)); }
      }).catch(function () { /* aborted or offline: the server checks on submit anyway */ });
    }

    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 250);
    });
    if (unit) { unit.addEventListener("change", refresh); }
  });
}());
