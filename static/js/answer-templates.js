/* 定型文 (answer templates) on an answer form: progressive enhancement of
   templates/answer_templates/_picker.html. Without this script the templates are a list to copy
   from. With it, the list moves next to its textarea (data-target) and each template gets a button
   that inserts its body: into an empty field as the whole text, otherwise at the cursor (at the
   end if the field was never touched). {受付日} and {件名} (in English {received} and {title})
   become the request's (data-received-on, data-title). The text stays editable; nothing is sent until the form is submitted. */
(function () {
  "use strict";

  function filled(text, picker) {
    var receivedOn = picker.dataset.receivedOn, title = picker.dataset.title;
    if (receivedOn) { text = text.split("{受付日}").join(receivedOn).split("{received}").join(receivedOn); }
    if (title) { text = text.split("{件名}").join(title).split("{title}").join(title); }
    return text;
  }

  function insert(target, text, touched) {
    var value = target.value, caret;
    if (!value.trim()) {
      target.value = text;
      caret = text.length;
    } else {
      var start = touched ? target.selectionStart : value.length;
      var end = touched ? target.selectionEnd : value.length;
      var before = value.slice(0, start), after = value.slice(end);
      if (!touched && !/\n$/.test(before)) { text = "\n" + text; }
      target.value = before + text + after;
      caret = before.length + text.length;
    }
    target.focus();
    target.setSelectionRange(caret, caret);
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function enhance(picker) {
    var target = document.getElementById(picker.dataset.target);
    if (!target) { return; }
    var touched = false;
    ["focus", "keyup", "mouseup", "select"].forEach(function (name) {
      target.addEventListener(name, function () { touched = true; });
    });
    if (!target.form || !target.form.contains(picker)) {
      var field = target.closest(".field") || target;
      field.parentNode.insertBefore(picker, field.nextSibling);
    }
    picker.open = true;
    picker.querySelectorAll(".answer-templates-copy").forEach(function (el) { el.hidden = true; });
    picker.querySelectorAll(".answer-templates-insert").forEach(function (el) { el.hidden = false; });
    picker.querySelectorAll(".answer-template").forEach(function (item) {
      var button = item.querySelector(".answer-template-button");
      var body = item.querySelector(".answer-template-body");
      var title = item.querySelector(".answer-template-title");
      if (!button || !body) { return; }
      button.hidden = false;
      body.hidden = true;
      if (title) { title.hidden = true; }
      button.title = body.textContent;
      button.addEventListener("click", function () {
        insert(target, filled(body.textContent, picker), touched);
        touched = true;
      });
    });
  }

  function start() {
    document.querySelectorAll(".answer-templates[data-target]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
