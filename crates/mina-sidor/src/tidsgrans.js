// Mina sidor för kommuner: the warning before an idle session ends (WCAG 2.2.1).
// Two minutes before the server would end the session, a dialog offers "Fortsätt vara
// inloggad", which asks the server to keep it. If the time runs out, what was typed in
// the page's forms is kept in this tab (sessionStorage) and filled in again when the
// user has logged in and is back on the page; logging out forgets it.
(function () {
  "use strict";
  var PREFIX = "ms-utkast:";
  var here = window.location.pathname + window.location.search;

  function fields() {
    var out = [];
    var forms = document.querySelectorAll("main form[method='post']");
    Array.prototype.forEach.call(forms, function (f) {
      Array.prototype.forEach.call(f.elements, function (e) {
        if (e.name && e.type !== "hidden" && e.type !== "submit" && e.type !== "button" && e.value) {
          out.push([e.name, e.value]);
        }
      });
    });
    return out;
  }

  function restore() {
    var saved = null;
    try { saved = window.sessionStorage.getItem(PREFIX + here); } catch (e) { return; }
    if (!saved) { return; }
    window.sessionStorage.removeItem(PREFIX + here);
    var filled = 0;
    JSON.parse(saved).forEach(function (pair) {
      var e = document.querySelector("main form [name='" + pair[0].replace(/['\\]/g, "") + "']");
      if (e && e.type !== "hidden") { e.value = pair[1]; filled += 1; }
    });
    if (filled > 0) {
      var note = document.createElement("p");
      note.className = "notis";
      note.id = "utkast-aterstallt";
      note.setAttribute("role", "status");
      note.textContent = "Det du skrev innan du loggades ut är ifyllt igen. Kontrollera uppgifterna och skicka formuläret.";
      var main = document.getElementById("innehall");
      var h1 = main && main.querySelector("h1");
      if (h1) { h1.parentNode.insertBefore(note, h1.nextSibling); }
    }
  }

  function forget() {
    try {
      for (var i = window.sessionStorage.length - 1; i >= 0; i -= 1) {
        var k = window.sessionStorage.key(i);
        if (k && k.indexOf(PREFIX) === 0) { window.sessionStorage.removeItem(k); }
      }
    } catch (e) { /* storage unavailable: nothing kept */ }
  }

  restore();
  var logout = document.querySelector("form.utloggning");
  if (logout) { logout.addEventListener("submit", forget); }

  var box = document.getElementById("tidsgrans");
  if (!box) { return; }
  var button = document.getElementById("tidsgrans-fortsatt");
  var total = parseInt(box.getAttribute("data-sekunder"), 10);
  if (!(total > 0)) { return; }
  // The server notes a request only every few seconds (a tenth of the timeout at
  // most): end that much early, so the page never outlives its session.
  total -= Math.min(5, total / 10);
  var warnBefore = Math.min(120, total / 2);
  var start = Date.now();
  var before = null;

  function timedOut() {
    var kept = fields();
    if (kept.length > 0) {
      try { window.sessionStorage.setItem(PREFIX + here, JSON.stringify(kept)); } catch (e) { /* not kept */ }
    }
    window.location.assign(box.getAttribute("data-utloggad") + "?tillbaka=" + encodeURIComponent(here));
  }

  function tick() {
    var elapsed = (Date.now() - start) / 1000;
    if (elapsed >= total) { timedOut(); return; }
    if (elapsed >= total - warnBefore && box.hidden) {
      before = document.activeElement;
      box.hidden = false;
      button.focus();
    }
    window.setTimeout(tick, 1000);
  }

  button.addEventListener("click", function () {
    fetch(box.getAttribute("data-fortsatt"), {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRF-Token": box.getAttribute("data-csrf") }
    }).then(function (r) {
      if (r.status !== 204) { timedOut(); return; }
      start = Date.now();
      box.hidden = true;
      if (before && before.focus) { before.focus(); }
    }).catch(timedOut);
  });
  window.setTimeout(tick, 1000);
}());
