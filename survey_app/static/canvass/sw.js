/* Service worker of the canvasser's app (scope /canvass/). It keeps what the tablet needs
   to work offline — the app shell, its scripts and styles, the assignments and the
   questionnaire — and nothing else: other pages and every write (POST) go straight to the
   network. The server fills in VERSION and PRECACHE (survey_app/views/canvass.py). */
"use strict";
var VERSION = "__VERSION__";
var PRECACHE = __PRECACHE__;
var CACHE = "canvass-" + VERSION;
var SHELL = PRECACHE[0];
var NETWORK_TIMEOUT = 4000;

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(PRECACHE); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("canvass-") === 0 && k !== CACHE; })
      .map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(response) { return response.ok && !response.redirected && response.type === "basic"; }

/* Fresh when the network answers in time; the cached copy when it does not. */
function networkFirst(request, key) {
  return caches.open(CACHE).then(function (cache) {
    var fromNetwork = fetch(request).then(function (r) {
      if (keep(r)) cache.put(key, r.clone());
      return r;
    });
    var timeout = new Promise(function (resolve) { setTimeout(resolve, NETWORK_TIMEOUT); });
    var fallback = function () {
      return cache.match(key).then(function (hit) { return hit || fromNetwork; });
    };
    return Promise.race([fromNetwork, timeout.then(fallback)]).then(function (r) { return r || fallback(); }, fallback);
  });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (r) { if (keep(r)) cache.put(request, r.clone()); return r; });
    });
  });
}

self.addEventListener("fetch", function (e) {
  var req = e.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    if (url.pathname === SHELL) e.respondWith(networkFirst(req, SHELL));
    return;
  }
  if (url.pathname.indexOf("/api/canvass/instrument/") === 0) { e.respondWith(cacheFirst(req)); return; }
  if (url.pathname.indexOf("/api/canvass/") === 0) { e.respondWith(networkFirst(req, url.pathname)); return; }
  if (PRECACHE.indexOf(url.pathname + url.search) >= 0) e.respondWith(cacheFirst(req));
});
