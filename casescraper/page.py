"""The court-files page, driven through Selenium: the only place that knows its selectors.

Plain Selenium, no Scrapy. The page is set up once (load, consent, tab, court); each
case then runs as ONE call of an in-page asynchronous script installed at set-up (clear,
type, submit, wait for the results, open Parties and More, capture, close), which costs
one round trip instead of dozens, and waits on DOM mutations instead of WebDriverWait's
500 ms polls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from selenium.common.exceptions import (
    InvalidSessionIdException,
    NoSuchWindowException,
    TimeoutException,
    WebDriverException,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from .errors import Blocked, DeadSession, LayoutChanged, PageStuck

SELECTORS: dict[str, Any] = {
    "tab": 'a.TabButton[href="#tab02"]',
    "panel": "div#tab02",
    "court": "select#tab02selectCourt",
    "input": "input#selectCourtNumber",
    "submit": "button#tab02Submit",
    "loading": "#loadingscreen",
    "results": "table#datatable",
    "results_area": "#datatable_wrapper",
    "parties_button": "button#more",  # yes: id "more" is Parties ...
    "more_button": "button#re",  # ... and id "re" is More (SITE.md)
    "dialog": "#dialog",
    # The parties dialog's real structure is unknown (SITE.md): jQuery UI's close button.
    "dialog_close": ".ui-dialog-titlebar-close",
    "modal": "#ModalForm",
    "modal_title": "#ModalPrintArea .modal-header",
    "modal_close": '#ModalForm button.close[data-dismiss="modal"]',
    # Consent overlays seen on government sites; the first present one is accepted.
    "consent_accept": ["#consent-accept", "button#onetrust-accept-btn-handler", "#wb-consent-accept"],
}

# Words of a WAF's "request rejected" page, for a block served with status 200.
WAF_MARKERS = ("Request Rejected", "Web Application Firewall", "Access Denied")

# Counts the page's XHR/fetch calls and their statuses. The portal shows an HTTP error
# as "No data available", so the DOM alone cannot tell "no such file" from "refused".
XHR_HOOK = """
if (!window.__cs) {
  const st = window.__cs = {pending: 0, log: []};
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__csUrl = String(url); return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    st.pending++;
    this.addEventListener('loadend', () => {
      st.pending--; st.log.push({url: this.__csUrl, status: this.status});
      if (st.wake) st.wake();
    });
    return send.apply(this, arguments);
  };
  if (window.fetch) {
    const f = window.fetch;
    window.fetch = function (input) {
      st.pending++;
      const url = String(input && input.url || input);
      return f.apply(this, arguments).then(
        r => { st.pending--; st.log.push({url, status: r.status}); if (st.wake) st.wake(); return r; },
        e => { st.pending--; st.log.push({url, status: 0}); if (st.wake) st.wake(); throw e; });
    };
  }
}
"""

# Installed once per page load as window.__cs.run(caseNo, timeoutMs) -> Promise of the
# result; each case is then one DevTools Runtime.evaluate (see CourtFilesPage.search).
CASE_SCRIPT = """
const [sel] = arguments;
window.__cs.run = (caseNo, timeoutMs) => new Promise(done => {
const st = window.__cs;
const deadline = performance.now() + timeoutMs;
const q = (s, root) => (root || document).querySelector(s);
const shown = el => !!el && getComputedStyle(el).display !== 'none' && el.getClientRects().length > 0;
const outer = s => { const el = q(s); return el ? el.outerHTML : ''; };
// Waits wake up on DOM mutations and XHR completions, not on a polling timer: a
// 5 ms poll cost ~5 ms per wait, six waits per case. The 50 ms interval only enforces
// deadlines and catches changes no mutation reports.
const waiters = new Set();
const wake = () => { for (const check of [...waiters]) check(); };
const observer = new MutationObserver(wake);
observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
st.wake = wake;
const until = (cond, what, limit) => new Promise((resolve, reject) => {
  const end = Math.min(deadline, performance.now() + (limit || timeoutMs));
  let timer = null;
  const settleWith = (fn, value) => { waiters.delete(check); clearInterval(timer); fn(value); };
  const check = () => {
    let ok = false;
    try { ok = cond(); } catch (e) { return settleWith(reject, {error: 'script', what, message: String(e)}); }
    if (ok) return settleWith(resolve);
    if (performance.now() > end) return settleWith(reject, {error: 'timeout', what});
  };
  waiters.add(check);
  timer = setInterval(check, 50);
  check();
});
const httpError = mark => st.log.slice(mark).find(x => x.status >= 400 || x.status === 0);
const settle = async (mark, what) => {
  await until(() => st.pending === 0 && st.log.length > mark && !shown(q(sel.loading)), what);
  const bad = httpError(mark);
  if (bad) throw {error: 'http', status: bad.status, url: bad.url, what};
};
async function run() {
  for (const key of ['input', 'submit', 'results']) {
    if (!q(sel[key])) return {error: 'layout', element: sel[key]};
  }
  const input = q(sel.input);
  st.log.length = 0;  // only this case's calls matter; the log must not grow for days
  let mark = 0;
  input.value = caseNo;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  q(sel.submit).click();
  await settle(mark, 'search results');
  const want = caseNo.toUpperCase();
  const row = [...q(sel.results).querySelectorAll('tbody > tr')].find(
    tr => tr.cells.length > 1 && tr.cells[0].textContent.trim().toUpperCase() === want);
  const page = dialog => '<html><body>' + outer(sel.results_area || sel.results) + dialog + outer(sel.modal) + '</body></html>';
  if (!row) return {found: false, html: page(outer(sel.dialog))};

  for (const key of ['parties_button', 'more_button']) {
    if (!q(sel[key], row)) return {error: 'layout', element: sel[key]};
  }
  mark = st.log.length;
  q(sel.parties_button, row).click();
  await settle(mark, 'parties');
  await until(() => shown(q(sel.dialog)), 'parties dialog to open');
  const dialogHtml = outer(sel.dialog);
  const dialogClose = q(sel.dialog_close);
  if (!dialogClose) return {error: 'layout', element: sel.dialog_close};
  dialogClose.click();
  await until(() => !shown(q(sel.dialog)), 'parties dialog to close');

  mark = st.log.length;
  q(sel.more_button, row).click();
  await settle(mark, 'details');
  // Bootstrap adds "show" only once the modal is displayed: no layout needed to know.
  await until(() => q(sel.modal).classList.contains('show')
      && q(sel.modal_title).textContent.toUpperCase().includes(want), 'details modal to open');
  const html = page(dialogHtml);
  const close = q(sel.modal_close);
  if (!close) return {found: true, html, stuck: 'modal close button ' + sel.modal_close + ' missing'};
  close.click();
  try {
    await until(() => !shown(q(sel.modal)), 'details modal to close', 5000);
  } catch (e) {
    return {found: true, html, stuck: 'details modal did not close'};
  }
  return {found: true, html};
}
const finish = result => { observer.disconnect(); st.wake = null; done(result); };
run().then(finish, e => finish(e && e.error ? e : {error: 'script', message: String(e)}));
});
"""

SETUP_SCRIPT = """
const [sel, court] = arguments;
const tab = document.querySelector(sel.tab);
if (!tab) return {error: 'layout', element: sel.tab};
tab.click();
const panel = document.querySelector(sel.panel);
if (!panel || getComputedStyle(panel).display === 'none') return {error: 'layout', element: sel.panel + ' (shown by the tab)'};
const select = document.querySelector(sel.court);
if (!select) return {error: 'layout', element: sel.court};
if (![...select.options].some(o => o.value === court)) return {error: 'layout', element: sel.court + ' option ' + court};
select.value = court;
select.dispatchEvent(new Event('change', {bubbles: true}));
for (const key of ['input', 'submit', 'results']) {
  if (!document.querySelector(sel[key])) return {error: 'layout', element: sel[key]};
}
return {ok: true};
"""

PAGE_STATE_SCRIPT = """
const nav = performance.getEntriesByType('navigation')[0];
return {status: nav ? nav.responseStatus || 0 : 0, title: document.title,
        text: document.body ? document.body.innerText.slice(0, 2000) : ''};
