"""The court-files page, driven through Selenium: the only place that knows its selectors.

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
from typing import Any, Optional

from selenium.common.exceptions import WebDriverException
from urllib3.exceptions import HTTPError as Urllib3Error

from .browser import cdp, classify
from .errors import Blocked, LayoutChanged, PageStuck

SELECTORS: dict[str, Any] = {
    "tab": 'a.TabButton[href="#tab02"]',
    "panel": "div#tab02",
    "court": "select#tab02selectCourt",
    # Looked up inside the panel only: after a search DataTables adds a second search
    # input (#datatable_filter input, FACT) that must never be typed into.
    "input": "input#selectCourtNumber",
    "submit": "button#tab02Submit",
    "loading": "#loadingscreen",
    "results": "table#datatable",  # FACT: bare (no thead/tbody) until the first search
    "results_area": "#datatable_wrapper",  # built by DataTables on the first search
    "court_number_header": "Court Number",
    "parties_button": "button#more",  # yes: id "more" is Parties ...
    "more_button": "button#re",  # ... and id "re" is More (SITE.md)
    "dialog": "#dialog",
    "dialog_body": "#popup_body_desc",  # FACT: inside #dialog, filled by popup.js
    # The parties dialog is built by the portal's popup.js, whose markup was never captured
    # (FACT); what wraps #dialog is a GUESS: a jQuery-UI-like widget, a Bootstrap modal, or
    # nothing. Its container is the nearest of these around #dialog.
    "dialog_box": '.ui-dialog, .modal, [role="dialog"]',
    "close_controls": ['.ui-dialog-titlebar-close', '[data-dismiss="modal"]',
                       '[data-bs-dismiss="modal"]', "button.close"],
    "close_words": ["close", "fermer", "×", "x"],
    "backdrops": ".modal-backdrop, .ui-widget-overlay",
    "parties_endpoint": "PublicPartiesListInfo",
    # Asked from the page when its own request failed: name and parameter as SITE.md
    # gives them (FACT about the service, from another public client).
    "parties_query": "/CourtFilesAndDecisions/PublicPartiesListInfo?courtnumber=",
    "modal": "#ModalForm",
    "modal_title": "#ModalPrintArea .modal-header",
    "modal_close": '#ModalForm button.close[data-dismiss="modal"]',
    # Other popups covering the page (FACT: #EfilingModal can pop up on load): closed.
    "popups": "#EfilingModal, .modal.show",
    # Consent overlays seen on government sites; the first present one is accepted.
    "consent_accept": ["#consent-accept", "button#onetrust-accept-btn-handler", "#wb-consent-accept"],
}

# Words of a WAF's "request rejected" page, for a block served with status 200.
WAF_MARKERS = ("Request Rejected", "Web Application Firewall", "Access Denied")
MAX_BODY_CHARS = 4_000_000  # a bigger answer body is dropped (marked body_skipped)

# Sees the page's XHR/fetch calls; keeps the portal's answers (url, status, body) and
# counts the portal's pending calls. The portal shows an HTTP error as "No data
# available", so the DOM alone cannot tell "no such file" from "refused".
XHR_HOOK = """
if (!window.__cs) {
  const st = window.__cs = {pending: 0, log: []};
  const portal = url => {
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin &&
        u.pathname.toLowerCase().startsWith('/courtfilesanddecisions/') ? u : null;
    } catch (e) { return null; }
  };
  const begin = url => { const u = portal(url); if (u) st.pending++; return u; };
  const end = (u, status, body) => {
    if (!u) return;
    st.pending--;
    const entry = {endpoint: u.pathname.split('/').filter(Boolean).pop() || '', url: u.href, status, body: ''};
    if (String(body).length > %(max_body)d) entry.body_skipped = String(body).length;
    else entry.body = String(body || '');
    st.log.push(entry);
    if (st.wake) st.wake();
  };
  const xhrBody = x => x.responseType === '' || x.responseType === 'text' ? x.responseText
    : x.responseType === 'json' && x.response != null ? JSON.stringify(x.response) : '';
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__csUrl = String(url); return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    this.__csPortal = begin(this.__csUrl);
    if (this.__csPortal && !this.__csHooked) {  // one listener per object, reused or not
      this.__csHooked = true;
      this.addEventListener('loadend', () => {
        const u = this.__csPortal; this.__csPortal = null; end(u, this.status, xhrBody(this));
      });
    }
    try { return send.apply(this, arguments); }
    catch (e) { const u = this.__csPortal; this.__csPortal = null; end(u, 0, ''); throw e; }
  };
  if (window.fetch) {
    const f = window.fetch;
    window.fetch = function (input) {
      const u = begin(String(input && input.url || input));
      let p;
      try { p = f.apply(this, arguments); } catch (e) { end(u, 0, ''); throw e; }
      if (!u) return p;
      return p.then(r => {
        r.clone().text().then(b => end(u, r.status, b), () => end(u, r.status, ''));
        return r;
      }, e => { end(u, 0, ''); throw e; });
    };
  }
}
""" % {"max_body": MAX_BODY_CHARS}

# Installed once per page load as window.__cs.run(caseNo, timeoutMs) -> Promise of the
# result, and window.__cs.dismissPopups(); each case is then one DevTools Runtime.evaluate.
CASE_SCRIPT = """
const [sel] = arguments;
const st = window.__cs;
const q = (s, root) => (root || document).querySelector(s);
const shown = el => !!el && getComputedStyle(el).display !== 'none'
  && getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length > 0;
