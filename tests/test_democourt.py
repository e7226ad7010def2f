"""Tests of the demo court (casescraper.democourt): data, endpoints, knobs and CLI.

No browser: the page's script is checked by the end-to-end tests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path

import jsonschema
import pytest

import casescraper
from casescraper.democourt import DemoCourt, Knobs, data, record, records
from casescraper.items import case_schema

YEAR = 2025
LAST = 120
API = "/CourtFilesAndDecisions/"
PROJECT_ROOT = str(Path(casescraper.__file__).resolve().parent.parent)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET; (status, headers, body) for errors too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def api(court: DemoCourt, endpoint: str, **params: str) -> dict:
    query = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in params.items())
    status, headers, body = fetch(f"{court.base_url}{API}{endpoint}?{query}")
    assert status == 200, (status, body[:200])
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(body.decode("utf-8"))


def ms_to_iso(value: str) -> str:
    m = re.fullmatch(r"/Date\((\d+)\)/", value)
    assert m, value
    ms = int(m.group(1))
    assert ms % 86_400_000 == 0, "dates are midnight UTC"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).date().isoformat()


def complete(rec: dict) -> dict:
    return {**rec, "scraped_at": "2025-06-01T12:00:00+00:00", "source_url": None,
            "file_path": None}


@pytest.fixture(scope="module")
def court():
    with DemoCourt(year=YEAR, last_number=LAST, seed=0) as c:
        yield c


@pytest.fixture(scope="module")
def recs():
    return records(YEAR, LAST, 0)


# --- data -------------------------------------------------------------------------------


def test_records_are_deterministic_per_seed(recs):
    assert records(YEAR, LAST, 0) == recs
    assert records(YEAR, LAST, 1) != recs
    assert record(YEAR, 7, LAST, 0) == next((r for r in recs if r["case_number"] == "IMM-7-25"),
                                            None)


def test_gaps_bounds_and_nothing_after_last():
    last = 2000
    numbers = {int(r["case_number"].split("-")[1]) for r in records(YEAR, last, 0)}
    assert {1, last} <= numbers
    missing = last - len(numbers)
    assert 0.01 * last < missing < 0.08 * last  # ~4% gaps
    assert max(numbers) == last
    assert record(YEAR, last + 1, last, 0) is None
    assert record(YEAR, 0, last, 0) is None


def test_records_validate_against_the_item_schema(recs):
    validator = jsonschema.Draft202012Validator(case_schema())
    for rec in recs:
        errors = list(validator.iter_errors(complete(rec)))
        assert not errors, (rec["case_number"], errors[0].message)


def test_record_contents_are_consistent(recs):
    previous = date(YEAR, 1, 1)
    for rec in recs:
        filed = date.fromisoformat(rec["filing_date"])
        assert previous <= filed <= date(YEAR, 12, 31)
        previous = filed
        ids = [e["id"] for e in rec["docket_entries"]]
        assert ids == list(range(len(ids), 0, -1)) and 1 <= len(ids) <= 30
        dates = [e["date_filed"] for e in reversed(rec["docket_entries"])]
        assert dates == sorted(dates) and dates[0] >= rec["filing_date"]
        assert rec["parties"] and rec["style_of_cause"].endswith(rec["parties"][-1]["name"])
    # Every string is clean: no double spaces, no leading/trailing spaces.
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', json.dumps(recs, ensure_ascii=False))
    assert not [s for s in strings if "  " in s or s != s.strip()]


def test_data_has_the_hard_cases():
    recs = records(YEAR, 600, 0)
    text = json.dumps(recs, ensure_ascii=False)
    assert "&" in "".join(r["style_of_cause"] for r in recs)
    assert any(ch in text for ch in "Éé") and "ç" in text.lower() and "ï" in text.lower()
    parties = [p for r in recs for p in r["parties"]]
    assert any(p["representation"] is None for p in parties)  # self-represented
    assert any(p["role"] is None for p in parties)
    assert any("&" in (p["representation"] or "") for p in parties)
    assert {"Attorney General of Canada", "Department of Justice"} <= {
        (p["representation"] or "").split(",")[0] for p in parties}
    assert any("PUBLIC SAFETY" in r["style_of_cause"] for r in recs)
    assert len({r["nature_of_proceeding"] for r in recs}) >= 3
    assert len({r["office"] for r in recs}) >= 5
    raw = [e["RECORDED_ENTRY"] for n in range(1, 601) if (c := data.case(YEAR, n, 600, 0))
           for e in data.docket_rows(c)]
    share = sum(s.startswith(" ") for s in raw) / len(raw)
    assert 0.2 < share < 0.45


# --- endpoints -------------------------------------------------------------------------


SEARCH_FIELDS = {"COURT_NO", "STYLE_OF_CAUSE", "NATURE_CD", "ENGLISH_NATURE_DESC",
                 "FRENCH_NATURE_DESC", "DIVISION", "FILE_DT", "OFF_CD", "ENGLISH_CITY_NAME",
                 "ENGLISH_PROCEEDING_TYPE", "ENGLISH_PROCEEDING_CLASS", "LANG_CD",
                 "ENGLISH_LANGUAGE_NAME", "Party"}
RE_FIELDS = {"RE_NO", "FILING_DATE", "ENGLISH_OFFICE_NAME", "RECORDED_ENTRY", "DOCNO",
             "FOREMOST_NUMBER", "DOC_DT", "CAN_PUBLISH_DOCUMENT", "IS_CONFIDENTIAL"}


def test_endpoints_agree_with_the_record(court, recs):
    rec = recs[4]
    number = rec["case_number"]
    found = api(court, "proceedingQueriesAddInfo", division="t", courtnumber=number)
    assert found["Count"] == 1 and set(found["data"][0]) == SEARCH_FIELDS
    row = found["data"][0]
    assert (row["COURT_NO"], row["STYLE_OF_CAUSE"], row["ENGLISH_NATURE_DESC"],
            row["ENGLISH_CITY_NAME"], row["ENGLISH_LANGUAGE_NAME"],
            row["ENGLISH_PROCEEDING_TYPE"], row["ENGLISH_PROCEEDING_CLASS"]) == (
        number, rec["style_of_cause"], rec["nature_of_proceeding"], rec["office"],
        rec["language"], rec["case_type"], rec["type_of_action"])
    assert ms_to_iso(row["FILE_DT"]) == rec["filing_date"]

    docket = api(court, "proceedingQueriesRE", division="b", courtnumber=number)
    assert docket["Count"] == len(docket["data"]) and set(docket["data"][0]) == RE_FIELDS
    assert [{"id": e["RE_NO"], "date_filed": ms_to_iso(e["FILING_DATE"]),
             "office": e["ENGLISH_OFFICE_NAME"], "summary": e["RECORDED_ENTRY"].strip()}
            for e in sorted(docket["data"], key=lambda e: -e["RE_NO"])] == rec["docket_entries"]

    parties = api(court, "PublicPartiesListInfo", courtnumber=number)["data"]
    assert [{"name": p["PARTY_NAME"], "role": p["PARTY_ROLE"] or None,
             "representation": ", ".join(s for s in (p["SOLCTR_FIRM"], p["SOLCTR_CONTACT"]) if s)
             or None} for p in parties] == rec["parties"]
    related = api(court, "RelatedListInfo", courtnumber=number)
    assert related["Count"] == len(related["data"])


@pytest.mark.parametrize("division,number", [
    ("t", "IMM-99999-25"),  # after the last number
    ("t", "IMM-1-24"),  # another year
    ("a", "IMM-1-25"),  # the Court of Appeal has no IMM files
    ("t", "IMM-01-25"),  # exact match only
    ("t", ""),
])
def test_unknown_numbers_answer_count_zero(court, division, number):
    for endpoint in ("proceedingQueriesAddInfo", "proceedingQueriesRE"):
        assert api(court, endpoint, division=division, courtnumber=number) == {
            "Count": 0, "data": []}


def test_court_number_is_trimmed_and_case_insensitive(court):
    for division in ("t", "b"):
        got = api(court, "proceedingQueriesAddInfo", division=division, courtnumber=" imm-1-25 ")
        assert [r["COURT_NO"] for r in got["data"]] == ["IMM-1-25"]


def test_page_is_self_contained_and_has_the_scraped_ids(court):
    status, headers, body = fetch(court.base_url + "/")  # redirects to the page
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode("utf-8")
    for needed in ('id="tab-button"', 'class="TabButton"', 'href="#tab02"',
                   'id="tab02" class="tab-contents" style="display: none;"',
                   'id="tab02selectCourt"', 'id="selectCourtNumber"', 'id="tab02Clear"',
                   'id="tab02Submit"', 'id="loadingscreen" class="loading"',
                   'id="datatable_wrapper"', 'id="datatable"', 'id="datatable_info"',
                   'class="dataTables_empty">No data available in table',
                   'id="ModalForm"', 'id="ModalPrintArea"', 'id="modalTitle"',
                   'data-dismiss="modal" aria-label="Close"', 'id="dialog"',
                   'id="popup_body_desc"'):
        assert needed in page, needed
    assert "consent-banner" not in page
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert scripts and all(s.startswith("/") for s in scripts)
    for text in [page] + [fetch(court.base_url + s)[2].decode() for s in scripts]:
        assert not re.search(r"https?://", text)


def test_download_answers_pdf_bytes(court):
    status, headers, body = fetch(court.base_url + API + "downloadFileFromAlfresco?foremostNum=123")
    assert status == 200 and body.startswith(b"%PDF")


def test_stop_is_idempotent_and_closes_the_socket():
    c = DemoCourt(last_number=5)
    c.stop()  # before start: no-op
    url = c.start()
    assert fetch(url)[0] == 200
    c.stop()
    c.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


# --- knobs -----------------------------------------------------------------------------


def test_latency_is_applied_to_json_endpoints():
    with DemoCourt(last_number=5, knobs=Knobs(latency_ms=300)) as slow:
        t0 = time.monotonic()
        api(slow, "proceedingQueriesAddInfo", division="t", courtnumber="IMM-1-25")
        assert time.monotonic() - t0 >= 0.3
        t0 = time.monotonic()
        fetch(slow.url)  # the page itself is not delayed
        assert time.monotonic() - t0 < 0.25


def test_forbid_after_blocks_the_next_search_and_everything_after():
    with DemoCourt(last_number=5, knobs=Knobs(forbid_after=2)) as c:
        search = f"{c.base_url}{API}proceedingQueriesAddInfo?division=t&courtnumber=IMM-1-25"
        assert [fetch(search)[0] for _ in range(2)] == [200, 200]
        assert fetch(c.url)[0] == 200
        status, _, body = fetch(search)
        assert status == 403 and b"Web Application Firewall" in body and b"Request Rejected" in body
        assert fetch(c.url)[0] == 403
        assert fetch(f"{c.base_url}{API}PublicPartiesListInfo?courtnumber=IMM-1-25")[0] == 403
        assert c.query_count == 3


def test_error_rate_is_close_to_p_and_deterministic():
    def statuses(seed: int) -> list[int]:
        with DemoCourt(last_number=5, seed=seed, knobs=Knobs(error_rate=0.3)) as c:
            url = f"{c.base_url}{API}PublicPartiesListInfo?courtnumber=IMM-1-25"
            return [fetch(url)[0] for _ in range(200)]

    first = statuses(0)
    assert set(first) == {200, 500}
    assert 40 <= first.count(500) <= 80
    assert statuses(0) == first
    assert statuses(1) != first


def test_nodata_after_degrades_later_searches():
    with DemoCourt(last_number=5, knobs=Knobs(nodata_after=1)) as c:
        assert api(c, "proceedingQueriesAddInfo", division="t", courtnumber="IMM-1-25")["Count"] == 1
        assert api(c, "proceedingQueriesAddInfo", division="t", courtnumber="IMM-1-25") == {
            "Count": 0, "data": []}
        assert c.query_count == 2


def test_page_knobs_reach_the_page():
    knobs = Knobs(layout="v2", consent_banner=True, hang_on={"imm-2-25"},
                  sticky_modal_on={"IMM-3-25"}, slow_modal_on={"IMM-4-25"}, slow_modal_ms=1500)
    with DemoCourt(last_number=5, knobs=knobs) as c:
        page = fetch(c.url)[2].decode()
        assert 'id="courtNumber"' in page and 'id="tab02SubmitCourtNumber"' in page
        assert 'id="selectCourtNumber"' not in page and 'id="tab02Submit"' not in page
        assert 'id="consent-banner"' in page and 'id="consent-accept"' in page
        config = json.loads(re.search(r"window.DEMOCOURT_CONFIG = (\{.*?\});", page).group(1))
        assert (config["hangOn"], config["stickyModalOn"], config["slowModalOn"],
                config["slowModalMs"]) == (["IMM-2-25"], ["IMM-3-25"], ["IMM-4-25"], 1500)
        request = urllib.request.Request(c.url, headers={"Cookie": "a=b; consent=1"})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert "consent-banner" not in r.read().decode()


def test_bad_knobs_are_refused():
    for bad in ({"error_rate": 1.5}, {"layout": "v3"}, {"latency_ms": -1}, {"forbid_after": -1}):
        with pytest.raises(ValueError):
            Knobs(**bad)


# --- vendor assets (Knobs.vendor_dir: the real page's weight) --------------------------

VENDOR_FILES = (  # kind, URL path, place, body: a made-up stand-in for benchmarks.realpage
    ("css", "/content/vendors/made-up/made-up.min.css", "head", b".made-up{color:red}"),
    ("js", "/Content/vendors/Made-Up/made-up.js", "body", b"window.madeUp = 1;"),
)


def _vendor_dir(root: Path, files=VENDOR_FILES) -> Path:
    for _, path, _, body in files:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    manifest = [{"kind": kind, "path": path, "place": place, "bytes": len(body), "npm": "made-up@1.0.0"}
                for kind, path, place, body in files]
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def test_vendor_tags_sit_in_manifest_order_and_place(tmp_path):
    with DemoCourt(last_number=5, knobs=Knobs(vendor_dir=str(_vendor_dir(tmp_path)))) as c:
        page = fetch(c.url)[2].decode()
    css = page.index('<link rel="stylesheet" href="/content/vendors/made-up/made-up.min.css">')
    js = page.index('<script src="/Content/vendors/Made-Up/made-up.js"></script>')
    # css in <head> before the demo's stylesheet; js at the end of <body>, before its script
    assert css < page.index("/Content/democourt/courtfiles.css") < page.index("</head>")
    assert page.index('id="ModalForm"') < js < page.index("/Content/democourt/courtfiles.js")
    assert "DEMOCOURT-VENDOR" not in page

    # both in the body, listed one way then the other: the page follows the manifest
    for files in (VENDOR_FILES, VENDOR_FILES[::-1]):
        listed = [(k, p, "body", b) for k, p, _, b in files]
        with DemoCourt(last_number=5, knobs=Knobs(vendor_dir=str(_vendor_dir(tmp_path, listed)))) as c:
            page = fetch(c.url)[2].decode()
        at = [page.index(p) for _, p, _, _ in listed]
        assert page.index("</head>") < at[0] < at[1] < page.index("/Content/democourt/courtfiles.js")


def test_vendor_files_are_served_cacheable_and_only_from_the_manifest(tmp_path):
    root = _vendor_dir(tmp_path)
    (root / "Content/vendors/Made-Up/not-listed.js").write_bytes(b"window.no = 1;")
    with DemoCourt(last_number=5, knobs=Knobs(vendor_dir=str(root))) as c:
        for kind, path, _, body in VENDOR_FILES:
            status, headers, got = fetch(c.base_url + path)
            assert (status, got) == (200, body)
            assert headers["Content-Type"] == {"css": "text/css", "js": "application/javascript"}[kind]
            assert headers["Cache-Control"] == "public, max-age=86400"
            assert headers["Content-Length"] == str(len(body))
            modified = headers["Last-Modified"]
            request = urllib.request.Request(c.base_url + path, headers={"If-Modified-Since": modified})
            with pytest.raises(urllib.error.HTTPError) as not_modified:
                urllib.request.urlopen(request, timeout=5)
            assert not_modified.value.code == 304
        assert fetch(c.url)[1]["Cache-Control"] == "no-store"  # the page itself is not cached
        for path in ("/Content/vendors/Made-Up/not-listed.js", "/manifest.json",
                     "/content/vendors/made-up/made-up.js",  # paths are exact, case too
                     "/Content/vendors/Made-Up/../../../manifest.json"):
            assert fetch(c.base_url + path)[0] == 404, path
    with DemoCourt(last_number=5) as plain:  # no vendor_dir: nothing extra is served
        assert fetch(plain.base_url + VENDOR_FILES[1][1])[0] == 404


@pytest.mark.parametrize("problem, match", [
    ("no dir", "is not a directory"),
    ("no manifest", "no readable manifest.json"),
    ("bad json", "no readable manifest.json"),
    ("not a list", "manifest.json is not a list"),
    ("bad kind", "needs kind css/js"),
    ("missing file", "made-up.js is missing"),
    ("outside", "is missing or outside"),
])
def test_bad_vendor_dir_is_refused_naming_the_problem(tmp_path, problem, match):
    root = _vendor_dir(tmp_path / "vendor")
    manifest = root / "manifest.json"
    entries = json.loads(manifest.read_text())
    if problem == "no dir":
        root = tmp_path / "nowhere"
    elif problem == "no manifest":
        manifest.unlink()
    elif problem == "bad json":
        manifest.write_text("[{")
    elif problem == "not a list":
        manifest.write_text(json.dumps(entries[0]))
    elif problem == "bad kind":
        manifest.write_text(json.dumps([{**entries[0], "kind": "font"}]))
    elif problem == "missing file":
        (root / entries[1]["path"].lstrip("/")).unlink()
    else:
        (tmp_path / "secret.js").write_text("x")
        manifest.write_text(json.dumps([{**entries[1], "path": "/../secret.js"}]))
    with pytest.raises(ValueError, match=match):
        Knobs(vendor_dir=str(root))


def test_vendor_dir_from_strings_and_the_serve_cli(tmp_path):
    root = _vendor_dir(tmp_path)
    knobs = Knobs.from_strings({"vendor_dir": f" {root} "})
    assert knobs.vendor_dir == str(root)
    assert list(knobs.vendor_assets) == [path for _, path, _, _ in VENDOR_FILES]
    assert Knobs().vendor_assets == {}
    with pytest.raises(ValueError, match="is not a directory"):
        Knobs.from_strings({"vendor_dir": str(tmp_path / "nowhere")})
    done = _cli("serve", "--port", "0", "--vendor-dir", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert "is not a directory" in done.stderr.decode().strip().splitlines()[-1]


# --- command line ----------------------------------------------------------------------


def _cli(*args: str, **kwargs):
    env = {**os.environ, "PYTHONPATH": PROJECT_ROOT}
    return subprocess.run([sys.executable, "-m", "casescraper.democourt", *args], env=env,
                          capture_output=True, timeout=30, **kwargs)


def test_dump_cli_prints_the_records():
    done = _cli("dump", "--year", "2025", "--last-number", "80", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8")) == records(2025, 80, 3)


def test_cli_rejects_bad_values_in_one_line():
    done = _cli("serve", "--port", "0", "--error-rate", "2")
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines()[-1].endswith("must be between 0 and 1: '2'")


def test_serve_cli_answers_and_stops_on_sigterm():
    env = {**os.environ, "PYTHONPATH": PROJECT_ROOT}
    proc = subprocess.Popen([sys.executable, "-m", "casescraper.democourt", "serve", "--port",
                             "0", "--last-number", "10"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/en/court-files-and-decisions/court-files", url)
        assert fetch(url)[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
