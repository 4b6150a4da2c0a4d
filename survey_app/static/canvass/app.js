/* The canvasser's tablet app: the work list of assigned households, visit outcomes with
   appointments and refusal reasons, the questionnaire and the outbox. Offline-first: every
   answer is written to IndexedDB as it is given, finished interviews and visits wait in
   the outbox until the server accepts them (docs/offline.md).

   Layout of this file: helpers · data · outbox and sync · sync bar · work list ·
   household · questionnaire (screens, one renderer per item type in ITEM_TYPES, the fixed
   bottom bar, auto-advance) · review · outbox and sent list · routing · events · start. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("canvass-config").textContent);
  var T = window.CanvassStrings || cfg.strings, X = window.CanvassExpr, RV = window.CanvassReview;  // review.js: rejected interviews
  /* Preview (the admin's questionnaire preview): the same screens on a made-up household,
     kept in a store of its own and never sent anywhere. */
  var preview = cfg.preview || null;
  var db = new window.CanvassStore(preview ? "canvass-preview-" + cfg.user : "canvass-" + cfg.user);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var view = document.getElementById("view");
  var S = { data: null, insts: {}, outbox: [], drafts: [], syncing: false, lastSync: null,
            lastTry: null, authError: false, timer: null, enter: 0, showing: null, message: null,
            position: null, busy: false, auto: null, filter: { q: "", building: "", state: "", wave: "" } };
  var OUTCOMES = ["not_home", "refused", "vacant", "ineligible"];
  var CLOSING = ["vacant", "ineligible"];
  var BATCH = 100, MAX_BACKOFF = 5 * 60 * 1000, AUTO_MS = 700, TEXT_MAX = 500, NOTE_MAX = 500;

  /* --- helpers ------------------------------------------------------------------------ */
  function fmt(s, p) { return s.replace(/\{(\w+)\}/g, function (_, k) { return p[k]; }); }
  function L(label) {
    var other = label && label.others && label.others[formLang()];  /* a questionnaire language picked on the tablet */
    return label ? other || (cfg.lang === "en" && label.en ? label.en : label.zh) : "";
  }
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
  function pad(n) { return ("0" + n).slice(-2); }
  function hhmm(t) { var d = new Date(t); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function isoDate(d) { d = new Date(d); return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function today() { return isoDate(Date.now()); }
  function when(t) { return isoDate(t) === today() ? hhmm(t) : isoDate(t) + " " + hhmm(t); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), s = "";  // plain-HTTP fallback
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? "-" : "") + (b[i] + 256).toString(16).slice(1);
    return s;
  }
  function counter(id, max, value) {
    return h("span", { "class": "counter", id: id + "-count", "data-max": max }, (value || "").length + " / " + max);
  }

  /* --- data --------------------------------------------------------------------------- */
  /* The assignments JSON holds one open wave ({wave, buildings}) or several
     ({waves: [{wave, buildings}]}): both read as a list of {wave, buildings}. */
  function waveGroups() {
    var d = S.data;
    if (!d) return [];
    if (Array.isArray(d.waves)) {
      return d.waves.map(function (w) { return w.wave ? w : { wave: w, buildings: w.buildings || [] }; });
    }
    return d.wave ? [{ wave: d.wave, buildings: d.buildings || [] }] : [];
  }
  /* Several waves may be open at once (two streets on different questionnaires): each
     household is labelled by its wave, and by the questionnaire when the waves differ. */
  function waveName(w) { return w.label || w.name; }
  function waveLabel(w) {
    var forms = {};
    waveGroups().forEach(function (g) { forms[instKey(g.wave.instrument_key, g.wave.instrument_version)] = 1; });
    if (Object.keys(forms).length < 2) return waveName(w);
    var inst = S.insts[instKey(w.instrument_key, w.instrument_version)];
    return fmt(T.wave_form, { w: waveName(w), q: inst && inst.title ? L(inst.title) : w.instrument_key, v: w.instrument_version });
  }
  function openWave(id) { return waveGroups().filter(function (g) { return g.wave.id === id; })[0]; }
  function households() {
    var out = [];
    waveGroups().forEach(function (g) {
      g.buildings.forEach(function (b) {
        b.households.forEach(function (x) { x.wave = g.wave; out.push(x); });
      });
    });
    return out;
  }
  function household(aid) { return households().filter(function (x) { return x.assignment_id === aid; })[0]; }
  function draftFor(aid) { return S.drafts.filter(function (d) { return d.assignment_id === aid; })[0]; }
  function draft(id) { return S.drafts.filter(function (d) { return d.uuid === id; })[0]; }
  function instKey(key, version) { return "instrument:" + key + ":" + version; }
  /* A draft answers the questionnaire version it started on, whatever the wave moved to. */
  function instOf(d) { return S.insts[instKey(d.instrument_key, d.instrument_version)]; }
  /* The helpers of "forms beyond" read S.inst: the instrument of the draft on screen. */
  function use(d) { S.inst = instOf(d); return S.inst; }

  /* A household's state: what the server knows plus what waits in this device's outbox. */
  function state(x) {
    var mine = S.outbox.filter(function (o) { return o.assignment_id === x.assignment_id && o.state !== "failed"; });
    var visits = mine.filter(function (o) { return o.kind === "visit"; });
    var answered = mine.some(function (o) { return o.kind === "response"; });
    var attempts = x.attempts + visits.length;
    var lastLocal = visits.length ? visits[visits.length - 1].payload : null;
    var last = lastLocal ? lastLocal.outcome : x.last_outcome;
    var refusal = lastLocal ? lastLocal.refusal : x.last_refusal;
    var appointment = lastLocal ? lastLocal.appointment_at || null : x.appointment_at || null;
    var done = x.completed || answered;
    var reopened = !lastLocal && x.reopened;
    var closedBy = done ? null : CLOSING.indexOf(last) >= 0 ? last : last === "refused" && refusal === "hard" ? "hard_refusal" : null;
    if (reopened) closedBy = null;
    var blocked = !done && !closedBy && attempts >= x.wave.max_attempts;
    return {
      attempts: attempts, visits: visits, draft: draftFor(x.assignment_id), last: last, refusal: refusal,
      done: done, pending: answered && !x.completed, closed: closedBy || (blocked ? "limit" : null),
      appointment: done || closedBy || blocked ? null : appointment
    };
  }
  function stateClass(x, s) {
    if (s.done) return "done";
    if (s.draft) return "draft";
    if (s.closed) return "closed";
    if (s.appointment) return "appointment";
    if (s.attempts) return "visited";
    return "todo";
  }
  function stateLabel(x, s) {
    if (s.done) return s.pending ? T.done_pending : T.done;
    if (s.draft) return T.in_progress;
    if (s.closed) return T.closed + " · " + (s.closed === "limit" ? T.limit_reached : s.closed === "hard_refusal" ? T.refusal_hard : T.outcomes[s.closed]);
    var label = s.attempts ? fmt(T.attempts, { n: s.attempts }) + " · " + (T.outcomes[s.last] || "") : T.todo;
    if (s.last === "refused" && s.refusal) label += "(" + T.refusal_soft + ")";
    if (s.appointment) label = fmt(T.appointment_at, { t: when(s.appointment) }) + " · " + label;
    return label;
  }

  /* The device's state, in one IndexedDB transaction (with the last assignments at start). */
  function load(withData) {
    var plan = { outbox: ["outbox", null], drafts: ["drafts", null], lastSync: ["meta", "lastSync"], lastTry: ["meta", "lastTry"] };
    if (withData === true) plan.data = ["meta", "assignments"];
    return db.read(plan).then(function (r) {
      S.outbox = r.outbox.sort(function (a, b) { return a.created - b.created; });
      S.drafts = r.drafts;
      S.lastSync = r.lastSync || null;
      S.lastTry = r.lastTry || null;
      if (r.data && !S.data) S.data = r.data;
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.json(); });
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf }
    });
  }
  function instrumentUrl(key, version) {
    return cfg.urls.instrument.replace("KEY", encodeURIComponent(key)).replace("VERSION", encodeURIComponent(version));
  }
  /* Every questionnaire version in use here: the waves' and the open drafts' own. */
  function loadInstruments() {
    var wanted = {};
    waveGroups().forEach(function (g) { wanted[instKey(g.wave.instrument_key, g.wave.instrument_version)] = [g.wave.instrument_key, g.wave.instrument_version]; });
    S.drafts.forEach(function (d) { if (d.instrument_key) wanted[instKey(d.instrument_key, d.instrument_version)] = [d.instrument_key, d.instrument_version]; });
    return Promise.all(Object.keys(wanted).map(function (k) {
      if (S.insts[k]) return null;
      return db.get("meta", k).then(function (inst) {
        if (inst) { S.insts[k] = inst; return; }
        return getJSON(instrumentUrl(wanted[k][0], wanted[k][1])).then(function (inst) { S.insts[k] = inst; return db.put("meta", inst, k); });
      }).catch(function () {});
    }));
  }
  /* Network first (the service worker falls back to its cache), then this device's copy. */
  function refresh() {
    if (preview) {
      return getJSON(preview.instrument).then(function (inst) {
        var w = preview.data.wave;
        S.insts[instKey(w.instrument_key, w.instrument_version)] = inst;
        S.data = preview.data;
      });
    }
    return getJSON(cfg.urls.assignments).then(function (data) {
      S.data = data;
      return db.put("meta", data, "assignments");
    }).catch(function () {
      return db.get("meta", "assignments").then(function (d) { if (d && !S.data) S.data = d; });
    }).then(loadInstruments).then(RV.refresh);
  }

  /* --- outbox and sync ---------------------------------------------------------------- */
  /* An outbox entry keeps its wave (id and name): the wave may close before it is sent. */
  function enqueue(kind, payload, label) {
    var x = household(payload.assignment_id), w = x ? x.wave : null;
    if (payload.wave_id == null && w) payload.wave_id = w.id;
    return {
      uuid: payload.uuid, kind: kind, payload: payload, assignment_id: payload.assignment_id,
      wave_id: payload.wave_id, wave: w ? waveName(w) : null,
      household: label, state: "pending", tries: 0, next: 0, error: null, created: Date.now()
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
    item.reply = result;
    return db.put("outbox", item);
  }
  /* The last attempt's outcome is kept (and shown): "online" alone says nothing about
     whether uploads get through. */
  function tried(ok, why) {
    S.lastTry = { ok: ok, at: Date.now(), why: why || null };
    if (ok) { S.lastSync = S.lastTry.at; db.put("meta", S.lastSync, "lastSync"); }
    return db.put("meta", S.lastTry, "lastTry");
  }
  function why(status) {
    if (status === 401 || status === 400 || status === 403) return T.why_login;
    if (status >= 500) return fmt(T.why_server, { s: status });
    return T.why_network;
  }
  function sync(manual) {
    if (preview) return Promise.resolve();
    if (S.syncing) return Promise.resolve();
    var now = Date.now();
    var due = S.outbox.filter(function (o) { return o.state === "pending" && (manual || o.next <= now); }).slice(0, BATCH);
    if (!due.length || (!manual && !navigator.onLine)) { schedule(); return Promise.resolve(); }
    var visits = due.filter(function (o) { return o.kind === "visit"; });
    var responses = due.filter(function (o) { return o.kind === "response"; });
    var status = 0, accepted = 0;
    S.syncing = true; bar();
    return postJSON(cfg.urls.sync, {
      visits: visits.map(function (o) { return o.payload; }),
      responses: responses.map(function (o) { return o.payload; })
    }).then(function (r) {
      status = r.redirected ? 401 : r.status;
      S.authError = status === 401 || status === 400;
      if (!r.ok || r.redirected) throw new Error("HTTP " + status);
      return r.json();
    }).then(function (res) {
      accepted = res.visits.concat(res.responses).filter(function (x) { return x.status === 200 || x.status === 201; }).length;
      return tried(true).then(function () {
        return Promise.all(visits.map(function (o, i) { return apply(o, res.visits[i]); })
          .concat(responses.map(function (o, i) { return apply(o, res.responses[i]); })));
      }).then(refresh);
    }).catch(function () {
      return tried(false, why(status)).then(function () { return Promise.all(due.map(backoff)); });
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
    var facts = S.lastSync ? [fmt(T.last_sync, { t: when(S.lastSync) })] : pending.length ? [T.never_synced] : [];
    var retry = nextRetry();
    if (failing && S.lastTry.why) facts.push(S.lastTry.why);
    if (retry && pending.length) facts.push(fmt(T.retry_at, { t: hhmm(Math.max(retry, Date.now())) }));
    box.innerHTML = h("a", { href: "#/outbox", "class": "outbox-link" }, esc(text) + " ›") +
      h("span", { "class": "sync-facts", id: "sync-facts" }, esc(facts.join(" · "))) +
      (S.authError ? h("span", { "class": "warn" }, esc(T.need_login)) : "");
    document.getElementById("sync-now").disabled = S.syncing || !pending.length;
  }

  /* --- the work list ------------------------------------------------------------------- */
  function section(x) {
    var s = state(x);
    if (s.done || s.closed) return "finished";
    if (s.draft) return "due";
    if (s.appointment && isoDate(s.appointment) <= today()) return "due";
    if (x.assigned_on === today()) return "today";
    return "later";
  }
  function matches(x, s) {
    var f = S.filter;
    if (f.q && x.household_code.toLowerCase().indexOf(f.q.toLowerCase()) < 0) return false;
    if (f.wave && String(x.wave.id) !== f.wave) return false;
    if (f.building && x.building_code !== f.building) return false;
    if (f.state === "open") return !s.done && !s.closed;
    if (f.state && f.state !== "open" && stateClass(x, s) !== f.state) return false;
    return true;
  }
  function householdLink(x, labelled) {
    var s = state(x), cls = stateClass(x, s);
    return h("li", {}, h("a", { "class": "household state-" + cls, href: "#/h/" + x.assignment_id, "data-code": x.household_code, "data-building": x.building_code, "data-wave": x.wave.id },
      h("span", { "class": "code" }, esc(x.building_code + " · " + x.household_code)) +
      (labelled ? h("span", { "class": "wave" }, esc(waveLabel(x.wave))) : "") + h("span", { "class": "state" }, esc(stateLabel(x, s)))));
  }
  function workItems() {
    var all = households(), groups = { due: [], today: [], later: [], finished: [] }, labelled = waveGroups().length > 1;
    all.forEach(function (x) { if (matches(x, state(x))) groups[section(x)].push(x); });
    groups.due.sort(function (a, b) { return String(state(a).appointment || "").localeCompare(String(state(b).appointment || "")); });
    var out = "";
    [["due", T.due_today], ["today", T.assigned_today], ["later", T.other_households], ["finished", T.finished]].forEach(function (g) {
      if (!groups[g[0]].length) return;
      out += h("section", { "class": "card work-" + g[0], id: "work-" + g[0] }, h("h2", {}, esc(g[1] + "(" + groups[g[0]].length + ")")) +
        h("ul", { "class": "households" }, groups[g[0]].map(function (x) { return householdLink(x, labelled); }).join("")));
    });
    return out || h("p", { "class": "card muted" }, esc(T.nothing_matches));
  }
  function listView() {
    if (!S.data) return h("p", { "class": "card muted" }, "…");
    var groups = waveGroups();
    if (!groups.length) return h("p", { "class": "card" }, esc(T.no_wave));
    if (S.filter.wave && !openWave(Number(S.filter.wave))) S.filter.wave = "";  // closed since
    var all = households().filter(function (x) { return !S.filter.wave || String(x.wave.id) === S.filter.wave; }), done = 0, closed = 0;
    all.forEach(function (x) { var s = state(x); if (s.done) done++; else if (s.closed) closed++; });
    var communities = {};
    all.forEach(function (x) { if (x.community) communities[x.community] = 1; });
    var out = h("h1", {}, esc(T.today) + " " + h("small", { "class": "muted" }, esc(today()))) +
      h("p", { "class": "muted wave-label", id: "wave-label" }, esc(groups.map(function (g) { return waveLabel(g.wave); }).join(" / ") +
        (Object.keys(communities).length ? " · " + Object.keys(communities).join("、") : "")));
    S.drafts.forEach(function (d) {
      out += h("a", { "class": "banner", href: "#/q/" + d.uuid }, esc(T.draft_found + ":" + d.household + (d.wave && groups.length > 1 ? " · " + d.wave : "") + " — " + T.resume));
    });
    out += RV.banner();
    if (!all.length) return out + h("p", { "class": "card" }, esc(T.no_households));
    out += h("dl", { "class": "counts", id: "counts" },
      h("div", {}, h("dt", {}, esc(T.count_done)) + h("dd", { id: "count-done" }, String(done))) +
      h("div", {}, h("dt", {}, esc(T.count_todo)) + h("dd", { id: "count-todo" }, String(all.length - done - closed))) +
      h("div", {}, h("dt", {}, esc(T.count_closed)) + h("dd", { id: "count-closed" }, String(closed))));
    var buildings = [];
    all.forEach(function (x) { if (buildings.indexOf(x.building_code) < 0) buildings.push(x.building_code); });
    var states = [["", T.filter_all], ["open", T.filter_open], ["appointment", T.filter_appointment], ["draft", T.in_progress], ["done", T.done], ["closed", T.closed]];
    var waveFilter = groups.length < 2 ? "" : h("label", { "class": "wave-filter" }, h("span", {}, esc(T.wave)) + h("select", { id: "filter-wave" },
      h("option", { value: "" }, esc(fmt(T.all_waves, { n: groups.length }))) + groups.map(function (g) {
        var id = String(g.wave.id);
        return h("option", { value: id, selected: S.filter.wave === id ? "selected" : false }, esc(waveLabel(g.wave)));
      }).join("")));
    out += h("div", { "class": "filters" }, waveFilter +
      h("label", { "class": "search" }, h("span", {}, esc(T.search_code)) +
        h("input", { id: "filter-q", type: "search", inputmode: "search", value: S.filter.q, autocomplete: "off", maxlength: 32 })) +
      h("label", {}, h("span", {}, esc(T.building)) + h("select", { id: "filter-building" },
        h("option", { value: "" }, esc(T.filter_all)) + buildings.map(function (b) { return h("option", { value: b, selected: S.filter.building === b ? "selected" : false }, esc(b)); }).join(""))) +
      h("label", {}, h("span", {}, esc(T.state)) + h("select", { id: "filter-state" },
        states.map(function (st) { return h("option", { value: st[0], selected: S.filter.state === st[0] ? "selected" : false }, esc(st[1])); }).join(""))));
    out += h("div", { id: "work" }, workItems());
    out += h("details", { "class": "settings card" }, h("summary", {}, esc(T.settings)) +
      h("label", { "class": "check" }, h("input", { type: "checkbox", id: "grid-setting", checked: gridOn() ? "checked" : false }) + h("span", {}, esc(T.grid_setting))) +
      h("p", {}, h("a", { href: "#/sent", "class": "button" }, esc(T.sent_today))));
    return out;
  }
  function gridOn() { try { return localStorage.getItem("canvass-grid") !== "0"; } catch (e) { return true; } }

  /* --- one household: outcome, refusal reason, appointment, note, history --------------- */
  function historyRows(x, s) {
    var rows = (x.history || []).map(function (v) { return visitRow(v.at, v.outcome, v.refusal, v.note, v.appointment_at, ""); });
    s.visits.forEach(function (o) { var p = o.payload; rows.push(visitRow(p.visited_at, p.outcome, p.refusal, p.note, p.appointment_at, T.pending)); });
    if (!rows.length && x.attempts) rows.push(h("li", {}, esc(fmt(T.attempts, { n: x.attempts }) + " · " + (T.outcomes[x.last_outcome] || ""))));
    return rows;
  }
  function visitRow(at, outcome, refusal, note, appointment, extra) {
    var bits = [when(at), T.outcomes[outcome] || outcome];
    if (refusal) bits.push(refusal === "hard" ? T.refusal_hard : T.refusal_soft);
    if (appointment) bits.push(fmt(T.appointment_at, { t: when(appointment) }));
    if (extra) bits.push(extra);
    return h("li", { "class": "visit" }, esc(bits.join(" · ")) + (note ? h("div", { "class": "muted note" }, esc(note)) : ""));
  }
  function householdView(aid) {
    var x = household(aid);
    if (!x) return listView();
    var s = state(x), max = x.wave.max_attempts;
    var out = h("a", { href: "#/", "class": "back" }, "‹ " + esc(T.back_to_list)) +
      h("h1", {}, esc(x.building_code + " · " + x.household_code)) +
      h("p", { "class": "muted" }, esc([x.community, waveLabel(x.wave)].filter(Boolean).join(" · ")));
    var history = historyRows(x, s);
    if (history.length) out += h("section", { "class": "card" }, h("h2", {}, esc(T.history)) + h("ul", { "class": "plain history" }, history.join("")));
    if (s.done) return out + h("p", { "class": "card done" }, esc(s.pending ? T.done_pending : T.done));
    if (s.draft) return out + h("a", { "class": "button primary big block", href: "#/q/" + s.draft.uuid }, esc(T.resume));
    if (s.closed) {
      out += h("p", { "class": "card closed-note", id: "closed-note" }, esc(stateLabel(x, s)));
      if (s.closed === "limit") return out;
      return out + h("details", { "class": "card reopen" }, h("summary", {}, esc(T.reopen)) +
        h("label", {}, h("span", {}, esc(T.reopen_reason)) + h("textarea", { id: "reopen-reason", rows: 2, maxlength: NOTE_MAX }, "") + counter("reopen-reason", NOTE_MAX)) +
        h("button", { type: "button", "class": "big", id: "reopen", "data-aid": aid }, esc(T.reopen_do)));
    }
    out += h("p", { "class": "lead" }, esc(fmt(T.attempt_of, { n: s.attempts + 1, m: max })));
    if (s.appointment) out += h("p", { "class": "card appointment" }, esc(fmt(T.appointment_at, { t: when(s.appointment) })));
    out += h("div", { "class": "outcomes" },
      h("button", { type: "button", "class": "primary big", "data-start": aid }, esc(T.start)) +
      OUTCOMES.map(function (o) { return h("button", { type: "button", "class": "big", "data-outcome": o, "data-aid": aid }, esc(T.outcomes[o])); }).join(""));
    out += h("div", { "class": "refusal card", id: "refusal", hidden: "hidden" }, h("h2", {}, esc(T.refusal_why)) +
      h("div", { "class": "outcomes" },
        h("button", { type: "button", "class": "big", "data-refusal": "soft", "data-aid": aid }, esc(T.refusal_soft_long)) +
        h("button", { type: "button", "class": "big", "data-refusal": "hard", "data-aid": aid }, esc(T.refusal_hard_long))));
    out += h("details", { "class": "card visit-extra", id: "visit-extra" }, h("summary", {}, esc(T.visit_extra)) +
      h("div", { "class": "appointment-fields" },
        h("label", {}, h("span", {}, esc(T.appointment_date)) + h("input", { type: "date", id: "appointment-date", min: today() })) +
        h("label", {}, h("span", {}, esc(T.appointment_time)) + h("input", { type: "time", id: "appointment-time", step: 900 }))) +
      h("label", {}, h("span", {}, esc(T.visit_note)) + h("textarea", { id: "visit-note", rows: 2, maxlength: NOTE_MAX }, "") + counter("visit-note", NOTE_MAX)));
    return out;
  }
  function visitExtra() {
    var date = (document.getElementById("appointment-date") || {}).value;
    var time = (document.getElementById("appointment-time") || {}).value;
    var note = ((document.getElementById("visit-note") || {}).value || "").trim();
    var extra = {};
    if (note) extra.note = note.slice(0, NOTE_MAX);
    if (date) extra.appointment_at = new Date(date + "T" + (time || "09:00")).toISOString();
    return extra;
  }
  function reopen(aid) {
    var reason = document.getElementById("reopen-reason").value.trim();
    if (!reason) { notice(T.reopen_need_reason, "error"); S.busy = false; return; }
    if (!navigator.onLine) { notice(T.reopen_offline, "error"); S.busy = false; return; }
    postJSON(cfg.urls.reopen.replace("/0/", "/" + aid + "/"), { reason: reason }).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw new Error(body.error || r.status); });
    }).then(refresh).then(function () { notice(T.reopened, "success"); render(); })
      .catch(function (err) { notice(T.reopen_failed + " " + err.message, "error"); S.busy = false; });
  }

  /* --- the questionnaire: screens -------------------------------------------------------- */
  /* The asked items of a draft in order (repeat instances as "repeat[n].item"): units(). */
  function relevantItems(d) { use(d); return units(d); }
  /* The screens of an interview, in order: one item each, except runs of three or more
     single-choice items sharing their choices and relevance, shown as one grid when the
     canvasser keeps that setting on (a note just before such a run is its heading). */
  function screens(d) {
    var items = relevantItems(d), out = [], i = 0, grid = gridOn();
    while (i < items.length) {
      var it = items[i], j = i + 1, fl = fieldList(it);
      if (fl) {  /* a field-list group: its questions on one screen */
        while (j < items.length && fieldList(items[j]) === fl) j++;
        out.push({ kind: "group", items: items.slice(i, j), group: fl });
        i = j;
        continue;
      }
      if (grid && gridable(it)) {
        while (j < items.length && gridable(items[j]) && items[j].choices === it.choices &&
               JSON.stringify(items[j].relevant || null) === JSON.stringify(it.relevant || null)) j++;
      }
      if (grid && j - i >= 3) {
        var intro = out.length && out[out.length - 1].items.length === 1 && out[out.length - 1].items[0].type === "note" ? out.pop().items[0] : null;
        out.push({ kind: "grid", items: items.slice(i, j), intro: intro });
        i = j;
      } else { out.push({ kind: "item", items: [it] }); i += 1; }
    }
    return out;
  }
  /* Plain single-choice items only: a filtered, read-only, defaulted or repeated item
     keeps a screen of its own. */
  function gridable(it) {
    return it.type === "single" && !it.choice_filter && !it.read_only && it.default == null && !it._base;
  }
  function screenIndex(list, name) {
    for (var k = 0; k < list.length; k++) {
      if (list[k].items.some(function (it) { return it.name === name; }) || (list[k].intro && list[k].intro.name === name)) return k;
    }
    return -1;
  }
  function choicesOf(inst, item) {
    if (item.type === "yesno") return [{ code: "yes", label: item.yes_label }, { code: "no", label: item.no_label }];
    return offered(item, inst.choices[item.choices] || []);
  }
  function problem(inst, item, answers) {
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
  /* Questions are numbered as on the review screen: notes (read-out text) get no number. */
  function numbers(d) {
    var n = 0, out = {};
    relevantItems(d).forEach(function (it) { if (it.type !== "note") out[it.name] = ++n; });
    return out;
  }

  /* One renderer per item type: input(inst, item, value) gives the answer's HTML; display
     gives the answer in words for review; auto says a tap answers it (auto-advance). New
     types (groups, repeats, geopoint…) add an entry here. */
  function choiceInput(inst, item, v) {
    var multi = item.type === "multiple";
    return h("div", { "class": "answer-choices " + (multi ? "multi" : "single"), role: multi ? "group" : "radiogroup" }, choicesOf(inst, item).map(function (c) {
      var on = multi ? (v || []).indexOf(c.code) >= 0 : v === c.code;
      return h("button", { type: "button", "class": "choice " + (multi ? "check" : "radio"), role: multi ? "checkbox" : "radio",
                           "aria-checked": on ? "true" : "false", "data-code": c.code, "data-item": item.name }, esc(L(c.label)));
    }).join("")) + (multi ? h("p", { "class": "muted hint" }, esc(T.multi_hint)) : "");
  }
  function choiceDisplay(inst, item, v) {
    var codes = Array.isArray(v) ? v : [v];
    return choicesOf(inst, item).filter(function (c) { return codes.indexOf(c.code) >= 0; }).map(function (c) { return L(c.label); }).join("、");
  }
  var ITEM_TYPES = {
    single: { input: choiceInput, display: choiceDisplay, auto: true },
    yesno: { input: choiceInput, display: choiceDisplay, auto: true },
    multiple: { input: choiceInput, display: choiceDisplay },
    number: {
      input: function (inst, item, v) {
        return h("input", { id: "answer", type: "text", inputmode: "decimal", value: v == null ? "" : v, autocomplete: "off", maxlength: 32, "data-item": item.name });
      }
    },
    text: {
      input: function (inst, item, v) {
        var max = item.max_length || TEXT_MAX;
        return h("textarea", { id: "answer", rows: 4, maxlength: max, "data-item": item.name }, esc(v || "")) + counter("answer", max, v);
      }
    },
    note: { input: function () { return ""; } },
    date: { input: function (inst, item, v) { return extraInput(item, v); } },
    time: { input: function (inst, item, v) { return extraInput(item, v); } },
    datetime: { input: function (inst, item, v) { return extraInput(item, v); } },
    geopoint: { input: function (inst, item, v) { return extraInput(item, v); } },
    repeat: { input: function (inst, item, v) { return extraInput(item, v); } }
  };
  window.CanvassItemTypes = ITEM_TYPES;
  function itemType(item) { return ITEM_TYPES[item.type] || { input: function (inst, it, v) { return extraInput(it, v); } }; }
  function display(inst, item, v) {
    if (X.empty(v)) return T.unanswered;
    var t = itemType(item);
    return t.display ? t.display(inst, item, v) : String(v);
  }

  function gridInput(inst, scr, d) {
    var choices = choicesOf(inst, scr.items[0]), nums = numbers(d);
    var head = h("tr", {}, h("th", {}, "") + choices.map(function (c) { return h("th", { scope: "col" }, esc(L(c.label))); }).join(""));
    var rows = scr.items.map(function (it) {
      var v = d.answers[it.name];
      return h("tr", { "data-row": it.name, "class": X.empty(v) ? "" : "answered" }, h("th", { scope: "row" }, esc(nums[it.name] + ". " + labelOf(it)) + (it.required ? h("span", { "class": "req" }, " *") : "")) +
        choices.map(function (c) {
          return h("td", {}, h("button", { type: "button", "class": "choice radio cell", role: "radio", "aria-checked": v === c.code ? "true" : "false",
            "aria-label": labelOf(it) + ":" + L(c.label), "data-code": c.code, "data-item": it.name }, h("span", { "class": "sr" }, esc(L(c.label)))));
        }).join(""));
    });
    return h("table", { "class": "grid", role: "grid" }, h("thead", {}, head) + h("tbody", {}, rows.join("")));
  }

  function questionView(d) {
    var inst = use(d), list = screens(d), k = screenIndex(list, d.at);
    if (k < 0) { k = 0; d.at = list[0].items[0].name; }
    var scr = list[k], item = scr.items[0], nums = numbers(d);
    var pct = (100 * (inst.items.indexOf(baseItem(scr.items[scr.items.length - 1])) + 1) / inst.items.length).toFixed(1);
    var step;
    if (scr.kind === "grid") step = fmt(T.questions_of, { k: nums[item.name], m: nums[scr.items[scr.items.length - 1].name], p: pct + "%" });
    else step = nums[item.name] ? fmt(T.question_of, { k: nums[item.name], p: pct + "%" }) : fmt(T.note_of, { p: pct + "%" });
    var body;
    if (scr.kind === "grid") {
      body = (scr.intro ? h("p", { "class": "lead" }, esc(L(scr.intro.label))) : "") + gridInput(inst, scr, d);
    } else if (scr.kind === "group") {
      body = groupInput(inst, scr, d);
    } else {
      body = h("h1", {}, esc(labelOf(item)) + (item.required ? h("span", { "class": "req" }, " *") : "")) +
        (item.hint ? h("p", { "class": "muted" }, esc(labelOf(item, "hint"))) : "") + RV.comment(d, item.name) + readOnly(item, itemType(item).input(inst, item, prefill(d, item)));
    }
    return h("div", { "class": "progress", role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
        h("span", { "data-width": pct })) +
      h("p", { "class": "muted step" }, esc(d.household + " · " + step)) +
      h("section", { "class": "question card", "data-item": item.name, "data-type": scr.kind !== "item" ? scr.kind : item.type },
        body + h("p", { "class": "error", id: "problem", role: "alert" }, "")) +
      abortPanel() + langPicker(inst) + bottomBar(d, list, k);
  }
  /* The fixed bottom bar: 上一题 and the way on, at the same place on every screen. */
  function bottomBar(d, list, k) {
    var scr = list[k];
    /* "Review" only where no question can follow: a required question not yet answered may
       still reveal later ones (skip logic), so it says 下一题 until answered. */
    var open = scr.items.some(function (it) { return it.type !== "note" && it.required && X.empty(d.answers[it.name]); });
    var last = k === list.length - 1 && !open;
    var label = d.fromReview ? T.back_to_review : last ? T.to_review : T.next;
    var pause = S.auto && S.auto.uuid === d.uuid ?
      h("div", { "class": "auto", id: "auto", role: "status" }, h("span", { "class": "auto-bar", "data-ms": AUTO_MS }) +
        h("span", {}, esc(T.auto_next)) + h("button", { type: "button", id: "undo", "class": "undo" }, esc(T.undo))) : "";
    return h("nav", { "class": "bottom-bar", id: "bottom-bar" }, pause + h("div", { "class": "nav-buttons" },
      h("button", { type: "button", "class": "big", id: "prev", disabled: k === 0 ? "disabled" : false }, "‹ " + esc(T.prev)) +
      h("button", { type: "button", "class": "big primary", id: "next" }, esc(label) + " ›")));
  }
  function abortPanel() {
    return h("details", { "class": "abort" }, h("summary", {}, esc(T.abort)) + h("p", {}, esc(T.abort_as)) +
      ["refused", "ineligible"].map(function (o) { return h("button", { type: "button", "data-abort": o }, esc(T.outcomes[o])); }).join(" "));
  }

  /* --- review ------------------------------------------------------------------------- */
  function reviewView(d) {
    var inst = use(d), nums = numbers(d);
    var rows = relevantItems(d).filter(function (it) { return it.type !== "note"; }).map(function (it) {
      return h("li", { "data-n": nums[it.name] }, h("a", { href: "#/q/" + d.uuid, "data-goto": it.name },
        h("span", { "class": "q" }, esc(nums[it.name] + ". " + labelOf(it))) + h("span", { "class": "a" }, esc(display(inst, it, d.answers[it.name])))));
    });
    var back = h("button", { type: "button", "class": "big", "data-goto": d.at }, "‹ " + esc(T.prev));
    var head = h("h1", {}, esc(T.review + " · " + d.household));
    var list = h("ol", { "class": "review card" }, rows.join(""));
    if (ended(d)) {
      /* Screened out or declined before any rated question: not an interview, a visit. */
      return head + h("p", { "class": "card lead", id: "ended" }, esc(T.ended)) +
        h("div", { "class": "outcomes" }, ["refused", "ineligible"].map(function (o) {
          return h("button", { type: "button", "class": "big primary", "data-abort": o, "data-now": "1" }, esc(T.outcomes[o]));
        }).join("")) + list + h("nav", { "class": "bottom-bar" }, h("div", { "class": "nav-buttons" }, back));
    }
    return head + h("p", { "class": "muted" }, esc(T.review_hint)) + list +
      h("p", { "class": "error", id: "problem", role: "alert" }, "") + abortPanel() +
      h("nav", { "class": "bottom-bar", id: "bottom-bar" }, h("div", { "class": "nav-buttons" }, back +
        h("button", { type: "button", "class": "big primary", id: "submit" }, esc(T.submit))));
  }
  /* No question that an indicator is coded from was reached (the server refuses those). */
  function ended(d) {
    var inst = use(d), vis = seen(d.answers, env(d)).vis;
    return inst.indicators.length > 0 && !inst.indicators.some(function (ind) {
      return vis.relevant[ind.item] && !X.empty(d.answers[ind.item]);
    });
  }

  /* --- outbox (correctable until sent) and today's sent list ------------------------------ */
  /* A server refusal in the reader's language, with the question's label and what to do. */
  function refusalText(o) {
    var r = o.reply || {}, inst = S.insts[instKey(o.payload.instrument_key, o.payload.instrument_version)];
    var label = function (name) {
      var it = inst && inst.items.filter(function (i) { return i.name === name; })[0];
      return it ? "“" + L(it.label) + "”" : name;
    };
    if (r.status === 403) return T.err_not_yours;
    if (r.reason && T.errors[r.reason]) return T.errors[r.reason];
    if (r.held) return cfg.lang === "en" ? T.errors.held : o.error || T.errors.held;  /* kept for an analyst */
    if (r.item === "instrument_version") return T.errors.version;
    if (r.errors && r.errors.length && o.kind === "response") {
      return r.errors.map(function (e) {
        return fmt(T.err_item, { q: label(e.item), m: cfg.lang === "en" && e.message_en ? e.message_en : e.message });
      }).join(";") + " " + T.err_fix;
    }
    if (r.item === "outcome") return T.err_outcome + ":" + o.payload.outcome;
    return (cfg.lang === "en" ? T.err_generic : (o.error || T.err_generic)) + " " + (o.kind === "response" ? T.err_fix : T.err_delete);
  }
  function outboxView() {
    var several = waveGroups().length > 1, rows = S.outbox.map(function (o) {
      var what = o.kind === "response" ? T.outcomes.completed : T.outcomes[o.payload.outcome] || o.payload.outcome;
      var status = o.state === "failed" ? T.error + ":" + refusalText(o) : o.tries ? fmt(T.retry_at, { t: hhmm(o.next) }) : T.pending;
      var ended = (o.reply || {}).reason === "wave_closed";  /* nothing to correct: the wave is over */
      var edit = o.kind === "response" && !S.syncing && !ended ? h("button", { type: "button", "data-edit": o.uuid }, esc(T.edit)) : "";
      var wave = o.wave && (several || !openWave(o.wave_id)) ? " · " + o.wave : "";
      return h("li", { "class": "outbox-item " + o.state, "data-uuid": o.uuid, "data-wave": o.wave_id }, h("span", {}, esc(o.household + wave + " · " + what + " · " + status)) +
        h("span", { "class": "actions" }, edit + (o.state === "failed" ? h("button", { type: "button", "data-discard": o.uuid }, esc(T.discard)) : "")));
    });
    return h("a", { href: "#/", "class": "back" }, "‹ " + esc(T.back_to_list)) + h("h1", {}, esc(T.outbox)) +
      h("section", { "class": "card" }, rows.length ? h("ul", { "class": "plain" }, rows.join("")) : esc(T.outbox_empty)) +
      h("p", {}, h("a", { href: "#/sent", "class": "button" }, esc(T.sent_today)));
  }
  /* What the server holds from today (as of the last download): read-only. */
  function sentView() {
    var rows = [];
    households().forEach(function (x) {
      (x.history || []).forEach(function (v) {
        if (v.at && isoDate(v.at) === today() && v.mine !== false) rows.push({ at: v.at, x: x, v: v });
      });
    });
    rows.sort(function (a, b) { return String(b.at).localeCompare(String(a.at)); });
    var items = rows.map(function (r) {
      return h("li", { "class": "sent-item" }, esc(hhmm(r.at) + " · " + r.x.building_code + " · " + r.x.household_code + " · " + (T.outcomes[r.v.outcome] || r.v.outcome)));
    });
    return h("a", { href: "#/", "class": "back" }, "‹ " + esc(T.back_to_list)) + h("h1", {}, esc(T.sent_today)) +
      h("p", { "class": "muted" }, esc(T.sent_hint + (S.lastSync ? " " + fmt(T.last_sync, { t: when(S.lastSync) }) : ""))) +
      h("section", { "class": "card" }, items.length ? h("ul", { "class": "plain", id: "sent" }, items.join("")) : esc(T.sent_none));
  }

  /* --- routing and rendering ---------------------------------------------------------- */
  function route() {
    var m = location.hash.match(/^#\/(h|q|r|outbox|sent|fix)\/?([\w-]*)/);
    return m ? { name: m[1], arg: m[2] } : { name: "list" };
  }
  function render() {
    S.busy = false;
    bar();
    var r = route(), d = (r.name === "q" || r.name === "r") && draft(r.arg), html;
    if (d && !instOf(d)) html = h("p", { "class": "card muted" }, "…");
    else if (d && r.name === "q") { html = questionView(d); locate(); }
    else if (d && r.name === "r") { html = reviewView(d); locate(); }
    else if (r.name === "h") { html = householdView(Number(r.arg)); locate(); }
    else if (r.name === "outbox") html = outboxView();
    else if (r.name === "sent") html = sentView();
    else if (r.name === "fix") html = RV.view(r.arg);
    else html = listView();
    S.drawn = !d || !!instOf(d);
    if (S.message && r.name === "list" && Date.now() < S.message.until) {
      html = h("p", { "class": "flash success", role: "status" }, esc(S.message.text)) + html;
    }
    view.innerHTML = html;
    /* Sizes set through the DOM, not style attributes: a CSP without 'unsafe-inline' allows it. */
    Array.prototype.forEach.call(view.querySelectorAll("[data-width]"), function (el) { el.style.width = el.dataset.width + "%"; });
    Array.prototype.forEach.call(view.querySelectorAll("[data-ms]"), function (el) { el.style.animationDuration = el.dataset.ms + "ms"; });
    /* The first usable screen after a (re)load, for benchmarks/tablet_bench.py. */
    if (!S.marked && S.drawn && (S.data || d) && window.performance && performance.mark) { S.marked = true; performance.mark("canvass-first-screen"); }
    document.body.classList.toggle("has-bottom-bar", !!document.getElementById("bottom-bar") || !!view.querySelector(".bottom-bar"));
    var showing = d && r.name === "q" ? d.uuid + d.at : null;
    if (showing !== S.showing) { S.showing = showing; S.enter = Date.now(); }
    var here = location.hash + (showing || "");
    if (here !== S.here) { S.here = here; window.scrollTo(0, 0); }  // a new screen starts at its top
  }
  function renderWork() {
    var work = document.getElementById("work");
    if (work) work.innerHTML = workItems();
  }

  function current() { var r = route(); return (r.name === "q" || r.name === "r") && draft(r.arg); }
  function save(d) { d.updated = Date.now(); return db.put("drafts", d); }
  /* Time on the screen, added to the draft's timings (ms per item; a grid's time is
     shared by its rows). */
  function clock(d) {
    var now = Date.now();
    if (route().name === "q" && d.at) {
      var list = screens(d), k = screenIndex(list, d.at), items = k >= 0 ? list[k].items : [];
      items.forEach(function (it) { d.timings[it.name] = (d.timings[it.name] || 0) + Math.round((now - S.enter) / items.length); });
    }
    S.enter = now;
  }
  function itemOf(d, name) { use(d); return baseItem(name); }
  function onInput(e) {
    var t = e.target;
    var c = document.getElementById(t.id + "-count");
    if (c) c.textContent = t.value.length + " / " + c.dataset.max;
    if (t.id === "filter-q") { S.filter.q = t.value.trim(); renderWork(); return; }
    if (t.id !== "answer") return;
    var d = current(); if (!d) return;
    var name = t.dataset.item || d.at, item = itemOf(d, name), v = t.value;
    if (item.type === "number") { var n = X.toNumber(v.trim()); v = n === null ? v.trim() : n; }
    if (X.empty(v)) delete d.answers[name]; else d.answers[name] = v;
    save(d);
  }
  function onChange(e) {
    var t = e.target;
    if (t.id === "filter-wave") { S.filter.wave = t.value; S.filter.building = ""; render(); }
    else if (t.id === "filter-building") { S.filter.building = t.value; renderWork(); }
    else if (t.id === "filter-state") { S.filter.state = t.value; renderWork(); }
    else if (t.id === "form-lang") { try { localStorage.setItem("canvass-form-lang", t.value); } catch (err) { /* private mode */ } render(); }
    else if (t.id === "grid-setting") { try { localStorage.setItem("canvass-grid", t.checked ? "1" : "0"); } catch (err) { /* private mode */ } }
  }

  /* --- answering, auto-advance with undo ---------------------------------------------- */
  function cancelAuto() { if (S.auto) { clearTimeout(S.auto.timer); S.auto = null; } }
  function choose(d, name, code) {
    var item = itemOf(d, name), before = d.answers[name];
    if (item.type === "multiple") {
      var v = (before || []).slice(), i = v.indexOf(code);
      if (i >= 0) v.splice(i, 1); else v.push(code);
      if (v.length) d.answers[name] = v; else delete d.answers[name];
    } else d.answers[name] = code;
    var list = screens(d), scr = list[screenIndex(list, d.at)];
    var auto = itemType(item).auto && scr && scr.items.every(function (it) { return !X.empty(d.answers[it.name]); });
    var undo = S.auto && S.auto.uuid === d.uuid && S.auto.at === d.at ? S.auto.undo : { name: name, value: before };
    cancelAuto();
    if (auto && (scr.kind !== "grid" || X.empty(before))) {
      S.auto = { uuid: d.uuid, at: d.at, undo: undo, timer: setTimeout(function () { S.auto = null; if (current() === d) step(d, 1); }, AUTO_MS) };
    }
    save(d).then(render);
  }
  function undo(d) {
    var u = S.auto && S.auto.undo;
    cancelAuto();
    if (!u) return;
    if (u.value === undefined) delete d.answers[u.name]; else d.answers[u.name] = u.value;
    save(d).then(render);
  }
  function step(d, delta) {
    cancelAuto();
    var inst = use(d), list = screens(d), k = screenIndex(list, d.at);
    if (k < 0) k = 0;
    if (delta > 0) {
      var bad = list[k].items.filter(function (it) { return it.type !== "note" && problem(inst, it, d.answers); })[0];
      if (bad) {
        document.getElementById("problem").textContent = (list[k].kind !== "item" ? labelOf(bad) + "：" : "") + problem(inst, bad, d.answers);
        return;
      }
    }
    clock(d);
    if (delta > 0 && d.fromReview) {
      /* Editing from review: back to review, unless the change opened questions to answer. */
      var open = relevantItems(d).filter(function (it) { return it.type !== "note" && problem(inst, it, d.answers); })[0];
      if (!open) { d.fromReview = false; save(d).then(function () { location.hash = "#/r/" + d.uuid; }); return; }
      d.at = open.name;
      return save(d).then(render);
    }
    if (delta > 0 && k === list.length - 1) { save(d).then(function () { location.hash = "#/r/" + d.uuid; }); return; }
    d.at = list[Math.max(0, Math.min(list.length - 1, k + delta))].items[0].name;
    save(d).then(render);
  }
  function start(aid) {
    var x = household(aid), w = x.wave;
    var d = { uuid: uuid(), assignment_id: aid, household: x.building_code + " · " + x.household_code,
              wave_id: w.id, wave: waveName(w), instrument_key: w.instrument_key, instrument_version: String(w.instrument_version),
              answers: {}, timings: {}, at: null, started_at: new Date().toISOString(), updated: Date.now() };
    if (!instOf(d)) { notice(T.no_instrument, "error"); S.busy = false; return; }
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
  function recordVisit(aid, outcome, draftUuid, extra) {
    var x = household(aid), d = draft(draftUuid);  /* a draft's household may have left the list (its wave closed) */
    var payload = Object.assign({ uuid: uuid(), assignment_id: aid, wave_id: x ? x.wave.id : d && d.wave_id, outcome: outcome, visited_at: new Date().toISOString() }, extra || {}, position(d));
    var item = enqueue("visit", payload, x ? x.building_code + " · " + x.household_code : d.household);
    if (!item.wave && d) item.wave = d.wave;
    var done = draftUuid ? db.finish(draftUuid, item) : db.put("outbox", item);
    return done.then(load).then(function () {
      S.message = { text: fmt(T.visit_saved, { o: T.outcomes[outcome] }), until: Date.now() + 5000 };
      location.hash = "#/"; render(); sync(false);  // new items are due at once; nothing is tried while the tablet reports no network
    });
  }
  function submit(d) {
    var inst = use(d), items = relevantItems(d), answers = {};
    for (var i = 0; i < items.length; i++) {
      var it = items[i], p = it.type === "note" ? null : problem(inst, it, d.answers);
      if (p) { d.at = it.name; location.hash = "#/q/" + d.uuid; render(); document.getElementById("problem").textContent = p; return; }
      if (it.type !== "note" && !X.empty(d.answers[it.name])) answers[it.name] = d.answers[it.name];
    }
    var payload = {
      uuid: d.uuid, assignment_id: d.assignment_id, wave_id: d.wave_id, instrument_key: inst.key,
      instrument_version: String(inst.version), answers: answers, started_at: d.started_at,
      submitted_at: new Date().toISOString(), timings: d.timings,
      device: (navigator.userAgent + " " + screen.width + "x" + screen.height).slice(0, 255)
    };
    payload.answers = finish(d, answers);
    Object.assign(payload, position(d));
    RV.stamp(d, payload);
    var item = enqueue("response", payload, d.household);
    if (!item.wave) item.wave = d.wave;
    db.finish(d.uuid, item).then(load).then(function () {
      S.message = { text: T.saved, until: Date.now() + 5000 }; location.hash = "#/"; render(); sync(false);
    });
  }
  /* A finished interview still waiting in the outbox goes back to review to be corrected
     (same UUID: the server has not got it, and if it had, it would say so — 409). */
  function edit(id) {
    var o = S.outbox.filter(function (x) { return x.uuid === id; })[0];
    if (!o || o.kind !== "response" || S.syncing) return;
    var p = o.payload, at = p.latitude != null ? { latitude: p.latitude, longitude: p.longitude, at: Date.now() } : null;
    var d = { uuid: p.uuid, assignment_id: p.assignment_id, household: o.household, wave_id: p.wave_id, wave: o.wave, instrument_key: p.instrument_key,
              instrument_version: p.instrument_version, answers: JSON.parse(JSON.stringify(p.answers)), timings: p.timings || {},
              at: Object.keys(p.answers)[0] || null, started_at: p.started_at, updated: Date.now(), position: at, corrected: true };
    db.unfinish(o.uuid, d).then(load).then(function () { location.hash = "#/r/" + d.uuid; });
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
  /* The field-list group an item is shown in ("repeat[n].group" inside a repeat), or null. */
  function fieldList(it) {
    var base = it._base || it, m = PATH.exec(it.name), g = base.group;
    while (g) {
      var group = (S.inst.groups || []).filter(function (x) { return x.name === g; })[0];
      if (!group || group.repeat) return null;
      if (group.field_list) return (m ? m[1] + "[" + m[2] + "]." : "") + group.name;
      g = group.parent;
    }
    return null;
  }
  function groupInput(inst, scr, d) {
    var g = (inst.groups || []).filter(function (x) { return scr.group.split(".").pop() === x.name; })[0] || {};
    return (g.label ? h("h1", {}, esc(L(g.label))) : "") + scr.items.map(function (it) {
      return h("div", { "class": "member", "data-member": it.name, "data-type": it.type },
        h("h2", {}, esc(labelOf(it)) + (it.required ? h("span", { "class": "req" }, " *") : "")) +
        (it.hint ? h("p", { "class": "muted" }, esc(labelOf(it, "hint"))) : "") +
        readOnly(it, itemType(it).input(inst, it, prefill(d, it))));
    }).join("");
  }
  /* Questionnaire languages beyond zh/en (kept from XLSForm label columns): one can be
     picked for reading the questions out; zh/en follow the interface language. */
  function formLang() { try { return localStorage.getItem("canvass-form-lang") || ""; } catch (e) { return ""; } }
  function langPicker(inst) {
    var langs = {};
    inst.items.map(function (it) { return it.label; }).concat([inst.title]).forEach(function (l) {
      Object.keys((l && l.others) || {}).forEach(function (k) { langs[k] = true; });
    });
    var codes = Object.keys(langs);
    if (!codes.length) return "";
    return h("p", { "class": "form-lang muted" }, h("label", { "for": "form-lang" }, esc(tr("问卷语言 ", "Questionnaire language "))) +
      h("select", { id: "form-lang" }, h("option", { value: "" }, esc(tr("中文 / English(随界面)", "Chinese / English (as the interface)"))) +
        codes.map(function (c) { return h("option", { value: c, selected: formLang() === c ? "selected" : false }, esc(c)); }).join("")));
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
  /* seen() runs the skip logic over the whole draft, twice: remembered for the last
     answers it was asked about (a screen asks several times; a low-end tablet feels it). */
  var seenLast = null;
  function seen(flat, e) {
    var key = JSON.stringify(flat) + "|" + (e && e.today);
    if (seenLast && seenLast.inst === S.inst && seenLast.key === key) return seenLast.value;
    var value = seenNow(flat, e);
    seenLast = { inst: S.inst, key: key, value: value };
    return value;
  }
  function seenNow(flat, e) {
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
    if (!t || RV.click(t)) return;
    /* One tap, one record: a double tap on 不在家 or 提交 must not make two. */
    if (t.dataset.start || t.dataset.outcome || t.dataset.refusal || t.dataset.abort || t.id === "submit" || t.id === "reopen") {
      if (S.busy) return;
      S.busy = true;
    }
    if (t.dataset.start) return start(Number(t.dataset.start));
    if (t.dataset.outcome === "refused") {
      S.busy = false;
      var box = document.getElementById("refusal"); box.hidden = false; box.scrollIntoView({ block: "center" });
      return;
    }
    if (t.dataset.outcome) return recordVisit(Number(t.dataset.aid), t.dataset.outcome, null, visitExtra());
    if (t.dataset.refusal) {
      var extra = visitExtra(); extra.refusal = t.dataset.refusal;
      if (t.dataset.refusal === "hard") delete extra.appointment_at;  // not to be visited again
      return recordVisit(Number(t.dataset.aid), "refused", null, extra);
    }
    if (t.id === "reopen") return reopen(Number(t.dataset.aid));
    if (t.dataset.discard) {
      if (window.confirm(T.discard_confirm)) db.del("outbox", t.dataset.discard).then(load).then(render);
      return;
    }
    if (t.dataset.edit) return edit(t.dataset.edit);
    if (!d) return;
    if (t.dataset.abort) {
      if (t.dataset.now || window.confirm(T.abort_confirm)) recordVisit(d.assignment_id, t.dataset.abort, d.uuid);
      else S.busy = false;
      return;
    }
    use(d);
    if (t.id === "undo") return undo(d);
    if (t.id === "geo") return capture(d);
    if (t.dataset.add) return addInstance(d, t.dataset.add);
    if (t.dataset.code) return choose(d, t.dataset.item, t.dataset.code);
    if (t.dataset.goto) {
      e.preventDefault(); clock(d);
      d.fromReview = route().name === "r" && !t.classList.contains("big");
      d.at = t.dataset.goto;
      save(d).then(function () { location.hash = "#/q/" + d.uuid; render(); });
      return;
    }
    if (t.id === "next") return step(d, 1);
    if (t.id === "prev") return step(d, -1);
    if (t.id === "submit") return submit(d);
  });
  view.addEventListener("input", onInput);
  view.addEventListener("change", onChange);
  document.getElementById("sync-now").addEventListener("click", function () { sync(true); });
  window.addEventListener("hashchange", function () { cancelAuto(); render(); });
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

  /* Every preview starts from an untouched household. */
  function clearPreview() {
    return load().then(function () {
      return Promise.all(S.outbox.map(function (o) { return db.del("outbox", o.uuid); })
        .concat(S.drafts.map(function (d) { return db.del("drafts", d.uuid); })));
    });
  }
  RV.init({ db: db, load: load, render: render, sync: sync, uuid: uuid, enqueue: enqueue, L: L, instOf: instOf, preview: !!preview,
            outbox: function () { return S.outbox; }, drafts: function () { return S.drafts; } });
  if (!preview && "serviceWorker" in navigator) navigator.serviceWorker.register(cfg.urls.sw, { scope: cfg.urls.scope }).catch(function () {});
  document.body.classList.add("canvass-page");
  (preview ? clearPreview().then(load).then(refresh) : load(true).then(loadInstruments)).then(function () { render(); return refresh(); }).then(function () {
    if (!current() || !S.drawn) render(); else bar();
    document.documentElement.dataset.ready = "1";
    return sync(false);
  });
})();
