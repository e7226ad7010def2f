"""RunManifest: the run's manifest (`<output>/runs/<run_id>.json`) and its summary line.

An extension built from what the other stages publish, never from their attributes:
- the pipeline's `case_recorded` signal, one per number recorded: status, error, and
  whether its ledger line was lost (counted for every status it sees);
- the spider's `run_started` (arguments, years, requested range, site) and
  `year_searched` (a year's last file and the probes asked above it);
- the crawler's stats (canaries).
At spider_closed (the close reason is known only there, after the pipelines closed) it
logs the summary and writes the manifest (not in a dry run). A run of several years
gets a summary line per year, then one for all, and the manifest a `years` object with
the per-year fields.

It works where CaseFilesPipeline records the numbers: without it (`scrapy parse`,
`scrapy check`) it is not enabled. Enable with
    EXTENSIONS = {"casescraper.manifest.RunManifest": 0}
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object

from casescraper.frontier import casenumbers
from casescraper import signals as our_signals
from casescraper.items import FAILED, FILED, STATUSES
from casescraper.store.fileops import write_json_atomic
from casescraper.store.layout import Layout
from casescraper.options import Options
from casescraper.pipelines import defer_to_thread
from casescraper.tools.report_model import years_label
from casescraper.tools.year_end import not_searched
from casescraper.store.storage import safe_name

logger = logging.getLogger(__name__)

PIPELINE = "casescraper.pipelines.CaseFilesPipeline"
# Marks the summary's log records: `scrapy crawl` on a terminal shows them last, apart.
SUMMARY = {"casescraper_summary": True}
# Found and kept (or, in a dry run, that would be): the span "saved N (first to last)".
KEPT = (*FILED, "dry_run")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _sorted(cases: Any) -> list[str]:
    return sorted(cases, key=casenumbers.order)


class RunManifest:
    def __init__(self, crawler: Any):
        o = Options.of(crawler)
        self.crawler = crawler
        self.output_dir = os.path.abspath(o.output_dir)
        self.run_id = o.run_id
        self.dry_run = o.dry_run
        self.run_in_thread: Callable[..., Awaitable[Any]] = defer_to_thread  # tests replace it
        self.started_at: Optional[datetime] = None
        # What the spider published (a spider that publishes nothing: no arguments).
        self.run: dict[str, Any] = {"arguments": {}, "years": [], "requested_first": None,
                                    "requested_last": None, "site": None, "queue": None}
        self.searched: dict[int, dict[str, Any]] = {}  # year -> last_file, probes_above_end
        # (case_number, status, error) per number recorded, in order.
        self.recorded: list[tuple[str, str, Optional[str]]] = []
        self.lost_lines: list[str] = []  # case numbers whose ledger line could not be written
        self.lost_evidence: list[str] = []  # case numbers whose evidence could not be written

    @classmethod
    def from_crawler(cls, crawler: Any) -> "RunManifest":
        pipelines = build_component_list(crawler.settings.getwithbase("ITEM_PIPELINES"))
        if not any(p == PIPELINE or (not isinstance(p, str) and p is load_object(PIPELINE))
                   for p in pipelines):
            raise NotConfigured(f"{PIPELINE} is not enabled: nothing is recorded")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.case_recorded, signal=our_signals.case_recorded)
        crawler.signals.connect(ext.run_started, signal=our_signals.run_started)
        crawler.signals.connect(ext.year_searched, signal=our_signals.year_searched)
        crawler.signals.connect(ext.write_lost, signal=our_signals.write_lost)
        return ext

    # --- what is published
    def spider_opened(self) -> None:
        self.started_at = _utc_now()

    def run_started(self, arguments: dict[str, Any], years: list[int], requested_first: Optional[int],
                    requested_last: Optional[int], site: Any = None, queue: Optional[dict[str, str]] = None,
                    **_: Any) -> None:
        self.run = {"arguments": dict(arguments), "years": list(years), "requested_first": requested_first,
                    "requested_last": requested_last, "site": site, "queue": queue}

    def year_searched(self, year: int, last_file: Optional[str], probes_above_end: list[str],
                      **_: Any) -> None:
        self.searched[year] = {"last_file": last_file, "probes": list(probes_above_end)}

    def case_recorded(self, case_number: str, status: str, error: Optional[str] = None,
                      ledger_line_lost: bool = False, **_: Any) -> None:
        self.recorded.append((case_number, status, error))
        if ledger_line_lost:
            self.lost_lines.append(case_number)

    def write_lost(self, case_number: str, what: str, **_: Any) -> None:
        if what == "evidence":
            self.lost_evidence.append(case_number)

    # --- the manifest
    def _part(self, recorded: list[tuple[str, str, Optional[str]]], probes: list[str],
              last_file: Optional[str]) -> dict[str, Any]:
        """The counted fields of the run, or of one of its years."""
        counts = dict.fromkeys(STATUSES, 0)
        for _, status, _ in recorded:
            counts[status] = counts.get(status, 0) + 1
        kept = _sorted(c for c, status, _ in recorded if status in KEPT)
        # Numbers asked above the year's last file by the end search: probes, not cases.
        probe_set = set(probes)
        no_results = _sorted(c for c, status, _ in recorded if status == "no_results" and c not in probe_set)
        counts["no_results"] = len(no_results)
        failed = [{"case_number": c, "status": status, "error": error}
                  for c, status, error in recorded if status in FAILED]
        return {
            "first_saved": kept[0] if kept else None,
            "last_saved": kept[-1] if kept else None,
            # Found by this run's end search (None with end/max_cases, case or cases_file).
            "year_last_file": last_file,
            "total": sum(counts.values()),
            "counts": counts,
            "no_results": no_results,
            "failed": sorted(failed, key=lambda f: casenumbers.order(f["case_number"])),
            "probes_above_end": _sorted(probe_set),
        }

    def manifest(self, reason: str, finished: Optional[datetime] = None) -> dict[str, Any]:
        finished = finished or _utc_now()
        years = self.run["years"]
        probes = [p for year in years for p in self.searched.get(year, {}).get("probes", ())]
        one_year = len(years) == 1
        last_file = self.searched.get(years[0], {}).get("last_file") if one_year else None
        stats = self.crawler.stats
        site = self.run["site"]
        m = {
            "run_id": self.run_id,
            **(site.fields() if site is not None else {}),  # site, site_host: which site answered
            "arguments": self.run["arguments"],
            # A queue worker's job and worker id (never the queue's URL: it may hold a password).
            **({"queue": dict(self.run["queue"])} if self.run["queue"] else {}),
            "requested_first": self.run["requested_first"],
            "requested_last": self.run["requested_last"],
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": finished.isoformat(),
            "close_reason": reason,
            "dry_run": self.dry_run,
            **self._part(self.recorded, probes, last_file),
            "canaries": {k: int(stats.get_value(f"casescraper/canaries/{k}", 0))
                         for k in ("passed", "failed", "errors")},
            "ledger_lines_lost": {"count": len(self.lost_lines), "case_numbers": _sorted(self.lost_lines)},
            # Case files saved whose evidence was lost: reparse cannot rebuild them.
            "evidence_lost": {"count": len(self.lost_evidence), "case_numbers": _sorted(self.lost_evidence)},
        }
        m["coverage"] = self._coverage(last_file, len(years) > 1)
        if len(years) > 1:
            by_year: dict[int, list[tuple[str, str, Optional[str]]]] = {year: [] for year in years}
            for entry in self.recorded:
                by_year.setdefault(casenumbers.year_of(entry[0]) or 0, []).append(entry)
            m["years"] = {
                str(year): self._part(by_year[year], self.searched.get(year, {}).get("probes", []),
                                      self.searched.get(year, {}).get("last_file"))
                for year in years
            }
            for part in m["years"].values():
                part["coverage"] = self._coverage(part["year_last_file"], False)
        return m

    def _coverage(self, last_file: Optional[str], several: bool) -> Optional[str]:
        """What this run knows of its year's end, in words (report and DATASET.md say the
        same from every run): found, or what the numbers asked cover when it was not."""
        if several:
            return None  # per year, under `years`
        if last_file:
            return f"end found: the year's last file {last_file}"
        arguments = self.run["arguments"]
        if arguments.get("case") or arguments.get("cases_file"):
            return "a case list: no end searched"
        if self.run["requested_last"] is not None:
            return not_searched(self.run["requested_first"] or 1, self.run["requested_last"])
        return "end not found: the run stopped before its end search ended"

    # --- the summary
    def summary(self, m: dict[str, Any], whole: bool = True) -> str:
        """The run (or one year: `whole` False) in one line, counted as a person counts:
        cases, then probes and canaries."""
        counts = m["counts"]
        probes = len(m["probes_above_end"])
        if not m["total"] and not probes and (not whole or m["close_reason"] == "finished"):
            return "nothing to do: every number asked for is already done"
        done = "dry run" if self.dry_run else "saved"
        found = [f"{done} {counts['dry_run' if self.dry_run else 'saved']}"]
        # The other found statuses (changed, unchanged, incomplete): shown when there are some.
        found += [f"{status} {counts[status]}" for status in FILED if status != "saved" and counts.get(status)]
        if m["first_saved"]:  # the span of every case found: saved, changed or unchanged
            found[-1] += f" ({m['first_saved']} to {m['last_saved']})"
        parts = [*found, f"no results {counts['no_results']}", f"failed {len(m['failed'])}"]
        if m["year_last_file"]:
            parts.append(f"the year's last file {m['year_last_file']} ({probes} probes above it)")
        elif probes:
            several = whole and len(m.get("years", ())) > 1
            parts.append(f"{probes} probes above the years' last files" if several
                         else f"{probes} probes found no file of the year")
        lost = (len(m["ledger_lines_lost"]["case_numbers"]) + len(m["evidence_lost"]["case_numbers"])
                if whole else 0)
        if lost:
            parts.append(f"lost writes {lost} (ledger lines {m['ledger_lines_lost']['count']}, "
                         f"evidence {m['evidence_lost']['count']})")
        canaries = sum(m["canaries"].values()) if whole else 0
        if canaries:
            parts.append(f"canaries {canaries} ({m['canaries']['passed']} passed)")
        return ", ".join(parts)

    def _log_summary(self, m: dict[str, Any]) -> None:
        years = m.get("years")
        total = self.summary(m)
        if years and not total.startswith("nothing to do"):
            for year, part in years.items():
                reached = part["total"] or int(year) in self.searched or m["close_reason"] == "finished"
                line = self.summary(part, whole=False) if reached else "not reached (the run stopped before)"
                logger.info("run %s, %s: %s", m["run_id"], year, line, extra=SUMMARY)
            total = f"{len(years)} years ({years_label(int(y) for y in years)}): {total}"
        queue = m.get("queue")
        who = f"{m['run_id']} (job {queue['job']}, worker {queue['worker']})" if queue else m["run_id"]
        logger.info("run %s: %s", who, total, extra=SUMMARY)

    async def spider_closed(self, reason: str) -> None:
        if self.started_at is None:
            return  # the spider never opened: nothing was attempted
        manifest = self.manifest(reason)
        self._log_summary(manifest)
        if self.lost_lines:
            logger.error("%d ledger line(s) could not be written (%s); the next run asks for "
                         "those numbers again; the run manifest lists them", len(self.lost_lines),
                         ", ".join(manifest["ledger_lines_lost"]["case_numbers"][:10]))
        if self.lost_evidence:
            logger.error("the evidence of %d saved case(s) could not be written (%s); reparse cannot "
                         "rebuild them; the run manifest lists them", len(self.lost_evidence),
                         ", ".join(manifest["evidence_lost"]["case_numbers"][:10]))
        if self.dry_run:
            return
        path = Layout(self.output_dir).manifest_path(safe_name(self.run_id, what="run id"))
        try:
            await self.run_in_thread(write_json_atomic, path, manifest)
        except OSError as exc:
            logger.error("run manifest %s could not be written: %s", path, exc)
