// Fills the longitude/latitude fields of a task submission from the browser's location (WGS84).
(function () {
  "use strict";
  var button = document.getElementById("locate-button");
  if (!button || !navigator.geolocation) {
    return;
  }
  var status = document.getElementById("locate-status");
  function locate() {
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        status.textContent = "±" + Math.round(position.coords.accuracy) + " m";
      },
      function (error) {
        status.textContent = error.message;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }
  button.addEventListener("click", locate);
  if (!document.getElementById("lon").value) {
    locate();
  }
})();
