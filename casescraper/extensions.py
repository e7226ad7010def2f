"""Progress: a periodic progress line for long (year) runs, like Scrapy's LogStats.

Every CASESCRAPER_PROGRESS_INTERVAL seconds (0 turns it off) it reports

    progress: 120/1000 (12.0%), saved 100, no results 15, failed 5, 2.0 cases/min
    (last 60s: 2.4), ETA 7h20m

`done` is the numbers recorded so far: the sum of the pipeline's stats
`casescraper/cases/<status>` but `unverified` (a failed canary's second word on numbers
already counted); `planned` is what the spider last published by the `plan_changed`
signal, the queries it sends for numbers, added up across the years of a run ("?" when
it is None or was never sent, e.g. while a year's end is searched, and then there is no
ETA): a finished run ends at planned/planned. Canaries are health
checks, not numbers: neither done nor planned. Once the end search is over, its probes
above the year's last file (`casescraper/probes/above_end`) are shown apart from "no
results". The first rate is over the whole run (rests and
restarts included), the one in brackets over the last interval; the ETA uses the
whole-run rate, which is the steadier of the two.

When stderr is a terminal the line is a bar redrawn in place (carriage return) at every
interval and after every item; log records written to stderr clear it first so they do
not run into it. Otherwise each report is an INFO log line. A final line is logged at
spider_closed. Enable with
    EXTENSIONS = {"casescraper.extensions.Progress": 500}
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from typing import Any, Callable, Optional, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from casescraper.items import FAILED, STATUSES
from casescraper.options import Options
from casescraper.signals import case_recorded, plan_changed

logger = logging.getLogger(__name__)

BAR_WIDTH = 20


def format_duration(seconds: float) -> str:
    """`45s`, `12m05s`, `7h20m`, `2d03h`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


