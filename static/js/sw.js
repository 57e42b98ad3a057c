// The service worker (served at /sw.js, scope /). It keeps the static files and the EMPTY
// new-request form (/requests/new without a query: it holds no resident's data) so that a
// liaison can log requests without a connection (static/js/offline.js queues them). Every other
// page goes to the network; offline, a navigation shows the small offline page. Nothing else is
// ever stored: no page with personal data, no JSON answer, no photo, no export, no POST.
"use strict";

var VERSION = "v1";
var STATIC_CACHE = "tracker-static-" + VERSION;
var PAGE_CACHE = "tracker-pages-" + VERSION;  // emptied by offline.js at logout
var FORM_PATH = "/requests/new";
var OFFLINE_PAGE = "/offline";
var PRECACHE = [
  "/static/app.css",
  "/static/field.css",
  "/static/lists.css",
  "/static/activities.css",
  "/static/js/offline.js",
  "/static/js/offline-form.js",
  "/static/js/similar.js",
  "/static/js/amount.js",
  OFFLINE_PAGE
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(PRECACHE.map(function (url) { return new Request(url, { credentials: "omit" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  var current = [STATIC_CACHE, PAGE_CACHE];
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("tracker-") === 0 && current.indexOf(name) < 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isEmptyForm(url) { return url.pathname === FORM_PATH && url.search === ""; }

function storable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

// The empty form: from the network (kept for later), from the cache when there is none.
function emptyForm(request) {
  return fetch(request).then(function (response) {
    if (!storable(response)) { return response; }
    var copy = response.clone();
    return caches.open(PAGE_CACHE).then(function (cache) { return cache.put(FORM_PATH, copy); })
      .then(function () { return response; }, function () { return response; });
  }, function () {
    return caches.open(PAGE_CACHE).then(function (cache) { return cache.match(FORM_PATH); })
      .then(function (cached) { return cached || caches.match(OFFLINE_PAGE); });
  });
}

// A static file: the cached copy at once, refreshed from the network for next time.
function staticFile(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (cached) {
      var fresh = fetch(request).then(function (response) {
        if (storable(response)) { cache.put(request, response.clone()); }
        return response;
      });
      return cached || fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // a POST always goes to the network, untouched
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  } else if (request.mode === "navigate") {
    if (isEmptyForm(url)) {
      event.respondWith(emptyForm(request));
    } else {
      event.respondWith(fetch(request).catch(function () { return caches.match(OFFLINE_PAGE); }));
    }
  }
  // Anything else (JSON, photos, exports, fragments) is the browser's own network request.
});
