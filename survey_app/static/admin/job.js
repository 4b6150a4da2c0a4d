/* The household import job page: follow the background job's progress, reload when it ends. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var read = document.getElementById("rows-read"), applied = document.getElementById("rows-applied");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (job) {
        if (job.done) { location.reload(); return; }
        if (read) read.textContent = job.rows_read;
        if (applied) applied.textContent = job.rows_applied;
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
