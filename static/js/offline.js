// The device's queue of requests logged without a connection (IndexedDB), on every page of a
// signed-in user: it registers the service worker (/sw.js), shows 「送信待ち N件」 in the header,
// sends the queue when the connection returns (the `online` event, each page load, or a tap on
// 「今すぐ送信」) and empties it at logout. Each item belongs to the user who logged it: items of
// anybody else are deleted, never sent. A send is the same multipart form the page posts, with
// the item's client_uuid and `Accept: application/json`; the server answers a replay with the
// request it already stored, so an interrupted send is simply sent again.
// The texts come from data-attributes of this script tag (translated by the template).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.indexedDB || !window.fetch) { return; }
  var config = script.dataset;
  var user = config.user;
  var DB_NAME = "tracker-offline";
  var STORE = "requests";
  var PAGE_CACHE_PREFIX = "tracker-pages-";
  var listeners = [];
  var syncing = null;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var opening = indexedDB.open(DB_NAME, 1);
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore(STORE, { keyPath: "uuid" });
      };
      opening.onsuccess = function () { resolve(opening.result); };
      opening.onerror = function () { reject(opening.error); };
    });
  }

  function withStore(mode, action) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var asked = action(transaction.objectStore(STORE));
        var result;
        if (asked) { asked.onsuccess = function () { result = asked.result; }; }
        transaction.oncomplete = function () { db.close(); resolve(result); };
        transaction.onerror = transaction.onabort = function () { db.close(); reject(transaction.error); };
      });
    });
  }

  function everything() { return withStore("readonly", function (store) { return store.getAll(); }); }
  function put(item) { return withStore("readwrite", function (store) { return store.put(item); }).then(changed); }
  function remove(uuid) { return withStore("readwrite", function (store) { return store.delete(uuid); }).then(changed); }
  function clearAll() { return withStore("readwrite", function (store) { return store.clear(); }).then(changed); }

  function mine() {
    return everything().then(function (items) {
      return items.filter(function (item) { return item.user === user; })
        .sort(function (a, b) { return a.savedAt < b.savedAt ? -1 : 1; });
    });
  }

  function forgetOthers() {
    // Another user signed in on this device: their queue and cached form page are not ours to keep.
    return everything().then(function (items) {
      var others = items.filter(function (item) { return item.user !== user; });
      if (!others.length) { return null; }
      return withStore("readwrite", function (store) {
        others.forEach(function (item) { store.delete(item.uuid); });
      });
    });
  }

  function dropCachedPages() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name.indexOf(PAGE_CACHE_PREFIX) === 0; })
        .map(function (name) { return caches.delete(name); }));
    });
  }

  function pendingText(count) { return (config.pending || "{count}").replace("{count}", count); }

  function changed() {
    return mine().then(function (items) {
      showInHeader(items.length);
      listeners.forEach(function (listener) { listener(items); });
      return items;
    });
  }

  function showInHeader(count) {
    var badge = document.getElementById("pending-requests");
    var account = document.querySelector(".topbar .account");
    if (!account) { return; }
    if (count === 0) {  // nothing waits: no badge (a badge's display would override `hidden`)
      if (badge) { badge.remove(); }
      return;
    }
    if (!badge) {
      badge = document.createElement("a");
      badge.id = "pending-requests";
      badge.className = "badge pending-badge";
      badge.href = config.form;
      account.insertBefore(badge, account.firstChild);
    }
    badge.textContent = pendingText(count);
  }

  function freshToken() {
    return fetch(config.token, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("token " + response.status); }
        return response.json();
      })
      .then(function (answer) { return answer.csrf_token; });
  }

  function body(item, token) {
    var data = new FormData();
    item.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    item.photos.forEach(function (photo) { data.append(photo.field, photo.blob, photo.name); });
    data.set("csrf_token", token);
    data.set("client_uuid", item.uuid);
    return data;
  }

  function sendOne(item, token) {
    return fetch(item.action, {
      method: "POST",
      body: body(item, token),
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.redirected) { throw new Error("signed out"); }
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (response.ok && answer && answer.id) {
          return remove(item.uuid).then(function () { return answer; });
        }
        item.status = "attention";
        item.messages = (answer && answer.messages) || [config.failed + " (" + response.status + ")"];
        return put(item).then(function () { return null; });
      });
    });
  }

  // Send the queue, oldest first; `everyItem` also resends those marked as needing attention.
  // A network error stops the round: the rest waits for the next one.
  function sync(everyItem) {
    if (syncing) { return syncing; }
    syncing = mine().then(function (items) {
      var due = items.filter(function (item) { return everyItem || item.status !== "attention"; });
      if (!due.length || navigator.onLine === false) { return []; }
      return freshToken().then(function (token) {
        var sent = [];
        return due.reduce(function (chain, item) {
          return chain.then(function () {
            return sendOne(item, token).then(function (answer) { if (answer) { sent.push(answer); } });
          });
        }, Promise.resolve()).catch(function () { /* offline again, or signed out: later */ })
          .then(function () {
            if (sent.length) { window.dispatchEvent(new CustomEvent("tracker-offline-sent", { detail: sent })); }
            return sent;
          });
      }, function () { return []; });
    }).finally(function () { syncing = null; changed(); });
    return syncing;
  }

  function enqueue(item) {
    item.user = user;
    item.status = "pending";
    item.messages = [];
    item.savedAt = new Date().toISOString();
    return put(item);
  }

  window.trackerOffline = {
    enqueue: enqueue,
    items: mine,
    remove: remove,
    sync: sync,
    pendingText: pendingText,
    onChange: function (listener) { listeners.push(listener); changed(); },
    config: config
  };

  // Logout: the queue and the cached form page leave with the user.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.getAttribute("action") !== config.logout || form.dataset.cleared) { return; }
    event.preventDefault();
    Promise.all([clearAll(), dropCachedPages()]).catch(function () {}).then(function () {
      form.dataset.cleared = "1";
      form.submit();
    });
  }, true);

  var previous = null;
  try { previous = localStorage.getItem("tracker-offline-user"); localStorage.setItem("tracker-offline-user", user); } catch (e) { /* private mode */ }
  var ready = previous && previous !== user ? dropCachedPages() : Promise.resolve();
  ready.then(forgetOthers).then(changed).then(function () { return sync(false); }).catch(function () {});
  window.addEventListener("online", function () { sync(false); });

  if ("serviceWorker" in navigator && config.sw) {
    navigator.serviceWorker.register(config.sw, { scope: "/" }).catch(function () { /* offline capture still works on this page */ });
  }
})();
