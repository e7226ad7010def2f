"""Unit tests (fake driver): what CourtFilesPage.search sends and how it reads the answer.

The real path runs end to end in test_e2e_crawl.py and test_resilience.py.
"""

import json

import pytest

from casescraper.errors import LayoutChanged, PageStuck
from casescraper.page import CourtFilesPage


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
