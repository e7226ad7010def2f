"""The crawl survives what the real page does: real headless Chromium, demo court variants.

Crawls (tests/e2e.py): one per demo variant and one with all of them on, 20 numbers each,
every record equal to the demo dump field by field (parties included); and the time-zone
test: crawls under TZ=Asia/Tokyo and TZ=UTC give the dump's (Toronto) dates.
Page level (one browser for all): what the page object hands over on each variant, and
parties that cannot be had never fail a case.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from casescraper.browser.driver import Browser, BrowserConfig, RunDir
from casescraper.democourt import DemoCourt, Knobs, data, record
from casescraper.browser.page import CourtFilesPage
from casescraper.settings import SELENIUM_DRIVER_ARGUMENTS

from . import e2e
from .e2e import (
    expected, final_statuses, needs_browser, run_crawl, saved_files, strip_run_fields,
)

pytestmark = needs_browser
YEAR, LAST, COUNT = 2025, 60, 20
DEMO = {"site": "demo", "year": YEAR, "demo_last_number": LAST, "max_cases": COUNT}
# The default demo page is the closest known copy of the real one: Bootstrap fades, the
# e-filing popup, background traffic, the parties popup of the portal's popup.js.
VARIANTS = {
    "default": {"demo_fade_ms": 300},  # the default, named: e2e.fast() turns fades off otherwise
    "parties-jqueryui": {"demo_parties_ui": "jqueryui"},
    "parties-bootstrap": {"demo_parties_ui": "bootstrap"},
    "parties-escape": {"demo_parties_ui": "escape"},
    "calm-page": {"demo_background_noise": 0, "demo_efiling_popup": 0, "demo_fade_ms": 0},
    "slow-fades": {"demo_fade_ms": 900, "demo_efiling_delay_ms": 0},
    "all-at-once": {"demo_parties_ui": "bootstrap", "demo_background_noise": 1,
                    "demo_efiling_popup": 1, "demo_efiling_delay_ms": 300, "demo_fade_ms": 300,
                    "demo_latency_ms": 20, "demo_consent_banner": 1},
}


def _same_as_the_dump(result: dict, numbers: range = range(1, COUNT + 1)) -> dict:
    out = result["out"]
    assert result["returncode"] == 0 and result["reason"] == "finished", result["log"][-3000:]
    statuses = final_statuses(out)
    assert set(statuses) == {f"IMM-{n}-{YEAR % 100}" for n in numbers}
    assert set(statuses.values()) <= {"saved", "no_results"}, statuses
    assert not [k for k in result["stats"] if k.startswith("casescraper/failures/")], result["stats"]
    files, want = saved_files(out), expected(YEAR, LAST, numbers)
    assert set(files) == set(want)
    for case in sorted(want):
        got = strip_run_fields(files[case])
        for key in want[case]:
            assert got.get(key) == want[case][key], f"{case} {key}: {got.get(key)!r} != {want[case][key]!r}"
        assert got == want[case]
    return files


def _crawl(tmp_path, args: dict, **settings) -> dict:
    result = run_crawl(tmp_path, {**DEMO, **args}, settings or None)
    result["out"] = tmp_path / "output"
    return result


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_gives_the_dump(tmp_path, variant):
    result = _crawl(tmp_path, VARIANTS[variant])
    _same_as_the_dump(result)
    assert result["stats"].get("casescraper/page/loads") == 1  # no reload: nothing got stuck
    assert result["stats"].get("casescraper/parties/stuck") is None


@pytest.mark.parametrize("tz", ["Asia/Tokyo", "UTC"])
def test_dates_are_the_courts_wherever_the_crawler_runs(tmp_path, monkeypatch, tz):
    monkeypatch.setitem(e2e.ENV, "TZ", tz)  # the crawl, its chromedriver and Chromium
    files = _same_as_the_dump(_crawl(tmp_path, {}))
    # The test means something: in the machine's zone some filing dates are other days.
    # (democourt.data.case: the instants the portal sends, FILE_DT.)
    toronto, here = ZoneInfo("America/Toronto"), ZoneInfo(tz)
    cases = [c for c in (data.case(YEAR, n, LAST) for n in range(1, COUNT + 1)) if c is not None]
    shifted = [c for c in cases if c.filed_at.astimezone(here).date() != c.filed_at.astimezone(toronto).date()]
    assert shifted, f"no filing instant of the first {COUNT} numbers falls on another day in {tz}"
    for c in shifted:
        assert files[c.case_number]["filing_date"] == c.filed_at.astimezone(toronto).date().isoformat()


# --- page level: one browser, the page object alone ---------------------------------------

@pytest.fixture(scope="module")
def driver():
    run_dir = RunDir(f"variants-{os.getpid()}")
    browser = Browser(BrowserConfig(driver_path="/usr/bin/chromedriver", browser_path="/usr/bin/chromium",
                                    arguments=list(SELENIUM_DRIVER_ARGUMENTS)), run_dir, 1)
    try:
        yield browser.start()
    finally:
        browser.quit()
        run_dir.remove()


def _search(page: CourtFilesPage, case: str):
    if not page.ready:
        page.open()
    return page.search(case)


def _portal_only(answers: list[dict], origin: str) -> None:
    for a in answers:
        url = urlsplit(a["url"])
        assert f"{url.scheme}://{url.netloc}" == origin and url.path.startswith("/CourtFilesAndDecisions/"), a
        assert set(a) == {"endpoint", "url", "status", "body", "date"} and a["endpoint"] == url.path.rsplit("/", 1)[-1]


@pytest.mark.parametrize("knobs", [
    {}, {"parties_ui": "jqueryui"}, {"parties_ui": "bootstrap"}, {"parties_ui": "escape"},
    {"fade_ms": 0, "background_noise": False, "efiling_popup": False},
], ids=lambda k: ",".join(f"{n}={v}" for n, v in k.items()) or "default")
def test_the_capture_on_each_variant(driver, knobs):
    with DemoCourt(year=YEAR, last_number=LAST, knobs=Knobs(efiling_delay_ms=0, **knobs)) as court:
        page = CourtFilesPage(driver, court.url, "t", 20)
        for n in range(1, 7):
            want = record(YEAR, n, LAST)
            capture = _search(page, f"IMM-{n}-25")
            assert capture.found is (want is not None)
            _portal_only(capture.answers, court.base_url)  # beacons and analytics never count
            if want is None:
                continue
            assert capture.stuck is None and capture.parties_stuck is None and capture.parties_note is None
            by_endpoint = {a["endpoint"]: a for a in capture.answers}
            assert {"proceedingQueriesAddInfo", "PublicPartiesListInfo", "proceedingQueriesRE"} <= set(by_endpoint)
            assert all(a["status"] == 200 for a in capture.answers)
            names = [p["PARTY_NAME"] for p in json.loads(by_endpoint["PublicPartiesListInfo"]["body"])["data"]]
            assert names == [p["name"] for p in want["parties"]]
            assert "<thead>" in capture.html and "Court Number" in capture.html  # the header row
            assert 'id="popup_body_desc"' in capture.html and names[0].split()[0] in capture.html
            state = driver.execute_script(
                "return {filter: (document.querySelector('#datatable_filter input') || {}).value || '',"
                " modal: getComputedStyle(document.querySelector('#ModalForm')).display}")
            assert state["filter"] == ""  # DataTables' search input is never typed into
        assert page.ready  # never reloaded


def _break_parties(driver, also_ours: bool) -> None:
    """The page's own parties request fails (aborted: status 0); with `also_ours`, so does
    every fetch of them, ours included."""
    driver.execute_script("""
      const send = XMLHttpRequest.prototype.send;
      XMLHttpRequest.prototype.send = function () {
        const r = send.apply(this, arguments);
        if (String(this.__csUrl).includes('PublicPartiesListInfo')) this.abort();
        return r;
      };
      if (arguments[0]) {
        const f = window.fetch;
        window.fetch = function (input) {
          return String(input).includes('PublicPartiesListInfo') ? Promise.reject(new TypeError('down'))
            : f.apply(this, arguments);
        };
      }""", also_ours)


def test_a_failed_parties_answer_is_asked_again_from_the_page(driver):
    with DemoCourt(year=YEAR, last_number=LAST, knobs=Knobs(efiling_popup=False)) as court:
        page = CourtFilesPage(driver, court.url, "t", 20)
        page.open()
        _break_parties(driver, also_ours=False)
        capture = page.search("IMM-1-25")
        parties = [a for a in capture.answers if a["endpoint"] == "PublicPartiesListInfo"]
        assert [a["status"] for a in parties] == [0, 200]
        assert parties[0]["url"] == parties[1]["url"]  # the same request the page made
        want = [p["name"] for p in record(YEAR, 1, LAST)["parties"]]
        assert [p["PARTY_NAME"] for p in json.loads(parties[1]["body"])["data"]] == want
        assert capture.found and capture.stuck is None and "asked the portal" in capture.parties_note


def test_parties_that_cannot_be_had_never_fail_the_case(driver):
    with DemoCourt(year=YEAR, last_number=LAST, knobs=Knobs(efiling_popup=False)) as court:
        page = CourtFilesPage(driver, court.url, "t", 20)
        page.open()
        _break_parties(driver, also_ours=True)
        for n in (1, 2):
            capture = page.search(f"IMM-{n}-25")
            assert capture.found and capture.stuck is None
            assert "did not answer" in capture.parties_note
            assert "proceedingQueriesRE" in {a["endpoint"] for a in capture.answers}
            assert "partiesTable" not in capture.html  # no dialog opened
        assert page.ready
