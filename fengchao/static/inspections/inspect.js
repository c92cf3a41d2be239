// The inspection form: shows the photo and fixed-on-the-spot inputs of an item only when it is answered "fail",
// and fills the hidden longitude/latitude from the phone (WGS84) when it shares its position.
(function () {
  "use strict";
  var form = document.getElementById("inspect-form");
  if (!form) {
    return;
  }
  function refresh(fieldset) {
    var failed = fieldset.querySelector('input.outcome[value="fail"]');
    var block = fieldset.querySelector(".fail-only");
    if (block) {
      block.classList.toggle("d-none", !(failed && failed.checked));
    }
  }
  var items = form.querySelectorAll(".checklist-item");
  items.forEach(function (fieldset) {
    refresh(fieldset);
    fieldset.querySelectorAll("input.outcome").forEach(function (radio) {
      radio.addEventListener("change", function () {
        refresh(fieldset);
      });
    });
  });
  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(
      function (position) {
        document.getElementById("id_lon").value = position.coords.longitude.toFixed(6);
        document.getElementById("id_lat").value = position.coords.latitude.toFixed(6);
      },
      function () {},
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  }
})();
