// The maps of places (templates/maps/macros.html): every `.map-view` element becomes a Leaflet map.
//  - data-tiles / data-attribution: the base tiles and the attribution their provider requires;
//    no tile URL: no tile layer, the markers show on a blank background.
//  - data-points: JSON [{lat, lng, label, url}] shown as markers (a request's or an issue's places).
//  - data-geojson: a FeatureCollection fetched from the URL, clustered when data-cluster is set,
//    each marker's popup naming the request (or, data-public, the published issue) with a link.
// Every text goes in with textContent (never innerHTML): titles are what residents and staff typed.
(function () {
  "use strict";

  var DEFAULT_CENTER = [32.8031, 130.7079]; // 熊本市役所
  var DEFAULT_ZOOM = 12;

  function baseMap(element) {
    var map = L.map(element, { scrollWheelZoom: false, maxZoom: 18 });
    var tiles = element.dataset.tiles;
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
    }
    map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    return map;
  }

  function line(parent, tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    parent.appendChild(node);
    return node;
  }

  function link(parent, href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    parent.appendChild(a);
    return a;
  }

  function requestPopup(p, texts) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var head = document.createElement("p");
    link(head, p.url, p.reference + " " + p.title).className = "map-popup-title";
    box.appendChild(head);
    line(box, "p", p.state_label, "badge state-" + p.state);
    var facts = [];
    if (p.category) facts.push(texts.category + ": " + p.category);
    if (p.center) facts.push(texts.center + ": " + p.center);
    if (p.received_on) facts.push(texts.received + ": " + p.received_on);
    facts.forEach(function (fact) { line(box, "p", fact, "map-popup-fact"); });
    return box;
  }

  function publicPopup(p, texts) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var head = document.createElement("p");
    link(head, p.url, p.title).className = "map-popup-title";
    box.appendChild(head);
    line(box, "p", p.ward + "・" + p.fiscal_year + "・" + p.reference, "map-popup-fact");
    line(box, "p", p.state_label, "badge state-" + p.state);
    line(box, "p", texts.requests + ": " + p.requests, "map-popup-fact");
    return box;
  }

  function texts(element) {
    var out = {};
    Object.keys(element.dataset).forEach(function (key) {
      if (key.indexOf("text") === 0) {
        out[key.charAt(4).toLowerCase() + key.slice(5)] = element.dataset[key];
      }
    });
    return out;
  }

  function status(element) {
    var next = element.nextElementSibling;
    return next && next.classList.contains("map-status") ? next : null;
  }

  function showPoints(element, map) {
    var points = JSON.parse(element.dataset.points || "[]");
    var markers = points.map(function (point) {
      var marker = L.marker([point.lat, point.lng], { title: point.label || "" });
      if (point.label) {
        var box = document.createElement("div");
        if (point.url) link(box, point.url, point.label);
        else box.textContent = point.label;
        marker.bindPopup(box);
      }
      return marker.addTo(map);
    });
    if (markers.length === 1) {
      map.setView(markers[0].getLatLng(), 16);
    } else if (markers.length > 1) {
      map.fitBounds(L.featureGroup(markers).getBounds(), { padding: [24, 24], maxZoom: 16 });
    }
  }

  function showFeatures(element, map) {
    var words = texts(element);
    var note = status(element);
    var publicMap = element.dataset["public"] === "1";
    var layer = element.dataset.cluster && L.markerClusterGroup ? L.markerClusterGroup() : L.featureGroup();
    layer.addTo(map);
    fetch(element.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var markers = data.features.map(function (feature) {
          var c = feature.geometry.coordinates;
          var p = feature.properties;
          var marker = L.marker([c[1], c[0]], { title: publicMap ? p.title : p.reference + " " + p.title });
          marker.bindPopup(publicMap ? publicPopup(p, words) : requestPopup(p, words));
          return marker;
        });
        layer.addLayers ? layer.addLayers(markers) : markers.forEach(function (m) { layer.addLayer(m); });
        if (markers.length) {
          map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 16 });
        }
        if (note) {
          var said = markers.length ? markers.length + words.count : words.none;
          note.textContent = data.properties && data.properties.truncated ? said + " " + words.truncated : said;
        }
        element.dataset.loaded = String(markers.length);
      })
      .catch(function () {
        if (note) note.textContent = words.failed;
        element.dataset.loaded = "error";
      });
  }

  function start() {
    if (!window.L) return;
    document.querySelectorAll(".map-view").forEach(function (element) {
      var map = baseMap(element);
      if (element.dataset.geojson) showFeatures(element, map);
      else showPoints(element, map);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
