"""The court-files page, driven through Selenium (its selectors: selectors.py).

Plain Selenium, no Scrapy. The page is set up once (load, consent, popups, tab, court);
each case then runs as ONE call of an in-page asynchronous script installed at set-up
(clear, type, submit, wait for the results, open Parties and More, capture, close), which
costs one round trip instead of dozens, and waits on DOM mutations instead of
WebDriverWait's 500 ms polls.

Only the portal's own answers (same origin, path under /CourtFilesAndDecisions/) say
whether a case settled or failed; the page's other traffic (analytics, beacons) is ignored.
Those answers are handed over with the capture, bodies included, for the parser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Optional

from selenium.common.exceptions import WebDriverException
from urllib3.exceptions import HTTPError as Urllib3Error

from casescraper.browser.driver import cdp, classify
from casescraper.errors import Blocked, LayoutChanged, PageStuck, RateLimited
# The in-page JavaScript (~270 lines) lives apart; it takes its selectors from SELECTORS.
from casescraper.browser.page_scripts import (
    CASE_SCRIPT, PAGE_STATE_SCRIPT, PORTAL_CLOCK_SCRIPT, SETUP_SCRIPT, XHR_HOOK,
)
from casescraper.browser.selectors import SELECTORS

# Words of a WAF's "request rejected" page, for a block served with status 200.
WAF_MARKERS = ("Request Rejected", "Web Application Firewall", "Access Denied")

def evaluate(driver, expression: str) -> dict[str, Any]:
    """Evaluate `expression` in the page through chromedriver's DevTools command, await
    the promise it returns, and answer DevTools' result (`result`, `exceptionDetails`)."""
    return cdp(driver, "Runtime.evaluate", {
        "expression": expression, "awaitPromise": True, "returnByValue": True})


@dataclass
class Capture:
    case: str
    found: bool
    html: str
    stuck: Optional[str] = None  # set when the data was read but the modal would not close
    # The portal's own answers of this case, in arrival order: {"endpoint", "url",
    # "status", "body"} (plus "body_skipped": its length, for a body too big to keep;
    # "date": the answer's Date header, the portal's clock, when it sent one).
    answers: list[dict[str, Any]] = field(default_factory=list)
    parties_stuck: Optional[str] = None  # the parties dialog would not close: reload next
    parties_note: Optional[str] = None  # what was odd about the parties (never fatal)


