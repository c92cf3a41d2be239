// Shared by the map pages: a Leaflet map on #<id> with its data from the JSON block #<id>-data.
// No basemap unless the deployment sets a tile URL (data-tile-url), so maps work offline.
(function () {
  "use strict";
  window.FengchaoMap = {
    create: function (id) {
      var el = document.getElementById(id);
      var source = document.getElementById(id + "-data");
      if (!el || !source || !window.L) return null;
      var tileUrl = el.getAttribute("data-tile-url");
      var map = L.map(el, { attributionControl: Boolean(tileUrl), zoomSnap: 0.25 });
      if (tileUrl) {
        L.tileLayer(tileUrl, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 19 }).addTo(map);
      }
      return { map: map, data: JSON.parse(source.textContent) };
    },
  };
})();