"""

DEAD_SESSION_MARKERS = (
    "chrome not reachable",
    "tab crashed",
    "session deleted",
    "disconnected",
    "no such session",
    "invalid session id",
    "target frame detached",
    "timed out receiving message from renderer",
    "unable to receive message from renderer",
    "not connected to devtools",
)


def classify(exc: BaseException) -> Exception:
    """Turn a Selenium/transport error into ours: a dead session or a stuck page."""
    if isinstance(exc, (InvalidSessionIdException, NoSuchWindowException, Urllib3Error, ConnectionError)):
        return DeadSession(f"{type(exc).__name__}: {_first_line(exc)}")
    message = _first_line(exc)
    if isinstance(exc, WebDriverException) and any(m in message.lower() for m in DEAD_SESSION_MARKERS):
        return DeadSession(f"{type(exc).__name__}: {message}")
    if isinstance(exc, TimeoutException):
        # A script that never returns means the renderer is busy forever (a hung page):
        # only a fresh browser is certain to recover from that.
        return DeadSession(f"page did not answer in time: {message}")
    return PageStuck(f"{type(exc).__name__}: {message}")


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def evaluate(driver, expression: str) -> dict[str, Any]:
    """Evaluate `expression` in the page through chromedriver's DevTools command, await
    the promise it returns, and answer DevTools' result (`result`, `exceptionDetails`)."""
    return driver.execute("executeCdpCommand", {"cmd": "Runtime.evaluate", "params": {
        "expression": expression, "awaitPromise": True, "returnByValue": True}})["value"]


