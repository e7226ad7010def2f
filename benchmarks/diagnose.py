"""Where casescraper's per-case time goes, measured piece by piece (`--diagnose`).

- the page object alone (its installed CASE_SCRIPT called as search() calls it, with its checks:
  no Scrapy, no parsing, no writing), as shipped and with proposed edits (EDITS, applied
  to a copy), interleaved case by case with the floor script on one page;
- the parser on real captures, and Scrapy's per-response generator-return check;
- one memory check (Browser.memory_mb, every 25 cases on its own thread beside the next case);
- run 1 again with one component off or one proposal on (CRAWL_VARIANTS);
- the reactor thread's cProfile of a crawl, top functions by own time.
"""

from __future__ import annotations

import json
import pstats
import time
from pathlib import Path
from typing import Any, Optional

from scrapy.utils.misc import is_generator_with_return_value

from casescraper.record import parser
from casescraper.browser.page import CourtFilesPage, evaluate
from casescraper.spiders.cases import CasesSpider

from .browsers import CASE_TIMEOUT, FLOOR_SCRIPT, browser, run_dir
from .stats import summarize

# Proposed edits of the page object's case script (CourtFilesPage.case_script), measured
# as edited copies (casescraper itself is not touched). An edit that no longer applies (the page object changed) is
# skipped and reported, not an error.
SHOWN = ("const shown = el => !!el && getComputedStyle(el).display !== 'none'\n"
         "  && getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length > 0;")
EDITS = {
    # No layout for any wait: the elements waited on are shown/hidden by their display.
    # Not adopted: jQuery UI hides the parties dialog's wrapper, not #dialog itself.
    "shown() by computed display only": [(
        SHOWN, "const shown = el => !!el && getComputedStyle(el).display !== 'none';")],
}


def _edit(text: str, edits) -> Optional[str]:
    for old, new in edits:
        if old not in text:
            return None
        text = text.replace(old, new)
    return text


VARIANTS = {"shipped": CourtFilesPage.case_script}  # name: case script
SKIPPED = []
for _name, _edits in EDITS.items():
    _script = _edit(CourtFilesPage.case_script, _edits)
    if _script is None:
        SKIPPED.append(_name)
    else:
        VARIANTS[_name] = _script


# Run 1 again with one component off, or with the proposed fixes (a page object carrying
# the variant script, through the middleware's page_factory seam, in the crawl process
# only; settings by -s): the difference is the cost.
PROPOSED = "shown() by computed display only"
CRAWL_VARIANTS = {  # name: (settings, CASE_SCRIPT variant)
    "as shipped (again)": ({}, ""),
    "pipeline off (ITEM_PIPELINES={})": ({"ITEM_PIPELINES": "{}"}, ""),
    "memory check off (CASESCRAPER_RECYCLE_MEMORY_MB=0)": ({"CASESCRAPER_RECYCLE_MEMORY_MB": 0}, ""),
    "Scrapy's defaults: CONCURRENT_ITEMS=100, WARN_ON_GENERATOR_RETURN_VALUE=True": (
        {"CONCURRENT_ITEMS": 100, "WARN_ON_GENERATOR_RETURN_VALUE": "True"}, ""),
    "shown() by computed display only (not adopted)": ({}, PROPOSED),
}
CRAWL_ROUNDS = 2  # interleaved, so a change of load hits every variant alike


def crawl_plan() -> tuple[dict[str, tuple[dict[str, Any], str]], list[str]]:
    """(CRAWL_VARIANTS that can run, names of those whose script edit no longer applies):
    a stale proposal is reported and skipped, never a failed crawl."""
    runnable = {name: v for name, v in CRAWL_VARIANTS.items() if not v[1] or v[1] in VARIANTS}
    return runnable, [name for name in CRAWL_VARIANTS if name not in runnable]


def _install(driver, script: str, sel: dict, slot: str) -> None:
    """Install a CASE_SCRIPT variant as window.__cs.<slot>."""
    driver.execute_script(script.replace("window.__cs.run =", f"window.__cs.{slot} ="), sel)


def _run(driver, slot: str, case: str, timeout_ms: int) -> Any:
    """What CourtFilesPage.search sends, for the variant installed as `slot`."""
    answer = evaluate(driver, f"window.__cs.{slot}({json.dumps(case)}, {timeout_ms})")
    if "exceptionDetails" in answer:
        raise RuntimeError(f"{slot}: {answer['exceptionDetails']}")
    return answer["result"]["value"]


def page_object(url: str, cases: list[str]) -> dict[str, Any]:
    """CASE_SCRIPT variants and the floor, interleaved case by case on one page (so load
    from other processes hits them alike), each through the page object's own checks."""
    out: dict[str, Any] = {}
    captures: list[tuple[str, str]] = []
    scripts = list(VARIANTS.items()) + [("floor", FLOOR_SCRIPT)]
    slots = {name: f"variant{i}" for i, (name, _) in enumerate(scripts)}
    times: dict[str, list[float]] = {name: [] for name, _ in scripts}
    with run_dir("diag") as rd, browser(rd) as b:
        page = CourtFilesPage(b.driver, url, "t", CASE_TIMEOUT * 0.8)
        page.open()
        timeout_ms = int(page.case_timeout * 1000)
        for name, script in VARIANTS.items():
            _install(b.driver, script, page.sel, slots[name])
        for i, case in enumerate(cases):
            for name, script in scripts[i % len(scripts):] + scripts[:i % len(scripts)]:
                t0 = time.perf_counter()
                if name == "floor":
                    result = b.driver.execute_async_script(script, case, True)
                else:
                    result = _run(b.driver, slots[name], case, timeout_ms)
                    page._raise_for(result)  # the same checks as CourtFilesPage.search
                times[name].append(time.perf_counter() - t0)
                if name == "shipped" and result["found"] and len(captures) < 100:
                    captures.append((case, result["html"]))
        for name, _ in scripts:
            out[name] = summarize(times[name])
        out["skipped_variants"] = SKIPPED
        t0 = time.perf_counter()
        checks = 10
        for _ in range(checks):
            b.memory_mb()
        out["memory_check_ms"] = round(1000 * (time.perf_counter() - t0) / checks, 1)
    t0 = time.perf_counter()
    for case, html in captures:
        parser.parse_case(html, court="t", case_number=case)
    out["parse_ms"] = round(1000 * (time.perf_counter() - t0) / max(1, len(captures)), 2)
    t0 = time.perf_counter()
    spider = CasesSpider(year=2025)
    for _ in range(100):  # Scrapy's check, per response, of a callback's source (bound method: no cache hit)
        is_generator_with_return_value(spider.parse_case)
    out["generator_check_ms"] = round(1000 * (time.perf_counter() - t0) / 100, 2)
    return out


def top_functions(profile: Path, cases: int, limit: int = 15) -> list[dict[str, Any]]:
    """The reactor thread's functions with the most own time, in ms per case."""
    stats = pstats.Stats(str(profile))
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(filename).name}:{line}({name})", "calls_per_case": round(nc / cases, 2),
                     "own_ms_per_case": round(1000 * tt / cases, 3), "cum_ms_per_case": round(1000 * ct / cases, 3)})
    rows.sort(key=lambda r: r["own_ms_per_case"], reverse=True)
    return rows[:limit]
