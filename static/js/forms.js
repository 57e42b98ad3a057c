/* A form's buttons disable while it is sent, so that a second click does not send it twice.
 *
 * - The buttons are disabled just after the browser has read the form (the clicked button's
 *   name and value are still sent).
 * - A GET form (a filter, a search) and a form marked data-download (a file that does not leave
 *   the page) gets its buttons back after a few seconds.
 * - data-no-disable on a form opts out (a form sent twice on purpose).
 * - Coming back with the back button (back-forward cache) re-enables every button disabled here.
 */
(function () {
  "use strict";

  var REENABLE_AFTER_MS = 4000;
  var MARK = "data-sending";

  function buttonsOf(form) {
    var inside = Array.prototype.slice.call(
      form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]")
    );
    if (form.id) {
      var outside = document.querySelectorAll(
        'button[form="' + form.id + '"], input[type=submit][form="' + form.id + '"]'
      );
      inside = inside.concat(Array.prototype.slice.call(outside));
    }
    return inside.filter(function (button) { return !button.disabled; });
  }

  function release(form) {
    var sending = (form || document).querySelectorAll("[" + MARK + "]");
    Array.prototype.forEach.call(sending, function (button) {
      button.disabled = false;
      button.removeAttribute(MARK);
      button.removeAttribute("aria-busy");
    });
    if (form) { form.removeAttribute("aria-busy"); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-no-disable")) { return; }
    var buttons = buttonsOf(form);
    window.setTimeout(function () {
      if (event.defaultPrevented) { return; }
      buttons.forEach(function (button) {
        button.disabled = true;
        button.setAttribute(MARK, "");
        button.setAttribute("aria-busy", "true");
      });
      form.setAttribute("aria-busy", "true");
      var method = (form.getAttribute("method") || "get").toLowerCase();
      if (method === "get" || form.hasAttribute("data-download")) {
        window.setTimeout(function () { release(form); }, REENABLE_AFTER_MS);
      }
    }, 0);
  });

  window.addEventListener("pageshow", function () {
    release(null);
    Array.prototype.forEach.call(document.querySelectorAll("form[aria-busy]"), function (form) {
      form.removeAttribute("aria-busy");
    });
  });
})();
