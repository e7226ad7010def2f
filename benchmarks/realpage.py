"""The real portal page's own vendor assets, fetched from the npm registry.

The demo page weighs ~30 KB and reloads in ~100 ms; the real "Court Files" page
(SITE.md, fixtures/fct-pages/searchpage.html) loads jQuery, DataTables and its
extensions, pdfmake, Bootstrap 4 and more. `fetch` gets those files at the versions the
real page names, so the demo court can serve a page as heavy as the real one
(`Knobs(vendor_dir=...)`, `python -m benchmarks.run --real-page`).

    python -m benchmarks.realpage fetch [DIR]      # default benchmarks/.vendor

Left out, as not obtainable: the site's own js.js, utils.js, data.js, popup.js,
courtfiles.js/.css, style.gold.css, loading.css, ie.css, custom.css and the timeselector
css/js; third-party hosts (Google Tag Manager/Analytics, Font Awesome, Google Fonts,
infird.com, maxcdn) are out of scope. The real page links the six DataTables stylesheets
twice in <head>; the second copy comes from the browser's memory cache, so they are
listed once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_DIR = Path(__file__).resolve().parent / ".vendor"
NPM_TIMEOUT = 300  # seconds per `npm pack`; pdfmake is a few MB


class Asset(NamedTuple):
    kind: str  # "css" or "js"
    path: str  # URL path exactly as on the real page
    place: str  # "head", or "body": the end of <body>, after the page's content
    spec: str  # npm package@version
    file: str  # the file inside the package


# Versions the paths name are used as named. Otherwise a release of the page's era
# (DataTables 1.10.18 and Buttons 1.5.4 are autumn 2018) is a guess, marked "guess".
JQUERY = "jquery@3.3.1"  # guess: path has no version; 3.3.1 was current in 2018
BOOTSTRAP = "bootstrap@4.1.3"  # guess: Bootstrap 4 (the page's *.bootstrap4 files), 2018 release
POPPER = "popper.js@1.14.3"  # guess: the version Bootstrap 4.1.3 asks for (^1.14.3)
OWL = "owl.carousel@2.3.4"  # guess: last 2.x release (2018)
OWL_THUMBS = "owl.carousel2.thumbs@0.1.8"  # the only version on npm
DATEPICKER = "bootstrap-datepicker@1.8.0"  # guess: 2018 release with bootstrap-datepicker3.css
MOMENT = "moment@2.22.2"  # guess: 2018 release
JS_COOKIE = "js-cookie@2.2.0"  # guess: current 2017-2019
VALIDATION = "jquery-validation@1.17.0"  # guess: ASP.NET templates of 2018 shipped 1.17.0
UNOBTRUSIVE_AJAX = "jquery-ajax-unobtrusive@3.2.6"  # guess: 2018 release of ASP.NET's file
PRINT_THIS = "print-this@1.14.0"  # guess: printThis of 2018; path has no version
DT = "datatables.net@1.10.18"  # npm's build of 1.10.18 says "1.10.19-dev" in its banner
DT_BS4 = "datatables.net-bs4@1.10.18"
BUTTONS = "datatables.net-buttons@1.5.4"
BUTTONS_BS4 = "datatables.net-buttons-bs4@1.5.4"
BUTTONS_DT = "datatables.net-buttons-dt@1.5.4"
RESPONSIVE = "datatables.net-responsive@2.2.2"
RESPONSIVE_BS4 = "datatables.net-responsive-bs4@2.2.3"  # 2.2.2 is not on npm: nearest later
COLREORDER = "datatables.net-colreorder@1.5.0"
COLREORDER_BS4 = "datatables.net-colreorder-bs4@1.5.1"  # 1.5.0 is not on npm: nearest later
JSZIP = "jszip@2.6.0"  # 2.5.0 on npm has no built dist/jszip.min.js: nearest later
PDFMAKE = "pdfmake@0.1.36"
VALIDATE = "bootstrap-validate@2.2.0"

_DT = "/Content/vendors/DataTables/"
MANIFEST: tuple[Asset, ...] = (  # in the real page's order
    Asset("css", "/content/vendors/bootstrap/css/bootstrap.min.css", "head", BOOTSTRAP, "dist/css/bootstrap.min.css"),
    Asset("css", "/content/vendors/owl.carousel/assets/owl.carousel.css", "head", OWL, "dist/assets/owl.carousel.css"),
    Asset("css", "/content/vendors/owl.carousel/assets/owl.theme.default.css", "head", OWL,
          "dist/assets/owl.theme.default.css"),
    Asset("css", _DT + "DataTables-1.10.18/css/dataTables.bootstrap4.min.css", "head", DT_BS4,
          "css/dataTables.bootstrap4.min.css"),
    Asset("css", _DT + "Buttons-1.5.4/css/buttons.bootstrap4.min.css", "head", BUTTONS_BS4,
          "css/buttons.bootstrap4.min.css"),
    Asset("css", _DT + "Buttons-1.5.4/css/buttons.dataTables.min.css", "head", BUTTONS_DT,
          "css/buttons.dataTables.min.css"),
    Asset("css", _DT + "Responsive-2.2.2/css/responsive.bootstrap4.min.css", "head", RESPONSIVE_BS4,
          "css/responsive.bootstrap4.min.css"),
    Asset("css", "/Content/vendors/bootstrap-datepicker/css/bootstrap-datepicker3.min.css", "head", DATEPICKER,
          "dist/css/bootstrap-datepicker3.min.css"),
    Asset("css", _DT + "ColReorder-1.5.0/css/colReorder.bootstrap4.min.css", "head", COLREORDER_BS4,
          "css/colReorder.bootstrap4.min.css"),
    Asset("css", "/Content/vendors/printThis/assets/css/normalize.css", "head", PRINT_THIS,
          "assets/css/normalize.css"),
    Asset("js", "/content/vendors/jquery/jquery.min.js", "head", JQUERY, "dist/jquery.min.js"),
    Asset("js", _DT + "DataTables-1.10.18/js/jquery.dataTables.min.js", "body", DT, "js/jquery.dataTables.min.js"),
    Asset("js", _DT + "DataTables-1.10.18/js/dataTables.bootstrap4.js", "body", DT_BS4, "js/dataTables.bootstrap4.js"),
    Asset("js", _DT + "Buttons-1.5.4/js/dataTables.buttons.min.js", "body", BUTTONS, "js/dataTables.buttons.min.js"),
    Asset("js", _DT + "Buttons-1.5.4/js/buttons.bootstrap4.min.js", "body", BUTTONS_BS4, "js/buttons.bootstrap4.min.js"),
    Asset("js", _DT + "JSZip-2.5.0/jszip.min.js", "body", JSZIP, "dist/jszip.min.js"),
    Asset("js", _DT + "pdfmake-0.1.36/pdfmake.min.js", "body", PDFMAKE, "build/pdfmake.min.js"),
    Asset("js", _DT + "pdfmake-0.1.36/vfs_fonts.js", "body", PDFMAKE, "build/vfs_fonts.js"),
    Asset("js", _DT + "Buttons-1.5.4/js/buttons.html5.min.js", "body", BUTTONS, "js/buttons.html5.min.js"),
    Asset("js", _DT + "Buttons-1.5.4/js/buttons.print.min.js", "body", BUTTONS, "js/buttons.print.min.js"),
    Asset("js", "/Content/vendors/bootstrap-datepicker/js/bootstrap-datepicker.min.js", "body", DATEPICKER,
          "dist/js/bootstrap-datepicker.min.js"),
    Asset("js", _DT + "Responsive-2.2.2/js/dataTables.responsive.min.js", "body", RESPONSIVE,
          "js/dataTables.responsive.min.js"),
    Asset("js", _DT + "ColReorder-1.5.0/js/dataTables.colReorder.min.js", "body", COLREORDER,
          "js/dataTables.colReorder.min.js"),
    Asset("js", "/Content/vendors/printThis/printThis.js", "body", PRINT_THIS, "printThis.js"),
    Asset("js", "/Content/vendors/bootstrap-validate-2.2.0/dist/bootstrap-validate.js", "body", VALIDATE,
          "dist/bootstrap-validate.js"),
    Asset("js", "/content/vendors/popper.js/umd/popper.min.js", "body", POPPER, "dist/umd/popper.min.js"),
    Asset("js", "/content/vendors/bootstrap/js/bootstrap.min.js", "body", BOOTSTRAP, "dist/js/bootstrap.min.js"),
    Asset("js", "/Content/vendors/js-cookie/js.cookie.js", "body", JS_COOKIE, "src/js.cookie.js"),
    Asset("js", "/content/vendors/owl.carousel/owl.carousel.min.js", "body", OWL, "dist/owl.carousel.min.js"),
    Asset("js", "/content/vendors/owl.carousel2.thumbs/owl.carousel2.thumbs.js", "body", OWL_THUMBS,
          "dist/owl.carousel2.thumbs.js"),
    Asset("js", "/content/vendors/jquery-validation/jquery.validate.min.js", "body", VALIDATION,
          "dist/jquery.validate.min.js"),
    Asset("js", "/Content/vendors/jquery/jquery.unobtrusive-ajax.js", "body", UNOBTRUSIVE_AJAX,
          "dist/jquery.unobtrusive-ajax.js"),
    Asset("js", "/Content/vendors/moment/min/moment-with-locales.min.js", "body", MOMENT,
          "min/moment-with-locales.min.js"),
)


class FetchError(Exception):
    """One line: what failed and how to fix it."""


def load(dest: Path) -> list[dict[str, Any]]:
    """dest/manifest.json if it is complete (every asset listed, in order, with its
    file at the recorded size), else []."""
    try:
        entries = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not (isinstance(entries, list) and all(isinstance(e, dict) for e in entries)) or [
            (e.get("path"), e.get("npm")) for e in entries] != [(a.path, a.spec) for a in MANIFEST]:
        return []
    for e in entries:
        f = dest / e["path"].lstrip("/")
        if not f.is_file() or f.stat().st_size != e["bytes"]:
            return []
    return entries


def _why(done: subprocess.CompletedProcess) -> str:
    """npm's one-line reason: the summary of its --json error, else its last stderr line."""
    try:
        return json.loads(done.stdout)["error"]["summary"]
    except (ValueError, KeyError, TypeError):
        return (done.stderr.strip().splitlines() or ["no message"])[-1]


