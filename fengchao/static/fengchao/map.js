// The area map: boundaries from a JSON block (#area-map-data), drawn with Leaflet.
// No basemap unless the deployment sets a tile URL, so it works offline: a plain background with labelled polygons.
(function () {
  "use strict";
  var made = window.FengchaoMap && window.FengchaoMap.create("area-map");
  if (!made) return;
  var map = made.map;
  var data = made.data;
  var styles = {
    self: { color: "#0d6efd", weight: 3, fillOpacity: 0.05 },
    child: { color: "#198754", weight: 1.5, fillOpacity: 0.15 },
    found: { color: "#198754", weight: 2, fillOpacity: 0.2 },
    parent: { color: "#6c757d", weight: 1, dashArray: "4 4", fillOpacity: 0 },
  };
  var features = data.features || [];
  var hasChildren = features.some(function (f) { return f.role === "child"; });
  var group = L.featureGroup().addTo(map);
  features.forEach(function (feature) {
    var layer = L.geoJSON(feature.geometry, { style: styles[feature.role] || styles.child });
    var labelled = feature.role === "child" || feature.role === "found" || (feature.role === "self" && !hasChildren);
    if (labelled) {
      layer.bindTooltip(feature.name, { permanent: true, direction: "center", className: "area-label" });
    }
    if (feature.role === "child" && feature.url) {
      layer.on("click", function () { window.location.assign(feature.url); });
    }
    layer.addTo(group);
  });
  if (data.point) {
    L.circleMarker([data.point[1], data.point[0]], { radius: 7, color: "#dc3545", fillOpacity: 0.8 }).addTo(group);
  }
  if (group.getLayers().length) {
    map.fitBounds(group.getBounds(), { padding: [12, 12] });
  } else {
    map.setView([30.66, 104.1], 12); // the demo district, until there is something to show
  }
  if (map.getContainer().hasAttribute("data-pick")) {
    // Locate page: a click fills in the coordinates (WGS84, as the map is) and asks the server.
    map.on("click", function (event) {
      var form = document.getElementById("locate-form");
      if (!form) return;
      form.elements.lon.value = event.latlng.lng.toFixed(7);
      form.elements.lat.value = event.latlng.lat.toFixed(7);
      form.elements.crs.value = "wgs84";
      form.submit();
    });
  }
  window.fengchaoMap = map; // draw.js draws on the same map
})();
