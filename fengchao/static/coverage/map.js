// The coverage map: micro-grids coloured by the status of the chosen layer (walked, inspected, visited, tasks).
// Colours match the legend and table classes in app.css (.coverage-good / -partial / -bad / -none).
(function () {
  "use strict";
  var made = window.FengchaoMap && window.FengchaoMap.create("coverage-map");
  if (!made) return;
  var map = made.map;
  var data = made.data;
  var fills = { good: "#198754", partial: "#ffc107", bad: "#dc3545", none: "#adb5bd" };
  var group = L.featureGroup().addTo(map);
  (data.features || []).forEach(function (feature) {
    if (!feature.geometry) return;
    var status = (feature.figures[data.layer] || {}).status || "none";
    var layer = L.geoJSON(feature.geometry, {
      style: { color: "#495057", weight: 1, fillColor: fills[status], fillOpacity: 0.55 },
    });
    layer.bindTooltip(feature.grid + " " + feature.name);
    layer.on("click", function () {
      var row = document.querySelector('#coverage-table tr[data-area="' + feature.id + '"]');
      if (row) {
        row.scrollIntoView({ block: "center" });
        row.classList.add("table-active");
      }
    });
    layer.addTo(group);
  });
  if (group.getLayers().length) {
    map.fitBounds(group.getBounds(), { padding: [12, 12] });
  } else {
    map.setView([30.66, 104.1], 12);
  }
})();
