"""Tests of the demo court (casescraper.democourt): data, endpoints, knobs and CLI.

No browser: the page's script is checked in test_democourt_fidelity.py and by the
end-to-end crawls.
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

import socket
from zoneinfo import ZoneInfo

import jsonschema
import pytest

import casescraper
from casescraper.democourt import DemoCourt, Knobs, data, record, records, server
from casescraper.democourt.__main__ import _parser
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


TORONTO, TOKYO = ZoneInfo("America/Toronto"), ZoneInfo("Asia/Tokyo")


def instant(value: str) -> datetime:
    m = re.fullmatch(r"/Date\((\d+)\)/", value)
    assert m, value
    return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=timezone.utc)


def ms_to_iso(value: str, zone=TORONTO) -> str:
    """The calendar date a browser in `zone` shows for "/Date(ms)/"."""
    return instant(value).astimezone(zone).date().isoformat()


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


RECORD_KEYS = ["schema_version", "case_number", "court", "style_of_cause",
               "nature_of_proceeding", "case_type", "type_of_action", "filing_date", "office",
               "language", "track", "proceeding_class", "proceeding_type", "nature_code", "office_code",
               "other_fields", "parties", "related", "docket_entries"]
DOWNLOAD = "/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum="


def test_records_have_the_v3_shape(recs):
    for rec in recs:
        assert list(rec) == RECORD_KEYS and rec["schema_version"] == 3
        assert rec["other_fields"] == {} and rec["court"] == "t"
        for p in rec["parties"]:
            assert list(p) == ["name", "solicitor_firm", "solicitor_contact", "role"] and p["name"]
        for r in rec["related"]:
            assert list(r) == ["case_number", "style_of_cause"]
        for e in rec["docket_entries"]:
            assert list(e) == ["id", "date_filed", "office", "summary", "document", "docno", "document_date"]
            doc = e["document"]
            assert list(doc) == ["id", "downloadable", "confidential", "url"]
            assert doc["id"].isdigit() and isinstance(doc["confidential"], bool)
            assert doc["url"] == (DOWNLOAD + doc["id"] if doc["downloadable"] else None)
            assert not (doc["downloadable"] and doc["confidential"])
    entries = [e["document"] for r in recs for e in r["docket_entries"]]
    assert any(d["downloadable"] for d in entries) and any(d["confidential"] for d in entries)
    assert any(not d["downloadable"] and not d["confidential"] for d in entries)


def test_records_validate_against_the_item_schema(recs):
    schema = case_schema()
    if "schema_version" not in schema.get("properties", {}):
        pytest.skip("the item schema is not v2 yet (casescraper/schema/case.schema.json)")
    validator = jsonschema.Draft202012Validator(schema)
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
        assert dates == sorted(dates) and dates[0] == rec["filing_date"]
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
    assert any(p["solicitor_firm"] is None and p["solicitor_contact"] is None
               for p in parties)  # self-represented
    assert any(p["solicitor_firm"] and p["solicitor_contact"] is None for p in parties)
    assert any("&" in (p["solicitor_firm"] or "") for p in parties)
    assert {"Attorney General of Canada", "Department of Justice"} <= {
        p["solicitor_firm"] for p in parties}
    assert any("PUBLIC SAFETY" in r["style_of_cause"] for r in recs)
    assert any(r["related"] for r in recs) and any(not r["related"] for r in recs)
    assert len({r["nature_of_proceeding"] for r in recs}) >= 3
    assert len({r["office"] for r in recs}) >= 5
    raw = [e["RECORDED_ENTRY"] for n in range(1, 601) if (c := data.case(YEAR, n, 600, 0))
           for e in data.docket_rows(c)]
    share = sum(s.startswith(" ") for s in raw) / len(raw)
    assert 0.2 < share < 0.45


def test_instants_carry_a_toronto_time_of_day_and_the_dump_holds_toronto_dates():
    last, utc_other, tokyo_other, total = 400, 0, 0, 0
    for n in range(1, last + 1):
        c = data.case(YEAR, n, last, 0)
        if c is None:
            continue
        rec = data.to_record(c)
        stamps = [data.search_row(c)["FILE_DT"]] + [
            e["FILING_DATE"] for e in sorted(data.docket_rows(c), key=lambda e: -e["RE_NO"])]
        shown = [rec["filing_date"]] + [e["date_filed"] for e in rec["docket_entries"]]
        for stamp, day in zip(stamps, shown, strict=True):
            local = instant(stamp).astimezone(TORONTO)
            assert local.date().isoformat() == day  # the dump holds the Toronto date
            assert 7 <= local.hour <= 23 and instant(stamp).microsecond == 0
            total += 1
            utc_other += ms_to_iso(stamp, timezone.utc) != day
            tokyo_other += ms_to_iso(stamp, TOKYO) != day
    # A browser outside Toronto shows other days for a good share of them.
    assert 0.1 * total < utc_other < 0.5 * total
    assert 0.5 * total < tokyo_other < total
    assert data.ms_date(datetime(2024, 10, 31, 20, 31, 58, tzinfo=timezone.utc)) == \
        "/Date(1730406718000)/"  # SITE.md's sample


# --- endpoints -------------------------------------------------------------------------


SEARCH_FIELDS = {"COURT_NO", "STYLE_OF_CAUSE", "NATURE_CD", "ENGLISH_NATURE_DESC",
                 "FRENCH_NATURE_DESC", "DIVISION", "FILE_DT", "OFF_CD", "ENGLISH_CITY_NAME",
                 "ENGLISH_PROCEEDING_TYPE", "ENGLISH_PROCEEDING_CLASS", "LANG_CD",
                 "ENGLISH_LANGUAGE_NAME", "Party", "COURT_SEQ", "FRENCH_CITY_NAME",
                 "PRCDG_TYPE", "FRENCH_PROCEEDING_TYPE", "PROCEEDING_CLASS_ID",
                 "FRENCH_PROCEEDING_CLASS", "FRENCH_LANGUAGE_NAME"}
RE_FIELDS = {"RE_NO", "FILING_DATE", "ENGLISH_OFFICE_NAME", "RECORDED_ENTRY", "DOCNO",
             "FOREMOST_NUMBER", "DOC_DT", "CAN_PUBLISH_DOCUMENT", "IS_CONFIDENTIAL",
             "COURT_NO", "STYLE_OF_CAUSE", "NATURE", "TRACK", "CLASS", "FRENCH_OFFICE_NAME",
             "RE_LANG_CD", "REGISTRY_NOTES_EXTERNAL"}


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
    assert row["Party"] == [p["name"] for p in rec["parties"]]

    docket = api(court, "proceedingQueriesRE", division="b", courtnumber=number)
    assert docket["Count"] == len(docket["data"]) and set(docket["data"][0]) == RE_FIELDS
    assert [e["RE_NO"] for e in docket["data"]] == [e["id"] for e in rec["docket_entries"]]
    assert [{"id": e["RE_NO"], "date_filed": ms_to_iso(e["FILING_DATE"]),
             "office": e["ENGLISH_OFFICE_NAME"], "summary": e["RECORDED_ENTRY"].strip(),
             "document": {"id": e["FOREMOST_NUMBER"],
                          "downloadable": (e["CAN_PUBLISH_DOCUMENT"], e["IS_CONFIDENTIAL"]) == ("Y", "N"),
                          "confidential": e["IS_CONFIDENTIAL"] == "Y",
                          "url": DOWNLOAD + e["FOREMOST_NUMBER"]
                          if (e["CAN_PUBLISH_DOCUMENT"], e["IS_CONFIDENTIAL"]) == ("Y", "N") else None},
             "docno": e["DOCNO"], "document_date": e["DOC_DT"][:10]}
            for e in docket["data"]] == rec["docket_entries"]

    parties = api(court, "PublicPartiesListInfo", courtnumber=number)["data"]
    assert [{"name": p["PARTY_NAME"], "solicitor_firm": p["SOLCTR_FIRM"],
             "solicitor_contact": p["SOLCTR_CONTACT"], "role": None} for p in parties] == rec["parties"]
    assert all(set(p) == {"PARTY_NAME", "SOLCTR_FIRM", "SOLCTR_CONTACT"} for p in parties)
    related = api(court, "RelatedListInfo", courtnumber=number)
    assert related["Count"] == len(related["data"])


def test_docket_rows_look_like_the_portal_answer(recs):
    for rec in recs[:40]:
        c = data.case(YEAR, int(rec["case_number"].split("-")[1]), LAST, 0)
        for e in data.docket_rows(c):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00", e["DOC_DT"])  # ISO, no /Date/
            assert e["DOC_DT"][:10] == ms_to_iso(e["FILING_DATE"])
            assert e["DOCNO"] != e["RE_NO"] and isinstance(e["FOREMOST_NUMBER"], str)
            assert (e["COURT_NO"], e["STYLE_OF_CAUSE"], e["NATURE"]) == (
                rec["case_number"], rec["style_of_cause"], rec["nature_of_proceeding"])
            assert e["RE_LANG_CD"] in ("E", "F") and e["FRENCH_OFFICE_NAME"]


def test_related_files_answer_as_the_record_says(court):
    last = 600
    rec = next(r for r in records(YEAR, last, 0) if r["related"])
    n = int(rec["case_number"].split("-")[1])
    assert data.related_rows(YEAR, n, last, 0) == [
        {"RELATED_COURT_NO": r["case_number"], "STYLE_OF_CAUSE": r["style_of_cause"]}
        for r in rec["related"]]
    assert data.related_rows(YEAR, last + 1, last, 0) == []


def test_court_number_list_answers_numbers_starting_with_the_text(court, recs):
    known = {r["case_number"] for r in recs}
    got = api(court, "proceedingQueriesCourtNumberList", courtnumber="imm-1")
    numbers = [row["COURT_NO"] for row in got["data"]]
    assert got["Count"] == len(numbers) and 1 <= len(numbers) <= 20
    assert set(numbers) <= known and all(n.startswith("IMM-1") for n in numbers)
    assert [row["COURT_NO"] for row in api(court, "proceedingQueriesCourtNumberList",
                                           courtnumber="IMM-12-25")["data"]] == (
        ["IMM-12-25"] if "IMM-12-25" in known else [])
    for text in ("T-1", "IMM-0", "", "IMM-99999"):
        assert api(court, "proceedingQueriesCourtNumberList", courtnumber=text)["data"] == []


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
                   'id="ModalForm"', 'id="ModalPrintArea"', 'id="modalTitle"',
                   'data-dismiss="modal" aria-label="Close"', 'id="dialog"',
                   'id="popup_body_desc"', 'class="modal fade right" id="EfilingModal"'):
        assert needed in page, needed
    # Bare until the first search (FACT, searchpage.html): DataTables adds the rest.
    assert re.search(r'<table id="datatable" [^>]*></table>', page)
    for absent in ('id="datatable_wrapper"', 'id="datatable_info"', 'class="dataTables_empty"',
                   "consent-banner", 'class="ui-dialog'):
        assert absent not in page, absent
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
    # The page itself is not delayed: with ten minutes of latency it still answers at once.
    with DemoCourt(last_number=5, knobs=Knobs(latency_ms=600_000)) as held:
        assert fetch(held.url)[0] == 200


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
        config = page_config(page)
        assert (config["hangOn"], config["stickyModalOn"], config["slowModalOn"],
                config["slowModalMs"]) == (["IMM-2-25"], ["IMM-3-25"], ["IMM-4-25"], 1500)
        request = urllib.request.Request(c.url, headers={"Cookie": "a=b; consent=1"})
        with urllib.request.urlopen(request, timeout=5) as r:
            assert "consent-banner" not in r.read().decode()


def page_config(page: str) -> dict:
    return json.loads(re.search(r"window.DEMOCOURT_CONFIG = (\{.*?\});</script>", page).group(1))


def test_default_page_is_the_real_one_as_known_and_variants_switch():
    with DemoCourt(last_number=5, seed=3) as c:
        config = page_config(fetch(c.url)[2].decode())
        assert (config["fadeMs"], config["efilingPopup"], config["partiesUi"]) == (300, True, "popup")
        assert config["noise"]["seed"] == 3 and config["noise"]["closedPort"] > 0
    knobs = Knobs(fade_ms=0, efiling_popup=False, efiling_delay_ms=5, parties_ui="escape",
                  background_noise=False)
    with DemoCourt(last_number=5, knobs=knobs) as c:
        config = page_config(fetch(c.url)[2].decode())
        assert (config["fadeMs"], config["efilingPopup"], config["efilingDelayMs"],
                config["partiesUi"], config["noise"]) == (0, False, 5, "escape", None)


@pytest.mark.parametrize("bad, message", [
    ({"error_rate": 1.5}, "error_rate='1.5' is invalid: use a probability between 0 and 1"),
    ({"layout": "v3"}, "layout='v3' is invalid: use v1 or v2"),
    ({"latency_ms": -1}, "latency_ms='-1' is invalid: use an integer number of milliseconds"),
    ({"forbid_after": -1}, "forbid_after='-1' is invalid: use nothing (off) or an integer >= 0"),
    ({"fade_ms": 10**9}, "fade_ms='1000000000' is invalid"),
    ({"parties_ui": "modal"}, "parties_ui='modal' is invalid: use popup, jqueryui, bootstrap, escape"),
    ({"efiling_popup": "yes"}, "efiling_popup='yes' is invalid: use True or False"),
])
def test_bad_knobs_are_refused_in_one_line(bad, message):
    with pytest.raises(ValueError) as refused:
        Knobs(**bad)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


@pytest.mark.parametrize("values, message", [
    ({"fade_ms": "fast"}, "fade_ms='fast' is invalid: use a whole number >= 0"),
    ({"background_noise": "maybe"}, "background_noise='maybe' is invalid: use 1 or 0"),
    ({"error_rate": "x"}, "error_rate='x' is invalid: use a number between 0 and 1"),
    ({"parties_ui": "dialog"}, "parties_ui='dialog' is invalid"),
    ({"nosuch": "1"}, "unknown demo knob 'nosuch'"),
])
def test_knobs_from_strings_refuse_bad_text_in_one_line(values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Knobs.from_strings(values)


def test_knobs_from_strings_read_every_new_knob():
    knobs = Knobs.from_strings({"fade_ms": "0", "efiling_popup": "off", "efiling_delay_ms": "50",
                                "parties_ui": " bootstrap ", "background_noise": "0"})
    assert (knobs.fade_ms, knobs.efiling_popup, knobs.efiling_delay_ms, knobs.parties_ui,
            knobs.background_noise) == (0, False, 50, "bootstrap", False)


def test_every_knob_is_a_serve_option_and_a_spider_argument():
    serve = _parser()._subparsers._group_actions[0].choices["serve"]
    options = {opt for action in serve._actions for opt in action.option_strings}
    for name in Knobs.names():
        assert "--" + name.replace("_", "-") in options, name
    args = _parser().parse_args(["serve", "--no-efiling-popup", "--parties-ui", "jqueryui",
                                 "--fade-ms", "0", "--no-background-noise"])
    assert Knobs(**{n: getattr(args, n) for n in Knobs.names()}) == Knobs(
        efiling_popup=False, parties_ui="jqueryui", fade_ms=0, background_noise=False)
    from casescraper.spiders.cases import CasesSpider
    assert CasesSpider.DEMO_ARGUMENTS == {"demo_last_number", "demo_seed"} | {
        "demo_" + n for n in Knobs.names()}


# --- background traffic ------------------------------------------------------------------


def test_background_paths_answer_as_planned_and_are_counted():
    with DemoCourt(last_number=5) as c:
        for path, status in (("/g/collect", 204), ("/collect", 200), ("/gtm.js", 404),
                             ("/j/collect", 500)):
            assert fetch(c.base_url + path + "?v=2")[0] == status
        request = urllib.request.Request(c.base_url + "/g/collect",
                                         headers={"Host": f"localhost:{c.port}"})
        urllib.request.urlopen(request, timeout=5)
        assert c.noise_hits == {("127.0.0.1", "/g/collect"): 1, ("127.0.0.1", "/collect"): 1,
                                ("127.0.0.1", "/gtm.js"): 1, ("127.0.0.1", "/j/collect"): 1,
                                ("localhost", "/g/collect"): 1}
        assert c.query_count == 0  # background traffic is no search


def _held_request(court: DemoCourt) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", court.port), timeout=10)
    s.sendall(b"GET /gtag/js?v=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return s


def wait_for(cond, what: str, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_never_answered_requests_are_held_until_the_client_gives_up(monkeypatch):
    monkeypatch.setattr(server, "MAX_HELD", 2)
    with DemoCourt(last_number=5) as c:
        first, second = _held_request(c), _held_request(c)
        wait_for(lambda: c.held == 2, "two held requests")
        third = _held_request(c)  # beyond MAX_HELD: closed at once, unanswered
        assert third.recv(100) == b""
        first.close()  # the client gives up: its slot is freed
        wait_for(lambda: c.held == 1, "the abandoned request to be dropped")
        fourth = _held_request(c)
        wait_for(lambda: c.held == 2, "the freed slot to be used")
    for s in (second, fourth):  # stop() drops the rest unanswered
        assert s.recv(100) == b""
        s.close()
    third.close()
    wait_for(lambda: c.held == 0, "held requests to end after stop()")


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
    done = _cli("dump", "--year", "2025", "--last-number", "8", "--day", "2", "--grow", "IMM-3-25")
    assert json.loads(done.stdout.decode("utf-8")) == records(2025, 8, 0, day=2, grow={"IMM-3-25"})


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


# --- change history: knobs day and grow ---------------------------------------------------


def test_grown_cases_get_day_more_entries_and_nothing_else_changes(recs):
    grow = {"imm-5-25 ", "IMM-7-25"}
    for day in (1, 2, 3):
        later = {r["case_number"]: r for r in records(YEAR, LAST, 0, day=day, grow=grow)}
        assert set(later) == {r["case_number"] for r in recs}
        for before in recs:
            after = later[before["case_number"]]
            if before["case_number"] not in ("IMM-5-25", "IMM-7-25"):
                assert after == before
                continue
            old, new = before["docket_entries"], after["docket_entries"]
            assert new[day:] == old and [e["id"] for e in new[:day]] == [
                len(old) + i for i in range(day, 0, -1)]  # newest first, ids go on
            assert {k: v for k, v in after.items() if k != "docket_entries"} == {
                k: v for k, v in before.items() if k != "docket_entries"}
            dates = [e["date_filed"] for e in new]
            assert dates == sorted(dates, reverse=True) and dates[0] > old[0]["date_filed"]
            jsonschema.validate(complete(after), case_schema())
    one, two = (data.record(YEAR, 5, LAST, 0, day=d, grow=grow)["docket_entries"] for d in (1, 2))
    assert two[1:] == one  # day 2 holds day 1's entries: a case grows, never rewrites
    assert records(YEAR, LAST, 0, day=0, grow=grow) == recs == records(YEAR, LAST, 0, day=3)


def test_grown_cases_are_served_as_the_records_say():
    knobs = Knobs.from_strings({"day": "2", "grow": "IMM-3-25, imm-4-25"})
    assert (knobs.day, knobs.grow) == (2, frozenset({"IMM-3-25", "IMM-4-25"}))
    with DemoCourt(year=YEAR, last_number=10, knobs=knobs) as c:
        assert c.records() == records(YEAR, 10, 0, day=2, grow={"IMM-3-25", "IMM-4-25"})
        assert c.record(3) == c.records()[2] != data.record(YEAR, 3, 10)
        for n in (3, 5):
            rec = c.record(n)
            docket = api(c, "proceedingQueriesRE", division="t", courtnumber=rec["case_number"])
            assert [e["RE_NO"] for e in docket["data"]] == [e["id"] for e in rec["docket_entries"]]
            assert [e["RECORDED_ENTRY"].strip() for e in docket["data"]] == [
                e["summary"] for e in rec["docket_entries"]]


@pytest.mark.parametrize("values, message", [
    ({"day": "-1"}, "day='-1' is invalid: use a whole number >= 0"),
    ({"day": "5000"}, "day='5000' is invalid: use a whole number of days, 0 to 1000"),
])
def test_bad_day_is_refused_in_one_line(values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Knobs.from_strings(values)
