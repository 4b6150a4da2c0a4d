/* Skip logic in the browser: an interpreter of the expression AST of docs/instruments.md
   ("Evaluation rules") and the one pass over a questionnaire's items, groups and repeats.
   It must agree with instruments/expr.py, values.py and runner.py;
   tests/instruments/test_js_agreement.py runs both on the same cases (in Node). */
(function (root) {
  "use strict";
  var NUM = /^-?[0-9]+(\.[0-9]+)?$/;
  var DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
  var DATETIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$/;
  var MDAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  var has = Object.prototype.hasOwnProperty;
  var patterns = {};

  function toNumber(v) {
    if (typeof v === "number") return v;
    return typeof v === "string" && NUM.test(v) ? Number(v) : null;
  }
  /* Days since 1970-01-01 (Howard Hinnant's days_from_civil, as values.days). */
  function days(y, m, d) {
    var leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (m < 1 || m > 12 || d < 1 || d > (m === 2 && leap ? 29 : MDAYS[m - 1])) return null;
    if (m <= 2) y -= 1;
    var era = Math.floor((y >= 0 ? y : y - 399) / 400), yoe = y - era * 400;
    var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
  }
  /* A number, or a date (days) or date-time (days + fraction): for order and arithmetic. */
  function orderNumber(v) {
    var n = toNumber(v), m;
    if (n !== null || typeof v !== "string") return n;
    if ((m = DATE.exec(v))) return days(+m[1], +m[2], +m[3]);
    if ((m = DATETIME.exec(v))) {
      var d = days(+m[1], +m[2], +m[3]), h = +m[4], mi = +m[5], s = +(m[6] || 0);
      if (d === null || h > 23 || mi > 59 || s > 59) return null;
      return d + (h * 3600 + mi * 60 + s) / 86400;
    }
    return null;
  }
  function equal(a, b) {
    if (a === "" || b === "") return a === "" && b === "";
    if (typeof a === "string" && typeof b === "string") return a === b;
    var x = toNumber(a), y = toNumber(b);
    return x !== null && y !== null && x === y;
  }
  function order(op, a, b) {
    var x = orderNumber(a), y = orderNumber(b);
    if (x === null || y === null) return false;
    return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
  }
  function arith(op, a, b) {
    var x = orderNumber(a), y = orderNumber(b);
    if (x === null || y === null) return "";
    if (op === "+") return x + y;
    if (op === "-") return x - y;
    if (op === "*") return x * y;
    if (y === 0) return "";
    return op === "div" ? x / y : x % y;
  }
  function text(v) {
    if (typeof v === "string") return v;
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return String(v);
    if (Array.isArray(v)) return v.map(text).join(" ");
    return "";
  }
  function count(v) { return Array.isArray(v) ? v.length : (v === "" ? 0 : 1); }
  function selectedAt(v, i) {
    var n = toNumber(i);
    if (n === null || n !== Math.floor(n) || n < 0) return "";
    var parts = Array.isArray(v) ? v : text(v).split(" ").filter(function (p) { return p; });
    return n < parts.length ? parts[n] : "";
  }
  function regex(v, p) {
    if (!has.call(patterns, p)) patterns[p] = new RegExp(p);
    return patterns[p].test(text(v));
  }
  function roundTo(v, digits) {
    var n = toNumber(v), d = digits === undefined ? 0 : toNumber(digits);
    if (n === null || d === null || d !== Math.floor(d) || !isFinite(n)) return "";
    if (d === 0) return Math.floor(n + 0.5);
    var scale = Math.pow(10, d);
    return Math.floor(n * scale + 0.5) / scale;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function today(env) {
    if (env && env.today) return env.today;
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function now(env) {
    if (env && env.now) return env.now;
    var d = new Date();
    return today() + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  var CALLS = {
    selected: function (a) { return Array.isArray(a[0]) ? a[0].indexOf(a[1]) >= 0 : a[0] === a[1]; },
    count_selected: function (a) { return count(a[0]); },
    answered: function (a) { return a[0] !== ""; },
    selected_at: function (a) { return selectedAt(a[0], a[1]); },
    regex: function (a) { return regex(a[0], a[1]); },
    "if": function (a) { return a[0] === true ? a[1] : a[2]; },
    concat: function (a) { return a.map(text).join(""); },
    coalesce: function (a) { return a[0] !== "" ? a[0] : a[1]; },
    string_length: function (a) { return Array.from(text(a[0])).length; },
    normalize_space: function (a) { return text(a[0]).split(/[ \t\r\n]+/).filter(function (p) { return p; }).join(" "); },
    "int": function (a) { var n = toNumber(a[0]); return n === null || !isFinite(n) ? "" : Math.trunc(n); },
    round: function (a) { return roundTo(a[0], a[1]); },
    number: function (a) { var n = toNumber(a[0]); return n === null ? "" : n; },
    string: function (a) { return text(a[0]); },
    today: function (a, env) { return today(env); },
    now: function (a, env) { return now(env); },
    count: function (a) { return Array.isArray(a[0]) ? a[0].length : 0; },
    position: function (a, env) { return env && env.position != null ? env.position : ""; },
    "true": function () { return true; },
    "false": function () { return false; }
  };

  function ev(n, values, env) {
    var op = n[0], v, c;
    switch (op) {
      case "lit": return n[1];
      case "var":
        v = has.call(values, n[1]) ? values[n[1]] : null;
        return v == null || (Array.isArray(v) && !v.length) ? "" : v;
      case "and": return n.slice(1).every(function (x) { return ev(x, values, env) === true; });
      case "or": return n.slice(1).some(function (x) { return ev(x, values, env) === true; });
      case "not": return ev(n[1], values, env) !== true;
      case "=": return equal(ev(n[1], values, env), ev(n[2], values, env));
      case "!=": return !equal(ev(n[1], values, env), ev(n[2], values, env));
      case "<": case "<=": case ">": case ">=": return order(op, ev(n[1], values, env), ev(n[2], values, env));
      case "+": case "-": case "*": case "div": case "mod": return arith(op, ev(n[1], values, env), ev(n[2], values, env));
      case "neg": return arith("-", 0, ev(n[1], values, env));
      case "choice":
        c = env && env.choice;
        return c && has.call(c, n[1]) ? c[n[1]] : "";
    }
    if (!has.call(CALLS, op)) throw new Error("unknown node " + op);
    return CALLS[op](n.slice(1).map(function (x) { return ev(x, values, env); }), env);
  }

  function empty(v) { return v == null || v === "" || (Array.isArray(v) && !v.length); }

  /* The value expressions see for an item's answer (rule 1): invalid answers are "". */
  function normalize(item, v) {
    if (item.type === "number") { var n = toNumber(v); return n === null ? "" : n; }
    if (item.type === "multiple") return Array.isArray(v) ? v.slice() : "";
    return typeof v === "string" ? v : "";
  }

  /* The items as a tree of groups and repeats ({item} or {group, steps, names}). */
  var trees = typeof WeakMap === "function" ? new WeakMap() : null;
  function tree(inst) {
    var cached = trees && trees.get(inst);
    if (cached) return cached;
    var groups = {}, top = [], open = [];
    (inst.groups || []).forEach(function (g) { groups[g.name] = g; });
    inst.items.forEach(function (item) {
      var chain = [], g = item.group, d = 0;
      while (g) { chain.unshift(g); g = groups[g].parent; }
      while (d < chain.length && d < open.length && open[d].group.name === chain[d]) d++;
      open.length = d;
      for (var i = d; i < chain.length; i++) {
        var step = { group: groups[chain[i]], steps: [], names: [] };
        (open.length ? open[open.length - 1].steps : top).push(step);
        open.push(step);
      }
      open.forEach(function (s) { s.names.push(item.name); });
      (open.length ? open[open.length - 1].steps : top).push({ item: item });
    });
    if (trees) trees.set(inst, top);
    return top;
  }

  /* The codes a choice_filter lets through (all codes without one). */
  function offered(inst, item, values, env) {
    var list = inst.choices[item.choices] || [], scope = Object.assign({}, env), out = [];
    list.forEach(function (c) {  /* a code twice in a list (under different filters) counts once */
      scope.choice = Object.assign({ code: c.code }, c.filters || {});
      if ((!item.choice_filter || ev(item.choice_filter, values, scope) === true) && out.indexOf(c.code) < 0) out.push(c.code);
    });
    return out;
  }

  function block(inst, steps, answers, values, shown, env, prefix, out) {
    steps.forEach(function (s) {
      var node = s.item || s.group, rel = shown && (!node.relevant || ev(node.relevant, values, env) === true);
      if (s.group) {
        if (s.group.repeat) repeat(inst, s, answers, values, rel, env, prefix, out);
        else block(inst, s.steps, answers, values, rel, env, prefix, out);
        return;
      }
      var item = s.item, key = prefix + item.name, v;
      out.relevant[key] = rel;
      if (item.type === "calculate") {
        v = rel ? ev(item.calculation, values, env) : "";
        if (v === true || v === false) v = String(v);
        if (v !== "") values[item.name] = v;
        out.calculated[key] = v;
        return;
      }
      if (!rel || item.type === "note") return;
      if (item.choice_filter) out.offered[key] = offered(inst, item, values, env);
      if (empty(answers[item.name])) return;
      v = normalize(item, answers[item.name]);
      if (empty(v)) return;
      values[item.name] = v;
      if (item.constraint) out.ok[key] = ev(item.constraint, values, env) === true;
    });
  }
  function repeat(inst, s, answers, values, rel, env, prefix, out) {
    var name = s.group.name, raw = answers[name], collected = [];
    out.relevant[prefix + name] = rel;
    var list = rel && Array.isArray(raw) && raw.every(function (x) { return x && typeof x === "object" && !Array.isArray(x); }) ? raw : [];
    list.forEach(function (answers1, i) {
      var scope = Object.assign({}, values), kept = {};
      block(inst, s.steps, answers1, scope, true, Object.assign({}, env, { position: i + 1 }), prefix + name + "[" + (i + 1) + "].", out);
      s.names.forEach(function (n) { if (has.call(scope, n)) kept[n] = scope[n]; });
      collected.push(kept);
    });
    values[name] = collected;
  }

  /* One pass in item order (rule 2): {relevant: {key: bool}, values: {name: value},
     calculated: {key: value}, ok: {key: constraint met}, offered: {key: [codes]}}.
     Keys inside a repeat are "repeat[n].item" (n from 1). env: {today, now}. */
  function visible(instrument, answers, env) {
    var out = { relevant: {}, values: {}, calculated: {}, ok: {}, offered: {} };
    block(instrument, tree(instrument), answers, out.values, true, env || {}, "", out);
    return out;
  }

  /* Rule 11: a relevant item with a valid answer meets its constraint. */
  function constraintOk(instrument, item, answers, key) {
    return visible(instrument, answers).ok[key || item.name] !== false;
  }

  /* A label text with each ${name} replaced by that answer (choice labels for codes). */
  function fill(instrument, textIn, values, label) {
    var items = {};
    instrument.items.forEach(function (it) { items[it.name] = it; });
    return String(textIn || "").replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, function (_, name) {
      var v = has.call(values, name) ? values[name] : "", it = items[name];
      if (it && (it.type === "single" || it.type === "multiple") && !empty(v)) {
        var codes = Array.isArray(v) ? v : [v];
        return (instrument.choices[it.choices] || []).filter(function (c) { return codes.indexOf(c.code) >= 0; })
          .map(function (c) { return label ? label(c.label) : c.label.zh; }).join("、");
      }
      return text(v);
    });
  }

  root.CanvassExpr = {
    evaluate: ev, toNumber: toNumber, visible: visible, empty: empty, text: text,
    normalize: normalize, constraintOk: constraintOk, offered: offered, fill: fill, tree: tree
  };
})(this);