const outer = el => el ? el.outerHTML : '';
const text = el => (el ? el.textContent : '').replace(/\\s+/g, ' ').trim();
const words = new Set(sel.close_words);
const closeControl = box => {
  for (const s of sel.close_controls) {
    const c = [...box.querySelectorAll(s)].find(shown); if (c) return c;
  }
  return [...box.querySelectorAll('button, a, [role="button"]')].find(b => shown(b) &&
    [b.textContent, b.getAttribute('aria-label'), b.title].some(t => t && words.has(t.trim().toLowerCase())));
};
const press = target => { for (const type of ['keydown', 'keyup']) target.dispatchEvent(new KeyboardEvent(
  type, {key: 'Escape', code: 'Escape', keyCode: 27, which: 27, bubbles: true, cancelable: true})); };
const clickOn = el => { for (const type of ['mousedown', 'mouseup', 'click']) el.dispatchEvent(
  new MouseEvent(type, {bubbles: true, cancelable: true, view: window})); };
// Ways to close a dialog or modal, in the order a person tries them. The control is tried
// more than once: Bootstrap ignores a hide() while its fade-in runs.
const closeWays = (box, control) => {
  const click = () => { const c = control ? q(control) : closeControl(box); if (!c) return false; c.click(); };
  return [...Array(10)].map(() => ['its close control', click]).concat([
    ['Escape', () => press(box.contains(document.activeElement) ? document.activeElement : box)],
    ['Escape on the page', () => press(document)],
    ['a click outside it', () => {  // Bootstrap: on the modal itself, around its dialog
      if (box.classList.contains('modal')) clickOn(box);
      else clickOn([...document.querySelectorAll(sel.backdrops)].find(shown) || document.body);
    }]]);
};
window.__cs.dismissPopups = () => {
  for (const m of document.querySelectorAll(sel.popups)) {
    if (m.matches(sel.modal) || !shown(m)) continue;
    const c = closeControl(m);
    if (c) c.click(); else press(m);  // not waited for: our clicks do not need it gone
  }
};
window.__cs.run = (caseNo, timeoutMs) => new Promise(done => {
const deadline = performance.now() + timeoutMs;
// Waits wake up on DOM mutations and portal answers, not on a polling timer: a 5 ms
// poll cost ~5 ms per wait. The 50 ms interval only enforces deadlines and catches
// changes no mutation reports (styles computed by transitions).
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
const tolerate = p => p.then(() => true, e => { if (e && e.error === 'timeout') return false; throw e; });
const since = mark => st.log.slice(mark);
const failed = x => x.status >= 400 || x.status === 0;
const httpError = mark => since(mark).find(failed);
const settle = async (mark, what) => {
  await until(() => st.pending === 0 && st.log.length > mark && !shown(q(sel.loading)), what);
  const bad = httpError(mark);
  if (bad) throw {error: 'http', status: bad.status, url: bad.url, what};
};
const closing = box => box.classList.contains('modal') && !box.classList.contains('show');
const moving = box => box.getAnimations({subtree: true}).some(a => a instanceof CSSTransition);
// Closed, or for a Bootstrap modal (`fadeOut`: false) closing: its fade-out then ends
// while the next case searches, and the next More waits for it.
const close = async (box, visible, ways, fadeOut = true) => {
  const gone = () => !visible() || (!fadeOut && closing(box));
  for (const [how, act] of ways) {
    if (gone()) return true;
    await tolerate(until(() => !moving(box), 'a fade to end', 1000));
    if (!closing(box) && act() === false) continue;
    if (await tolerate(until(() => !visible() || closing(box), how, 100)) && fadeOut) {
      await tolerate(until(() => !visible(), how, 2000));  // a fade-out runs ~300 ms
    }
  }
  return gone();
};
const want = caseNo.toUpperCase();
const titled = el => text(el).toUpperCase().split(/[^A-Z0-9-]+/).includes(want);
// Rows by the "Court Number" header, as a person reads the table, not by position.
const findRow = table => {
  const heads = [...table.querySelectorAll('thead th')].map(th => text(th).toLowerCase());
  const col = Math.max(0, heads.indexOf(sel.court_number_header.toLowerCase()));
  return [...table.querySelectorAll('tbody > tr')].find(
    tr => tr.cells.length > col && tr.cells.length > 1 && text(tr.cells[col]).toUpperCase() === want);
};
// Whether the portal's answers list the case: then its row must show, however late.
const listed = () => st.log.some(x => {
  try { return (JSON.parse(x.body).data || []).some(r => String(r.COURT_NO || '').toUpperCase() === want); }
  catch (e) { return false; }
});
const parties = async (row, dlg) => {
  const button = q(sel.parties_button, row);
  const mark = st.log.length;
  let note = null;
  if (dlg && shown(dlg)) await tolerate(until(() => !shown(dlg), 'the previous parties dialog to hide', 2000));
  if (button) {
    button.click();
    const ready = () => st.pending === 0 && st.log.length > mark && (!dlg || shown(dlg) || httpError(mark));
    if (!await tolerate(until(ready, 'parties', 4000))) note = 'no parties answer or dialog within 4 s';
  } else {
    note = 'parties button ' + sel.parties_button + ' missing';
  }
  const box = dlg && (dlg.closest(sel.dialog_box) || dlg);  // a widget may wrap it on opening
  const html = outer(box);
  const asked = x => x.endpoint.toLowerCase() === sel.parties_endpoint.toLowerCase();
  const good = () => since(mark).some(x => asked(x) && x.status === 200);
  if (!good() && !(dlg && shown(dlg) && text(q(sel.dialog_body, dlg) || dlg))) {
    // The same same-origin request the page makes (SITE.md), made from the page.
    const tried = since(mark).find(asked);
    const url = tried ? tried.url : new URL(sel.parties_query + encodeURIComponent(caseNo), location.href).href;
    for (let i = 0; i < 2 && !good(); i++) {
      const stop = new AbortController(), timer = setTimeout(() => stop.abort(), 3000);
      await fetch(url, {credentials: 'same-origin', signal: stop.signal, headers: {
        'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json, text/javascript, */*; q=0.01'}})
        .catch(() => null);
      clearTimeout(timer);
      await tolerate(until(() => st.pending === 0, 'parties answer', 1000));
    }
    note = (note ? note + '; ' : '') + (good() ? 'asked the portal for them' : 'the portal did not answer them');
  }
  const refused = since(mark).find(x => [401, 403, 429].includes(x.status));
  if (refused) throw {error: 'http', status: refused.status, url: refused.url, what: 'parties'};
  let stuck = null;
  if (dlg && shown(dlg) && !await close(box, () => shown(dlg), closeWays(box))) {
    stuck = 'parties dialog did not close';
  }
  return {html, stuck, note};
};
async function run() {
  const input = q(sel.input, q(sel.panel) || document.body);
  if (!input) return {error: 'layout', element: sel.input, detail: 'looked for in ' + sel.panel};
  for (const key of ['submit', 'results']) {
    if (!q(sel[key])) return {error: 'layout', element: sel[key]};
  }
  window.__cs.dismissPopups();
  // Rows already there are marked: the new search's rows are told from them.
  for (const tr of q(sel.results).querySelectorAll('tbody > tr')) tr.__csOld = true;
  st.log.length = 0;  // only this case's answers matter; the log must not grow for days
  input.value = caseNo;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  q(sel.submit).click();
  await settle(0, 'search results');
  // FACT: DataTables builds its wrapper, thead and tbody on the first search.
  const drawn = () => [...q(sel.results).querySelectorAll('tbody > tr')].some(tr => !tr.__csOld);
  const isListed = listed();
  await until(() => drawn() && (!isListed || findRow(q(sel.results))), 'search results to show', 5000);
  const row = findRow(q(sel.results));
  const area = () => outer(q(sel.results_area) || q(sel.results));
  const page = dialog => '<html><body>' + area() + dialog + outer(q(sel.modal)) + '</body></html>';
  const dlg = q(sel.dialog);
  const answers = () => st.log.map(({endpoint, url, status, body, body_skipped}) =>
    body_skipped ? {endpoint, url, status, body, body_skipped} : {endpoint, url, status, body});
  if (!row) return {found: false, html: page(outer(dlg)), answers: answers()};
  if (!q(sel.more_button, row)) return {error: 'layout', element: sel.more_button};
  // Parties never fail a case: the portal's answer is what counts, the dialog a fallback.
  const p = await parties(row, dlg);
  const modal = q(sel.modal);
  if (!modal) return {error: 'layout', element: sel.modal};
  // Bootstrap ignores show() while a fade runs: the last modal must be fully hidden.
  await until(() => !shown(modal), 'the previous details modal to hide', 3000);
  const mark = st.log.length;
  q(sel.more_button, row).click();
  await settle(mark, 'details');
  // Bootstrap adds "show" only once the modal is displayed: no layout needed to know.
  await until(() => modal.classList.contains('show') && titled(q(sel.modal_title)), 'details modal to open');
  const result = {found: true, html: page(p.html), answers: answers(),
                  parties_stuck: p.stuck, parties_note: p.note};
  if (!await close(modal, () => shown(modal), closeWays(modal, sel.modal_close), false)) {
    result.stuck = 'details modal did not close';
  }
  return result;
}
const finish = result => { observer.disconnect(); st.wake = null; done(result); };
run().then(finish, e => finish(e && e.error ? e : {error: 'script', message: String(e)}));
});
"""

SETUP_SCRIPT = """
const [sel, court] = arguments;
window.__cs.dismissPopups();
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
if (!panel.querySelector(sel.input)) return {error: 'layout', element: sel.input, detail: 'looked for in ' + sel.panel};
for (const key of ['submit', 'results']) {
  if (!document.querySelector(sel[key])) return {error: 'layout', element: sel[key]};
}
return {ok: true};
"""

PAGE_STATE_SCRIPT = """
const nav = performance.getEntriesByType('navigation')[0];
return {status: nav ? nav.responseStatus || 0 : 0, title: document.title, url: location.href,
        text: document.body ? document.body.innerText.slice(0, 2000) : ''};
