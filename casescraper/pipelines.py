"""CaseFilesPipeline: case files, their evidence and the ledger.

A `CaseItem` becomes a JSON file (see `storage`) without its `evidence`, the evidence
a gzip file beside it (see `evidence`, CASESCRAPER_KEEP_RAW), and a ledger line. A case
saved before is compared with its latest file (of any day; the ledger names it, see
`history`): equal case data writes nothing and records `unchanged` with that file, else
a new file is written and the line is `changed`, saying what changed. A
number that produced no record arrives by the `casescraper.signals.case_outcome`
signal and becomes only a ledger line. Items are case records only: a saved case (also
one equal to a file already there, and every case of a dry run) is returned, so feeds
(`-o`) hold exactly the cases of this run; a record that was not saved (failed_write,
parse_error) is dropped after its ledger line. Counts are in the stats
`casescraper/cases/<status>` and the run manifest `<output>/runs/<run_id>.json`, which
the RunManifest extension (manifest.py) writes from the `case_recorded` signal.

The evidence is written right after its case file, because its name is the case file's
(suffix included), known only once that file is published. Evidence or a ledger line
that cannot be written after the retries is a lost write: an error naming the case, the
stats `casescraper/raw/failed` or `casescraper/ledger/errors` and `casescraper/writes/lost`,
the `write_lost` signal (the run manifest lists those cases), and a failed write that
counts towards CASESCRAPER_MAX_CONSECUTIVE_WRITE_FAILURES: the counter starts again only
when a case's file, evidence and ledger line were all written. `scrapy crawl` exits
non-zero after any lost write (commands/crawl.py).

Disk work runs in a thread and retry backoff uses `asyncio.sleep`, so the reactor never
blocks. Both are attributes (`run_in_thread`, `sleep`) that tests replace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from casescraper.record import history
from casescraper import signals as our_signals
from casescraper.errors import InvalidRecord, OutputError, SuffixLimitReached, UnsafeCaseNumber
from casescraper.record.evidence import EvidenceError, EvidenceStore
from casescraper.items import FAILED, FILED, FOUND, OUTCOMES, CaseItem
from casescraper.store import runlock
from casescraper.store.ledger import Ledger
from casescraper.options import Options
from casescraper.stopping import stop_crawl
from casescraper.store.storage import (
    CaseStore, Saved, case_year, read_record, serialize, validate_record,
)

logger = logging.getLogger(__name__)


async def defer_to_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await maybe_deferred_to_future(deferToThread(fn, *args, **kwargs))


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CaseFilesPipeline:
    def __init__(self, crawler: Any):
        self.crawler = crawler
        o = Options.of(crawler)
        self.output_dir = os.path.abspath(o.output_dir)
        self.retries = o.write_retries
        self.backoff = o.write_backoff_seconds
        self.max_failures = o.max_consecutive_write_failures
        self.dry_run = o.dry_run
        self.keep_raw = o.keep_raw
        self.run_id = o.run_id
        self._passed_on = False  # told once that other items pass through untouched
        self.store = CaseStore(self.output_dir, o.per_case_subdir, o.suffix_limit, o.force_overwrite)
        self.evidence = EvidenceStore(self.output_dir)
        # Which site answers comes with the spider's run_started signal (no site: none on lines).
        self.ledger = Ledger(self.output_dir)
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        self.run_in_thread: Callable[..., Awaitable[Any]] = defer_to_thread
        self.consecutive_failures = 0
        self.closing: Optional[str] = None  # why this pipeline stopped the crawl
        # year -> case number -> its latest file (ledger's file_path), read once per year
        # when first needed and kept up to date as lines are recorded.
        self.latest_files: dict[int, dict[str, Optional[str]]] = {}
        self._unreadable: set[str] = set()  # cases warned about: latest file unreadable

    @classmethod
    def from_crawler(cls, crawler: Any) -> "CaseFilesPipeline":
        pipeline = cls(crawler)
        if not pipeline.dry_run:
            # Before the engine opens, hence before any browser: an unusable output dir
            # stops the crawl with one line and no half-opened engine to close.
            pipeline.store.probe()
        crawler.signals.connect(pipeline.record_outcome, signal=our_signals.case_outcome)
        crawler.signals.connect(pipeline.run_started, signal=our_signals.run_started)
        return pipeline

    def run_started(self, site: Any = None, **_: Any) -> None:
        self.ledger.site = site

    def _inc(self, key: str) -> None:
        self.crawler.stats.inc_value(f"casescraper/{key}")

    # --- startup
    async def open_spider(self) -> None:
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
                             diagnostics: Optional[str] = None, answered_at: Optional[str] = None) -> None:
        """A number that produced no record: its ledger line, counts and stats
        (`answered_at`: the portal's time of the answer)."""
        if status not in OUTCOMES:
            logger.error("outcome %r for %s is not a spider status; recorded as parse_error",
                         status, case_number)
            status, error = "parse_error", f"spider reported unknown status {status!r}: {error}"
        await self._finish(case_number, status, error=error, diagnostics=diagnostics,
                           answered_at=answered_at)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CaseItem):
            # Another spider's item (a project may hold spiders of its own): Scrapy's.
            if not self._passed_on:
                self._passed_on = True
                logger.debug("items that are not a CaseItem (%s) are passed on untouched",
                             type(item).__name__)
            return item
        adapter = ItemAdapter(item)
        # Shallow: the values are plain JSON already, and nothing below changes them (a deep
        # copy of every docket entry cost about 1 ms per case on the crawl's critical path).
        record = dict(adapter)
        # The case file is the record; the evidence goes into a file of its own.
        evidence = record.pop("evidence", None)
        incomplete = record.pop("incomplete", None)
        status, saved, error, changes = await self._save(record)
        written = status != "unchanged"  # an unchanged case wrote no file: keeps no evidence
        if incomplete and status in FOUND:
            # Kept (null parts), but not settled: the next run asks again. Said on the line.
            status, error = "incomplete", incomplete
        file_path = saved.rel_path if saved is not None else None
        steps = [self._finish(item.case_number, status, file_path=file_path, error=error,
                              changes=changes)]
        if saved is not None:
            adapter["file_path"] = file_path
            # Evidence goes with a case file written now; an unchanged case wrote none. Both
            # follow the case file (whose name the evidence takes), beside each other.
            if evidence is not None and self.keep_raw and written:
                steps.append(self._keep_evidence(record["case_number"], saved, evidence))
        done = await asyncio.gather(*steps)
        if status in FOUND and all(done):
            self.consecutive_failures = 0  # file, ledger line and evidence all written
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

    async def _save(self, record: dict[str, Any]) -> tuple[
            str, Optional[Saved], Optional[str], Optional[dict[str, Any]]]:
        """(status, where it is, error, changes) once the record is saved, found unchanged
        or has finally failed; changes only for `changed`."""
        case_number = record["case_number"]
        try:
            # force_overwrite replaces the day's file as before: no history.
            latest = None if self.store.force_overwrite else await self._latest(case_number)
            changes = None if latest is None else await self.run_in_thread(
                self._changes, record, latest[1])
        except (InvalidRecord, UnsafeCaseNumber) as exc:
            return "parse_error", None, str(exc), None
        if latest is not None and changes is None:
            rel = latest[0]
            if self.dry_run:
                logger.info("would keep unchanged %s", os.path.join(self.output_dir, rel))
                return "dry_run", None, None, None
            return "unchanged", Saved(os.path.join(self.output_dir, rel), rel, "unchanged"), None, None
        if self.dry_run:
            try:
                rel, exists = await self.run_in_thread(self.store.plan, record)
            except (InvalidRecord, UnsafeCaseNumber) as exc:
                return "parse_error", None, str(exc), None
            except (SuffixLimitReached, OSError, OutputError) as exc:
                return "failed_write", None, str(exc), None
            what = ("would keep existing" if exists else
                    f"would write (changed: {history.describe(changes)})" if changes else "would write")
            logger.info("%s %s", what, os.path.join(self.output_dir, rel))
            return "dry_run", None, None, None
        try:
            saved = await self._retrying("writes", case_number, self.store.write, record)
        except (InvalidRecord, UnsafeCaseNumber) as exc:
            return "parse_error", None, str(exc), None
        except SuffixLimitReached as exc:
            # Not a disk fault, so it neither retries nor counts towards write_failures.
            return "failed_write", None, str(exc), None
        except OutputError as exc:
            # The output dir itself is in the way (a link leading out of it, a file where a
            # directory must be), appeared after the start-up check: no case can be saved.
            if self.closing is None:
                logger.error("casescraper: error: %s; closing the spider (output_unusable)", exc)
                self.closing = "output_unusable"
                stop_crawl(self.crawler, "output_unusable")
            else:  # a case in flight when the crawl began to close: said once, above
                logger.warning("%s was not written: the output directory is unusable", case_number)
            return "failed_write", None, str(exc), None
        except OSError as exc:
            logger.error("writing %s failed after %d attempt(s): %s", case_number, self.retries, exc)
            self._write_failed()
            return "failed_write", None, f"{type(exc).__name__}: {exc}", None
        self._inc(f"files/{saved.outcome}")
        if latest is None or changes is None:
            return "saved", saved, None, None
        if saved.rel_path == latest[0]:  # the store found the latest file equal after all
            return "unchanged", saved, None, None
        return "changed", saved, None, {"previous_file": latest[0], **changes}

    async def _latest(self, case_number: str) -> Optional[tuple[str, dict[str, Any]]]:
        """(relative path, content) of the case's latest file as the ledger names it, or
        None: never saved, or that file is gone or unreadable (warned once per case: the
        record is then written as a new `saved` file)."""
        year = case_year(case_number, _utc_now())
        if year not in self.latest_files:
            try:
                found = await self.run_in_thread(self.ledger.latest_found, year)
            except (OSError, OutputError) as exc:
                # Not knowing the latest file costs only a new file per case: never data.
                logger.warning("the ledger of %d could not be read (%s); cases are compared "
                               "with no earlier file", year, exc)
                found = {}
            self.latest_files.setdefault(year, {c: e["file_path"] for c, e in found.items()})
        files = self.latest_files[year]
        if case_number not in files:
            return None
        rel = files[case_number]
        data = await self.run_in_thread(self._read_latest, rel) if rel else None
        if data is None:
            if case_number not in self._unreadable:
                self._unreadable.add(case_number)
                logger.warning("%s: its latest file %s (named by the ledger) is missing or "
                               "unreadable; the case is written as a new file", case_number, rel)
            return None
        return rel, data

    def _read_latest(self, rel: str) -> Optional[dict[str, Any]]:
        path = self.ledger.file_of(rel)  # only below the output dir, links resolved
        return read_record(path) if path else None

    @staticmethod
    def _changes(record: dict[str, Any], previous: dict[str, Any]) -> Optional[dict[str, Any]]:
        """What differs from the previous file, for a valid record (InvalidRecord else),
        compared as JSON as the store compares files."""
        validate_record(record)
        return history.changes(previous, json.loads(serialize(record)))

    async def _keep_evidence(self, case_number: str, saved: Saved, evidence: dict[str, Any]) -> bool:
        """Write the evidence beside the case file; False when it was lost (see the docstring)."""
        # force_overwrite replaced the case file: its evidence must be this capture's too.
        replace = self.store.force_overwrite and saved.outcome != "existing"
        try:
            kept = await self._retrying("raw", f"the evidence of {case_number}",
                                        self.evidence.write, saved.path, evidence, replace)
        except (OSError, EvidenceError) as exc:
            logger.error("the evidence of %s was not kept: %s; its case file %s is saved, but "
                         "cannot be rebuilt by reparse", case_number, exc, saved.rel_path)
            self._inc("raw/failed")
            await self._lost(case_number, "evidence")
            return False
        if kept.outcome == "existing" and saved.outcome == "created":
            # Never overwritten, but a new case file beside old evidence: an operator must know.
            logger.warning("%s was already there and is kept; it may not be the evidence of the "
                           "new case file %s", kept.rel_path, saved.rel_path)
            self._inc("raw/conflict")
        self._inc("raw/existing" if kept.outcome == "existing" else "raw/saved")
        return True

    async def _lost(self, case_number: str, what: str) -> None:
        """A write lost after its retries: a failed write, named in the run manifest."""
        self._inc("writes/lost")
        self._write_failed()
        await self.crawler.signals.send_catch_log_async(
            signal=our_signals.write_lost, case_number=case_number, what=what)

    def _write_failed(self) -> None:
        """Count a failed write; a full or broken disk does not heal, so stop the crawl."""
        self.consecutive_failures += 1
        if self.consecutive_failures < self.max_failures or self.closing is not None:
            return
        logger.error("%d consecutive writes failed; closing the spider (write_failures)",
                     self.consecutive_failures)
        self.closing = "write_failures"
        stop_crawl(self.crawler, "write_failures")

    async def _finish(self, case_number: str, status: str, *, file_path: Optional[str] = None,
                      error: Optional[str] = None, diagnostics: Optional[str] = None,
                      changes: Optional[dict[str, Any]] = None,
                      answered_at: Optional[str] = None) -> bool:
        """Count the final outcome and append its one ledger line; False when it was lost."""
        self._inc(f"cases/{status}")
        lost = False
        if not self.dry_run:
            now = _utc_now()
            year = case_year(case_number, now)
            if status in FILED and year in self.latest_files:
                # Also when its line is lost below: the file is there, and it is the latest.
                self.latest_files[year][case_number] = file_path
            try:
                await self.run_in_thread(
                    self.ledger.record, case_number, status, run_id=self.run_id,
                    year=year, file_path=file_path, error=error,
                    diagnostics=diagnostics, at=now.isoformat(), changes=changes,
                    answered_at=answered_at)
            except OSError as exc:
                logger.error("ledger line for %s (%s) could not be written: %s", case_number, status, exc)
                self._inc("ledger/errors")
                lost = True
                await self._lost(case_number, "ledger line")
        # The run manifest (manifest.RunManifest) counts and lists outcomes from this.
        await self.crawler.signals.send_catch_log_async(
            signal=our_signals.case_recorded, case_number=case_number, status=status,
            error=error, ledger_line_lost=lost)
        return not lost

    # --- end of run
    async def close_spider(self) -> None:
        await self.run_in_thread(self.ledger.close)
        runlock.release(self.output_dir)  # the next crawl of these years may start
