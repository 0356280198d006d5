// The ID card keeps its QR fresh: it fetches a new one shortly before the current one expires.
// Offline, it keeps showing the current QR until it expires, then says a connection is needed.
(function () {
  "use strict";
  var card = document.querySelector("[data-card]");
  if (!card) return;
  var REFRESH_EARLY = 10; // seconds before expiry
  var qrBox = card.querySelector("[data-qr]");
  var countdown = card.querySelector("[data-countdown]");
  var spoken = card.querySelector("[data-countdown-spoken]");
  var SPEAK_EVERY = 15; // a screen reader hears the time left now and then, not every second
  var offlineNote = card.querySelector("[data-offline]");
  var expiredNote = card.querySelector("[data-expired]");
  var statusBox = card.querySelector("[data-status]");
  // Deadlines on this phone's clock, from the seconds the server says are left (no clock skew).
  var expiresAt = Date.now() / 1000 + Number(card.dataset.expiresIn);
  var timer = null;

  function secondsLeft() { return Math.max(0, Math.round(expiresAt - Date.now() / 1000)); }

  function tick() {
    var left = secondsLeft();
    var words = countdown.dataset.msgCountdown.replace("{s}", String(left));
    countdown.textContent = words;
    if (left % SPEAK_EVERY === 0 && left > 0) spoken.textContent = words;
    var expired = left <= 0;
    qrBox.hidden = expired;
    expiredNote.hidden = !expired;
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, Math.max(delay, 2) * 1000);
  }

  function refresh() {
    fetch(card.dataset.refreshUrl, { credentials: "same-origin", cache: "no-store",
                                     headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.href = card.dataset.loginUrl; return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (!data) return;
        qrBox.innerHTML = data.svg; // our own server's SVG, same origin
        expiresAt = Date.now() / 1000 + data.expires_in;
        card.dataset.status = data.status;
        card.dataset.refreshed = String(Number(card.dataset.refreshed || 0) + 1);
        statusBox.className = "status status-" + data.status;
        offlineNote.hidden = true;
        tick();
        schedule(data.expires_in - REFRESH_EARLY);
      })
      .catch(function () {
        offlineNote.hidden = false;
        schedule(5); // try again soon; the current QR stays until it expires
      });
  }

  window.addEventListener("online", refresh);
  setInterval(tick, 1000);
  tick();
  schedule(Number(card.dataset.expiresIn) - REFRESH_EARLY);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(function () {});
})();
