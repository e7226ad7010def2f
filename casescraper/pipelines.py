"""CaseFilesPipeline: case files, their evidence, the ledger and the run manifest.

A `CaseItem` becomes a JSON file (see `storage`) without its `evidence`, the evidence
a gzip file beside it (see `evidence`, CASESCRAPER_KEEP_RAW), and a ledger line. A
number that produced no record arrives by the `casescraper.signals.case_outcome`
signal and becomes only a ledger line. Items are case records only: a saved case (also
one equal to a file already there, and every case of a dry run) is returned, so feeds
(`-o`) hold exactly the cases of this run; a record that was not saved (failed_write,
parse_error) is dropped after its ledger line. Counts are in the stats
`casescraper/cases/<status>` and the run manifest `<output>/runs/<run_id>.json`.

The evidence is written right after its case file, because its name is the case file's
(suffix included), known only once that file is published. A case file is what
matters: evidence that cannot be written after the retries is a warning and the stat
`casescraper/raw/failed`, never a failed case.

Disk work runs in a thread and retry backoff uses `asyncio.sleep`, so the reactor never
blocks. Both are attributes (`run_in_thread`, `sleep`) that tests replace.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from casescraper import casenumbers
from casescraper import signals as our_signals
from casescraper.errors import InvalidRecord, OutputError, SuffixLimitReached, UnsafeCaseNumber
from casescraper.evidence import EvidenceError, EvidenceStore
from casescraper.items import FAILED, OUTCOMES, STATUSES, CaseItem
from casescraper.ledger import Ledger
from casescraper.storage import CaseStore, Saved, case_year, safe_name, write_json_atomic

logger = logging.getLogger(__name__)


async def defer_to_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await maybe_deferred_to_future(deferToThread(fn, *args, **kwargs))


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CaseFilesPipeline:
    def __init__(self, crawler: Any):
        self.crawler = crawler
        s = crawler.settings
        self.output_dir = os.path.abspath(s.get("CASESCRAPER_OUTPUT_DIR"))
        self.retries = s.getint("CASESCRAPER_WRITE_RETRIES")
        self.backoff = s.getfloat("CASESCRAPER_WRITE_BACKOFF_SECONDS")
        self.max_failures = s.getint("CASESCRAPER_MAX_CONSECUTIVE_WRITE_FAILURES")
        self.dry_run = s.getbool("CASESCRAPER_DRY_RUN")
        self.keep_raw = s.getbool("CASESCRAPER_KEEP_RAW")
        self.run_id = s.get("CASESCRAPER_RUN_ID")
        self.store = CaseStore(
            self.output_dir,
            s.get("CASESCRAPER_PER_CASE_SUBDIR"),
            s.getint("CASESCRAPER_SUFFIX_LIMIT"),
            s.getbool("CASESCRAPER_FORCE_OVERWRITE"),
        )
        self.evidence = EvidenceStore(self.output_dir)
        self.ledger = Ledger(self.output_dir, getattr(getattr(crawler, "spider", None), "ledger_site", None))
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self.run_in_thread: Callable[..., Awaitable[Any]] = defer_to_thread
        self.consecutive_failures = 0
        self.closing = None  # the Deferred closing the spider after too many failures
        self.counts = dict.fromkeys(STATUSES, 0)
        self.saved: list[str] = []  # case numbers saved (or that would be, in a dry run)
        self.no_results: list[str] = []
        self.failed: list[dict[str, Any]] = []
        self.lost_lines: list[str] = []  # case numbers whose ledger line could not be written
        self.started_at: Optional[datetime] = None
        self.finished_at: Optional[datetime] = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CaseFilesPipeline":
        pipeline = cls(crawler)
        if not pipeline.dry_run:
            # Before the engine opens, hence before any browser: an unusable output dir
            # stops the crawl with one line and no half-opened engine to close.
            pipeline.store.probe()
        # The close reason is known only to the spider_closed signal, sent after the
        # pipelines close, so the manifest is written there.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.record_outcome, signal=our_signals.case_outcome)
        return pipeline

    def _inc(self, key: str) -> None:
        self.crawler.stats.inc_value(f"casescraper/{key}")

    # --- startup
    async def open_spider(self) -> None:
        self.started_at = _utc_now()
        # One line naming the run and where it writes: what an operator reading a
        # Scrapyd job log needs to find the files, the ledger and runs/<run_id>.json.
        logger.info("run %s writing to %s", self.run_id, self.output_dir)
        if self.dry_run:
            logger.info("dry run: nothing will be written below %s", self.output_dir)
            return
        swept = await self.run_in_thread(self.store.sweep)
        if swept:
            logger.info("removed %d temp file(s) left by killed writers", len(swept))
            self.crawler.stats.set_value("casescraper/temps/swept", len(swept))

    # --- outcomes (the case_outcome signal) and items
    async def record_outcome(self, case_number: str, status: str, error: Optional[str] = None,
                             diagnostics: Optional[str] = None) -> None:
        """A number that produced no record: its ledger line, counts and stats."""
        if status not in OUTCOMES:
            logger.error("outcome %r for %s is not a spider status; recorded as parse_error",
                         status, case_number)
            status, error = "parse_error", f"spider reported unknown status {status!r}: {error}"
        await self._finish(case_number, status, error=error, diagnostics=diagnostics)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CaseItem):
            logger.warning("%s is not a CaseItem; passed on untouched", type(item).__name__)
            return item
        adapter = ItemAdapter(item)
        record = adapter.asdict()
        # The case file is the record; the evidence goes into a file of its own.
        evidence = record.pop("evidence", None)
        status, saved, error = await self._save(record)
        file_path = saved.rel_path if saved is not None else None
        if saved is not None:
            adapter["file_path"] = file_path
            if evidence is not None and self.keep_raw:
                await self._keep_evidence(record["case_number"], saved, evidence)
        await self._finish(item.case_number, status, file_path=file_path, error=error)
        if status in FAILED:
            # Not saved: not a case of this run's feed. Logged above and in the ledger.
            raise DropItem(f"{item.case_number} was not saved ({status})", log_level="DEBUG")
        return item

    async def _retrying(self, stat: str, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) in a thread, retried with doubling backoff on OSError; the last one is
        raised. Stats `casescraper/<stat>/errors` and `.../retries`."""
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                return await self.run_in_thread(fn, *args)
            except OSError as exc:
                self._inc(f"{stat}/errors")
                if attempt == self.retries:
                    raise
                logger.warning("writing %s failed (attempt %d of %d): %s; retrying in %gs",
                               what, attempt, self.retries, exc, delay)
                self._inc(f"{stat}/retries")
                await self.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable: CASESCRAPER_WRITE_RETRIES is at least 1")

    async def _save(self, record: dict[str, Any]) -> tuple[str, Optional[Saved], Optional[str]]:
        """(status, where it was saved, error) once the record is saved or has finally failed."""
        if self.dry_run:
            try:
                rel, exists = await self.run_in_thread(self.store.plan, record)
            except (InvalidRecord, UnsafeCaseNumber) as exc:
                return "parse_error", None, str(exc)
            except (SuffixLimitReached, OSError, OutputError) as exc:
                return "failed_write", None, str(exc)
            logger.info("%s %s", "would keep existing" if exists else "would write",
                        os.path.join(self.output_dir, rel))
            return "dry_run", None, None
        case_number = record["case_number"]
        try:
            saved = await self._retrying("writes", case_number, self.store.write, record)
        except (InvalidRecord, UnsafeCaseNumber) as exc:
            return "parse_error", None, str(exc)
        except SuffixLimitReached as exc:
            # Not a disk fault, so it neither retries nor counts towards write_failures.
            return "failed_write", None, str(exc)
        except OutputError as exc:
            # The output dir itself is in the way (a link leading out of it, a file where a
            # directory must be), appeared after the start-up check: no case can be saved.
            logger.error("casescraper: error: %s; closing the spider (output_unusable)", exc)
            if self.closing is None:
                self.closing = deferred_from_coro(
                    self.crawler.engine.close_spider_async(reason="output_unusable"))
            return "failed_write", None, str(exc)
        except OSError as exc:
            logger.error("writing %s failed after %d attempt(s): %s", case_number, self.retries, exc)
            self._write_failed()
            return "failed_write", None, f"{type(exc).__name__}: {exc}"
        self.consecutive_failures = 0
        self._inc(f"files/{saved.outcome}")
        return "saved", saved, None

    async def _keep_evidence(self, case_number: str, saved: Saved, evidence: dict[str, Any]) -> None:
        """Write the evidence beside the case file; a failure only warns (see the docstring)."""
        # force_overwrite replaced the case file: its evidence must be this capture's too.
        replace = self.store.force_overwrite and saved.outcome != "existing"
        try:
            kept = await self._retrying("raw", f"the evidence of {case_number}",
                                        self.evidence.write, saved.path, evidence, replace)
        except (OSError, EvidenceError) as exc:
            logger.warning("the evidence of %s was not kept: %s; its case file %s is saved",
                           case_number, exc, saved.rel_path)
            self._inc("raw/failed")
            return
        if kept.outcome == "existing" and saved.outcome == "created":
            # Never overwritten, but a new case file beside old evidence: an operator must know.
            logger.warning("%s was already there and is kept; it may not be the evidence of the "
                           "new case file %s", kept.rel_path, saved.rel_path)
            self._inc("raw/conflict")
        self._inc("raw/existing" if kept.outcome == "existing" else "raw/saved")

    def _write_failed(self) -> None:
        """Count a failed write; a full or broken disk does not heal, so stop the crawl."""
        self.consecutive_failures += 1
        if self.consecutive_failures < self.max_failures or self.closing is not None:
            return
        logger.error("%d consecutive writes failed; closing the spider (write_failures)",
                     self.consecutive_failures)
        self.closing = deferred_from_coro(
            self.crawler.engine.close_spider_async(reason="write_failures"))
        self.closing.addErrback(lambda f: logger.error("closing the spider failed: %s", f.value))

    async def _finish(self, case_number: str, status: str, *, file_path: Optional[str] = None,
                      error: Optional[str] = None, diagnostics: Optional[str] = None) -> None:
        """Count the final outcome and append its one ledger line."""
        self.counts[status] += 1
        self._inc(f"cases/{status}")
        if status in ("saved", "dry_run"):
            self.saved.append(case_number)
        elif status == "no_results":
            self.no_results.append(case_number)
        elif status in FAILED:
            self.failed.append({"case_number": case_number, "status": status, "error": error})
        if not self.dry_run:
            now = _utc_now()
            try:
                await self.run_in_thread(
                    self.ledger.record, case_number, status, run_id=self.run_id,
                    year=case_year(case_number, now), file_path=file_path, error=error,
                    diagnostics=diagnostics, at=now.isoformat())
            except OSError as exc:
                logger.error("ledger line for %s (%s) could not be written: %s", case_number, status, exc)
                self._inc("ledger/errors")
                self.lost_lines.append(case_number)
                self._write_failed()
        await self.crawler.signals.send_catch_log_async(
            signal=our_signals.case_recorded, case_number=case_number, status=status)

    # --- end of run
    async def close_spider(self) -> None:
        self.finished_at = _utc_now()

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if self.started_at is None:
            return  # open_spider never ran or failed: nothing was attempted
        manifest = self.manifest(spider, reason)
        logger.info("run %s: %s", manifest["run_id"], self.summary(manifest))
        if self.lost_lines:
            logger.error("%d ledger line(s) could not be written (%s); the next run asks for "
                         "those numbers again; the run manifest lists them", len(self.lost_lines),
                         ", ".join(manifest["ledger_lines_lost"]["case_numbers"][:10]))
        if self.dry_run:
            return
        path = os.path.join(self.output_dir, "runs",
                            f"{safe_name(self.run_id, what='run id')}.json")
        try:
            await self.run_in_thread(write_json_atomic, path, manifest)
        except OSError as exc:
            logger.error("run manifest %s could not be written: %s", path, exc)
        await self.run_in_thread(self.ledger.close)

    def summary(self, m: dict[str, Any]) -> str:
        """The run in one line, counted as a person counts: cases, then probes and canaries."""
        counts = m["counts"]
        if not m["total"] and not m["probes_above_end"] and m["close_reason"] == "finished":
            return "nothing to do: every number asked for is already done"
        done = "dry run" if self.dry_run else "saved"
        span = f" ({m['first_saved']} to {m['last_saved']})" if m["first_saved"] else ""
        parts = [f"{done} {counts['dry_run' if self.dry_run else 'saved']}{span}",
                 f"no results {counts['no_results']}", f"failed {len(m['failed'])}"]
        probes = len(m["probes_above_end"])
        if m["year_last_file"]:
            parts.append(f"the year's last file {m['year_last_file']} ({probes} probes above it)")
        elif probes:
            parts.append(f"{probes} probes found no file of the year")
        canaries = sum(m["canaries"].values())
        if canaries:
            parts.append(f"canaries {canaries} ({m['canaries']['passed']} passed)")
        return ", ".join(parts)

    def manifest(self, spider: Any, reason: str) -> dict[str, Any]:
        finished = self.finished_at or _utc_now()
        saved = sorted(self.saved, key=casenumbers.order)
        # Numbers asked above the year's last file by the end search: probes, not cases.
        probes = set(getattr(spider, "probes_above_end", None) or ())
        no_results = sorted((c for c in self.no_results if c not in probes), key=casenumbers.order)
        counts = dict(self.counts, no_results=len(no_results))
        stats = self.crawler.stats
        return {
            "run_id": self.run_id,
            **self.ledger.site_fields(),  # site, site_host: which site answered
            # Any spider can use this pipeline; only ours records its arguments.
            "arguments": getattr(spider, "run_args", {}),
            "requested_first": getattr(spider, "start_n", None),
            "requested_last": getattr(spider, "end_n", None),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": finished.isoformat(),
            "close_reason": reason,
            "dry_run": self.dry_run,
            "first_saved": saved[0] if saved else None,
            "last_saved": saved[-1] if saved else None,
            # Found by this run's end search (None with end/max_cases, case or cases_file).
            "year_last_file": getattr(spider, "year_last_file", None),
            "total": sum(counts.values()),
            "counts": counts,
            "no_results": no_results,
            "failed": sorted(self.failed, key=lambda f: casenumbers.order(f["case_number"])),
            "probes_above_end": sorted(probes, key=casenumbers.order),
            "canaries": {k: int(stats.get_value(f"casescraper/canaries/{k}", 0))
                         for k in ("passed", "failed", "errors")},
            "ledger_lines_lost": {"count": len(self.lost_lines),
                                  "case_numbers": sorted(self.lost_lines, key=casenumbers.order)},
        }
