/* The canvasser's tablet app: assigned households, visit outcomes, the questionnaire and
   the outbox. Offline-first: every answer is written to IndexedDB as it is given, finished
   interviews and visits wait in the outbox until the server accepts them (docs/offline.md). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("canvass-config").textContent);
  var T = cfg.strings, X = window.CanvassExpr;
  var db = new window.CanvassStore("canvass-" + cfg.user);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var view = document.getElementById("view");
  var S = { data: null, inst: null, outbox: [], drafts: [], syncing: false, lastSync: null,
            lastTry: null, authError: false, timer: null, enter: 0, showing: null, message: null,
            position: null, busy: false };
  var OUTCOMES = ["not_home", "refused", "vacant", "ineligible"];
  var BATCH = 100, MAX_BACKOFF = 5 * 60 * 1000;

  /* --- helpers ------------------------------------------------------------------------ */
  function fmt(s, p) { return s.replace(/\{(\w+)\}/g, function (_, k) { return p[k]; }); }
  function L(label) { return label ? (cfg.lang === "en" && label.en ? label.en : label.zh) : ""; }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function h(tag, attrs, body) {
    var a = "";
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== false && attrs[k] != null) a += " " + k + '="' + esc(attrs[k]) + '"';
    });
    return "<" + tag + a + ">" + (body || "") + "</" + tag + ">";
  }
  function hhmm(t) { var d = new Date(t); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), s = "";  // plain-HTTP fallback
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? "-" : "") + (b[i] + 256).toString(16).slice(1);
    return s;
  }
  function households() {
    var out = [];
    (S.data && S.data.buildings || []).forEach(function (b) { out = out.concat(b.households); });
    return out;
  }
  function household(aid) { return households().filter(function (x) { return x.assignment_id === aid; })[0]; }
  function draftFor(aid) { return S.drafts.filter(function (d) { return d.assignment_id === aid; })[0]; }
  function draft(id) { return S.drafts.filter(function (d) { return d.uuid === id; })[0]; }

  /* A household's state: what the server knows plus what waits in this device's outbox. */
  function state(x) {
    var mine = S.outbox.filter(function (o) { return o.assignment_id === x.assignment_id && o.state !== "failed"; });
    var visits = mine.filter(function (o) { return o.kind === "visit"; });
    var answered = mine.some(function (o) { return o.kind === "response"; });
    var attempts = x.attempts + visits.length;
    return {
      attempts: attempts, visits: visits, draft: draftFor(x.assignment_id),
      last: visits.length ? visits[visits.length - 1].payload.outcome : x.last_outcome,
      done: x.completed || answered, pending: answered && !x.completed,
      blocked: !x.completed && !answered && attempts >= S.data.wave.max_attempts
    };
  }

  /* --- data --------------------------------------------------------------------------- */
  function load() {
    return Promise.all([db.all("outbox"), db.all("drafts"), db.get("meta", "lastSync"), db.get("meta", "lastTry")]).then(function (r) {
      S.outbox = r[0].sort(function (a, b) { return a.created - b.created; });
      S.drafts = r[1];
      S.lastSync = r[2] || null;
      S.lastTry = r[3] || null;
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.json(); });
  }
  function instrumentUrl(w) {
    return cfg.urls.instrument.replace("KEY", encodeURIComponent(w.instrument_key))
      .replace("VERSION", encodeURIComponent(w.instrument_version));
  }
  /* Network first (the service worker falls back to its cache), then this device's copy. */
  function refresh() {
    return getJSON(cfg.urls.assignments).then(function (data) {
      S.data = data;
      return db.put("meta", data, "assignments");
    }).catch(function () {
      return db.get("meta", "assignments").then(function (d) { if (d && !S.data) S.data = d; });
    }).then(function () {
      var w = S.data && S.data.wave;
      if (!w || (S.inst && S.inst.key === w.instrument_key && String(S.inst.version) === w.instrument_version)) return;
      var key = "instrument:" + w.instrument_key + ":" + w.instrument_version;
      return db.get("meta", key).then(function (inst) {
        if (inst) { S.inst = inst; return; }
        return getJSON(instrumentUrl(w)).then(function (inst) { S.inst = inst; return db.put("meta", inst, key); });
      }).catch(function () {});
    });
  }

  /* --- outbox and sync ---------------------------------------------------------------- */
  function enqueue(kind, payload, household) {
    return {
      uuid: payload.uuid, kind: kind, payload: payload, assignment_id: payload.assignment_id,
      household: household, state: "pending", tries: 0, next: 0, error: null, created: Date.now()
    };
  }
  function backoff(item) {
    item.tries += 1;
    var wait = Math.min(MAX_BACKOFF, 2000 * Math.pow(2, item.tries - 1));
    item.next = Date.now() + Math.round(wait * (0.75 + Math.random() / 2));  // jitter
    return db.put("outbox", item);
  }
  function schedule() {
    clearTimeout(S.timer);
    var next = S.outbox.filter(function (o) { return o.state === "pending"; })
      .reduce(function (m, o) { return Math.min(m, o.next); }, Infinity);
    if (next < Infinity) S.timer = setTimeout(function () { sync(false); }, Math.max(1000, next - Date.now()));
  }
  function apply(item, result) {
    if (result.status === 200 || result.status === 201) return db.del("outbox", item.uuid);
    if (result.status >= 500) return backoff(item);
    item.state = "failed";  // refused for good: kept, and shown, until the canvasser acts
    item.error = result.error || String(result.status);
    return db.put("outbox", item);
  }
  /* The last attempt's outcome is kept (and shown): "online" alone says nothing about
     whether uploads get through. */
  function tried(ok, why) {
    S.lastTry = { ok: ok, at: Date.now(), why: why || null };
    if (ok) { S.lastSync = S.lastTry.at; db.put("meta", S.lastSync, "lastSync"); }
    return db.put("meta", S.lastTry, "lastTry");
  }
  function why(err, status) {
    if (status === 401 || status === 400 || status === 403) return T.why_login;
    if (status >= 500) return fmt(T.why_server, { s: status });
    return T.why_network;
  }
  function sync(manual) {
    if (S.syncing) return Promise.resolve();
    var now = Date.now();
    var due = S.outbox.filter(function (o) { return o.state === "pending" && (manual || o.next <= now); }).slice(0, BATCH);
    if (!due.length || (!manual && !navigator.onLine)) { schedule(); return Promise.resolve(); }
    var visits = due.filter(function (o) { return o.kind === "visit"; });
    var responses = due.filter(function (o) { return o.kind === "response"; });
    var status = 0, accepted = 0;
    S.syncing = true; bar();
    return fetch(cfg.urls.sync, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({
        visits: visits.map(function (o) { return o.payload; }),
        responses: responses.map(function (o) { return o.payload; })
      })
    }).then(function (r) {
      status = r.redirected ? 401 : r.status;
      S.authError = status === 401 || status === 400;
      if (!r.ok || r.redirected) throw new Error("HTTP " + status);
      return r.json();
    }).then(function (res) {
      var results = res.visits.concat(res.responses);
      accepted = results.filter(function (x) { return x.status === 200 || x.status === 201; }).length;
      return tried(true).then(function () {
        return Promise.all(visits.map(function (o, i) { return apply(o, res.visits[i]); })
          .concat(responses.map(function (o, i) { return apply(o, res.responses[i]); })));
      }).then(refresh);
    }).catch(function (err) {
      return tried(false, why(err, status)).then(function () { return Promise.all(due.map(backoff)); });
    }).then(load).then(function () {
      S.syncing = false;
      if (manual) {
        var ok = S.lastTry && S.lastTry.ok;
        var refused = S.outbox.filter(function (o) { return o.state === "failed"; }).length;
        notice(ok ? fmt(T.sync_done, { n: accepted }) + (refused ? " " + fmt(T.failed, { n: refused }) : "")
          : fmt(T.sync_failed, { why: S.lastTry.why, t: hhmm(nextRetry() || Date.now()) }), ok && !refused ? "success" : "error");
      }
      if (current()) bar(); else render();  // never redraw a question under the canvasser's finger
      var more = S.outbox.some(function (o) { return o.state === "pending" && o.next <= Date.now(); });
      return more && !S.authError ? sync(false) : schedule();
    });
  }
  function nextRetry() {
    var m = S.outbox.filter(function (o) { return o.state === "pending" && o.tries; })
      .reduce(function (m, o) { return Math.min(m, o.next); }, Infinity);
    return m === Infinity ? null : m;
  }
  /* A message above the screen that stays until replaced (sync results, sign-out offline). */
  function notice(text, kind) {
    var n = document.getElementById("notice");
    n.textContent = text; n.className = "notice flash " + (kind || ""); n.hidden = !text;
  }

  /* --- the sync bar (always visible) --------------------------------------------------- */
  function when(t) {
    var d = new Date(t), today = new Date();
    return d.toDateString() === today.toDateString() ? hhmm(t) : isoDate(d) + " " + hhmm(t);
  }
  function isoDate(d) { return d.getFullYear() + "-" + ("0" + (d.getMonth() + 1)).slice(-2) + "-" + ("0" + d.getDate()).slice(-2); }
  function bar() {
    var pending = S.outbox.filter(function (o) { return o.state === "pending"; });
    var r = pending.filter(function (o) { return o.kind === "response"; }).length;
    var failed = S.outbox.length - pending.length;
    var failing = S.lastTry && !S.lastTry.ok && pending.length > 0;
    var net = document.getElementById("net");
    net.textContent = S.syncing ? T.syncing : !navigator.onLine ? T.offline : failing ? T.upload_failing : T.online;
    net.className = "net " + (!navigator.onLine ? "off" : failing ? "failing" : "on");
    var box = document.getElementById("outbox-count");
    box.dataset.responses = r; box.dataset.visits = pending.length - r; box.dataset.failed = failed;
    var parts = [];
    if (pending.length) parts.push(T.outbox + ":" + fmt(T.n_responses, { n: r }) + " · " + fmt(T.n_visits, { n: pending.length - r }));
    if (failed) parts.push(fmt(T.failed, { n: failed }));
    var text = parts.length ? parts.join(" · ") : T.outbox_empty;
    var facts = [S.lastSync ? fmt(T.last_sync, { t: when(S.lastSync) }) : T.never_synced];
    var retry = nextRetry();
    if (failing && S.lastTry.why) facts.push(S.lastTry.why);
    if (retry && pending.length) facts.push(fmt(T.retry_at, { t: hhmm(Math.max(retry, Date.now())) }));
    box.innerHTML = h("a", { href: "#/outbox", "class": "outbox-link" }, esc(text)) +
      h("span", { "class": "sync-facts", id: "sync-facts" }, esc(facts.join(" · "))) +
      (S.authError ? h("span", { "class": "warn" }, esc(T.need_login)) : "");
    document.getElementById("sync-now").disabled = S.syncing || !pending.length;
  }

  /* --- views -------------------------------------------------------------------------- */
  function listView() {
    if (!S.data) return h("p", { "class": "card muted" }, "…");
    if (!S.data.wave) return h("p", { "class": "card" }, esc(T.no_wave));
    var out = h("h1", {}, esc(T.today) + " " + h("small", { "class": "muted" }, esc(S.data.today))) +
      h("p", { "class": "muted" }, esc(S.data.wave.name));
    S.drafts.forEach(function (d) {
      out += h("a", { "class": "banner", href: "#/q/" + d.uuid }, esc(T.draft_found + ":" + d.household + " — " + T.resume));
    });
    if (!S.data.buildings.length) return out + h("p", { "class": "card" }, esc(T.no_households));
    S.data.buildings.forEach(function (b) {
      var items = b.households.map(function (x) {
        var s = state(x), cls = "todo", label = T.todo;
        if (s.done) { cls = "done"; label = s.pending ? T.done_pending : T.done; }
        else if (s.draft) { cls = "draft"; label = T.in_progress; }
        else if (s.blocked) { cls = "blocked"; label = T.limit_reached + " · " + T.outcomes[s.last]; }
        else if (s.attempts) { cls = "visited"; label = fmt(T.attempts, { n: s.attempts }) + " · " + T.outcomes[s.last]; }
        return h("li", {}, h("a", { "class": "household state-" + cls, href: "#/h/" + x.assignment_id, "data-code": x.household_code },
          h("span", { "class": "code" }, esc(x.household_code)) + h("span", { "class": "state" }, esc(label))));
      });
      out += h("section", { "class": "card" }, h("h2", {}, esc(b.code)) + h("ul", { "class": "households" }, items.join("")));
    });
    return out;
  }

  function householdView(aid) {
    var x = household(aid);
    if (!x) return listView();
    var s = state(x), max = S.data.wave.max_attempts;
    var out = h("a", { href: "#/", "class": "back" }, "‹ " + esc(T.back_to_list)) +
      h("h1", {}, esc(x.building_code + " · " + x.household_code));
    var history = [];
    if (x.attempts) history.push(fmt(T.attempts, { n: x.attempts }) + " · " + (T.outcomes[x.last_outcome] || ""));
    s.visits.forEach(function (o) { history.push(T.outcomes[o.payload.outcome] + " · " + hhmm(o.created) + " · " + T.pending); });
    if (history.length) out += h("section", { "class": "card" }, h("h2", {}, esc(T.history)) + h("ul", { "class": "plain" }, history.map(function (t) { return h("li", {}, esc(t)); }).join("")));
    if (s.done) return out + h("p", { "class": "card done" }, esc(s.pending ? T.done_pending : T.done));
    if (s.draft) return out + h("a", { "class": "button primary big block", href: "#/q/" + s.draft.uuid }, esc(T.resume));
    if (s.blocked) return out + h("p", { "class": "card" }, esc(T.limit_reached));
    out += h("p", { "class": "lead" }, esc(fmt(T.attempt_of, { n: s.attempts + 1, m: max })));
    out += h("h2", {}, esc(T.choose_outcome));
    out += h("div", { "class": "outcomes" },
      h("button", { type: "button", "class": "primary big", "data-start": aid }, esc(T.start)) +
      OUTCOMES.map(function (o) { return h("button", { type: "button", "class": "big", "data-outcome": o, "data-aid": aid }, esc(T.outcomes[o])); }).join(""));
    return out;
  }

  function relevantItems(d) { return units(d); }  /* the screens: see "forms beyond" below */
  function choicesOf(item) {
    if (item.type === "yesno") return [{ code: "yes", label: item.yes_label }, { code: "no", label: item.no_label }];
    return offered(item, S.inst.choices[item.choices] || []);
  }
  function problem(item, answers) {
    var v = answers[item.name];
    if (X.empty(v)) return item.required ? (L(item.required_message) || T.required) : null;
    if (item.type === "number") {
      var n = X.toNumber(v);
      if (n === null) return T.not_number;
      if (item.integer && n !== Math.floor(n)) return T.not_integer;
      if ((item.min != null && n < item.min) || (item.max != null && n > item.max)) {
        return fmt(T.range, { min: item.min == null ? "" : item.min, max: item.max == null ? "" : item.max });
      }
    }
    return constraintOk(item, answers) ? null : (L(item.constraint_message) || T.constraint);
  }

  function questionView(d) {
    var items = relevantItems(d);
    var k = items.map(function (it) { return it.name; }).indexOf(d.at);
    if (k < 0) { k = 0; d.at = items[0].name; }
    var item = items[k], v = prefill(d, item), input = "";
    if (item.type === "single" || item.type === "yesno" || item.type === "multiple") {
      var multi = item.type === "multiple";
      input = h("div", { "class": "answer-choices", role: multi ? "group" : "radiogroup" }, choicesOf(item).map(function (c) {
        var on = multi ? (v || []).indexOf(c.code) >= 0 : v === c.code;
        return h("button", { type: "button", "class": "choice", role: multi ? "checkbox" : "radio", "aria-checked": on ? "true" : "false", "data-code": c.code }, esc(L(c.label)));
      }).join(""));
    } else if (item.type === "number") {
      input = h("input", { id: "answer", type: "text", inputmode: "decimal", value: v == null ? "" : v, autocomplete: "off" });
    } else if (item.type === "text") {
      input = h("textarea", { id: "answer", rows: 5 }, esc(v || ""));
    }
    /* "Review" only where no question can follow: a required question not yet answered may
       still reveal later ones (skip logic), so it says 下一题 until answered. */
    var last = k === items.length - 1 && (item.type === "note" || !item.required || !X.empty(v));
    var number = questionNumber(items, k);
    /* Skip logic decides later questions as answers come in, so progress is the position
       in the whole questionnaire, not "k of n relevant". */
    var pct = (100 * (S.inst.items.indexOf(baseItem(item)) + 1) / S.inst.items.length).toFixed(1);
    return h("div", { "class": "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
        h("span", { style: "width:" + pct + "%" })) +
      h("p", { "class": "muted step" }, esc(d.household + " · " + (number ? fmt(T.question_of, { k: number, p: pct + "%" }) : fmt(T.note_of, { p: pct + "%" })))) +
      h("section", { "class": "question card", "data-item": item.name, "data-type": item.type },
        h("h1", {}, esc(labelOf(item)) + (item.required ? h("span", { "class": "req" }, " *") : "")) +
        (item.hint ? h("p", { "class": "muted" }, esc(labelOf(item, "hint"))) : "") + readOnly(item, input || extraInput(item, v)) +
        h("p", { "class": "error", id: "problem", role: "alert" }, "")) +
      h("div", { "class": "nav-buttons" },
        h("button", { type: "button", "class": "big", id: "prev", disabled: k === 0 ? "disabled" : false }, "‹ " + esc(T.prev)) +
        h("button", { type: "button", "class": "big primary", id: "next" }, esc(last ? T.to_review : T.next) + " ›")) +
      abortPanel();
  }
  /* Questions are numbered as on the review screen: notes (read-out text) get no number. */
  function questionNumber(items, k) {
    if (items[k].type === "note") return 0;
    return items.slice(0, k + 1).filter(function (it) { return it.type !== "note"; }).length;
  }
  function abortPanel() {
    return h("details", { "class": "abort" }, h("summary", {}, esc(T.abort)) + h("p", {}, esc(T.abort_as)) +
      ["refused", "ineligible"].map(function (o) { return h("button", { type: "button", "data-abort": o }, esc(T.outcomes[o])); }).join(" "));
  }

  function display(item, v) {
    if (X.empty(v)) return T.unanswered;
    if (item.type === "single" || item.type === "yesno" || item.type === "multiple") {
      var codes = Array.isArray(v) ? v : [v];
      return choicesOf(item).filter(function (c) { return codes.indexOf(c.code) >= 0; }).map(function (c) { return L(c.label); }).join("、");
    }
    return String(v);
  }
  function reviewView(d) {
    var rows = relevantItems(d).filter(function (it) { return it.type !== "note"; }).map(function (it, i) {
      return h("li", { "data-n": i + 1 }, h("a", { href: "#/q/" + d.uuid, "data-goto": it.name },
        h("span", { "class": "q" }, esc(labelOf(it))) + h("span", { "class": "a" }, esc(display(it, d.answers[it.name])))));
    });
    var back = h("button", { type: "button", "class": "big", "data-goto": d.at }, "‹ " + esc(T.prev));
    var head = h("h1", {}, esc(T.review + " · " + d.household)) + h("ol", { "class": "review card" }, rows.join(""));
    if (ended(d)) {
      /* Screened out or declined before any rated question: not an interview, a visit. */
      return head + h("p", { "class": "card lead", id: "ended" }, esc(T.ended)) +
        h("div", { "class": "outcomes" }, ["refused", "ineligible"].map(function (o) {
          return h("button", { type: "button", "class": "big primary", "data-abort": o, "data-now": "1" }, esc(T.outcomes[o]));
        }).join("")) + h("div", { "class": "nav-buttons" }, back);
    }
    return head + h("p", { "class": "muted" }, esc(T.review_hint)) +
      h("p", { "class": "error", id: "problem", role: "alert" }, "") +
      h("div", { "class": "nav-buttons" }, back +
        h("button", { type: "button", "class": "big primary", id: "submit" }, esc(T.submit))) + abortPanel();
  }
  /* No question that an indicator is coded from was reached (the server refuses those). */
  function ended(d) {
    var vis = seen(d.answers, env(d)).vis;
    return S.inst.indicators.length > 0 && !S.inst.indicators.some(function (ind) {
      return vis.relevant[ind.item] && !X.empty(d.answers[ind.item]);
    });
  }

  function outboxView() {
    var rows = S.outbox.map(function (o) {
      var what = o.kind === "response" ? T.outcomes.completed : T.outcomes[o.payload.outcome] || o.payload.outcome;
      var status = o.state === "failed" ? T.error + ":" + o.error : o.tries ? fmt(T.retry_at, { t: hhmm(o.next) }) : T.pending;
      return h("li", { "class": "outbox-item " + o.state }, h("span", {}, esc(o.household + " · " + what + " · " + status)) +
        (o.state === "failed" ? h("button", { type: "button", "data-discard": o.uuid }, esc(T.discard)) : ""));
    });
    return h("a", { href: "#/", "class": "back" }, "‹ " + esc(T.back_to_list)) + h("h1", {}, esc(T.outbox)) +
      h("section", { "class": "card" }, rows.length ? h("ul", { "class": "plain" }, rows.join("")) : esc(T.outbox_empty));
  }

  /* --- routing and rendering ---------------------------------------------------------- */
  function route() {
    var m = location.hash.match(/^#\/(h|q|r|outbox)\/?([\w-]*)/);
    return m ? { name: m[1], arg: m[2] } : { name: "list" };
  }
  function render() {
    S.busy = false;
    bar();
    var r = route(), d = (r.name === "q" || r.name === "r") && draft(r.arg), html;
    if (d && !S.inst) html = h("p", { "class": "card muted" }, "…");
    else if (d && r.name === "q") { html = questionView(d); locate(); }
    else if (d && r.name === "r") { html = reviewView(d); locate(); }
    else if (r.name === "h") { html = householdView(Number(r.arg)); locate(); }
    else if (r.name === "outbox") html = outboxView();
    else html = listView();
    if (S.message && r.name === "list" && Date.now() < S.message.until) {
      html = h("p", { "class": "flash success", role: "status" }, esc(S.message.text)) + html;
    }
    view.innerHTML = html;
    var showing = d && r.name === "q" ? d.uuid + d.at : null;
    if (showing !== S.showing) { S.showing = showing; S.enter = Date.now(); }
    var here = location.hash + (showing || "");
    if (here !== S.here) { S.here = here; window.scrollTo(0, 0); }  // a new screen starts at its top
    var input = document.getElementById("answer");
    if (input) input.addEventListener("input", onInput);
  }

  function current() { var r = route(); return (r.name === "q" || r.name === "r") && draft(r.arg); }
  function save(d) { d.updated = Date.now(); return db.put("drafts", d); }
  /* Time on the question on screen, added to the draft's timings (ms per item). */
  function clock(d) {
    var now = Date.now();
    if (route().name === "q" && d.at) d.timings[d.at] = (d.timings[d.at] || 0) + (now - S.enter);
    S.enter = now;
  }
  function onInput(e) {
    var d = current(); if (!d) return;
    var v = e.target.value;
    if (d.at && S.inst && baseItem(d.at).type === "number") {
      var n = X.toNumber(v.trim()); v = n === null ? v.trim() : n;
    }
    if (X.empty(v)) delete d.answers[d.at]; else d.answers[d.at] = v;
    save(d);
  }
  function choose(d, code) {
    var item = baseItem(d.at);
    if (item.type === "multiple") {
      var v = (d.answers[d.at] || []).slice(), i = v.indexOf(code);
      if (i >= 0) v.splice(i, 1); else v.push(code);
      if (v.length) d.answers[d.at] = v; else delete d.answers[d.at];
    } else d.answers[d.at] = code;
    clock(d);
    save(d).then(render);
  }
  function step(d, delta) {
    var items = relevantItems(d), names = items.map(function (it) { return it.name; });
    var k = names.indexOf(d.at), item = items[k];
    if (delta > 0) {
      var p = problem(item, d.answers);
      if (p) { document.getElementById("problem").textContent = p; return; }
    }
    clock(d);
    if (delta > 0 && k === items.length - 1) { save(d).then(function () { location.hash = "#/r/" + d.uuid; }); return; }
    d.at = names[Math.max(0, Math.min(items.length - 1, k + delta))];
    save(d).then(render);
  }
  function start(aid) {
    var x = household(aid);
    var d = { uuid: uuid(), assignment_id: aid, household: x.building_code + " · " + x.household_code,
              answers: {}, timings: {}, at: null, started_at: new Date().toISOString(), updated: Date.now() };
    S.drafts.push(d);
    save(d).then(function () { location.hash = "#/q/" + d.uuid; });
  }
  /* Where the tablet is, when the canvasser allows it: asked when a household is opened
     and whenever an interview is on screen (a draft resumed after a reload too), never
     waited for; the fix is kept on the open draft; one older than 10 minutes is not used. */
  function locate() {
    if (!navigator.geolocation || S.locating || (S.position && Date.now() - S.position.at < 120000)) return;
    S.locating = true;
    navigator.geolocation.getCurrentPosition(function (p) {
      S.locating = false;
      S.position = { latitude: +p.coords.latitude.toFixed(5), longitude: +p.coords.longitude.toFixed(5), at: Date.now() };
      var d = current(); if (d) { d.position = S.position; save(d); }
    }, function () { S.locating = false; }, { maximumAge: 300000, timeout: 15000 });
  }
  function position(d) {
    var p = S.position && Date.now() - S.position.at < 600000 ? S.position
      : d && d.position && Date.now() - d.position.at < 600000 ? d.position : null;
    return p ? { latitude: p.latitude, longitude: p.longitude } : {};
  }
  function recordVisit(aid, outcome, draftUuid) {
    var x = household(aid);
    var payload = Object.assign({ uuid: uuid(), assignment_id: aid, outcome: outcome, visited_at: new Date().toISOString() }, position(draft(draftUuid)));
    var item = enqueue("visit", payload, x.building_code + " · " + x.household_code);
    var done = draftUuid ? db.finish(draftUuid, item) : db.put("outbox", item);
    return done.then(load).then(function () {
      S.message = { text: fmt(T.visit_saved, { o: T.outcomes[outcome] }), until: Date.now() + 5000 };
      location.hash = "#/"; render(); sync(false);  // new items are due at once; nothing is tried while the tablet reports no network
    });
  }
  function submit(d) {
    var items = relevantItems(d), answers = {};
    for (var i = 0; i < items.length; i++) {
      var it = items[i], p = it.type === "note" ? null : problem(it, d.answers);
      if (p) { d.at = it.name; location.hash = "#/q/" + d.uuid; render(); document.getElementById("problem").textContent = p; return; }
      if (it.type !== "note" && !X.empty(d.answers[it.name])) answers[it.name] = d.answers[it.name];
    }
    var payload = {
      uuid: d.uuid, assignment_id: d.assignment_id, instrument_key: S.inst.key,
      instrument_version: String(S.inst.version), answers: answers, started_at: d.started_at,
      submitted_at: new Date().toISOString(), timings: d.timings,
      device: (navigator.userAgent + " " + screen.width + "x" + screen.height).slice(0, 255)
    };
    payload.answers = finish(d, answers);
    Object.assign(payload, position(d));
    db.finish(d.uuid, enqueue("response", payload, d.household)).then(load).then(function () {
      S.message = { text: T.saved, until: Date.now() + 5000 }; location.hash = "#/"; render(); sync(false);
    });
  }

  /* --- forms beyond the household form: repeats (a roster), cascading selects, dates,
     geopoints, calculations, metadata, ${name} in labels, defaults, read-only items.
     A draft keeps its answers flat: an answer inside a repeat under "repeat[n].item", the
     number of instances of a repeat without repeat_count under "repeat#"; nest() turns
     them into the server's form (a list of objects per repeat). Rules: expr.js. ------- */
  var PATH = /^([A-Za-z_]\w*)\[(\d+)\]\.([A-Za-z_]\w*)$/;
  function tr(zh, en) { return cfg.lang === "en" ? en : zh; }
  function env(d) { return { today: isoDate(new Date(d.started_at)) }; }
  function baseItem(x) {
    if (x && typeof x === "object") return x._base || (x._group ? groupStart(x._group) : x);
    var m = PATH.exec(x), n = m ? m[3] : x;
    return S.inst.items.filter(function (it) { return it.name === n; })[0] || { name: x, type: "repeat" };
  }
  function groupStart(g) {
    return S.inst.items.filter(function (it) { return it.group === g.name; })[0] || g;
  }
  function nest(flat, counts) {
    var out = {}, reps = {};
    Object.keys(flat).forEach(function (k) {
      var m = PATH.exec(k);
      if (/#$/.test(k)) return;
      if (!m) { out[k] = flat[k]; return; }
      if (counts && +m[2] > (counts[m[1]] || 0)) return;
      var list = reps[m[1]] || (reps[m[1]] = []);
      while (list.length < +m[2]) list.push({});
      list[+m[2] - 1][m[3]] = flat[k];
    });
    Object.keys(counts || {}).forEach(function (r) {
      var list = reps[r] || (reps[r] = []);
      while (list.length < counts[r]) list.push({});
    });
    Object.keys(reps).forEach(function (r) { if (reps[r].length) out[r] = reps[r]; });
    return out;
  }
  /* Instances per repeat: its repeat_count, else as many as the canvasser added (≤ 50). */
  function seen(flat, e) {
    var first = X.visible(S.inst, nest(flat), e), counts = {};
    (S.inst.groups || []).forEach(function (g) {
      if (!g.repeat) return;
      var n = g.repeat_count ? X.toNumber(X.evaluate(g.repeat_count, first.values, e)) : flat[g.name + "#"] || 0;
      counts[g.name] = n !== null && n > 0 ? Math.min(Math.floor(n), 50) : 0;
    });
    return { counts: counts, vis: X.visible(S.inst, nest(flat, counts), e) };
  }
  /* The screens of a draft: relevant asked items in order, each repeat instance's items
     as "repeat[n].item", and after the instances of a repeat without repeat_count a
     screen to add another. Calculations and metadata are never shown. */
  function units(d) {
    var s = seen(d.answers, env(d)), out = [];
    S.seen = s;
    (function walk(steps, prefix, n) {
      steps.forEach(function (st) {
        var g = st.group;
        if (g && g.repeat) {
          if (!s.vis.relevant[g.name]) return;
          for (var k = 1; k <= s.counts[g.name]; k++) walk(st.steps, g.name + "[" + k + "].", k);
          if (!g.repeat_count) out.push({ name: g.name + "#", type: "repeat", label: g.label || { zh: g.name }, _group: g, _n: s.counts[g.name] });
          return;
        }
        if (g) return walk(st.steps, prefix, n);
        var it = st.item, key = prefix + it.name;
        if (!s.vis.relevant[key] || it.type === "calculate" || it.metadata) return;
        out.push(prefix ? Object.assign({}, it, { name: key, _base: it, _n: n }) : it);
      });
    })(X.tree(S.inst), "", 0);
    return out;
  }
  /* A label or hint with ${name} filled in; inside a repeat, "成员 2 · " before it. */
  function labelOf(item, which) {
    var text = item[which || "label"], values = S.seen ? S.seen.vis.values : {}, m = PATH.exec(item.name);
    if (!text) return which ? "" : item.name;
    if (m) values = Object.assign({}, values, (values[m[1]] || [])[+m[2] - 1] || {});
    var out = X.fill(S.inst, L(text), values, L);
    if (m && !which) out = L((S.inst.groups || []).filter(function (g) { return g.name === m[1]; })[0].label || { zh: m[1] }) + " " + m[2] + " · " + out;
    return out;
  }
  function offered(item, list) {  /* a cascading select offers what its choice_filter lets through */
    var codes = item.choice_filter && S.seen && S.seen.vis.offered[item.name];
    return codes ? list.filter(function (c) { return codes.indexOf(c.code) >= 0; }) : list;
  }
  function constraintOk(item, flat) {
    var d = current(), s = seen(flat, d ? env(d) : {});
    return s.vis.ok[item.name] !== false;
  }
  function prefill(d, item) {  /* a default is filled in once, when its question first shows */
    d.filled = d.filled || {};
    if (item.default != null && !d.filled[item.name] && X.empty(d.answers[item.name])) {
      d.answers[item.name] = item.type === "number" && X.toNumber(item.default) !== null ? X.toNumber(item.default) : item.default;
      d.filled[item.name] = true;
      save(d);
    }
    return d.answers[item.name];
  }
  function readOnly(item, input) {
    return item.read_only ? h("fieldset", { disabled: "disabled", "class": "read-only" }, input) : input;
  }
  function extraInput(item, v) {
    var kinds = { date: "date", time: "time", datetime: "datetime-local" };
    if (kinds[item.type]) return h("input", { id: "answer", type: kinds[item.type], value: v || "" });
    if (item.type === "geopoint") {
      return h("p", { "class": "lead", id: "geo-value" }, esc(v || tr("尚未定位", "No position yet"))) +
        h("button", { type: "button", "class": "big", id: "geo" }, esc(tr("获取当前位置", "Capture the position")));
    }
    if (item.type === "repeat") {
      return h("p", { "class": "lead" }, esc(tr("已录入 " + item._n + " 组", item._n + " entered"))) +
        h("button", { type: "button", "class": "big", "data-add": item._group.name }, "+ " + esc(tr("再添加一组", "Add another")));
    }
    return "";
  }
  function capture(d) {
    var p = document.getElementById("problem"), at = d.at;
    if (!navigator.geolocation) { p.textContent = tr("此设备无法定位", "This device cannot locate"); return; }
    p.textContent = tr("正在定位…", "Locating…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var c = pos.coords;
      d.answers[at] = [c.latitude.toFixed(6), c.longitude.toFixed(6), Math.round(c.altitude || 0), Math.round(c.accuracy || 0)].join(" ");
      save(d).then(render);
    }, function () { p.textContent = tr("未能定位，请到开阔处再试", "No position: try again in the open"); },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }
  function addInstance(d, name) {
    var n = (d.answers[name + "#"] || 0) + 1, first;
    d.answers[name + "#"] = n;
    clock(d);
    first = units(d).filter(function (u) { return u.name.indexOf(name + "[" + n + "].") === 0; })[0];
    if (first) d.at = first.name;
    save(d).then(render);
  }
  function deviceId() {
    var id = localStorage.getItem("canvass-device");
    if (!id) { id = uuid(); localStorage.setItem("canvass-device", id); }
    return id;
  }
  /* The server's form of the answers: repeats nested, metadata recorded (calculations are
     left to the server, which computes them again). */
  function finish(d, flat) {
    var s = seen(d.answers, env(d)), out = nest(flat, s.counts);
    Object.keys(s.counts).forEach(function (r) { if (!s.counts[r]) delete out[r]; });
    S.inst.items.forEach(function (it) {
      if (!it.metadata || !s.vis.relevant[it.name]) return;
      out[it.name] = it.metadata === "start" ? d.started_at : it.metadata === "end" ? new Date().toISOString()
        : it.metadata === "today" ? env(d).today : deviceId();
    });
    return out;
  }

  view.addEventListener("click", function (e) {
    var t = e.target.closest("button, a[data-goto]"), d = current();
    if (!t) return;
    /* One tap, one record: a double tap on 不在家 or 提交 must not make two. */
    if (t.dataset.start || t.dataset.outcome || t.dataset.abort || t.id === "submit") {
      if (S.busy) return;
      S.busy = true;
    }
    if (t.dataset.start) return start(Number(t.dataset.start));
    if (t.dataset.outcome) return recordVisit(Number(t.dataset.aid), t.dataset.outcome);
    if (t.dataset.discard) {
      if (window.confirm(T.discard_confirm)) db.del("outbox", t.dataset.discard).then(load).then(render);
      return;
    }
    if (!d) return;
    if (t.dataset.abort) {
      if (t.dataset.now || window.confirm(T.abort_confirm)) recordVisit(d.assignment_id, t.dataset.abort, d.uuid);
      else S.busy = false;
      return;
    }
    if (t.id === "geo") return capture(d);
    if (t.dataset.add) return addInstance(d, t.dataset.add);
    if (t.dataset.code) return choose(d, t.dataset.code);
    if (t.dataset.goto) { e.preventDefault(); clock(d); d.at = t.dataset.goto; save(d).then(function () { location.hash = "#/q/" + d.uuid; render(); }); return; }
    if (t.id === "next") return step(d, 1);
    if (t.id === "prev") return step(d, -1);
    if (t.id === "submit") return submit(d);
  });
  document.getElementById("sync-now").addEventListener("click", function () { sync(true); });
  window.addEventListener("hashchange", render);
  window.addEventListener("online", function () { bar(); sync(true); });
  window.addEventListener("offline", bar);
  document.addEventListener("visibilitychange", function () {
    var d = current();
    if (document.hidden && d) { clock(d); save(d); } else S.enter = Date.now();
  });
  /* Signing out needs the server: the cached app shell and the data are dropped only
     after it has answered, so a failed sign-out (offline) leaves the app working. */
  var logout = document.querySelector('form[action$="/logout"]');
  if (logout) logout.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!navigator.onLine) { notice(T.signout_offline, "error"); return; }
    fetch(logout.action, { method: "POST", body: new FormData(logout), credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      var drop = window.caches ? caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("canvass-") === 0; }).map(function (k) { return caches["delete"](k); }));
      }) : Promise.resolve();
      return drop.then(function () { location.href = r.url; });
    }).catch(function () { notice(T.signout_offline, "error"); });
  });
  /* The language switch reloads the page from the server: keep the screen, and say so
     when there is no network instead of leaving for the browser's error page. */
  Array.prototype.forEach.call(document.querySelectorAll("a.lang"), function (a) {
    a.addEventListener("click", function (e) {
      if (!navigator.onLine) { e.preventDefault(); notice(T.lang_offline, "error"); return; }
      var d = current(); if (d) { clock(d); save(d); }
      try { sessionStorage.setItem("canvass-route", location.hash); } catch (err) { /* private mode */ }
    });
  });
  (function restoreRoute() {
    var back = null;
    try { back = sessionStorage.getItem("canvass-route"); sessionStorage.removeItem("canvass-route"); } catch (err) { /* private mode */ }
    if (back && !location.hash) history.replaceState(null, "", back);
  })();

  if ("serviceWorker" in navigator) navigator.serviceWorker.register(cfg.urls.sw, { scope: cfg.urls.scope }).catch(function () {});
  load().then(function () { render(); return refresh(); }).then(function () {
    render();
    document.documentElement.dataset.ready = "1";
    return sync(false);
  });
})();
