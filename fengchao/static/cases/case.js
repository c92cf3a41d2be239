// Staff case pages: the intake map (tap a point), suggested categories, and the dispatch form's pickers.
// Kept out of the HTML so the Content Security Policy can forbid inline script.
(function () {
  "use strict";

  function changed(el) {
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // ---- intake: a tap on the map is the place (WGS84, as the map is) -------------------------------
  var made = window.FengchaoMap && window.FengchaoMap.create("intake-map");
  var lon = document.getElementById("id_lon");
  var lat = document.getElementById("id_lat");
  var shown = document.getElementById("point-shown");
  if (made && lon && lat) {
    var map = made.map;
    var group = L.featureGroup().addTo(map);
    (made.data.features || []).forEach(function (feature) {
      L.geoJSON(feature.geometry, { style: { color: "#0d6efd", weight: 2, fillOpacity: 0.03 } }).addTo(group);
    });
    if (group.getLayers().length) {
      map.fitBounds(group.getBounds(), { padding: [8, 8] });
    } else {
      map.setView([30.66, 104.1], 12);
    }
    var marker = null;
    var place = function (lng, la) {
      if (marker) marker.remove();
      marker = L.circleMarker([la, lng], { radius: 7, color: "#dc3545", fillOpacity: 0.8 }).addTo(map);
    };
    if (lon.value && lat.value) place(parseFloat(lon.value), parseFloat(lat.value));
    window.fengchaoIntakeMap = map; // for tests and add-ons that place the point themselves
    map.on("click", function (event) {
      lon.value = event.latlng.lng.toFixed(7);
      lat.value = event.latlng.lat.toFixed(7);
      if (shown) shown.textContent = lon.value + ", " + lat.value;
      place(event.latlng.lng, event.latlng.lat);
      changed(lon);
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("[data-clear-point]")) return;
      lon.value = "";
      lat.value = "";
      if (shown) shown.textContent = "";
      if (marker) marker.remove();
      marker = null;
      changed(lon);
    });
  }

  // ---- intake: a suggested category is chosen with one tap -----------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-category]");
    var select = document.getElementById("id_category");
    if (!button || !select) return;
    select.value = button.getAttribute("data-category");
    changed(select);
  });

  // ---- dispatch: departments only for the department tier; people only of the chosen tier --------
  function fitDispatch(form) {
    var tier = form.querySelector("[data-dispatch-tier]");
    var department = form.querySelector("[data-dispatch-department]");
    var row = form.querySelector("[data-dispatch-department-row]");
    var assignee = form.querySelector("[data-dispatch-assignee]");
    if (!tier || !assignee) return;
    var toDepartment = tier.value === "department";
    if (row) row.hidden = !toDepartment;
    Array.prototype.forEach.call(assignee.options, function (option) {
      if (!option.value) return;
      var fits = option.getAttribute("data-tier") === tier.value;
      if (fits && toDepartment) fits = department && option.getAttribute("data-department") === department.value;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) assignee.value = "";
    });
  }
  document.querySelectorAll("[data-dispatch-tier]").forEach(function (tier) {
    fitDispatch(tier.form);
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-dispatch-tier], [data-dispatch-department]") && el.form) fitDispatch(el.form);
  });
})();
