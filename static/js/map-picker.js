// The place of a new request on a map (templates/field/new_request.html): a click or tap on the
// map, dragging the pin, or the 「現在地」 button (navigator.geolocation) sets the 緯度/経度
// fields; typing in the fields moves the pin. Without JavaScript the two fields work alone.
// The element `[data-map-picker]` names the fields (data-lat-field, data-lng-field) and carries
// the tiles (data-tiles, data-attribution); the 「現在地」 button is `[data-map-locate]`.
(function () {
  "use strict";

  var DEFAULT_CENTER = [32.8031, 130.7079]; // 熊本市役所
  var DEFAULT_ZOOM = 13;
  var PLACED_ZOOM = 16;

  function parse(raw, limit) {
    var text = (raw || "").trim().replace(/[０-９．－]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) - 0xfee0);
    });
    if (!/^-?\d{1,3}(\.\d+)?$/.test(text)) return null;
    var value = parseFloat(text);
    return Math.abs(value) <= limit ? value : null;
  }

  function start(box) {
    var latField = document.getElementById(box.dataset.latField);
    var lngField = document.getElementById(box.dataset.lngField);
    if (!latField || !lngField) return;
    box.hidden = false;
    document.querySelectorAll("[data-map-hint]").forEach(function (hint) { hint.hidden = false; });
    var map = L.map(box, { maxZoom: 18 });
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, { maxZoom: 18, attribution: box.dataset.attribution || "" }).addTo(map);
    }
    var marker = null;

    function typed() {
      var lat = parse(latField.value, 90);
      var lng = parse(lngField.value, 180);
      return lat === null || lng === null ? null : L.latLng(lat, lng);
    }

    function pin(latlng) {
      if (marker) {
        marker.setLatLng(latlng);
      } else {
        marker = L.marker(latlng, { draggable: true, title: box.dataset.pinLabel || "" }).addTo(map);
        marker.on("dragend", function () { write(marker.getLatLng()); });
      }
      box.dataset.pin = latlng.lat.toFixed(6) + "," + latlng.lng.toFixed(6);
    }

    function write(latlng) {
      latField.value = latlng.lat.toFixed(6);
      lngField.value = latlng.lng.toFixed(6);
      [latField, lngField].forEach(function (field) {
        field.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    function place(latlng) {
      pin(latlng);
      write(latlng);
    }

    var first = typed();
    if (first) {
      pin(first);
      map.setView(first, PLACED_ZOOM);
    } else {
      map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    }
    map.on("click", function (event) { place(event.latlng); });
    [latField, lngField].forEach(function (field) {
      field.addEventListener("input", function () {
        var latlng = typed();
        if (!latlng) return;
        pin(latlng);
        map.panTo(latlng);
      });
    });

    var locate = document.querySelector("[data-map-locate]");
    var note = document.querySelector("[data-map-locate-status]");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        if (note) note.textContent = locate.dataset.textLocating || "";
        navigator.geolocation.getCurrentPosition(
          function (position) {
            var here = L.latLng(position.coords.latitude, position.coords.longitude);
            place(here);
            map.setView(here, PLACED_ZOOM);
            if (note) note.textContent = "";
          },
          function () {
            if (note) note.textContent = locate.dataset.textFailed || "";
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
    }
  }

  function startAll() {
    if (!window.L) return;
    document.querySelectorAll("[data-map-picker]").forEach(start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
