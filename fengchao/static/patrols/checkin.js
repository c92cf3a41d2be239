// Fills the longitude/latitude fields of the patrol check-in from the phone's location (WGS84) and keeps the
// check-in button off until there is a position. The form's key makes a double tap record one check-in.
(function () {
  "use strict";
  var form = document.getElementById("check-in-form");
  if (!form) {
    return;
  }
  var lon = document.getElementById("id_lon");
  var lat = document.getElementById("id_lat");
  var crs = document.getElementById("id_crs");
  var status = document.getElementById("locate-status");
  var button = document.getElementById("locate-button");
  function locate() {
    if (!navigator.geolocation) {
      status.textContent = status.dataset.unsupported || "";
      return;
    }
    status.textContent = status.dataset.locating || "…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lon.value = position.coords.longitude.toFixed(6);
        lat.value = position.coords.latitude.toFixed(6);
        crs.value = "wgs84";
        status.textContent = "±" + Math.round(position.coords.accuracy) + " m";
      },
      function (error) {
        status.textContent = error.message;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  }
  if (button) {
    button.addEventListener("click", locate);
  }
  form.addEventListener("submit", function () {
    var submit = document.getElementById("check-in-submit");
    window.setTimeout(function () {
      submit.disabled = true;
    }, 0);
  });
  if (!lon.value) {
    locate();
  }
})();
