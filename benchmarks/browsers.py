"""Runs 2-4, in this process: plain Selenium on the demo court, no Scrapy.

2. new browser per case: start Chromium, set the page up, search one case, quit;
3. reload per case (scrapy-selenium's habit): one browser, `driver.get` + tab/court
   set-up before every case, then the page object's search;
4. the floor: one browser, page set up once, each case ONE execute_async_script that
   reacts to DOM changes at once (MutationObserver, no polling), with and without the
   parties dialog, returning the same HTML casescraper captures. No parsing, no writing.
   4c: the same script installed once and called by one DevTools Runtime.evaluate per
   case, the transport casescraper's page object uses (the floor for that transport).

Runs 2 and 3 reuse casescraper's page object (CourtFilesPage: its CASE_SCRIPT), so they
differ from casescraper only by the browser habit. Every browser is quit and its
processes and profile dir removed in `finally`, Ctrl-C included.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from casescraper.browser.driver import Browser, BrowserConfig, RunDir
from casescraper.browser.page import CourtFilesPage, evaluate
from casescraper.browser.procmem import tree_pss_mb
from casescraper.settings import SELENIUM_DRIVER_ARGUMENTS

from .stats import summarize

CASE_TIMEOUT = 30.0

FLOOR_SCRIPT = """
const [caseNo, withParties, done] = arguments;
const q = (s, root) => (root || document).querySelector(s);
const outer = s => { const el = q(s); return el ? el.outerHTML : ''; };
// Resolve as soon as cond() holds: checked on every DOM mutation, no timer.
const when = cond => new Promise(resolve => {
  if (cond()) return resolve();
  const mo = new MutationObserver(() => { if (cond()) { mo.disconnect(); resolve(); } });
  mo.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
});
const idle = () => q('#loadingscreen').style.display === 'none';
(async () => {
  const want = caseNo.toUpperCase();
  // The table is bare (no tbody) until the first search builds it, as on the real page.
  const rows = () => { const tb = q('table#datatable tbody'); return tb ? [...tb.rows] : []; };
  for (const tr of rows()) tr.remove();
  q('input#selectCourtNumber').value = caseNo;
  q('button#tab02Submit').click();
  await when(() => rows().length > 0 && idle());
  const row = rows().find(
    tr => tr.cells.length > 1 && tr.cells[0].textContent.trim().toUpperCase() === want);
  if (!row) return {found: false, html: outer('#datatable_wrapper') + outer('#dialog') + outer('#ModalForm')};
  let dialog = '';
  if (withParties) {
    q('button#more', row).click();
    await when(() => q('#dialog').style.display === 'block' && idle());
    dialog = outer('#dialog');
    q('.ui-dialog-titlebar-close').click();
  }
  q('button#re', row).click();
  const modal = q('#ModalForm');
  await when(() => modal.classList.contains('show') && q('#modalTitle').textContent.toUpperCase().includes(want));
  const html = outer('#datatable_wrapper') + dialog + modal.outerHTML;
  q('#ModalForm button.close').click();
  return {found: true, html};
})().then(done, e => done({error: String(e)}));
"""


def browser_config() -> BrowserConfig:
    return BrowserConfig(
        driver_path="/usr/bin/chromedriver", browser_path="/usr/bin/chromium",
        arguments=list(SELENIUM_DRIVER_ARGUMENTS), script_timeout=CASE_TIMEOUT,
    )


@contextmanager
def run_dir(name: str) -> Iterator[RunDir]:
    """A casescraper run dir of our own (profiles, Chromium's temp files), removed after."""
    rd = RunDir(f"bench-{name[:12]}-{secrets.token_hex(3)}")  # short: see crawl.py
    try:
        yield rd
    finally:
        rd.remove()


@contextmanager
def browser(rd: RunDir, index: int = 1) -> Iterator[Browser]:
    b = Browser(browser_config(), rd, index)
    try:
        b.start()
        yield b
    finally:
        b.quit()


def _timed(cases: list[str], one: Callable[[str], Any]) -> tuple[list[float], int]:
    times, found = [], 0
    for case in cases:
        t0 = time.perf_counter()
        if one(case):
            found += 1
        times.append(time.perf_counter() - t0)
    return times, found


def new_browser_per_case(url: str, cases: list[str]) -> dict[str, Any]:
    """Run 2: Chromium start, page set-up, one search, quit; per case."""
    with run_dir("new") as rd:
        counter = iter(range(1, 1_000_000))

        def one(case: str) -> bool:
            with browser(rd, next(counter)) as b:
                page = CourtFilesPage(b.driver, url, "t", CASE_TIMEOUT * 0.8)
                page.open()
                return page.search(case).found

        times, found = _timed(cases, one)
    return {**summarize(times), "found": found}


def reload_per_case(url: str, cases: list[str]) -> dict[str, Any]:
    """Run 3: one browser; driver.get + tab/court set-up before every search."""
    with run_dir("reload") as rd, browser(rd) as b:
        page = CourtFilesPage(b.driver, url, "t", CASE_TIMEOUT * 0.8)

        def one(case: str) -> bool:
            page.open()
            return page.search(case).found

        times, found = _timed(cases, one)
    return {**summarize(times), "found": found}


def _devtools_floor(driver, case: str, parties: bool) -> Any:
    """The floor script, installed once as window.__floor, called by one DevTools
    Runtime.evaluate: the transport casescraper's page object uses."""
    answer = evaluate(driver, f"new Promise(done => window.__floor({json.dumps(case)}, "
                              f"{json.dumps(parties)}, done))")
    return answer["result"]["value"] if "exceptionDetails" not in answer else {"error": answer}


def floor(url: str, cases: list[str], parties: bool,
          memory_at: tuple[int, ...] = (), memory: Optional[dict[str, Any]] = None,
          devtools: bool = False) -> dict[str, Any]:
    """Run 4: page set up once, one FLOOR_SCRIPT per case (execute_async_script, as the
    issue defines the floor; `devtools`: one Runtime.evaluate instead, casescraper's
    transport). PSS sampled after `memory_at` cases."""
    with run_dir("floor") as rd, browser(rd) as b:
        t0 = time.perf_counter()
        CourtFilesPage(b.driver, url, "t", CASE_TIMEOUT * 0.8).open()
        if devtools:
            b.driver.execute_script("window.__floor = function () {" + FLOOR_SCRIPT + "};")
        setup = time.perf_counter() - t0
        done = 0

        def one(case: str) -> bool:
            nonlocal done
            if devtools:
                result = _devtools_floor(b.driver, case, parties)
            else:
                result = b.driver.execute_async_script(FLOOR_SCRIPT, case, parties)
            if "error" in result:
                raise RuntimeError(f"floor script failed on {case}: {result['error']}")
            done += 1
            if memory is not None and done in memory_at:
                memory[str(done)] = round(tree_pss_mb(b.driver_pid) or 0.0, 1)
            return result["found"]

        times, found = _timed(cases, one)
    return {**summarize(times), "found": found, "setup_s": round(setup, 2)}


def check_floor_html(url: str, case: str) -> dict[str, int]:
    """Sizes of what the floor and casescraper's page object return for one case."""
    with run_dir("check") as rd, browser(rd) as b:
        page = CourtFilesPage(b.driver, url, "t", CASE_TIMEOUT * 0.8)
        page.open()
        ours = page.search(case).html
        floor_html = b.driver.execute_async_script(FLOOR_SCRIPT, case, True)["html"]
    return {"casescraper_bytes": len(ours), "floor_bytes": len(floor_html)}
