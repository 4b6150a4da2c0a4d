/* Skip logic in the browser: an interpreter of the expression AST of docs/instruments.md
   ("Evaluation rules"). It must agree with instruments/expr.py and instruments/answers.py;
   tests/browser/test_canvass.py runs both on the same cases. */
(function (root) {
  "use strict";
  var NUM = /^-?[0-9]+(\.[0-9]+)?$/;

  function toNumber(v) {
    if (typeof v === "number") return v;
    return typeof v === "string" && NUM.test(v) ? Number(v) : null;
  }

  function equal(a, b) {
    if (a === "" || b === "") return a === "" && b === "";
    if (typeof a === "string" && typeof b === "string") return a === b;
    var x = toNumber(a), y = toNumber(b);
    return x !== null && y !== null && x === y;
  }

  function ev(n, values) {
    var op = n[0], v, x, y;
    switch (op) {
      case "lit": return n[1];
      case "var":
        v = values[n[1]];
        return v == null || (Array.isArray(v) && !v.length) ? "" : v;
      case "and": return n.slice(1).every(function (c) { return ev(c, values) === true; });
      case "or": return n.slice(1).some(function (c) { return ev(c, values) === true; });
      case "not": return ev(n[1], values) !== true;
      case "=": return equal(ev(n[1], values), ev(n[2], values));
      case "!=": return !equal(ev(n[1], values), ev(n[2], values));
      case "<": case "<=": case ">": case ">=":
        x = toNumber(ev(n[1], values)); y = toNumber(ev(n[2], values));
        if (x === null || y === null) return false;
        return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
      case "selected":
        v = ev(n[1], values);
        return Array.isArray(v) ? v.indexOf(n[2][1]) >= 0 : v === n[2][1];
      case "count_selected":
        v = ev(n[1], values);
        return Array.isArray(v) ? v.length : (v === "" ? 0 : 1);
      case "answered": return ev(n[1], values) !== "";
    }
    throw new Error("unknown node " + op);
  }

  function empty(v) { return v == null || v === "" || (Array.isArray(v) && !v.length); }

  /* The value expressions see for an item's answer (rule 1): invalid answers are "". */
  function normalize(item, v) {
    if (item.type === "number") { var n = toNumber(v); return n === null ? "" : n; }
    if (item.type === "multiple") return Array.isArray(v) ? v.slice() : "";
    return typeof v === "string" ? v : "";
  }

  /* One pass in item order (rule 2): {relevant: {name: bool}, values: {name: value}}. */
  function visible(instrument, answers) {
    var relevant = {}, values = {};
    instrument.items.forEach(function (item) {
      var shown = !item.relevant || ev(item.relevant, values) === true;
      relevant[item.name] = shown;
      if (shown && item.type !== "note" && !empty(answers[item.name])) {
        var v = normalize(item, answers[item.name]);
        if (!empty(v)) values[item.name] = v;
      }
    });
    return { relevant: relevant, values: values };
  }

  /* Rule 11: a relevant item with a valid answer meets its constraint. */
  function constraintOk(instrument, item, answers) {
    if (!item.constraint) return true;
    var vis = visible(instrument, answers);
    if (!vis.relevant[item.name] || !(item.name in vis.values)) return true;
    return ev(item.constraint, vis.values) === true;
  }

  root.CanvassExpr = {
    evaluate: ev, toNumber: toNumber, visible: visible, empty: empty,
    normalize: normalize, constraintOk: constraintOk
  };
})(this);