@dataclass
class Capture:
    case: str
    found: bool
    html: str
    stuck: Optional[str] = None  # set when the data was read but the modal would not close


class CourtFilesPage:
    """The court-files search page in one browser tab."""

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
        """Load the page and set it up for court-number searches (load, consent, tab, court)."""
        self.ready = False
        self._call(self.driver.get, self.url)
        state = self._call(self.driver.execute_script, PAGE_STATE_SCRIPT)
        self._check_state(state)
        self.dismiss_consent()
        result = self._call(self.driver.execute_script, SETUP_SCRIPT, self.sel, self.court)
        self._raise_for(result)
        self._call(self.driver.execute_script, XHR_HOOK)
        self._call(self.driver.execute_script, CASE_SCRIPT, self.sel)
        self.ready = True

    def _check_state(self, state: dict[str, Any]) -> None:
        status = int(state.get("status") or 0)
        text = f"{state.get('title', '')}\n{state.get('text', '')}"
        if status in (401, 403, 429) or any(m.lower() in text.lower() for m in WAF_MARKERS):
            raise Blocked(f"the portal refused the page (HTTP {status or 'page'}): {state.get('title', '')!r}")
        if status >= 500:
            raise PageStuck(f"the portal answered HTTP {status} for the page")

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
        if result.get("stuck"):
            self.ready = False  # data is complete, but the page needs a reload before the next case
        return Capture(case=case, found=bool(result["found"]), html=result["html"], stuck=result.get("stuck"))

    def _raise_for(self, result: Any) -> None:
        if not isinstance(result, dict):
            raise PageStuck(f"unexpected answer from the page: {result!r:.200}")
        error = result.get("error")
        if not error:
            return
        self.ready = False
        if error == "layout":
            raise LayoutChanged(result["element"])
        if error == "http":
            status = int(result.get("status") or 0)
            if status in (401, 403, 429):
                raise Blocked(f"the portal refused {result.get('what')} with HTTP {status} ({result.get('url')})")
            raise PageStuck(f"{result.get('what')}: HTTP {status or 'network error'} from {result.get('url')}")
        raise PageStuck(f"waiting for {result.get('what')}: {error} {result.get('message', '')}".strip())

    def screenshot_png(self) -> bytes:
        return self._call(self.driver.get_screenshot_as_png)

    def page_html(self) -> str:
        return self._call(lambda: self.driver.page_source)
