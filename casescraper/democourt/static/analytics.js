/* casescraper demo court: background traffic standing in for the real page's analytics.
 *
 * FACT (SITE.md, captures): the real page loads Google Analytics, Google Tag Manager and
 * other third-party scripts; on a closed network they never finish, and they may send
 * requests of their own at any time.
 * GUESSES: everything concrete below. Beacons go out on load, on a timer every 150-650 ms
 * and on every click, through XMLHttpRequest and fetch, to
 *   - this origin, outside /CourtFilesAndDecisions/: /g/collect (204), /collect (200),
 *     /gtm.js (404), /j/collect (500), /gtag/js (never answered; at most 2 at a time, so
 *     the browser's 6 connections per host stay free for the portal);
 *   - other origins, all failing: localhost:<port> (same server, another origin,
 *     no CORS headers; /gtag/js there is never answered either; one path even looks like
 *     the portal's), and a closed loopback port (connection refused).
 * Some never-answered requests give up after 2-10 s, others wait until the server drops
 * them. The choices come from a PRNG seeded with the court's seed (knob background_noise).
 */
(function () {
    "use strict";

    var cfg = (window.DEMOCOURT_CONFIG || {}).noise;
    if (!cfg || !window.XMLHttpRequest) { return; }

    var state = (cfg.seed >>> 0) ^ 0x9e3779b9;
    function random() {  // mulberry32
        state = (state + 0x6d2b79f5) | 0;
        var t = Math.imul(state ^ (state >>> 15), 1 | state);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    function pick(list) { return list[Math.floor(random() * list.length)]; }

    var HANG = "/gtag/js";
    var SAME = ["/g/collect", "/g/collect", "/collect", "/gtm.js", "/j/collect", HANG];
    var other = location.protocol + "//localhost:" + location.port;
    var closed = location.protocol + "//127.0.0.1:" + cfg.closedPort;
    var CROSS = [other + "/g/collect", other + HANG, other + "/CourtFilesAndDecisions/beacon",
                 closed + "/collect"];
    var sameHanging = 0, count = 0;

    function send(url, crossOrigin, onEnd) {
        var hangs = url.indexOf(HANG) >= 0;
        var giveUpMs = hangs && random() < 0.5 ? 2000 + Math.floor(random() * 8000) : 0;
        url += "?v=2&tid=G-DEMOCOURT&_p=" + (++count) + "&z=" + Math.floor(random() * 1e9);
        if (window.fetch && random() < 0.5) {
            var options = {credentials: "omit", cache: "no-store"};
            if (crossOrigin && random() < 0.5) { options.mode = "no-cors"; }
            if (giveUpMs && window.AbortController) {
                var abort = new AbortController();
                options.signal = abort.signal;
                setTimeout(function () { abort.abort(); }, giveUpMs);
            }
            window.fetch(url, options).then(onEnd, onEnd);
        } else {
            var xhr = new XMLHttpRequest();
            xhr.open("GET", url, true);
            if (giveUpMs) { xhr.timeout = giveUpMs; }
            xhr.onloadend = onEnd;
            xhr.send();
        }
    }

    function beacon() {
        if (random() < 0.4) {
            send(pick(CROSS), true, function () {});
            return;
        }
        var path = pick(SAME);
        if (path !== HANG) {
            send(path, false, function () {});
        } else if (sameHanging < 2) {
            sameHanging++;
            send(path, false, function () { sameHanging--; });
        } else {
            send("/g/collect", false, function () {});
        }
    }

    for (var i = 0; i < 3; i++) { beacon(); }  // page view, GTM, config
    (function tick() {
        setTimeout(function () { beacon(); tick(); }, 150 + Math.floor(random() * 500));
    }());
    document.addEventListener("click", beacon, true);
}());
