// The planning page while the simulation runs: poll its status, move the progress bar,
// reload when it is done (the result table is rendered by the server).
(function () {
  "use strict";
  var box = document.getElementById("plan-running");
  if (!box) return;
  var bar = document.getElementById("plan-progress");
  var text = document.getElementById("plan-progress-text");
  var url = box.getAttribute("data-status");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        bar.value = s.progress || 0;
        text.textContent = text.textContent.replace(/[\d.]+%/, ((s.progress || 0) * 100).toFixed(1) + "%");
        if (s.state === "running") { setTimeout(poll, 500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