def _answer(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    answer = {"endpoint": str(raw.get("endpoint") or ""), "url": str(raw.get("url") or ""),
              "status": int(raw.get("status") or 0), "body": str(raw.get("body") or "")}
    if raw.get("body_skipped"):
        answer["body_skipped"] = int(raw["body_skipped"])
    if raw.get("date"):
        answer["date"] = str(raw["date"])[:100]
    return answer


def retry_after(raw: Any) -> Optional[float]:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date), or None."""
    text = str(raw or "").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class CourtFilesPage:
    """The court-files search page in one browser tab."""

    # The in-page case script installed at set-up; a subclass may carry a variant
    # (benchmarks measure proposed edits this way).
    case_script: str = CASE_SCRIPT

    def __init__(self, driver, url: str, court: str = "t", case_timeout: float = 30.0,
                 selectors: Optional[dict[str, Any]] = None):
        self.driver = driver
        self.url = url.split("#", 1)[0]
        self.court = court
        self.case_timeout = case_timeout
        self.sel = {**SELECTORS, **(selectors or {})}
        self.ready = False

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except (WebDriverException, Urllib3Error, ConnectionError) as exc:
            raise classify(exc) from exc

    def open(self) -> None:
        """Load the page and set it up for court-number searches."""
        self.load()
        self.prepare()

    def load(self) -> None:
        """Load the page; fail on a refusal (Blocked) or a server error (PageStuck)."""
        self.ready = False
        self._call(self.driver.get, self.url)
        state = self._call(self.driver.execute_script, PAGE_STATE_SCRIPT)
        self._check_state(state)

    def prepare(self) -> None:
        """Consent, popups, tab and court; then install the hook and the case script."""
        self.dismiss_consent()
        self._call(self.driver.execute_script, XHR_HOOK)
        self._call(self.driver.execute_script, self.case_script, self.sel)
        result = self._call(self.driver.execute_script, SETUP_SCRIPT, self.sel, self.court)
        self._raise_for(result)
        self.ready = True

    def _check_state(self, state: dict[str, Any]) -> None:
        status = int(state.get("status") or 0)
        text = f"{state.get('title', '')}\n{state.get('text', '')}"
        if status == 429:  # too many requests: a pause, not a block
            raise RateLimited(f"the portal answered HTTP 429 for the page: {state.get('title', '')!r}")
        if status in (401, 403) or any(m.lower() in text.lower() for m in WAF_MARKERS):
            raise Blocked(f"the portal refused the page (HTTP {status or 'page'}): {state.get('title', '')!r}")
        if status >= 500:
            raise PageStuck(f"the portal answered HTTP {status} for the page")
        if str(state.get("url", "")).startswith("chrome-error:"):  # Chromium's own error page
            code = re.search(r"\b(?:net::)?(ERR_[A-Z_]+)", text)
            why = code.group(1) if code else repr(state.get("title", ""))
            raise PageStuck(f"the page did not load ({why})")

    def portal_clock(self) -> Optional[float]:
        """The portal's time (epoch seconds) from the Date header of a HEAD request for the
        page, or None when it sends none."""
        millis = self._call(self.driver.execute_script, PORTAL_CLOCK_SCRIPT)
        return millis / 1000 if isinstance(millis, (int, float)) and millis > 0 else None

    def dismiss_consent(self) -> None:
        script = """
        for (const s of arguments[0]) { const b = document.querySelector(s);
          if (b && b.getClientRects().length) { b.click(); return s; } }
        return null;"""
        self._call(self.driver.execute_script, script, self.sel["consent_accept"])

    def search(self, case: str) -> Capture:
        """Search one court number; capture results, parties dialog and details modal.

        One DevTools Runtime.evaluate of the installed case script, not execute_async_script:
        chromedriver keeps every value a script returns alive in the page's heap, byte for
        byte (the 8-20 KB capture grew the renderer ~100 KB per case), and its script
        wrapper cost ~10 ms per case. Runtime.evaluate cannot time out by itself: the
        caller bounds it (the middleware kills a browser that does not answer).
        """
        call = (f"window.__cs && window.__cs.run ? window.__cs.run({json.dumps(case)}, "
                f"{int(self.case_timeout * 1000)}) : {{error: 'setup', what: "
                "'the case script: the page was reloaded behind our back'}")
        outcome = self._call(evaluate, self.driver, call)
        if "exceptionDetails" in outcome:
            self.ready = False
            details = outcome["exceptionDetails"]
            why = details.get("exception", {}).get("description") or details.get("text")
            raise PageStuck(f"the case script failed: {why}")
        result = outcome["result"].get("value")
        self._raise_for(result)
        if result.get("stuck") or result.get("parties_stuck"):
            self.ready = False  # data is complete, but the page needs a reload before the next case
        return Capture(case=case, found=bool(result["found"]), html=result["html"],
                       stuck=result.get("stuck"), answers=[_answer(a) for a in result.get("answers") or []],
                       parties_stuck=result.get("parties_stuck"), parties_note=result.get("parties_note"))

    def _raise_for(self, result: Any) -> None:
        if not isinstance(result, dict):
            raise PageStuck(f"unexpected answer from the page: {result!r:.200}")
        error = result.get("error")
        if not error:
            return
        self.ready = False
        if error == "layout":
            raise LayoutChanged(result["element"], result.get("detail") or "")
        if error == "http":
            status = int(result.get("status") or 0)
            if status == 429:
                raise RateLimited(f"the portal answered {result.get('what')} with HTTP 429 "
                                  f"({result.get('url')})", retry_after(result.get("retry_after")))
            if status in (401, 403):
                raise Blocked(f"the portal refused {result.get('what')} with HTTP {status} ({result.get('url')})")
            raise PageStuck(f"{result.get('what')}: HTTP {status or 'network error'} from {result.get('url')}")
        raise PageStuck(f"waiting for {result.get('what')}: {error} {result.get('message', '')}".strip())

    def screenshot_png(self) -> bytes:
        return self._call(self.driver.get_screenshot_as_png)

    def page_html(self) -> str:
        return self._call(lambda: self.driver.page_source)
