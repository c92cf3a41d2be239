// A department layer's grids on a Leaflet map, from the JSON block #layer-map-data.
// No basemap unless the deployment sets a tile URL, so the page works offline.
(function () {
  "use strict";
  var made = window.FengchaoMap && window.FengchaoMap.create("layer-map");
  if (!made) return;
  var map = made.map;
  var data = made.data;
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
