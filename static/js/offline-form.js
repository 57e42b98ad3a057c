// The new-request form without a connection (with static/js/offline.js). Every form carries a
// client-generated id (client_uuid). On submit the form first checks that the server answers
// (a fresh CSRF token): if the device is offline or the check fails with a network error, the
// request and its photos are kept in the device's queue instead, the form is emptied for the
// next one and 「送信待ち N件」 shows what waits. Online, the form is posted as usual (the server
// may come back with similar requests). The banner lists the waiting items; one the server
// refused is marked with its message and a link that opens it in this form again.
// It starts at DOMContentLoaded: offline.js, included at the end of the page, runs first.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var form = document.getElementById("request-form");
  var banner = document.getElementById("offline-queue");
  var offline = window.trackerOffline;
  if (!form || !banner || !offline || !window.crypto || !crypto.randomUUID) { return; }
  var texts = banner.dataset;
  var uuidField = form.querySelector("input[name=client_uuid]");
  var notice = banner.querySelector(".pending-notice");
  var list = banner.querySelector(".pending-items");
  var count = banner.querySelector("[data-pending-count]");

  if (!uuidField.value) { uuidField.value = crypto.randomUUID(); }

  function say(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function render(items) {
    count.textContent = offline.pendingText(items.length);
    banner.hidden = items.length === 0 && notice.hidden;
    list.textContent = "";
    items.forEach(function (item) {
      var row = document.createElement("li");
      row.className = "pending-item" + (item.status === "attention" ? " needs-attention" : "");
      var title = document.createElement("strong");
      title.textContent = item.title || "—";
      row.appendChild(title);
      if (item.status === "attention") {
        var mark = document.createElement("span");
        mark.className = "badge attention-badge";
        mark.textContent = texts.attention;
        row.appendChild(document.createTextNode(" "));
        row.appendChild(mark);
        (item.messages || []).forEach(function (message) {
          var error = document.createElement("p");
          error.className = "field-error";
          error.textContent = message;
          row.appendChild(error);
        });
        var open = document.createElement("a");
        open.href = "#queued=" + item.uuid;
        open.className = "button";
        open.textContent = texts.open;
        row.appendChild(open);
      }
      list.appendChild(row);
    });
  }

  function serverAnswers() {
    if (navigator.onLine === false) { return Promise.resolve(false); }
    return fetch(offline.config.token, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function () { return true; }, function () { return false; });
  }

  function itemFrom(submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var fields = [];
    var photos = [];
    data.forEach(function (value, name) {
      if (value instanceof File) {
        if (value.name && value.size) { photos.push({ field: name, name: value.name, blob: value }); }
      } else if (name !== "csrf_token") {
        fields.push([name, value]);
      }
    });
    var names = fields.map(function (pair) { return pair[0]; });
    if (names.indexOf("duplicate_of") < 0 && names.indexOf("similar_choice") < 0) {
      fields.push(["similar_choice", "separate"]);  // a queued send logs it as a separate request
    }
    if (!form.querySelector("input[name=drop_photo]")) {  // no photos held by the server for this form
      fields = fields.filter(function (pair) { return pair[0] !== "photo_hold"; });
    }
    return {
      uuid: uuidField.value,
      action: form.getAttribute("action") || window.location.pathname + window.location.search,
      title: data.get("title") || "",
      fields: fields,
      photos: photos
    };
  }

  function keep(submitter) {
    var item = itemFrom(submitter);
    return offline.enqueue(item).then(function () {
      form.reset();
      delete form.dataset.fromQueue;
      uuidField.value = crypto.randomUUID();
      say(texts.saved);
      banner.scrollIntoView({ block: "start" });
    });
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.checked) { delete form.dataset.checked; return; }
    event.preventDefault();
    var submitter = event.submitter;
    serverAnswers().then(function (online) {
      if (!online) { return keep(submitter); }
      var fromQueue = form.dataset.fromQueue;
      var done = fromQueue ? offline.remove(fromQueue) : Promise.resolve();
      return done.then(function () {
        form.dataset.checked = "1";
        if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
      });
    });
  });

  function setField(name, value) {
    form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
      if (input.type === "checkbox" || input.type === "radio") {
        input.checked = input.value === value;
      } else if (input.type !== "file" && input.type !== "submit") {
        input.value = value;
      }
    });
  }

  function openQueued() {
    var match = /^#queued=([0-9a-f-]{36})$/.exec(window.location.hash);
    if (!match) { return; }
    offline.items().then(function (items) {
      var item = items.filter(function (candidate) { return candidate.uuid === match[1]; })[0];
      if (!item) { return; }
      item.fields.forEach(function (pair) {
        if (pair[0] !== "similar_choice" && pair[0] !== "photo_hold") { setField(pair[0], pair[1]); }
      });
      var photoInput = form.querySelector("input[type=file]");
      if (photoInput && window.DataTransfer && item.photos.length) {
        var files = new DataTransfer();
        item.photos.forEach(function (photo) {
          files.items.add(new File([photo.blob], photo.name, { type: photo.blob.type }));
        });
        photoInput.files = files.files;
      }
      uuidField.value = item.uuid;
      form.dataset.fromQueue = item.uuid;
      say(texts.opened);
      form.scrollIntoView({ block: "start" });
    });
  }

  banner.querySelector("[data-send-now]").addEventListener("click", function () {
    say("");
    offline.sync(true);
  });
  window.addEventListener("tracker-offline-sent", function (event) {
    say(texts.sent.replace("{count}", event.detail.length));
    banner.hidden = false;
  });
  offline.onChange(render);
  window.addEventListener("hashchange", openQueued);
  openQueued();
});