"""

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
    # "status", "body"} (plus "body_skipped": its length, for a body too big to keep).
    answers: list[dict[str, Any]] = field(default_factory=list)
    parties_stuck: Optional[str] = None  # the parties dialog would not close: reload next
    parties_note: Optional[str] = None  # what was odd about the parties (never fatal)


def _answer(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    answer = {"endpoint": str(raw.get("endpoint") or ""), "url": str(raw.get("url") or ""),
              "status": int(raw.get("status") or 0), "body": str(raw.get("body") or "")}
    if raw.get("body_skipped"):
        answer["body_skipped"] = int(raw["body_skipped"])
    return answer


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
        self._call(self.driver.execute_script, CASE_SCRIPT, self.sel)
        result = self._call(self.driver.execute_script, SETUP_SCRIPT, self.sel, self.court)
        self._raise_for(result)
        self.ready = True

    def _check_state(self, state: dict[str, Any]) -> None:
        status = int(state.get("status") or 0)
        text = f"{state.get('title', '')}\n{state.get('text', '')}"
        if status in (401, 403, 429) or any(m.lower() in text.lower() for m in WAF_MARKERS):
            raise Blocked(f"the portal refused the page (HTTP {status or 'page'}): {state.get('title', '')!r}")
        if status >= 500:
            raise PageStuck(f"the portal answered HTTP {status} for the page")
        if str(state.get("url", "")).startswith("chrome-error:"):  # Chromium's own error page
            code = re.search(r"\b(?:net::)?(ERR_[A-Z_]+)", text)
            why = code.group(1) if code else repr(state.get("title", ""))
            raise PageStuck(f"the page did not load ({why})")

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
            if status in (401, 403, 429):
                raise Blocked(f"the portal refused {result.get('what')} with HTTP {status} ({result.get('url')})")
            raise PageStuck(f"{result.get('what')}: HTTP {status or 'network error'} from {result.get('url')}")
        raise PageStuck(f"waiting for {result.get('what')}: {error} {result.get('message', '')}".strip())

    def screenshot_png(self) -> bytes:
        return self._call(self.driver.get_screenshot_as_png)

    def page_html(self) -> str:
        return self._call(lambda: self.driver.page_source)
