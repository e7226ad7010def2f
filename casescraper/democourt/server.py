"""The demo court's HTTP server: the page, its scripts and the JSON endpoints, on loopback.

`DemoCourt` runs a `ThreadingHTTPServer` on 127.0.0.1 in a daemon thread. `Knobs`
(knobs.py) are the fault injections and page variants. Static files are read with
pkgutil.get_data so this works from a Scrapyd egg. `Knobs(vendor_dir=...)` also serves the
real page's vendor scripts and stylesheets from a directory `python -m benchmarks.realpage
fetch` filled, so the page weighs what the real one does.

Besides the portal, the server answers the page's background traffic (knob
background_noise, analytics.js): a few analytics-like paths, some answering 200/204, some
404/500, one never answering (held until the client gives up, HOLD_SECONDS pass or the
court stops; at most MAX_HELD at once, beyond that the connection is closed unanswered).
"""

from __future__ import annotations

import collections
import json
import pkgutil
import random
import select
import socket
import sys
import threading
import time
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from casescraper.democourt import data
from casescraper.democourt.knobs import VENDOR_TYPES, Knobs
from casescraper.democourt.spoil import spoiled

__all__ = ["DemoCourt", "Knobs", "PAGE_PATH"]

PAGE_PATH = "/en/court-files-and-decisions/court-files"
API = "/CourtFilesAndDecisions/"
SEARCH_PATH = API + "proceedingQueriesAddInfo"
JS_TYPE = "application/javascript; charset=utf-8"
STATIC = {  # URL path -> (package resource, content type)
    f"/Content/democourt/{name}": (f"static/{name}", JS_TYPE)
    for name in ("analytics.js", "bootstrap-lite.js", "datatables-lite.js", "popup.js",
                 "courtfiles.js")
}
STATIC["/Content/democourt/courtfiles.css"] = ("static/courtfiles.css", "text/css; charset=utf-8")
# Background traffic (GUESS at the paths, FACT that analytics run and never finish on a
# closed network): path -> status, None = never answered.
NOISE_PATHS = {"/g/collect": 204, "/collect": 200, "/gtm.js": 404, "/j/collect": 500,
               "/gtag/js": None}
HOLD_SECONDS = 60
MAX_HELD = 32
# Vendor files are cacheable, as a static host serves them. A browser that reloads the
# page per case then takes them from its cache: that favours the reload-per-case habit,
# so the comparison with casescraper (page loaded once) stays conservative.
VENDOR_CACHE = "public, max-age=86400"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
WAF_PAGE = (
    "<!DOCTYPE html><html><head><title>Request Rejected</title></head><body>"
    "<h1>Web Application Firewall</h1><h2>Request Rejected</h2>"
    "<p>The requested URL was rejected. Please consult with your administrator.</p>"
    "<p>Your support ID is: {support_id}</p></body></html>"
)
ERROR_PAGE = ("<!DOCTYPE html><html><head><title>Server Error</title></head><body>"
              "<h1>500 - Internal server error.</h1></body></html>")