def _pack(npm: str, spec: str, tmp: Path) -> Path:
    try:
        done = subprocess.run([npm, "pack", spec, "--pack-destination", str(tmp), "--json"],
                              capture_output=True, text=True, timeout=NPM_TIMEOUT, cwd=tmp)
    except subprocess.TimeoutExpired:
        raise FetchError(f"npm pack {spec} took over {NPM_TIMEOUT} s: check the network "
                         "and `npm config get registry`, then run again") from None
    if done.returncode != 0:
        raise FetchError(f"npm pack {spec} failed ({_why(done)}): check the network and `npm config get "
                         "registry`, or pick an existing version in benchmarks/realpage.py")
    return tmp / json.loads(done.stdout)[0]["filename"]


def fetch(dest: Path = DEFAULT_DIR) -> list[dict[str, Any]]:
    """Fetch every MANIFEST asset into dest/<url path> and write dest/manifest.json.
    Does nothing when the manifest there is already complete."""
    dest = Path(dest)
    entries = load(dest)
    if entries:
        return entries
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm not found: install Node.js and npm (Debian: apt-get install npm)")
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="realpage-") as tmp:
        for spec in dict.fromkeys(a.spec for a in MANIFEST):
            tgz = _pack(npm, spec, Path(tmp))
            with tarfile.open(tgz) as tar:
                # Tarballs hold one top directory, usually "package/" but not always.
                members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
                for a in (a for a in MANIFEST if a.spec == spec):
                    if a.file not in members:
                        raise FetchError(f"{spec} has no file {a.file}: fix the file name in "
                                         "benchmarks/realpage.py")
                    body = tar.extractfile(members[a.file]).read()
                    target = dest / a.path.lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(body)
                    sizes[a.path] = len(body)
    entries = [{"kind": a.kind, "path": a.path, "place": a.place, "bytes": sizes[a.path],
                "npm": a.spec, "file": a.file} for a in MANIFEST]
    (dest / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    return entries


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        a = dict(attrs)
        ref = a.get("src") if tag == "script" else a.get("href") if tag == "link" else None
        if ref:
            self.refs.append(ref)


def page_weight(url: str) -> dict[str, int]:
    """What one load of the page fetches with an empty cache: the page, its scripts and
    stylesheets (files and bytes)."""
    base = url.split("/", 3)
    with urllib.request.urlopen(url, timeout=30) as r:
        html = r.read()
    parser = _Refs()
    parser.feed(html.decode("utf-8"))
    total = len(html)
    for ref in parser.refs:
        with urllib.request.urlopen(f"{base[0]}//{base[2]}{ref}", timeout=30) as r:
            total += len(r.read())
    return {"files": 1 + len(parser.refs), "bytes": total}


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] != "fetch":
        print("usage: python -m benchmarks.realpage fetch [DIR]", file=sys.stderr)
        return 2
    dest = Path(argv[1]) if len(argv) == 2 else DEFAULT_DIR
    try:
        entries = fetch(dest)
    except FetchError as exc:
        print(f"realpage: {exc}", file=sys.stderr)
        return 2
    print(f"{dest}: {len(entries)} files, {sum(e['bytes'] for e in entries):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
