"""Watching a crawl process from outside, by the court's search count: browser memory at
given marks, the whole process tree's CPU between the first and the last search, and a
crawl that stopped searching. Used for casescraper's crawl and the peers' alike.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from typing import Any, Optional

import psutil

from casescraper.browser.procmem import MiB, tree, tree_pss_mb

STALL_SECONDS = 60


def browser_pss_mb(crawl_pid: int) -> Optional[float]:
    """PSS of the crawl's child process trees (its driver and the browser below it), not
    of the crawl's own Python."""
    split = driver_browser_pss_mb(crawl_pid)
    return None if split is None else round(split["driver"] + split["browser"], 1)


def driver_browser_pss_mb(crawl_pid: int) -> Optional[dict[str, float]]:
    """{"driver": MiB, "browser": MiB}: the crawl's direct children (chromedriver, or
    Playwright's node driver) and everything below them (Chromium's processes)."""
    try:
        drivers = psutil.Process(crawl_pid).children()
    except psutil.NoSuchProcess:
        return None
    if not drivers:
        return None
    own = tree = 0.0
    for d in drivers:
        try:
            own += d.memory_full_info().pss / MiB
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended while read: counts nothing
            continue
        tree += tree_pss_mb(d.pid) or 0.0
    return {"driver": round(own, 1), "browser": round(max(0.0, tree - own), 1)}


def tree_cpu_s(root_pid: int) -> Optional[float]:
    """CPU seconds (user + system) of a process and its live descendants, with what their
    ended children had used (a closed page's renderer counts, once its parent reaped it)."""
    procs = tree(root_pid)
    if procs is None:
        return None
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class MemoryWatch(threading.Thread):
    """Samples browser PSS when the court's search count passes each mark; the process
    tree's CPU at the first and the last search (CPU per case in between) and the driver's
    and browser's PSS at the last; stops a crawl that sends no search for STALL_SECONDS (a
    browser that cannot start, say).

    Search number m+1 arriving means m cases are complete and the (m+1)-th is in the
    browser; the last mark is sampled when the last search arrives (the browser quits
    right after it), so it reads "after N-1 cases" and says so.
    """

    def __init__(self, court, proc: subprocess.Popen, marks: tuple[int, ...], cases: int):
        super().__init__(daemon=True, name="memory-watch")
        self.court, self.proc, self.cases = court, proc, cases
        self.base = court.query_count  # searches this court served before the crawl
        self.marks = sorted(set(m for m in marks if 0 < m <= cases))
        self.samples: list[dict[str, Any]] = []
        self.cpu: list[tuple[int, float]] = []  # (searches, tree CPU s) at the first and last search
        self.pss_last: Optional[dict[str, float]] = None
        self.stalled = ""
        self.stop_event = threading.Event()

    def run(self) -> None:
        pending = list(self.marks)
        seen, seen_at = -1, time.monotonic()
        while not self.stop_event.is_set() and self.proc.poll() is None:
            searches = self.court.query_count - self.base
            if searches != seen:
                seen, seen_at = searches, time.monotonic()
            elif searches < self.cases and time.monotonic() - seen_at > STALL_SECONDS:
                self.stalled = f"no search for {STALL_SECONDS} s after {searches} searches"
                self.proc.send_signal(signal.SIGTERM)
                return
            if searches >= 1 and len(self.cpu) < 1 or searches >= self.cases and len(self.cpu) < 2:
                self._cpu(searches)
            if pending and searches >= min(pending[0] + 1, self.cases):
                mark = pending.pop(0)
                self.samples.append({"mark": mark, "after_cases": searches - 1,
                                     "pss_mb": browser_pss_mb(self.proc.pid)})
                continue
            self.stop_event.wait(0.005 if pending or len(self.cpu) < 2 else 0.5)

    def _cpu(self, searches: int) -> None:
        cpu = tree_cpu_s(self.proc.pid)
        if cpu is not None:
            self.cpu.append((searches, cpu))
        if len(self.cpu) == 2:
            self.pss_last = driver_browser_pss_mb(self.proc.pid)

    def figures(self) -> dict[str, Any]:
        """CPU ms per case of the whole process tree (crawl, driver, browser) from the first
        search to the last, and the driver's and browser's PSS at the last search."""
        out: dict[str, Any] = {"cpu_ms_per_case": None, "pss_at_last_mb": self.pss_last}
        if len(self.cpu) == 2 and self.cpu[1][0] > self.cpu[0][0]:
            (a, ca), (b, cb) = self.cpu
            out["cpu_ms_per_case"] = round(1000 * (cb - ca) / (b - a), 1)
        return out
