// A department layer's grids on a Leaflet map, from the JSON block #layer-map-data.
// No basemap unless the deployment sets a tile URL, so the page works offline.
(function () {
  "use strict";
  var el = document.getElementById("layer-map");
  var source = document.getElementById("layer-map-data");
  if (!el || !source || !window.L) return;
  var data = JSON.parse(source.textContent);
  var tileUrl = el.getAttribute("data-tile-url");
  var map = L.map(el, { attributionControl: Boolean(tileUrl), zoomSnap: 0.25 });
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
  }
  var layer = L.geoJSON(data, {
    style: { color: "#6f42c1", weight: 1.5, fillOpacity: 0.12 },
    onEachFeature: function (feature, shape) {
      var p = feature.properties || {};
      var label = document.createElement("span"); // textContent: names come from uploaded files
      label.textContent = p.code + " " + p.name;
      shape.bindTooltip(label, { sticky: true });
    },
  }).addTo(map);
  if (layer.getLayers().length) {
    map.fitBounds(layer.getBounds(), { padding: [12, 12] });
  } else {
    map.setView([30.66, 104.1], 12);
  }
})();
