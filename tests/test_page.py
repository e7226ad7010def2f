"""Unit tests (fake driver): what CourtFilesPage.search sends and how it reads the answer,
and the time zone a browser starts in.

The real path runs end to end in test_e2e_crawl.py, test_resilience.py and
test_real_page_variants.py.
"""

import asyncio
import json

import pytest
from scrapy import Request
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from casescraper import settings as project_settings

from casescraper.browser import driver as browser_module
from casescraper.browser.driver import Browser, BrowserConfig
from casescraper.config import SPECS, validate_settings
from casescraper.errors import Blocked, ConfigError, LayoutChanged, PageStuck
from casescraper.middlewares import SeleniumMiddleware
from casescraper.browser.page import CASE_SCRIPT, SELECTORS, XHR_HOOK, Capture, CourtFilesPage


class FakeDriver:
    """Answers executeCdpCommand with a canned DevTools result and records what it got."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []

    def execute(self, command, params):
        self.calls.append((command, params))
        return {"value": self.outcome}


def page_with(outcome):
    page = CourtFilesPage(FakeDriver(outcome), "http://127.0.0.1:1/court-files#tab02", "t", 12.5)
    page.ready = True
    return page


def test_one_devtools_evaluation_per_case_with_the_case_as_a_js_string():
    page = page_with({"result": {"type": "object", "value": {"found": True, "html": "<p>x</p>"}}})
    hostile = 'IMM-1-25"); alert(1); ("\u2028'
    capture = page.search(hostile)
    assert (capture.case, capture.found, capture.html, capture.stuck) == (hostile, True, "<p>x</p>", None)
    [(command, params)] = page.driver.calls
    assert command == "executeCdpCommand" and params["cmd"] == "Runtime.evaluate"
    assert params["params"]["awaitPromise"] is True and params["params"]["returnByValue"] is True
    expression = params["params"]["expression"]
    assert f"window.__cs.run({json.dumps(hostile)}, 12500)" in expression  # ms
    assert "\u2028" not in expression and 'alert(1); ("' not in expression


def test_a_script_exception_is_a_stuck_page_that_needs_a_reload():
    page = page_with({"result": {"type": "object", "subtype": "error"},
                      "exceptionDetails": {"text": "Uncaught", "exception": {
                          "description": "TypeError: q(...) is null"}}})
    with pytest.raises(PageStuck, match="case script failed: TypeError: q"):
        page.search("IMM-1-25")
    assert page.ready is False


def test_answers_from_the_page_map_to_our_errors():
    page = page_with({"result": {"type": "object", "value": {
        "error": "layout", "element": "input#selectCourtNumber"}}})
    with pytest.raises(LayoutChanged, match="selectCourtNumber"):
        page.search("IMM-1-25")
    page = page_with({"result": {"type": "object", "value": {
        "error": "layout", "element": "input#selectCourtNumber", "detail": "looked for in div#tab02"}}})
    with pytest.raises(LayoutChanged, match="input#selectCourtNumber is missing: looked for in div#tab02"):
        page.search("IMM-1-25")
    page = page_with({"result": {"type": "object", "value": {
        "error": "setup", "what": "the case script: the page was reloaded behind our back"}}})
    with pytest.raises(PageStuck, match="reloaded behind our back"):
        page.search("IMM-1-25")
    assert page.ready is False
    page = page_with({"result": {"type": "undefined"}})
    with pytest.raises(PageStuck, match="unexpected answer"):
        page.search("IMM-1-25")


def test_a_modal_that_would_not_close_keeps_the_data_and_asks_for_a_reload():
    page = page_with({"result": {"type": "object", "value": {
        "found": True, "html": "<p>data</p>", "stuck": "details modal did not close"}}})
    capture = page.search("IMM-1-25")
    assert capture.html == "<p>data</p>" and capture.stuck == "details modal did not close"
    assert page.ready is False


def test_the_portals_answers_are_handed_over_in_the_contracts_shape():
    answers = [
        {"endpoint": "proceedingQueriesAddInfo", "url": "http://127.0.0.1:1/CourtFilesAndDecisions/"
         "proceedingQueriesAddInfo?division=t&courtnumber=IMM-1-25", "status": 200, "body": '{"data": []}'},
        {"endpoint": "PublicPartiesListInfo", "url": "http://127.0.0.1:1/x", "status": 0, "body": None},
        {"endpoint": "proceedingQueriesRE", "url": "http://127.0.0.1:1/y", "status": 200, "body": "",
         "body_skipped": 5_000_000},
    ]
    page = page_with({"result": {"type": "object", "value": {"found": True, "html": "<p/>", "answers": answers}}})
    capture = page.search("IMM-1-25")
    assert [a["endpoint"] for a in capture.answers] == [
        "proceedingQueriesAddInfo", "PublicPartiesListInfo", "proceedingQueriesRE"]
    assert capture.answers[0] == answers[0]
    assert capture.answers[1] == {"endpoint": "PublicPartiesListInfo", "url": "http://127.0.0.1:1/x",
                                  "status": 0, "body": ""}
    assert capture.answers[2]["body_skipped"] == 5_000_000 and capture.answers[2]["body"] == ""
    assert page.ready is True
    # A page that sends none (an older script, "no data") gives an empty list, not None.
    assert page_with({"result": {"type": "object", "value": {"found": False, "html": ""}}}).search(
        "IMM-2-25").answers == []


def test_a_parties_dialog_that_would_not_close_never_fails_the_case():
    page = page_with({"result": {"type": "object", "value": {
        "found": True, "html": "<p>data</p>", "answers": [],
        "parties_stuck": "parties dialog did not close", "parties_note": "asked the portal for them"}}})
    capture = page.search("IMM-1-25")
    assert capture.found and capture.html == "<p>data</p>" and capture.stuck is None
    assert capture.parties_stuck == "parties dialog did not close"
    assert capture.parties_note == "asked the portal for them"
    assert page.ready is False  # reloaded before the next case


def test_a_refused_parties_answer_is_a_block_not_a_parties_problem():
    page = page_with({"result": {"type": "object", "value": {
        "error": "http", "status": 403, "url": "http://x/CourtFilesAndDecisions/PublicPartiesListInfo",
        "what": "parties"}}})
    with pytest.raises(Blocked, match="refused parties with HTTP 403"):
        page.search("IMM-1-25")


def test_the_case_script_only_counts_the_portals_own_requests():
    # The hook's notion of "the portal": same origin and a path under /CourtFilesAndDecisions/.
    assert "u.origin === location.origin" in XHR_HOOK
    assert "startsWith('/courtfilesanddecisions/')" in XHR_HOOK
    # The court-number field strictly, never DataTables' second search input.
    assert SELECTORS["input"] == "input#selectCourtNumber" and SELECTORS["panel"] == "div#tab02"
    assert "q(sel.input, q(sel.panel)" in CASE_SCRIPT


def test_one_table_of_selectors_drives_reads_and_checks_the_page():
    from casescraper.tools import doctor
    from casescraper.browser import page_scripts, selectors
    from casescraper.record import parser

    assert SELECTORS is selectors.SELECTORS  # page.SELECTORS is the table
    assert json.loads(json.dumps(SELECTORS)) == SELECTORS  # it goes to the page as JSON
    assert (parser.RESULTS_TABLE, parser.MODAL, parser.DOCKET_TABLE) == (
        SELECTORS["results"], SELECTORS["modal"], SELECTORS["docket_table"])
    assert parser.DIALOG[0] == "#dialog #popup_body_desc"
    # No script names a part of the portal's page itself: each reads the table it is given.
    ids = [v for v in SELECTORS.values() if isinstance(v, str) and "#" in v]
    scripts = [page_scripts.CASE_SCRIPT, page_scripts.SETUP_SCRIPT, doctor.PROBE_SCRIPT]
    assert ids and not [i for i in ids for script in scripts if i in script]


class RecordingDriver:
    """What Browser.start() does to a (remote) session, in order."""

    def __init__(self, *args, **kwargs):
        self.calls = []

    def execute(self, command, params):
        self.calls.append((command, params))
        return {"value": {}}

    def set_page_load_timeout(self, seconds):
        self.calls.append(("page_load_timeout", seconds))

    def set_script_timeout(self, seconds):
        self.calls.append(("script_timeout", seconds))


@pytest.mark.parametrize("zone", ["America/Toronto", "Asia/Tokyo"])
def test_the_browser_runs_in_the_courts_time_zone_from_its_start(monkeypatch, zone):
    monkeypatch.setattr(browser_module.webdriver, "Remote", RecordingDriver)
    config = BrowserConfig(driver_path="", browser_path="", arguments=[],
                           command_executor="http://127.0.0.1:9/", timezone=zone)
    driver = Browser(config, None, 1).start()
    # First of all, before any page is loaded: through chromedriver's DevTools command,
    # which remote Chromium sessions have too.
    assert driver.calls[0] == ("executeCdpCommand", {
        "cmd": "Emulation.setTimezoneOverride", "params": {"timezoneId": zone}})
    assert BrowserConfig(driver_path="", browser_path="", arguments=[]).timezone == "America/Toronto"


def test_the_time_zone_setting_is_an_iana_name():
    settings = Settings({"CASESCRAPER_TIMEZONE": "Mars/Olympus"}, priority="cmdline")
    with pytest.raises(ConfigError) as err:
        validate_settings(settings)
    message = str(err.value)
    assert "CASESCRAPER_TIMEZONE" in message and "IANA time zone" in message and "\n" not in message
    settings = Settings({"CASESCRAPER_TIMEZONE": "Asia/Tokyo"}, priority="cmdline")
    validate_settings(settings)
    assert settings.get("CASESCRAPER_TIMEZONE") == "Asia/Tokyo"
    assert SPECS["CASESCRAPER_TIMEZONE"].default == "America/Toronto"


def test_the_middleware_hands_the_answers_and_the_time_zone_to_the_spider(monkeypatch):
    project = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    crawler = get_crawler(settings_dict={**project, "CASESCRAPER_DIAGNOSTICS": False,
                                         "CASESCRAPER_TIMEZONE": "America/Toronto"})
    crawler.stats.open_spider()
    mw = SeleniumMiddleware.from_crawler(crawler)
    # A whole set of answers about the case (anything less is judged and asked again).
    rows = {"proceedingQueriesAddInfo": [{"COURT_NO": "IMM-1-25"}],
            "proceedingQueriesRE": [{"COURT_NO": "IMM-1-25", "RE_NO": 1}], "PublicPartiesListInfo": []}
    answers = [{"endpoint": e, "url": f"http://x/CourtFilesAndDecisions/{e}?courtnumber=IMM-1-25",
                "status": 200, "body": json.dumps({"Count": len(r), "data": r})} for e, r in rows.items()]
    capture = Capture("IMM-1-25", True, "<html></html>", answers=answers,
                      parties_stuck="parties dialog did not close")
    monkeypatch.setattr(mw.session, "_search", lambda url, court, case: capture)
    meta = {"case": "IMM-1-25", "court": "t", "canary": False}
    try:
        response, _ = asyncio.run(mw._case(Request("http://x/court-files#IMM-1-25", meta={"casescraper": meta}), meta))
    finally:
        mw.session.shutdown()
    assert response.text == "<html></html>"
    assert meta["answers"] == answers and meta["timezone"] == "America/Toronto"
    assert meta["parties_stuck"] == "parties dialog did not close" and meta["found"] is True
    assert crawler.stats.get_value("casescraper/parties/stuck") == 1
    assert crawler.stats.get_value("casescraper/page/stuck") is None  # the case itself is fine


class LoadingDriver:
    """get() and the page-state script only."""

    def __init__(self, state):
        self.state = state

    def get(self, url):
        self.url = url

    def execute_script(self, script, *args):
        return self.state


@pytest.mark.parametrize("state, error, says", [
    ({"status": 403, "title": "Request Rejected", "url": "http://x/", "text": ""}, Blocked, "HTTP 403"),
    ({"status": 200, "title": "x", "url": "http://x/", "text": "Web Application Firewall"}, Blocked, "refused"),
    ({"status": 503, "title": "", "url": "http://x/", "text": ""}, PageStuck, "HTTP 503"),
    ({"status": 0, "title": "x", "url": "chrome-error://chromewebdata/",
      "text": "This site can't be reached\nERR_ADDRESS_UNREACHABLE"}, PageStuck,
     r"did not load \(ERR_ADDRESS_UNREACHABLE\)"),
])
def test_a_page_that_did_not_load_is_never_taken_for_a_changed_layout(state, error, says):
    page = CourtFilesPage(LoadingDriver(state), "http://x/court-files", "t", 10)
    with pytest.raises(error, match=says):
        page.load()
