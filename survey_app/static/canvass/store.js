/* The device's memory: IndexedDB stores for drafts (one per interview in progress), the
   outbox (visits and responses not yet accepted by the server) and cached data.
   One database per signed-in user, so a shared tablet never mixes two canvassers' work. */
(function (root) {
  "use strict";
  var opened = {};

  function open(name) {
    if (!opened[name]) opened[name] = new Promise(function (resolve, reject) {
      var req = indexedDB.open(name, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        db.createObjectStore("drafts", { keyPath: "uuid" });
        db.createObjectStore("outbox", { keyPath: "uuid" });
        db.createObjectStore("meta");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return opened[name];
  }

  /* Run fn(stores...) in one transaction; resolve with fn's request result on commit. */
  function Store(name) { this.name = name; }
  Store.prototype.tx = function (names, mode, fn) {
    return open(this.name).then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode), req;
        req = fn.apply(null, names.map(function (n) { return t.objectStore(n); }));
        t.oncomplete = function () { resolve(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  };
  Store.prototype.all = function (store) {
    return this.tx([store], "readonly", function (s) { return s.getAll(); });
  };
  Store.prototype.put = function (store, value, key) {
    return this.tx([store], "readwrite", function (s) { s.put(value, key); });
  };
  Store.prototype.get = function (store, key) {
    return this.tx([store], "readonly", function (s) { return s.get(key); });
  };
  Store.prototype.del = function (store, key) {
    return this.tx([store], "readwrite", function (s) { s["delete"](key); });
  };
  /* Several reads in one transaction: plan maps a name to [store, key] (key null: all). */
  Store.prototype.read = function (plan) {
    var names = [];
    Object.keys(plan).forEach(function (k) { if (names.indexOf(plan[k][0]) < 0) names.push(plan[k][0]); });
    return this.tx(names, "readonly", function () {
      var stores = arguments, out = {};
      Object.keys(plan).forEach(function (k) {
        var store = stores[names.indexOf(plan[k][0])], key = plan[k][1];
        var req = key === null ? store.getAll() : store.get(key);
        req.onsuccess = function () { out[k] = req.result; };
      });
      return { result: out };
    });
  };
  /* A finished interview moves from drafts to the outbox atomically: never both, never neither. */
  Store.prototype.finish = function (draftUuid, item) {
    return this.tx(["drafts", "outbox"], "readwrite", function (drafts, outbox) {
      outbox.put(item);
      drafts["delete"](draftUuid);
    });
  };

  /* ...and back, to be corrected before it is sent: never both, never neither. */
  Store.prototype.unfinish = function (outboxUuid, draft) {
    return this.tx(["drafts", "outbox"], "readwrite", function (drafts, outbox) {
      drafts.put(draft);
      outbox["delete"](outboxUuid);
    });
  };

  root.CanvassStore = Store;
})(this);
