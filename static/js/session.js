/* KYC face review: warn before an idle session ends, and let the user stay signed in.
 * The server ends the session (kyc/access/middleware.py); this only warns. Before warning it asks
 * the server how long is left (that question is not activity), so work in another tab counts. */
(function () {
  "use strict";

  var box = document.getElementById("session-timeout");
  if (!box) { return; }
  var warnSeconds = parseInt(box.getAttribute("data-warn-seconds"), 10) || 120;
  var statusUrl = box.getAttribute("data-status-url");
  var countdown = box.querySelector("[data-countdown]");
  var timer = null;
  var ticker = null;
  var deadline = 0;

  function words(seconds) {
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + " minute" + (minutes === 1 ? "" : "s");
    }
    return seconds + " second" + (seconds === 1 ? "" : "s");
  }

  // Reloading lets the server say what happened: it sends an ended session to the sign-in page.
  function signedOut() { window.location.reload(); }

  function schedule(secondsLeft) {
    window.clearTimeout(timer);
    window.clearInterval(ticker);
    box.hidden = true;
    deadline = Date.now() + secondsLeft * 1000;
    timer = window.setTimeout(check, Math.max(0, secondsLeft - warnSeconds) * 1000);
  }

  function ask(method) {
    var headers = { "Accept": "application/json" };
    if (method === "POST") { headers["X-CSRFToken"] = box.getAttribute("data-csrf"); }
    return fetch(statusUrl, { method: method, credentials: "same-origin", headers: headers })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); });
  }

  function check() {
    ask("GET").then(function (clock) {
      if (!clock.signed_in) { signedOut(); return; }
      if (clock.seconds_left > warnSeconds + 5) { schedule(clock.seconds_left); return; }
      warn(clock.seconds_left);
    }).catch(function () { warn(Math.round((deadline - Date.now()) / 1000)); });
  }

  function warn(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
    box.hidden = false;
    tick();
    ticker = window.setInterval(tick, 1000);
  }

  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    countdown.textContent = words(left);
    // A moment past the deadline, so the server agrees that the session is over.
    if (Date.now() > deadline + 2000) { window.clearInterval(ticker); signedOut(); }
  }

  box.querySelector("[data-stay-signed-in]").addEventListener("click", function () {
    ask("POST").then(function (clock) {
      if (!clock.signed_in) { signedOut(); return; }
      schedule(clock.seconds_left);
    }).catch(signedOut);
  });

  schedule(parseInt(box.getAttribute("data-seconds-left"), 10) || 0);
})();