class Progress:
    def __init__(self, crawler: Any, interval: float, *,
                 clock: Callable[[], float] = time.monotonic, stream: Optional[TextIO] = None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.interval = interval
        self.clock = clock
        self._stream = stream  # None: sys.stderr, looked up when the spider opens
        self.stream: TextIO = stream or sys.stderr
        self.tty = False
        self.task: Any = None
        self.started: Optional[float] = None
        self.prev_done = 0
        self.prev_time: Optional[float] = None
        self.interval_rate: Optional[float] = None  # cases/min over the last interval
        self.bar_shown = False
        self._filtered: list[logging.Handler] = []
        self._planned: Optional[int] = None  # as the spider last published it

    @classmethod
    def from_crawler(cls, crawler: Any) -> "Progress":
        interval = Options.of(crawler).progress_interval
        if not interval:
            raise NotConfigured("CASESCRAPER_PROGRESS_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_done, signal=case_recorded)
        crawler.signals.connect(ext.plan_changed, signal=plan_changed)
        return ext

    # --- counting
    def counts(self) -> dict[str, int]:
        by_status = {s: int(self.stats.get_value(f"casescraper/cases/{s}", 0)) for s in STATUSES}
        probes = int(self.stats.get_value("casescraper/probes/above_end", 0))
        return {
            "done": sum(by_status.values()) - by_status["unverified"],
            "saved": by_status["saved"],
            # A case found again: a new file (changed) or none (unchanged); as the summary.
            "changed": by_status["changed"],
            "unchanged": by_status["unchanged"],
            "no_results": by_status["no_results"] - probes,
            "probes": probes,
            "failed": sum(by_status[s] for s in FAILED),
            "dry_run": by_status["dry_run"],
        }

    def plan_changed(self, planned: Optional[int] = None, **_: Any) -> None:
        self._planned = planned

    def planned(self) -> Optional[int]:
        planned = self._planned
        return planned if isinstance(planned, int) and planned >= 0 else None

    def snapshot(self) -> dict[str, Any]:
        """Everything a progress line shows, as numbers (None when unknown)."""
        now = self.clock()
        c = self.counts()
        elapsed = now - self.started if self.started is not None else 0.0
        rate = c["done"] / elapsed * 60 if elapsed > 0 else None
        planned = self.planned()
        eta = None
        if planned is not None and rate:
            eta = max(0, planned - c["done"]) / rate * 60
        return dict(c, planned=planned, elapsed=elapsed, rate=rate,
                    interval_rate=self.interval_rate, eta=eta)

    # --- formatting
    @staticmethod
    def _again(s: dict[str, Any]) -> list[str]:
        return [f"{k} {s[k]}" for k in ("changed", "unchanged") if s.get(k)]

    def _rates(self, s: dict[str, Any], short: bool = False) -> str:
        rate = "-" if s["rate"] is None else f"{s['rate']:.1f}"
        text = f"{rate}/min" if short else f"{rate} cases/min"
        if s["interval_rate"] is not None:
            span = f"{self.interval:g}s" if self.interval < 600 else format_duration(self.interval)
            text += f" (last {span}: {s['interval_rate']:.1f})"
        return text

    def line(self, s: dict[str, Any]) -> str:
        planned = s["planned"]
        done = f"{s['done']}/{'?' if planned is None else planned}"
        if planned:
            done += f" ({min(100.0, 100 * s['done'] / planned):.1f}%)"
        parts = [done, f"saved {s['saved']}", *self._again(s), f"no results {s['no_results']}",
                 f"failed {s['failed']}"]
        if s.get("probes"):
            parts.append(f"probes above the end {s['probes']}")
        if s["dry_run"]:
            parts.append(f"dry run {s['dry_run']}")
        parts.append(self._rates(s))
        if s["eta"] is not None:
            parts.append(f"ETA {format_duration(s['eta'])}")
        return ", ".join(parts)

    def bar(self, s: dict[str, Any]) -> str:
        planned = s["planned"]
        if planned:
            filled = min(BAR_WIDTH, BAR_WIDTH * s["done"] // planned)
            gauge = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"
            head = f"{gauge} {s['done']}/{planned} {min(100, 100 * s['done'] // planned)}%"
        else:
            head = f"[{'?' * BAR_WIDTH}] {s['done']}/?"
        parts = [head, f"saved {s['saved']}", *self._again(s), f"no results {s['no_results']}",
                 f"failed {s['failed']}", self._rates(s, short=True)]
        if s["eta"] is not None:
            parts.append(f"ETA {format_duration(s['eta'])}")
        text = " | ".join(parts)
        width = shutil.get_terminal_size(fallback=(120, 24)).columns - 1
        return text[:max(width, 20)]

    # --- output
    def draw(self, s: Optional[dict[str, Any]] = None) -> None:
        """Redraw the bar in place: carriage return, clear to end of line, no newline."""
        self.stream.write("\r\x1b[K" + self.bar(s or self.snapshot()))
        self.stream.flush()
        self.bar_shown = True

    def _clear_bar(self, record: logging.LogRecord) -> bool:
        """Handler filter: wipe the bar before a log record is written to the terminal."""
        if self.bar_shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.bar_shown = False
        return True

    def _hook_logging(self) -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                handler.addFilter(self._clear_bar)
                self._filtered.append(handler)

    def _unhook_logging(self) -> None:
        for handler in self._filtered:
            handler.removeFilter(self._clear_bar)
        self._filtered.clear()

    # --- signals
    def spider_opened(self, spider: Any = None) -> None:
        self.stream = self._stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.started = self.prev_time = self.clock()
        self.prev_done = 0
        if self.tty:
            self._hook_logging()
        self.task = create_looping_call(self.tick)
        self.task.start(self.interval, now=False)

    def tick(self) -> None:
        """One report: the interval rate is updated here, then a bar or a log line."""
        now = self.clock()
        done = self.counts()["done"]
        if self.prev_time is not None and now > self.prev_time:
            self.interval_rate = (done - self.prev_done) / (now - self.prev_time) * 60
        self.prev_done, self.prev_time = done, now
        s = self.snapshot()
        if self.tty:
            self.draw(s)
        else:
            logger.info("progress: %s", self.line(s))

    def item_done(self, *args: Any, **kwargs: Any) -> None:
        if self.tty and self.started is not None:
            self.draw()

    def spider_closed(self, spider: Any = None, reason: str = "finished") -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.started is None:
            return
        s = dict(self.snapshot(), eta=None)
        if self.tty:
            self.draw(s)
            self.stream.write("\n")
            self.stream.flush()
            self.bar_shown = False
            self._unhook_logging()
        s = dict(s, interval_rate=None)
        logger.info("progress: finished (%s) after %s: %s", reason,
                    format_duration(s["elapsed"]), self.line(s))