CONSENT_BANNER = (
    '<div id="consent-banner" role="dialog" aria-modal="true" aria-labelledby="consent-title">'
    '<div class="consent-box"><h2 id="consent-title">Cookies on this site</h2>'
    "<p>This demo site stores one cookie to remember this choice.</p>"
    '<button id="consent-accept" type="button" class="btn btn-on">Accept</button>'
    "</div></div>"
)
# A minimal PDF-looking body for downloadFileFromAlfresco.
PDF_BODY = b"%PDF-1.4\n% casescraper demo court document {num}\n%%EOF\n"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound then released): the page's beacons to it
    fail with a refused connection."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _static(name: str) -> bytes:
    raw = pkgutil.get_data("casescraper.democourt", name)
    if raw is None:
        raise FileNotFoundError(name)
    return raw


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a request sleeping on latency_ms
    court: "DemoCourt"

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a browser closing its side is normal; stay quiet
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so nothing is served after stop().
    server_version = "democourt/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # no per-request logging

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        """The Date header: the court's clock, off by the knob date_offset."""
        moment = time.time() if timestamp is None else timestamp
        return formatdate(moment + self.server.court.knobs.date_offset, usegmt=True)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        court = self.server.court
        url = urlsplit(self.path)
        # ASP.NET binds query parameters case-insensitively; so do we.
        query = {k.lower(): v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        search_no = court._admit(path == SEARCH_PATH)
        if search_no is None:
            return self._send(403, HTML_TYPE, WAF_PAGE.format(
                support_id=court._support_id()).encode())
        if path in ("/", "/en", "/en/"):
            self.send_response(302)
            self.send_header("Location", PAGE_PATH)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path == "/favicon.ico":  # keep the browser console free of a 404
            return self._send(204, "image/x-icon", b"")
        host = (self.headers.get("Host") or "127.0.0.1").rsplit(":", 1)[0]
        if path in NOISE_PATHS or host != "127.0.0.1":  # cross-origin: localhost
            court._count_noise(host, path)
        if path in NOISE_PATHS:
            status = NOISE_PATHS[path]
            return self._hold() if status is None else self._send(status, HTML_TYPE, b"")
        if path == PAGE_PATH:
            return self._send(200, HTML_TYPE, court._page(self.headers.get("Cookie", "")))
        if path in STATIC:
            resource, ctype = STATIC[path]
            return self._send(200, ctype, _static(resource))
        if path in court.knobs.vendor_assets:  # only manifest paths: nothing else on disk
            kind, _, file = court.knobs.vendor_assets[path]
            return self._vendor_file(VENDOR_TYPES[kind], file)
        if path == API + "downloadFileFromAlfresco":
            num = query.get("foremostnum", "")
            if not num.isdigit():
                return self._send(400, HTML_TYPE, b"<h1>Bad request</h1>")
            body = PDF_BODY.replace(b"{num}", num.encode())
            return self._send(200, "application/pdf", body)
        if path.startswith(API) and path[len(API):] in court.ENDPOINTS:
            return self._json(path[len(API):], query, search_no)
        return self._send(404, HTML_TYPE, b"<h1>404 - File or directory not found.</h1>")

    def _json(self, endpoint: str, query: dict[str, str], search_no: int) -> None:
        court = self.server.court
        if court.knobs.latency_ms:
            time.sleep(court.knobs.latency_ms / 1000)
        if court._draw_error():
            return self._send(500, HTML_TYPE, ERROR_PAGE.encode())
        if endpoint == "proceedingQueriesAddInfo" and court._throttled(search_no):
            wait = court.knobs.retry_after
            return self._send(429, HTML_TYPE, b"<h1>Too Many Requests</h1>",
                              {"Retry-After": str(wait)} if wait is not None else None)
        nodata = court.knobs.nodata_after
        if endpoint == "proceedingQueriesAddInfo" and nodata is not None and search_no > nodata:
            rows: list[dict[str, Any]] = []
        else:
            rows = court._rows(endpoint, query)
        if endpoint in court.CASE_ENDPOINTS and court._draw(court._spoil_rng, court.knobs.spoil_rate):
            def others() -> list[dict[str, Any]]:  # the next number's (the one before at the end)
                n = data.parse_case_number(query.get("courtnumber", ""), court.year) or 1
                other = n + 1 if court.record(n + 1) else max(1, n - 1)
                asked = {**query, "courtnumber": data.case_number(court.year, other)}
                return court._rows(endpoint, asked)
            return self._send(200, JSON_TYPE, spoiled(endpoint, rows, court.knobs.spoil,
                                                      court._spoil_rng, others))
        body = json.dumps({"Count": len(rows), "data": rows}, ensure_ascii=False)
        return self._send(200, JSON_TYPE, body.encode("utf-8"))

    def _hold(self) -> None:
        """Never answer: wait for the client to give up (EOF), HOLD_SECONDS or stop(),
        then close unanswered. Beyond MAX_HELD held requests, close at once."""
        court = self.server.court
        if not court._hold_slot(+1):
            return
        try:
            end = time.monotonic() + HOLD_SECONDS
            while not court._stopping.is_set() and time.monotonic() < end:
                ready, _, _ = select.select([self.connection], [], [], 0.25)
                if ready and not self.connection.recv(1024):
                    return  # EOF: the client gave up
        except OSError:
            return  # reset by the client
        finally:
            court._hold_slot(-1)

    def _vendor_file(self, ctype: str, file: Path) -> None:
        modified = formatdate(file.stat().st_mtime, usegmt=True)
        headers = {"Cache-Control": VENDOR_CACHE, "Last-Modified": modified}
        if self.headers.get("If-Modified-Since") == modified:
            return self._send(304, ctype, b"", headers)
        return self._send(200, ctype, file.read_bytes(), headers)

    def _send(self, status: int, ctype: str, body: bytes,
              headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {"Cache-Control": "no-store"}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class DemoCourt:
    """The demo portal for one year of IMM files, served on 127.0.0.1.

    court = DemoCourt(year=2025, last_number=200, seed=0, knobs=Knobs(...))
    url = court.start(); ...; court.stop()      # or: with DemoCourt(...) as court:
    """

    ENDPOINTS = ("proceedingQueriesAddInfo", "proceedingQueriesRE", "PublicPartiesListInfo",
                 "RelatedListInfo", "proceedingQueriesCourtNumberList")
    CASE_ENDPOINTS = ENDPOINTS[:4]  # answers about one court number

    def __init__(self, year: int = 2025, last_number: int = 2000, seed: int = 0,
                 knobs: Optional[Knobs] = None, port: int = 0):
        if last_number < 1:
            raise ValueError("last_number must be >= 1")
        self.year, self.last_number, self.seed = year, last_number, seed
        self.knobs = knobs or Knobs()
        self._requested_port = port
        self._lock = threading.Lock()
        self._queries = 0
        self._blocked = False
        self._support = 0
        self._error_rng = random.Random(f"democourt-errors:{seed}")
        self._spoil_rng = random.Random(f"democourt-spoil:{seed}")
        self._stopping = threading.Event()
        self._held = 0
        self._noise: collections.Counter[tuple[str, str]] = collections.Counter()
        self._closed_port = 0
        self._httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        """Serve from a daemon thread; returns the page URL. A second call is a no-op."""
        with self._lock:
            if self._httpd is None:
                self._stopping.clear()
                self._closed_port = _closed_port()
                httpd = _Server(("127.0.0.1", self._requested_port), _Handler)
                httpd.court = self
                self._httpd = httpd
                self._thread = threading.Thread(
                    target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                    name=f"democourt-{httpd.server_address[1]}", daemon=True)
                self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice or before start()."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        self._stopping.set()  # held requests end within a quarter second
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> "DemoCourt":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the demo court is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + PAGE_PATH

    @property
    def query_count(self) -> int:
        """proceedingQueriesAddInfo requests received, including ones answered 403/500."""
        with self._lock:
            return self._queries

    @property
    def noise_hits(self) -> dict[tuple[str, str], int]:
        """Background requests received: (host, path) -> count; host "localhost" is the
        page's cross-origin traffic."""
        with self._lock:
            return dict(self._noise)

    @property
    def held(self) -> int:
        """Requests held unanswered right now."""
        with self._lock:
            return self._held

    def records(self) -> list[dict[str, Any]]:
        """What a correct crawl produces now (knobs day and grow included)."""
        return data.records(self.year, self.last_number, self.seed, self.knobs.day, self.knobs.grow)

    def record(self, n: int) -> Optional[dict[str, Any]]:
        """The record of number n as served now, or None when n does not exist."""
        return data.record(self.year, n, self.last_number, self.seed, self.knobs.day, self.knobs.grow)

    # --- request helpers (called from handler threads) ---------------------------------
    def _admit(self, is_search: bool) -> Optional[int]:
        """Count a search; None when the request must be refused (forbid_after), else the
        number of searches so far (this one included)."""
        with self._lock:
            if is_search:
                self._queries += 1
                limit = self.knobs.forbid_after
                if limit is not None and self._queries > limit:
                    self._blocked = True  # from now on every request gets the WAF page
            return None if self._blocked else self._queries

    def _support_id(self) -> str:
        with self._lock:
            self._support += 1
            return f"{self.seed:04d}{self._support:012d}"

    def _count_noise(self, host: str, path: str) -> None:
        with self._lock:
            self._noise[(host, path)] += 1

    def _hold_slot(self, delta: int) -> bool:
        with self._lock:
            if delta > 0 and self._held >= MAX_HELD:
                return False
            self._held += delta
            return True

    def _draw_error(self) -> bool:
        return self._draw(self._error_rng, self.knobs.error_rate)

    def _draw(self, rng: random.Random, rate: float) -> bool:
        # One draw per JSON request from one seeded RNG: the sequence is deterministic.
        with self._lock:
            return rate > 0 and rng.random() < rate

    def _throttled(self, search_no: int) -> bool:
        """Whether this search is answered HTTP 429 (knobs throttle_after, throttle_count)."""
        after, count = self.knobs.throttle_after, self.knobs.throttle_count
        return after is not None and search_no > after and (not count or search_no <= after + count)

    def _rows(self, endpoint: str, query: dict[str, str]) -> list[dict[str, Any]]:
        n = data.parse_case_number(query.get("courtnumber", ""), self.year)
        division = query.get("division", "").strip().lower()
        if endpoint == "proceedingQueriesCourtNumberList":  # GUESS: shape and parameters
            if division == "a":
                return []
            return data.court_number_rows(self.year, query.get("courtnumber", ""),
                                          self.last_number, self.seed)
        if n is None:
            return []
        # The search and the docket take a division: "a" (Appeal) never holds IMM files.
        if endpoint.startswith("proceedingQueries") and division not in ("t", "b"):
            return []
        if endpoint == "RelatedListInfo":
            return data.related_rows(self.year, n, self.last_number, self.seed)
        later = data.grown_by(self.year, n, self.knobs.day, self.knobs.grow)
        c = data.case(self.year, n, self.last_number, self.seed, later)
        if c is None:
            return []
        if endpoint == "proceedingQueriesAddInfo":
            return [data.search_row(c)]
        if endpoint == "proceedingQueriesRE":
            return data.docket_rows(c)
        return data.party_rows(c)

    def _page(self, cookie_header: str) -> bytes:
        k = self.knobs
        config = {
            "layout": k.layout,
            "shape": k.shape,
            "inputId": "courtNumber" if k.layout == "v2" else "selectCourtNumber",
            "submitId": "tab02SubmitCourtNumber" if k.layout == "v2" else "tab02Submit",
            "hangOn": sorted(k.hang_on),
            "stickyModalOn": sorted(k.sticky_modal_on),
            "slowModalOn": sorted(k.slow_modal_on),
            "slowModalMs": k.slow_modal_ms,
            "fadeMs": k.fade_ms,
            "efilingPopup": k.efiling_popup,
            "efilingDelayMs": k.efiling_delay_ms,
            "partiesUi": k.parties_ui,
            "noise": {"seed": self.seed, "closedPort": self._closed_port}
            if k.background_noise else None,
        }
        script = ("<script>window.DEMOCOURT_CONFIG = "
                  + json.dumps(config).replace("</", "<\\/") + ";</script>")
        html = _static("static/courtfiles.html").decode("utf-8")
        html = html.replace("<!--DEMOCOURT-CONFIG-->", script)
        for place in ("head", "body"):  # before the demo's own stylesheet / script
            tags = [f'<link rel="stylesheet" href="{escape(path)}">' if kind == "css"
                    else f'<script src="{escape(path)}"></script>'
                    for path, (kind, where, _) in k.vendor_assets.items() if where == place]
            html = html.replace(f"<!--DEMOCOURT-VENDOR-{place.upper()}-->", "\n    ".join(tags))
        consented = any(c.strip() == "consent=1" for c in cookie_header.split(";"))
        html = html.replace("<!--DEMOCOURT-CONSENT-->",
                            CONSENT_BANNER if k.consent_banner and not consented else "")
        if k.layout == "v2":  # the real site has renamed these ids before
            html = (html.replace('"selectCourtNumber"', '"courtNumber"')
                    .replace('id="tab02Submit"', 'id="tab02SubmitCourtNumber"'))
        return html.encode("utf-8")
