// Mina sidor för kommuner: the BankID QR animation. The QR code changes every second
// (BankID's animated QR) and the login's status is polled; without JavaScript the page
// works with its "continue" button instead.
(function () {
  "use strict";
  var root = document.getElementById("bankid");
  if (!root) { return; }
  var img = document.getElementById("bankid-qr");
  var status = document.getElementById("bankid-status");
  var again = document.getElementById("bankid-igen");
  var csrf = root.getAttribute("data-csrf");
  var n = 0;
  function tick() {
    n += 1;
    img.src = root.getAttribute("data-qr") + "?n=" + n;
    fetch(root.getAttribute("data-status"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf }
    }).then(function (r) { return r.json(); }).then(function (s) {
      if (s.meddelande && status.textContent !== s.meddelande) { status.textContent = s.meddelande; }
      if (s.status === "complete") {
        window.location.assign(s.adress);
      } else if (s.status === "failed") {
        img.hidden = true;
        again.hidden = false;
      } else {
        window.setTimeout(tick, 1000);
      }
    }).catch(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 1000);
}());
