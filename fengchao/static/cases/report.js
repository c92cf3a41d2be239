// The resident's and member's phone pages: GPS, category suggestions, anonymous reports, one tap per submit,
// the map to pick a place, and the rating form. Kept out of the HTML so the CSP can forbid inline script;
// every text shown comes from the template (data-msg-* attributes), so it is translated there.
(function () {
  "use strict";

  function setStatus(button, text) {
    var target = document.getElementById(button.getAttribute("data-gps-status"));
    if (target && text !== null) target.textContent = text || "";
  }

  // Browser geolocation gives WGS84; `done(lon, lat)` receives it.
  function findPosition(button, done) {
    if (!navigator.geolocation) {
      setStatus(button, button.getAttribute("data-msg-failed"));
      return;
    }
    setStatus(button, button.getAttribute("data-msg-working"));
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        button.disabled = false;
        setStatus(button, button.getAttribute("data-msg-done"));
        done(position.coords.longitude, position.coords.latitude);
      },
      function () {
        button.disabled = false;
        setStatus(button, button.getAttribute("data-msg-failed"));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }

  function setValue(form, name, value) {
    if (form.elements[name]) form.elements[name].value = value;
  }

  // ---- the report forms (resident and member) -------------------------------------------------------
  var form = document.querySelector("[data-report-form]");
  if (form) {
    var gps = form.querySelector("[data-gps]");
    if (gps) {
      gps.addEventListener("click", function () {
        findPosition(gps, function (lon, lat) {
          setValue(form, "lon", lon.toFixed(7));
          setValue(form, "lat", lat.toFixed(7));
          setValue(form, "crs", "wgs84");
          document.body.dispatchEvent(new Event("located")); // refreshes the possible duplicates
        });
      });
    }
    var category = form.elements.category;
    // A suggested category is one tap; the first suggestion is taken while nothing is chosen yet.
    form.addEventListener("click", function (event) {
      var pick = event.target.closest("[data-pick-category]");
      if (!pick || !category) return;
      category.value = pick.getAttribute("data-pick-category");
      category.dispatchEvent(new Event("change", { bubbles: true }));
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (!category || category.value || event.detail.target.id !== "category-suggestions") return;
      var first = event.detail.target.querySelector("[data-pick-category]");
      if (first) first.click();
    });
    var anonymous = form.querySelector("[data-anonymous]");
    var name = form.elements.reporter_name;
    if (anonymous && name) {
      anonymous.addEventListener("change", function () { name.disabled = anonymous.checked; });
    }
    var onSpot = form.querySelector("[data-on-spot]");
    var afterPhotos = form.querySelector("[data-on-spot-photos]");
    if (onSpot && afterPhotos) {
      var showAfter = function () { afterPhotos.hidden = !onSpot.checked; };
      onSpot.addEventListener("change", showAfter);
      showAfter();
    }
  }

  // ---- one submission per tap (the idempotency key also makes a second one harmless) ---------------------
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-submit-once]");
    if (button) window.setTimeout(function () { button.disabled = true; }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-submit-once]").forEach(function (b) { b.disabled = false; });
  });

  // ---- rating: "handle it again" only goes with "dissatisfied" ------------------------------------------
  var rate = document.querySelector("[data-rate-form]");
  if (rate) {
    var reopen = rate.querySelector("[data-reopen-choice]");
    var syncReopen = function () {
      var chosen = rate.querySelector("input[name=rating]:checked");
      var dissatisfied = Boolean(chosen && chosen.value === "dissatisfied");
      reopen.hidden = !dissatisfied;
      if (!dissatisfied) reopen.querySelector("input").checked = false;
    };
    rate.addEventListener("change", syncReopen);
    syncReopen();
  }

  // ---- the map page: tap a point (or use GPS), the server names the micro-grid -----------------------------
  var result = document.getElementById("map-result");
  var made = result && window.FengchaoMap && window.FengchaoMap.create("area-map");
  if (made) {
    var map = made.map;
    var outlines = L.featureGroup().addTo(map);
    (made.data.features || []).forEach(function (feature) {
      L.geoJSON(feature.geometry, { style: { color: "#198754", weight: 1.5, fillOpacity: 0.08 } })
        .bindTooltip(feature.name, { permanent: true, direction: "center", className: "area-label" })
        .addTo(outlines);
    });
    if (outlines.getLayers().length) {
      map.fitBounds(outlines.getBounds(), { padding: [8, 8] });
    } else {
      map.setView([30.66, 104.1], 12);
    }
    var marker = null;
    var show = function (lon, lat) {
      if (marker) marker.remove();
      marker = L.circleMarker([lat, lon], { radius: 8, color: "#dc3545", fillOpacity: 0.8 }).addTo(map);
      var url = result.getAttribute("data-locate-url") + "?lon=" + lon.toFixed(7) + "&lat=" + lat.toFixed(7) + "&crs=wgs84";
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var found = result.querySelector("[data-found]");
          var notFound = result.querySelector("[data-not-found]");
          result.hidden = false;
          found.hidden = !data.found;
          notFound.hidden = Boolean(data.found);
          if (data.found) {
            result.querySelector("[data-found-name]").textContent = data.name;
            result.querySelector("[data-found-community]").textContent = data.community;
            result.querySelector("[data-report-here]").setAttribute("href", data.report_url);
          } else {
            notFound.textContent = data.message;
          }
        });
    };
    map.on("click", function (event) { show(event.latlng.lng, event.latlng.lat); });
    var mapGps = document.querySelector("[data-map-gps]");
    if (mapGps) {
      mapGps.addEventListener("click", function () {
        findPosition(mapGps, function (lon, lat) {
          map.setView([lat, lon], Math.max(map.getZoom(), 16));
          show(lon, lat);
        });
      });
    }
  }
})();
