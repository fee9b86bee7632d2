// The surveyor's page: the phone's position into the position form, the customer's signature drawn on a canvas
// (sent as a PNG), and the survey report sent as multipart with the CSRF header (photos may be several MB).
(function () {
  "use strict";
  const locate = document.getElementById("locate");
  if (locate && navigator.geolocation) {
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (at) {
        document.getElementById("pos-lat").value = at.coords.latitude.toFixed(6);
        document.getElementById("pos-lon").value = at.coords.longitude.toFixed(6);
      });
    });
  }

  const pad = document.getElementById("signature-pad");
  const form = document.getElementById("report-form");
  if (!pad || !form) { return; }
  const pen = pad.getContext("2d");
  pen.lineWidth = 3; pen.lineCap = "round"; pen.strokeStyle = "#000";
  let drawing = false, signed = false;
  function at(event) {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }
  pad.addEventListener("pointerdown", function (event) {
    drawing = true; signed = true; pad.setPointerCapture(event.pointerId);
    const [x, y] = at(event); pen.beginPath(); pen.moveTo(x, y);
  });
  pad.addEventListener("pointermove", function (event) {
    if (!drawing) { return; }
    const [x, y] = at(event); pen.lineTo(x, y); pen.stroke();
  });
  pad.addEventListener("pointerup", function () { drawing = false; });
  document.getElementById("clear-signature").addEventListener("click", function () {
    pen.clearRect(0, 0, pad.width, pad.height); signed = false;
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    document.getElementById("signature").value = signed ? pad.toDataURL("image/png") : "";
    const body = new FormData(form);
    const answer = await fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": body.get("csrf_token") },
    });
    if (answer.redirected) { location.href = answer.url; return; }
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    document.querySelector("main").innerHTML = page.querySelector("main").innerHTML;
  });
})();
