/* Rejected interviews back on the tablet (督导退回): after each sync the app asks the
   server which of this canvasser's interviews a reviewer sent back, keeps the list on the
   device (so it stays visible offline), shows it above the households with the
   reviewer's comments, and lets the canvasser either correct the answers (a draft
   pre-filled with the interview as stored, comments shown on each question) or resubmit
   them unchanged with a note saying why. The resubmission is an ordinary outbox item
   carrying `revises` (the interview's UUID) and `note`; its own UUID makes a replay
   harmless (docs/quality.md). app.js calls in through the few hooks named below. */
(function (root) {
  "use strict";
  var conf = JSON.parse(document.getElementById("canvass-review-config").textContent);
  var T = conf.strings, app = null, items = [], KEY = "returned";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function item(uuid) { return items.filter(function (x) { return x.uuid === uuid; })[0]; }
  function label(x, name) {
    var inst = app && app.instOf(x), it = inst && inst.items.filter(function (i) { return i.name === name; })[0];
    return it ? app.L(it.label) : name;
  }
  /* What the device already holds for a returned interview: a correction in progress,
     or one waiting in the outbox. */
  function local(uuid) {
    if (app.outbox().some(function (o) { return o.payload && o.payload.revises === uuid && o.state !== "failed"; })) return "queued";
    if (app.drafts().some(function (d) { return d.revises === uuid; })) return "editing";
    return null;
  }

  /* A draft keeps its answers flat (app.js): a repeat's answers as "repeat[n].item" and
     the number of its instances as "repeat#"; the server sends them nested. */
  function flat(answers) {
    var out = {};
    Object.keys(answers).forEach(function (k) {
      var v = answers[k];
      if (Array.isArray(v) && v.length && v.every(function (o) { return o && typeof o === "object" && !Array.isArray(o); })) {
        out[k + "#"] = v.length;
        v.forEach(function (o, i) { Object.keys(o).forEach(function (n) { out[k + "[" + (i + 1) + "]." + n] = o[n]; }); });
      } else out[k] = JSON.parse(JSON.stringify(v));
    });
    return out;
  }

  /* A tablet's own id, made once per browser (shared by every user of the tablet): lets
     a supervisor see one device used by two canvassers; a user agent names only a model. */
  function deviceId() {
    var id = null;
    try { id = localStorage.getItem("canvass-device"); } catch (e) { /* private mode */ }
    if (!id) {
      id = app.uuid().replace(/-/g, "").slice(0, 12);
      try { localStorage.setItem("canvass-device", id); } catch (e) { /* private mode */ }
    }
    return id;
  }

  var R = {
    /* hook: once, with the app's internals. */
    init: function (internals) {
      app = internals;
      if (app.preview) return;
      /* The list also changes with nothing to upload (a reviewer acted): look again when
         the network returns, when the app comes back to the front, and every 5 minutes. */
      var again = function () {
        if (!navigator.onLine) return;
        var before = JSON.stringify(items);
        R.refresh().then(function () {
          if (JSON.stringify(items) !== before && /^(#\/?)?$/.test(location.hash)) app.render();
        });
      };
      window.addEventListener("online", again);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) again(); });
      setInterval(again, 5 * 60 * 1000);
    },
    /* hook: after the assignments are refreshed (each load and each sync). */
    refresh: function () {
      if (!app || app.preview) return Promise.resolve();  // the admin's preview sends nothing
      return fetch(conf.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.json(); })
        .then(function (body) { items = body.returned || []; return app.db.put("meta", items, KEY); })
        .catch(function () {
          return app.db.get("meta", KEY).then(function (saved) { if (saved) items = saved; });
        });
    },
    /* hook: the list view's banner of returned interviews. */
    banner: function () {
      if (!items.length) return "";
      var rows = items.map(function (x) {
        var state = local(x.uuid);
        var status = state === "queued" ? T.queued : state === "editing" ? T.editing : T.to_fix;
        return "<li><a class=\"returned-item\" href=\"#/fix/" + esc(x.uuid) + "\" data-returned=\"" + esc(x.uuid) + "\">" +
          "<strong>" + esc(x.household) + "</strong> · " + esc(status) +
          (x.comment ? "<span class=\"returned-comment\">" + esc(x.comment) + "</span>" : "") + "</a></li>";
      });
      return "<section class=\"card returned\" id=\"returned\"><h2>" + esc(T.title) + " (" + items.length + ")</h2>" +
        "<ul class=\"plain\">" + rows.join("") + "</ul></section>";
    },
    /* hook: the page of one returned interview (route #/fix/<uuid>). */
    view: function (uuid) {
      var x = item(uuid);
      if (!x) return "<p class=\"card\">" + esc(T.gone) + "</p><a href=\"#/\" class=\"back\">‹ " + esc(T.back) + "</a>";
      var comments = Object.keys(x.item_comments || {}).map(function (name) {
        return "<li><span class=\"q\">" + esc(label(x, name)) + "</span>:" + esc(x.item_comments[name]) + "</li>";
      });
      var state = local(uuid), out = "<a href=\"#/\" class=\"back\">‹ " + esc(T.back) + "</a>" +
        "<h1>" + esc(T.title + " · " + x.household) + "</h1>" +
        "<section class=\"card returned\"><h2>" + esc(T.comments) + "</h2>" +
        (x.comment ? "<p class=\"lead\" id=\"returned-comment\">" + esc(x.comment) + "</p>" : "") +
        (comments.length ? "<ul class=\"plain\" id=\"returned-items\">" + comments.join("") + "</ul>" : "") + "</section>";
      if (state === "queued") return out + "<p class=\"card done\">" + esc(T.queued) + "</p>";
      if (state === "editing") {
        var d = app.drafts().filter(function (dr) { return dr.revises === uuid; })[0];
        return out + "<a class=\"button primary big block\" href=\"#/q/" + esc(d.uuid) + "\">" + esc(T.continue_edit) + "</a>";
      }
      return out + "<section class=\"card\"><label>" + esc(T.note) +
        "<textarea id=\"fix-note\" rows=\"3\" maxlength=\"1000\"></textarea></label>" +
        "<p class=\"error\" id=\"fix-problem\" role=\"alert\"></p>" +
        "<div class=\"outcomes\"><button type=\"button\" class=\"primary big\" data-fix-edit=\"" + esc(uuid) + "\">" + esc(T.edit) + "</button>" +
        "<button type=\"button\" class=\"big\" data-fix-same=\"" + esc(uuid) + "\">" + esc(T.same) + "</button></div></section>";
    },
    /* hook: a reviewer's comment shown on a question of a correction. */
    comment: function (d, name) {
      var x = d && d.revises && item(d.revises), text = x && x.item_comments && x.item_comments[name];
      return text ? "<p class=\"returned-comment\" data-comment-for=\"" + esc(name) + "\">" + esc(T.reviewer + ":" + text) + "</p>" : "";
    },
    /* hook: a submission built from a draft (every interview gets the tablet's id). */
    stamp: function (d, payload) {
      payload.device = (payload.device + " dev:" + deviceId()).slice(-255);
      if (d && d.revises) { payload.revises = d.revises; if (d.note) payload.note = d.note; }
      return payload;
    },
    /* hook: clicks on this module's buttons; true when handled. */
    click: function (t) {
      /* 中止 on a correction drops the correction only: the interview stays returned. */
      if (t.dataset.abort) {
        var m = location.hash.match(/^#\/[qr]\/([\w-]+)/), fix = m && app.drafts().filter(function (d) { return d.uuid === m[1] && d.revises; })[0];
        if (!fix) return false;
        if (window.confirm(T.discard_fix)) {
          app.db.del("drafts", fix.uuid).then(app.load).then(function () { location.hash = "#/fix/" + fix.revises; app.render(); });
        }
        return true;
      }
      var uuid = t.dataset.fixEdit || t.dataset.fixSame, x = uuid && item(uuid);
      if (!x) return false;
      var note = (document.getElementById("fix-note").value || "").trim();
      if (t.dataset.fixSame && !note) { document.getElementById("fix-problem").textContent = T.need_note; return true; }
      if (t.dataset.fixEdit) {
        var d = { uuid: app.uuid(), assignment_id: x.assignment_id, household: x.household, revises: x.uuid, note: note,
                  instrument_key: x.instrument_key, instrument_version: String(x.instrument_version),
                  answers: flat(x.answers || {}), timings: {}, at: null,
                  started_at: new Date().toISOString(), updated: Date.now() };
        app.drafts().push(d);
        app.db.put("drafts", d).then(function () { location.hash = "#/q/" + d.uuid; });
        return true;
      }
      var payload = R.stamp({ revises: x.uuid, note: note }, {
        uuid: app.uuid(), assignment_id: x.assignment_id, instrument_key: x.instrument_key,
        instrument_version: x.instrument_version, answers: x.answers, started_at: new Date().toISOString(),
        submitted_at: new Date().toISOString(), timings: {},
        device: (navigator.userAgent + " " + screen.width + "x" + screen.height).slice(0, 230)
      });
      app.db.put("outbox", app.enqueue("response", payload, x.household)).then(app.load).then(function () {
        location.hash = "#/"; app.render(); app.sync(false);
      });
      return true;
    }
  };
  root.CanvassReview = R;
})(this);
