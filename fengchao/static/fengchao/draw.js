// Drawing a boundary: each click on the map adds a corner; the GeoJSON Polygon goes into the
// hidden textarea #id_drawn that the form posts. Needs map.js loaded first on a map with data-draw.
(function () {
  "use strict";
  var el = document.getElementById("area-map");
  var map = window.fengchaoMap;
  var output = document.getElementById("id_drawn");
  if (!el || !map || !output || !el.hasAttribute("data-draw")) return;
  var status = document.getElementById("draw-status");
  var corners = []; // [lat, lng], as Leaflet wants them
  var shape = L.polygon([], { color: "#dc3545", weight: 2, fillOpacity: 0.2, interactive: false }).addTo(map);
  var dots = L.layerGroup().addTo(map);

  function round(value) { return Math.round(value * 1e7) / 1e7; }

  function render() {
    shape.setLatLngs(corners);
    dots.clearLayers();
    corners.forEach(function (c) {
      L.circleMarker(c, { radius: 4, color: "#dc3545", interactive: false }).addTo(dots);
    });
    if (corners.length >= 3) {
      var ring = corners.map(function (c) { return [round(c[1]), round(c[0])]; });
      ring.push(ring[0]);
      output.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    } else {
      output.value = "";
    }
    if (status) status.textContent = corners.length ? String(corners.length) + " ⬤" : "";
  }

  map.on("click", function (event) {
    corners.push([event.latlng.lat, event.latlng.lng]);
    render();
  });
  document.querySelectorAll("[data-draw-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (button.getAttribute("data-draw-action") === "undo") corners.pop();
      else corners = [];
      render();
    });
  });
})();
