"""The demo court's HTTP server: the page, its script and the JSON endpoints, on loopback.

`DemoCourt` runs a `ThreadingHTTPServer` on 127.0.0.1 in a daemon thread. `Knobs` are the
fault injections (all off by default); see the README of the brief / `__main__` flags.
Static files are read with pkgutil.get_data so this works from a Scrapyd egg.
`Knobs(vendor_dir=...)` also serves the real page's vendor scripts and stylesheets from a
directory `python -m benchmarks.realpage fetch` filled, so the page weighs what the real
one does.
"""

from __future__ import annotations

import json
import pkgutil
import random
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable, Optional
from urllib.parse import parse_qs, urlsplit

from . import data

PAGE_PATH = "/en/court-files-and-decisions/court-files"
API = "/CourtFilesAndDecisions/"
SEARCH_PATH = API + "proceedingQueriesAddInfo"
STATIC = {  # URL path -> (package resource, content type)
    "/Content/democourt/courtfiles.js": ("static/courtfiles.js",
                                         "application/javascript; charset=utf-8"),
    "/Content/democourt/courtfiles.css": ("static/courtfiles.css", "text/css; charset=utf-8"),
}
VENDOR_TYPES = {"css": "text/css", "js": "application/javascript"}  # as IIS sends them
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


def _vendor_assets(vendor_dir: str) -> dict[str, tuple[str, str, Path]]:
    """URL path -> (kind, place, file) from vendor_dir/manifest.json, in manifest order."""
    root = Path(vendor_dir).resolve()
    fix = f"fill it with: python -m benchmarks.realpage fetch {vendor_dir}"
    if not root.is_dir():
        raise ValueError(f"vendor_dir {vendor_dir!r} is not a directory; {fix}")
    try:
        entries = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"vendor_dir {vendor_dir!r} has no readable manifest.json ({exc}); {fix}") from None
    if not isinstance(entries, list):
        raise ValueError(f"vendor_dir {vendor_dir!r}: manifest.json is not a list; {fix}")
    assets: dict[str, tuple[str, str, Path]] = {}
    for e in entries:
        if not (isinstance(e, dict) and e.get("kind") in VENDOR_TYPES and e.get("place") in ("head", "body")
                and str(e.get("path", "")).startswith("/")):
            raise ValueError(f"vendor_dir {vendor_dir!r}: manifest.json entry {e!r:.120} needs kind "
                             "css/js, place head/body and a path starting with /")
        file = (root / e["path"].lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            raise ValueError(f"vendor_dir {vendor_dir!r}: {e['path']} is missing or outside it; {fix}")
        assets[e["path"]] = (e["kind"], e["place"], file)
    return assets


def _case_set(values: Optional[Iterable[str]]) -> frozenset[str]:
    """Case numbers as the page compares them: trimmed, upper-case."""
    if isinstance(values, str):
        values = values.split(",")
    return frozenset(v.strip().upper() for v in (values or ()) if v.strip())


@dataclass
class Knobs:
    """Fault injections, all off by default (see the module docstring of __main__)."""

    latency_ms: int = 0  # every JSON endpoint sleeps this long first
    forbid_after: Optional[int] = None  # search n+1 and everything after it: HTTP 403
    hang_on: frozenset[str] = field(default_factory=frozenset)  # More -> endless JS loop
    sticky_modal_on: frozenset[str] = field(default_factory=frozenset)  # modal won't close
    slow_modal_on: frozenset[str] = field(default_factory=frozenset)  # modal opens late
    slow_modal_ms: int = 2000
    layout: str = "v1"  # "v2": input#courtNumber, button#tab02SubmitCourtNumber
    consent_banner: bool = False  # overlay until cookie consent=1
    error_rate: float = 0.0  # JSON endpoints answer 500 with this probability (seeded)
    nodata_after: Optional[int] = None  # search n+1 onward answers Count 0
    vendor_dir: str = ""  # serve the real page's vendor assets from here (benchmarks.realpage)

    def __post_init__(self) -> None:
        self.hang_on = _case_set(self.hang_on)
        self.sticky_modal_on = _case_set(self.sticky_modal_on)
        self.slow_modal_on = _case_set(self.slow_modal_on)
        if self.latency_ms < 0 or self.slow_modal_ms < 0:
            raise ValueError("latency_ms and slow_modal_ms must be >= 0")
        for name in ("forbid_after", "nodata_after"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} must be None or >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if self.layout not in ("v1", "v2"):
            raise ValueError("layout must be 'v1' or 'v2'")
        # Derived from vendor_dir, not a field: URL path -> (kind, place, file).
        self.vendor_assets = _vendor_assets(self.vendor_dir) if self.vendor_dir else {}

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> "Knobs":
        """Knobs from text values (spider arguments): "5", "IMM-3-25,IMM-4-25", "1"."""
        kinds = {f.name: f.type for f in fields(cls)}
        parsed: dict[str, object] = {}
        for name, text in values.items():
            if name not in kinds:
                raise ValueError(f"unknown demo knob {name!r}; known: {', '.join(kinds)}")
            kind, text = kinds[name], str(text).strip()
            if "frozenset" in kind:
                parsed[name] = frozenset(c for c in text.split(",") if c.strip())
            elif kind == "bool":
                if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError(f"demo knob {name}={text!r}: use 1 or 0")
                parsed[name] = text.lower() in ("1", "true", "yes", "on")
            elif "int" in kind:
                parsed[name] = int(text)
            elif kind == "float":
                parsed[name] = float(text)
            else:
                parsed[name] = text
        return cls(**parsed)


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
        nodata = court.knobs.nodata_after
        if endpoint == "proceedingQueriesAddInfo" and nodata is not None and search_no > nodata:
            rows: list[dict[str, Any]] = []
        else:
            rows = court._rows(endpoint, query)
        body = json.dumps({"Count": len(rows), "data": rows}, ensure_ascii=False)
        return self._send(200, JSON_TYPE, body.encode("utf-8"))

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
                 "RelatedListInfo")

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
        self._httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        """Serve from a daemon thread; returns the page URL. A second call is a no-op."""
        with self._lock:
            if self._httpd is None:
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

    def records(self) -> list[dict[str, Any]]:
        return data.records(self.year, self.last_number, self.seed)

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

    def _draw_error(self) -> bool:
        # One draw per JSON request from one seeded RNG: the sequence is deterministic.
        with self._lock:
            return self._error_rng.random() < self.knobs.error_rate

    def _rows(self, endpoint: str, query: dict[str, str]) -> list[dict[str, Any]]:
        n = data.parse_case_number(query.get("courtnumber", ""), self.year)
        division = query.get("division", "").strip().lower()
        if n is None:
            return []
        # The search and the docket take a division: "a" (Appeal) never holds IMM files.
        if endpoint.startswith("proceedingQueries") and division not in ("t", "b"):
            return []
        if endpoint == "RelatedListInfo":
            return data.related_rows(self.year, n, self.last_number, self.seed)
        c = data.case(self.year, n, self.last_number, self.seed)
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
            "inputId": "courtNumber" if k.layout == "v2" else "selectCourtNumber",
            "submitId": "tab02SubmitCourtNumber" if k.layout == "v2" else "tab02Submit",
            "hangOn": sorted(k.hang_on),
            "stickyModalOn": sorted(k.sticky_modal_on),
            "slowModalOn": sorted(k.slow_modal_on),
            "slowModalMs": k.slow_modal_ms,
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
