"""CaseFilesPipeline through a real Scrapy crawler object, and one real crawl in a subprocess."""

import asyncio
import errno
import gzip
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from casescraper.record import evidence as evidence_file
from casescraper.config import default_settings
from casescraper.errors import OutputError
from casescraper.items import STATUSES, CaseItem
from casescraper.manifest import RunManifest
from casescraper.pipelines import CaseFilesPipeline
from casescraper.signals import case_outcome, run_started, year_searched

SCRAPED_AT = "2025-03-01T10:20:30+00:00"
ROOT = Path(__file__).resolve().parents[1]


def case(number="IMM-12-25", summary="Notice of application", **changes):
    fields = dict(
        schema_version=3, case_number=number, court="t", style_of_cause="A v. B",
        nature_of_proceeding=None, case_type=None, type_of_action=None, filing_date="2025-01-15",
        office="Toronto", language="English", other_fields={},
        parties=[{"name": "A", "solicitor_firm": None, "solicitor_contact": None, "role": None}],
        related=None,
        docket_entries=[{"id": 1, "date_filed": None, "office": None, "summary": summary,
                         "document": None, "docno": None, "document_date": None}],
        source_url=None, scraped_at=SCRAPED_AT, file_path=None, evidence=None)
    fields.update(changes)
    return CaseItem(**fields)


def evidence_of(number="IMM-12-25", html="<html>captured page</html>", captured_at=SCRAPED_AT):
    """Evidence as the spider hands it over (see casescraper.record.evidence.build)."""
    return evidence_file.build(
        case_number=number, captured_at=captured_at, source_url="http://127.0.0.1:1/court-files",
        court="t", html=html, timezone="America/Toronto",
        answers=[{"endpoint": "PublicPartiesListInfo", "status": 200,
                  "url": f"http://127.0.0.1:1/CourtFilesAndDecisions/PublicPartiesListInfo?courtnumber={number}",
                  "body": '{"Count":1,"data":[{"PARTY_NAME":"A","SOLCTR_FIRM":null,"SOLCTR_CONTACT":null}]}'}])


def outcome(number, status, error=None, diagnostics=None):
    """What the spider sends by the case_outcome signal for a number without a record."""
    return {"case_number": number, "status": status, "error": error, "diagnostics": diagnostics}


def with_evidence(number="IMM-12-25", summary="Notice of application", **changes):
    return case(number, summary, evidence=evidence_of(number, html=f"<p>{summary}</p>"), **changes)


def read_raw(path):
    return json.loads(gzip.decompress(Path(path).read_bytes()))


class RunSpider(Spider):
    name = "cases"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_args = {"year": "2025", "start": "12"}


class FakeEngine:
    def __init__(self):
        self.reasons = []

    def close_spider_async(self, *, reason):
        self.reasons.append(reason)
        return asyncio.sleep(0)


class Harness:
    """A pipeline built by Scrapy's own from_crawler, with instant sleeps and asyncio threads."""

    def __init__(self, output_dir, **settings):
        self.crawler = get_crawler(RunSpider, {
            **default_settings(), "CASESCRAPER_OUTPUT_DIR": str(output_dir),
            "CASESCRAPER_RUN_ID": "20250301T102030Z-abc",
            "ITEM_PIPELINES": {"casescraper.pipelines.CaseFilesPipeline": 300}, **settings})
        self.crawler.spider = RunSpider.from_crawler(self.crawler)
        self.crawler.engine = FakeEngine()
        self.pipe = CaseFilesPipeline.from_crawler(self.crawler)
        # The run manifest and summary come from this extension, as in a crawl.
        self.manifest = RunManifest.from_crawler(self.crawler)
        self.manifest.run_in_thread = asyncio.to_thread
        self.delays = []
        self.pipe.sleep = self._sleep
        self.pipe.run_in_thread = asyncio.to_thread

    async def _sleep(self, seconds):
        self.delays.append(seconds)

    async def _one(self, item):
        """An item through the pipeline (DropItem: "dropped"), or an outcome by its signal."""
        if isinstance(item, dict):
            return await self.crawler.signals.send_catch_log_async(
                signal=case_outcome, spider=self.crawler.spider, **item)
        try:
            return await self.pipe.process_item(item)
        except DropItem:
            return "dropped"

    def run(self, items, reason="finished"):
        async def go():
            await self.pipe.open_spider()
            spider = self.crawler.spider
            await self.crawler.signals.send_catch_log_async(signal=signals.spider_opened, spider=spider)
            # What the cases spider publishes before its first request.
            await self.crawler.signals.send_catch_log_async(
                signal=run_started, arguments=spider.run_args, years=[2025], requested_first=None,
                requested_last=None, site=self.pipe.ledger.site)
            results = [await self._one(item) for item in items]
            await self.pipe.close_spider()
            await self.crawler.signals.send_catch_log_async(
                signal=signals.spider_closed, spider=self.crawler.spider, reason=reason)
            return results
        return asyncio.run(go())

    def stat(self, key):
        return self.crawler.stats.get_value(f"casescraper/{key}")


def ledger_lines(out, year=2025):
    path = Path(out) / "ledger" / f"{year}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_full_run_files_ledger_stats_manifest(tmp_path, caplog):
    out = tmp_path / "out"
    h = Harness(out)
    items = [
        case("IMM-12-25"),
        outcome("IMM-13-25", "no_results"),
        outcome("IMM-14-25", "driver_error", "session died", "diagnostics/IMM-14-25.png"),
        case("IMM-15-25", court="x"),
        outcome("IMM-9-25", "blocked", "HTTP 403"),
    ]
    with caplog.at_level(logging.INFO):
        results = h.run(items)
    assert results[0] is items[0] and items[0].file_path == "json/2025/IMM-12-25-20250301.json"
    assert results[3] == "dropped"  # not saved: not a case of the run's feed
    saved = json.loads((out / items[0].file_path).read_text())
    assert saved["file_path"] == items[0].file_path and saved["case_number"] == "IMM-12-25"
    assert items[3].file_path is None and len(list(out.rglob("*-20250301*.json"))) == 1
    for status, count in [("saved", 1), ("no_results", 1), ("driver_error", 1),
                          ("parse_error", 1), ("blocked", 1)]:
        assert h.stat(f"cases/{status}") == count
    lines = ledger_lines(out)
    assert [(r["case_number"], r["status"]) for r in lines] == [
        ("IMM-12-25", "saved"), ("IMM-13-25", "no_results"), ("IMM-14-25", "driver_error"),
        ("IMM-15-25", "parse_error"), ("IMM-9-25", "blocked")]
    assert lines[0]["file_path"] == items[0].file_path and lines[0]["run_id"] == "20250301T102030Z-abc"
    assert lines[2]["diagnostics"] == "diagnostics/IMM-14-25.png" and "diagnostics" not in lines[1]
    assert lines[3]["error"].startswith("$.court: 'x' is not one of")
    manifest = json.loads((out / "runs" / "20250301T102030Z-abc.json").read_text())
    assert manifest["run_id"] == "20250301T102030Z-abc"
    assert manifest["arguments"] == {"year": "2025", "start": "12"}
    assert manifest["close_reason"] == "finished"
    assert manifest["started_at"] <= manifest["finished_at"] and manifest["started_at"].endswith("+00:00")
    assert (manifest["first_saved"], manifest["last_saved"]) == ("IMM-12-25", "IMM-12-25")
    assert manifest["total"] == 5 and manifest["counts"]["saved"] == 1
    assert set(manifest["counts"]) == set(STATUSES)
    assert manifest["no_results"] == ["IMM-13-25"]
    # Sorted by number, as a person reads them.
    assert [(f["case_number"], f["status"]) for f in manifest["failed"]] == [
        ("IMM-9-25", "blocked"), ("IMM-14-25", "driver_error"), ("IMM-15-25", "parse_error")]
    assert manifest["requested_first"] is None
    assert manifest["ledger_lines_lost"] == {"count": 0, "case_numbers": []}
    assert "run 20250301T102030Z-abc: saved 1 (IMM-12-25 to IMM-12-25), no results 1, failed 3" in caplog.text


def test_rerun_of_an_equal_case_is_unchanged(tmp_path):
    Harness(tmp_path).run([case()])
    h = Harness(tmp_path)
    item = case(scraped_at="2025-03-01T18:00:00+00:00")
    h.run([item])
    assert item.file_path == "json/2025/IMM-12-25-20250301.json"
    assert h.stat("cases/unchanged") == 1 and h.stat("cases/saved") is None
    assert h.stat("files/existing") is None  # nothing was written, not even looked for
    assert len(list((tmp_path / "json").rglob("*.json"))) == 1
    assert [(r["status"], r["file_path"]) for r in ledger_lines(tmp_path)] == [
        ("saved", item.file_path), ("unchanged", item.file_path)]


def forget_ledger(out):
    """As if the ledger lines were lost (a kill -9 between a case file and its line)."""
    (Path(out) / "ledger" / "2025.jsonl").unlink()


def test_a_file_the_ledger_does_not_name_is_found_as_before(tmp_path):
    Harness(tmp_path).run([case()])
    forget_ledger(tmp_path)
    h = Harness(tmp_path)
    item = case(scraped_at="2025-03-01T18:00:00+00:00")
    h.run([item])
    assert item.file_path == "json/2025/IMM-12-25-20250301.json"
    assert h.stat("files/existing") == 1 and h.stat("cases/saved") == 1
    assert [r["status"] for r in ledger_lines(tmp_path)] == ["saved"]


def failing_writes(h, failures, code=errno.ENOSPC):
    """Make the store's write fail `failures` times, then work; returns the attempt log."""
    attempts = []
    real = h.pipe.store.write

    def write(record):
        attempts.append(record["case_number"])
        if len(attempts) <= failures:
            raise OSError(code, "No space left on device", "json/2025/x.json")
        return real(record)
    h.pipe.store.write = write
    return attempts


def test_retries_back_off_without_sleeping_then_fail(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_WRITE_RETRIES=4, CASESCRAPER_WRITE_BACKOFF_SECONDS=1.0)
    attempts = failing_writes(h, failures=10)
    item = case()
    h.run([item])
    assert len(attempts) == 4 and h.delays == [1.0, 2.0, 4.0]
    assert item.file_path is None and h.stat("cases/failed_write") == 1
    assert h.stat("writes/retries") == 3 and h.stat("writes/errors") == 4
    (line,) = ledger_lines(tmp_path)
    assert line["status"] == "failed_write" and "No space left" in line["error"]
    assert h.crawler.engine.reasons == []


def test_retry_succeeds(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_WRITE_BACKOFF_SECONDS=0.5)
    attempts = failing_writes(h, failures=2)
    item = case()
    h.run([item])
    assert len(attempts) == 3 and h.delays == [0.5, 1.0]
    assert item.file_path and [r["status"] for r in ledger_lines(tmp_path)] == ["saved"]


def test_consecutive_failures_close_the_spider(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_WRITE_RETRIES=1)
    failing_writes(h, failures=10**6)
    h.run([case(f"T-{n}-25") for n in range(1, 5)])
    assert h.crawler.engine.reasons == []
    h.run([case("T-5-25"), case("T-6-25")], reason="write_failures")
    assert h.crawler.engine.reasons == ["write_failures"]  # once, not again for T-6
    manifest = json.loads((tmp_path / "runs" / "20250301T102030Z-abc.json").read_text())
    assert manifest["close_reason"] == "write_failures"


def test_success_resets_the_failure_count(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_WRITE_RETRIES=1, CASESCRAPER_MAX_CONSECUTIVE_WRITE_FAILURES=3)
    failing_writes(h, failures=2)
    h.run([case("T-1-25"), case("T-2-25"), case("T-3-25")])  # fail, fail, saved
    assert h.pipe.consecutive_failures == 0
    failing_writes(h, failures=10**6)
    h.run([case("T-4-25"), case("T-5-25")])
    assert h.crawler.engine.reasons == []  # 2 + 2 failures, but not 3 in a row
    h.run([case("T-6-25")])
    assert h.crawler.engine.reasons == ["write_failures"]


def test_probe_failure_stops_startup(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError) as info:
        Harness(tmp_path / "a-file" / "out")
    assert "\n" not in str(info.value) and "a-file" in str(info.value)


def test_dry_run_writes_nothing_anywhere(tmp_path, caplog):
    out = tmp_path / "out"
    h = Harness(out, CASESCRAPER_DRY_RUN=True)
    with caplog.at_level(logging.INFO):
        h.run([case(), outcome("IMM-13-25", "no_results"), case("IMM-15-25", court="x")])
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert h.stat("cases/dry_run") == 1 and h.stat("cases/no_results") == 1
    assert h.stat("cases/parse_error") == 1
    assert f"would write {out}/json/2025/IMM-12-25-20250301.json" in caplog.text


def test_unknown_outcome_status_becomes_parse_error(tmp_path):
    h = Harness(tmp_path)
    h.run([outcome("T-1-25", "saved")])
    (line,) = ledger_lines(tmp_path)
    assert line["status"] == "parse_error" and "unknown status 'saved'" in line["error"]


# --- evidence -------------------------------------------------------------------------


def raw_files(out):
    return sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*.json.gz"))


def test_evidence_beside_each_case_file_with_the_same_stem(tmp_path):
    h = Harness(tmp_path)
    items = [with_evidence(), with_evidence(summary="changed"), with_evidence("IMM-13-25")]
    h.run(items)
    assert [i.file_path for i in items] == [
        "json/2025/IMM-12-25-20250301.json", "json/2025/IMM-12-25-20250301-1.json",
        "json/2025/IMM-13-25-20250301.json"]
    assert raw_files(tmp_path) == [
        "raw/2025/IMM-12-25-20250301-1.json.gz", "raw/2025/IMM-12-25-20250301.json.gz",
        "raw/2025/IMM-13-25-20250301.json.gz"]
    for item in items:
        raw = tmp_path / evidence_file.rel_path(item.file_path)
        assert read_raw(raw) == {"evidence_version": 1, **item.evidence}
        assert evidence_file.read(str(raw)) == {"evidence_version": 1, **item.evidence}
        data = json.loads((tmp_path / item.file_path).read_text())
        assert "evidence" not in data and data["file_path"] == item.file_path
    assert h.stat("raw/saved") == 3 and h.stat("raw/failed") is None
    assert [p.name for p in tmp_path.rglob(".*.tmp")] == []


def test_keep_raw_off_keeps_no_evidence(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_KEEP_RAW=False)
    item = with_evidence()
    h.run([item])
    assert (tmp_path / item.file_path).is_file()
    assert not (tmp_path / "raw").exists() and h.stat("raw/saved") is None


def test_item_without_evidence_writes_none(tmp_path):
    h = Harness(tmp_path)
    h.run([case()])
    assert not (tmp_path / "raw").exists()


def test_a_file_already_at_the_evidence_name_is_never_overwritten(tmp_path, caplog):
    raw = tmp_path / "raw" / "2025" / "IMM-12-25-20250301.json.gz"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"someone else's file")
    h = Harness(tmp_path)
    item = with_evidence()
    h.run([item])
    assert item.file_path == "json/2025/IMM-12-25-20250301.json"
    assert raw.read_bytes() == b"someone else's file"
    assert h.stat("raw/conflict") == 1 and h.stat("raw/existing") == 1
    assert "raw/2025/IMM-12-25-20250301.json.gz was already there and is kept" in caplog.text


def test_existing_case_file_keeps_its_evidence_or_gets_it(tmp_path):
    first = with_evidence()
    Harness(tmp_path).run([first])
    raw = tmp_path / evidence_file.rel_path(first.file_path)
    before = raw.read_bytes()
    later = "2025-03-01T18:00:00+00:00"
    forget_ledger(tmp_path)  # else the case is unchanged: no file written, no evidence
    h = Harness(tmp_path)
    h.run([case(scraped_at=later, evidence=evidence_of(captured_at=later, html="<p>Notice of application</p>"))])
    assert raw.read_bytes() == before  # the first capture's evidence stays with its file
    assert h.stat("files/existing") == 1 and h.stat("raw/existing") == 1 and h.stat("raw/conflict") is None
    raw.unlink()  # e.g. crawled with KEEP_RAW off, or killed between the two files
    forget_ledger(tmp_path)
    h = Harness(tmp_path)
    h.run([case(scraped_at=later, evidence=evidence_of(captured_at=later))])
    assert read_raw(raw)["captured_at"] == later and h.stat("raw/saved") == 1


def test_evidence_write_failure_keeps_the_case_saved(tmp_path, caplog):
    h = Harness(tmp_path, CASESCRAPER_WRITE_RETRIES=3, CASESCRAPER_WRITE_BACKOFF_SECONDS=0.5)
    attempts = []

    def write(*args):
        attempts.append(args[0])
        raise OSError(errno.ENOSPC, "No space left on device")
    h.pipe.evidence.write = write
    item = with_evidence()
    h.run([item])
    assert len(attempts) == 3 and h.delays == [0.5, 1.0]
    assert (tmp_path / item.file_path).is_file()
    assert [(r["status"], r["file_path"]) for r in ledger_lines(tmp_path)] == [("saved", item.file_path)]
    assert h.stat("raw/failed") == 1 and h.stat("raw/errors") == 3 and h.stat("raw/retries") == 2
    # The case file is saved, but its evidence is lost: a failed write (issue 23 point 5).
    assert h.stat("writes/errors") is None and h.pipe.consecutive_failures == 1
    assert h.stat("writes/lost") == 1
    assert "the evidence of IMM-12-25 was not kept" in caplog.text


def test_evidence_retry_succeeds(tmp_path):
    h = Harness(tmp_path, CASESCRAPER_WRITE_BACKOFF_SECONDS=0.5)
    real = h.pipe.evidence.write
    attempts = []

    def write(*args):
        attempts.append(args[0])
        if len(attempts) == 1:
            raise OSError(errno.EIO, "Input/output error")
        return real(*args)
    h.pipe.evidence.write = write
    item = with_evidence()
    h.run([item])
    assert len(attempts) == 2 and h.delays == [0.5]
    assert (tmp_path / evidence_file.rel_path(item.file_path)).is_file() and h.stat("raw/saved") == 1


def test_force_overwrite_replaces_the_evidence_with_its_case_file(tmp_path):
    Harness(tmp_path).run([with_evidence()])
    item = with_evidence(summary="new")
    h = Harness(tmp_path, CASESCRAPER_FORCE_OVERWRITE=True)
    h.run([item])
    assert item.file_path == "json/2025/IMM-12-25-20250301.json"
    assert h.stat("cases/saved") == 1 and h.stat("cases/changed") is None  # as before: no history
    assert read_raw(tmp_path / "raw/2025/IMM-12-25-20250301.json.gz")["html"] == "<p>new</p>"
    assert raw_files(tmp_path) == ["raw/2025/IMM-12-25-20250301.json.gz"]


def test_feeds_hold_the_record_fields_in_schema_order_never_the_evidence():
    from dataclasses import fields

    from casescraper import settings
    from casescraper.exporters import CASE_FEED_SETTINGS
    from casescraper.items import case_schema
    from casescraper.spiders.cases import CasesSpider
    record = list(case_schema()["properties"])
    assert [f.name for f in fields(CaseItem)] == record + ["evidence", "incomplete"]
    # case records only (no outcome fields), and only in the cases spider's feeds
    assert CasesSpider.custom_settings["FEED_EXPORT_FIELDS"] == record
    assert not hasattr(settings, "FEED_EXPORT_FIELDS") and not hasattr(settings, "FEED_EXPORTERS")
    assert CASE_FEED_SETTINGS is CasesSpider.custom_settings


def test_dry_run_keeps_no_evidence(tmp_path):
    h = Harness(tmp_path / "out", CASESCRAPER_DRY_RUN=True)
    h.run([with_evidence()])
    assert list(tmp_path.iterdir()) == []


CRAWL = textwrap.dedent("""
    import errno
    import sys
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess
    from casescraper.record import evidence
    from casescraper.config import default_settings
    from casescraper.exporters import CASE_FEED_SETTINGS
    from casescraper.items import CaseItem
    from casescraper.signals import case_outcome, run_started
    from casescraper.store.storage import CaseStore

    if sys.argv[3] == "broken":  # the output dir passes its checks, but no case file can be written
        def write(self, record):
            raise OSError(errno.ENOSPC, "No space left on device")
        CaseStore.write = write

    class Cases(Spider):
        name = "cases"

        async def start(self):
            # What the run manifest records of a spider is what it publishes.
            await self.crawler.signals.send_catch_log_async(
                signal=run_started, arguments={"mode": "test"}, years=[], requested_first=1,
                requested_last=None)
            # Items come from callbacks, as with the real spider; data: URLs need no network.
            for n in range(1, 10):
                yield Request(f"data:,{n}", callback=self.parse_case, cb_kwargs={"n": n})

        async def parse_case(self, response, n):
            if n == 9:
                await self.crawler.signals.send_catch_log_async(
                    signal=case_outcome, case_number="T-9-25", status="no_results")
                return
            at = "2025-03-01T10:20:30+00:00"
            yield CaseItem(schema_version=3, case_number=f"T-{n}-25", court="t",
                style_of_cause=None, nature_of_proceeding=None, case_type=None,
                type_of_action=None, filing_date=None, office=None, language=None,
                other_fields={}, parties=None, related=None, docket_entries=[],
                source_url=response.url, scraped_at=at,
                evidence=evidence.build(case_number=f"T-{n}-25", captured_at=at,
                    source_url=response.url, court="t", answers=[], html=f"<p>{n}</p>"))

    process = CrawlerProcess({
        **default_settings(),
        "ITEM_PIPELINES": {"casescraper.pipelines.CaseFilesPipeline": 300},
        "EXTENSIONS": {"casescraper.manifest.RunManifest": 0},
        "ADDONS": {"casescraper.config.ConfigAddon": 0},
        "CASESCRAPER_OUTPUT_DIR": sys.argv[1],
        "CASESCRAPER_RUN_ID": "e2e",
        "CASESCRAPER_WRITE_BACKOFF_SECONDS": 0,
        "CASESCRAPER_MAX_CONSECUTIVE_WRITE_FAILURES": 3,
        "FEEDS": {sys.argv[2]: {"format": "jsonlines"}},
        **CASE_FEED_SETTINGS,
        "LOG_LEVEL": "INFO",
    })
    process.crawl(Cases)
    process.start()
""")


@pytest.mark.parametrize("blocked", [False, True], ids=["ok", "disk-broken"])
def test_real_crawl(tmp_path, blocked):
    """The real reactor path: deferToThread, the spider_closed signal, close_spider_async."""
    out = tmp_path / "out"
    script = tmp_path / "crawl.py"
    script.write_text(CRAWL)
    feed = tmp_path / "cases.jsonl"
    proc = subprocess.run([sys.executable, str(script), str(out), str(feed), "broken" if blocked else "ok"],
                          cwd=tmp_path, timeout=60,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "runs" / "e2e.json").read_text())
    assert manifest["arguments"] == {"mode": "test"} and manifest["requested_first"] == 1
    if blocked:
        assert manifest["close_reason"] == "write_failures"
        assert manifest["counts"]["failed_write"] >= 3 and manifest["counts"]["saved"] == 0
        assert "closing the spider (write_failures)" in proc.stderr
        assert feed.read_text() == ""  # nothing was saved: no case in the feed
    else:
        assert manifest["close_reason"] == "finished"
        assert manifest["counts"]["saved"] == 8 and manifest["no_results"] == ["T-9-25"]
        assert len(list((out / "json" / "2025").glob("T-*-25-20250301.json"))) == 8
        assert len(list((out / "raw" / "2025").glob("T-*-25-20250301.json.gz"))) == 8
        assert len(ledger_lines(out)) == 9
        # The feed holds the records as the case files do, in schema order, no evidence,
        # and nothing else: the no-data number is only a ledger line.
        records = [json.loads(line) for line in feed.read_text().splitlines()]
        assert len(records) == 8 and all("evidence" not in r and "status" not in r for r in records)
        assert list(records[0])[:3] == ["schema_version", "case_number", "court"]
        assert list(records[0])[-3:] == ["source_url", "scraped_at", "file_path"]
        saved = json.loads((out / records[0]["file_path"]).read_text())
        assert list(saved) == list(records[0]) and saved == records[0]
        assert "saved 8 (T-1-25 to T-8-25), no results 1, failed 0" in proc.stderr


# --- what the run's summary and manifest count ------------------------------------------


def manifest_of(out):
    return json.loads((Path(out) / "runs" / "20250301T102030Z-abc.json").read_text())


def test_ledger_lines_that_could_not_be_written_are_in_the_manifest(tmp_path, caplog):
    h = Harness(tmp_path)
    real = h.pipe.ledger.record

    def record(case_number, status, **kwargs):
        if case_number in ("IMM-13-25", "IMM-9-25"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(case_number, status, **kwargs)
    h.pipe.ledger.record = record
    with caplog.at_level(logging.INFO):
        h.run([case("IMM-12-25"), outcome("IMM-13-25", "no_results"), outcome("IMM-9-25", "driver_error")])
    lost = manifest_of(tmp_path)["ledger_lines_lost"]
    assert lost == {"count": 2, "case_numbers": ["IMM-9-25", "IMM-13-25"]}
    assert [r["case_number"] for r in ledger_lines(tmp_path)] == ["IMM-12-25"]
    assert "2 ledger line(s) could not be written (IMM-9-25, IMM-13-25)" in caplog.text


def test_probes_above_the_end_and_canaries_are_counted_apart(tmp_path, caplog):
    h = Harness(tmp_path)
    searched = outcome("IMM-16-25", "no_results")  # the spider's end search is over
    h.crawler.signals.connect(
        lambda **_: h.crawler.signals.send_catch_log(
            signal=year_searched, year=2025, last_file="IMM-15-25",
            probes_above_end=["IMM-31-25", "IMM-16-25"]),
        signal=run_started, weak=False)
    h.crawler.stats.set_value("casescraper/canaries/passed", 2)
    items = [searched, case("IMM-15-25"), outcome("IMM-31-25", "no_results"),
             outcome("IMM-14-25", "no_results"), case("IMM-9-25"), case("IMM-12-25")]
    with caplog.at_level(logging.INFO):
        h.run(items)
    m = manifest_of(tmp_path)
    assert (m["first_saved"], m["last_saved"], m["year_last_file"]) == ("IMM-9-25", "IMM-15-25", "IMM-15-25")
    assert m["no_results"] == ["IMM-14-25"] and m["counts"]["no_results"] == 1 and m["total"] == 4
    assert m["probes_above_end"] == ["IMM-16-25", "IMM-31-25"]
    assert m["canaries"] == {"passed": 2, "failed": 0, "errors": 0}
    assert ("saved 3 (IMM-9-25 to IMM-15-25), no results 1, failed 0, the year's last file IMM-15-25 "
            "(2 probes above it), canaries 2 (2 passed)") in caplog.text
    # Every probe still has its ledger line: the next run asks above the end again.
    assert len(ledger_lines(tmp_path)) == 6


def test_nothing_to_do_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        Harness(tmp_path).run([])
    assert "run 20250301T102030Z-abc: nothing to do: every number asked for is already done" in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name in ("casescraper.pipelines", "casescraper.manifest")]
    assert not any("None" in line for line in ours), ours
    m = manifest_of(tmp_path)
    assert m["first_saved"] is None and m["total"] == 0


def test_a_same_day_identical_case_is_a_case_of_this_run(tmp_path):
    Harness(tmp_path).run([case()])
    h = Harness(tmp_path)
    results = h.run([case(scraped_at="2025-03-01T18:00:00+00:00")])
    # Already on disk, so not written again, but returned: this run's feed holds it.
    assert results[0] != "dropped" and results[0].file_path == "json/2025/IMM-12-25-20250301.json"
    assert h.stat("cases/unchanged") == 1


# --- change history: saved, changed, unchanged against the case's latest file ------------

DAY2 = "2025-03-02T09:00:00+00:00"
DAY3 = "2025-03-03T09:00:00+00:00"
NEW_ENTRY = {"id": 2, "date_filed": "2025-03-02", "office": "Ottawa", "summary": "Order",
             "document": None, "docno": None, "document_date": None}


def grown(scraped_at, **changes):
    """The case of case() with a second docket entry, newest first as on the page."""
    item = with_evidence(scraped_at=scraped_at, **changes)
    item.docket_entries = [NEW_ENTRY, *item.docket_entries]
    return item


def test_an_equal_case_on_a_later_day_is_unchanged_and_writes_nothing(tmp_path):
    first = with_evidence()
    Harness(tmp_path).run([first])
    h = Harness(tmp_path)
    item = with_evidence(scraped_at=DAY2)
    results = h.run([item])
    assert results[0] is item and item.file_path == first.file_path  # its latest file
    assert sorted(p.name for p in (tmp_path / "json").rglob("*.json")) == ["IMM-12-25-20250301.json"]
    assert raw_files(tmp_path) == ["raw/2025/IMM-12-25-20250301.json.gz"]  # no evidence either
    line = ledger_lines(tmp_path)[-1]
    assert (line["status"], line["file_path"]) == ("unchanged", first.file_path) and "changes" not in line
    assert h.stat("cases/unchanged") == 1 and h.stat("raw/saved") is None


def test_a_changed_case_gets_a_new_file_and_says_what_changed(tmp_path):
    Harness(tmp_path).run([with_evidence()])
    h = Harness(tmp_path)
    item = grown(DAY2, office="Ottawa")
    h.run([item])
    assert item.file_path == "json/2025/IMM-12-25-20250302.json"
    assert json.loads((tmp_path / item.file_path).read_text())["docket_entries"][0]["id"] == 2
    assert "raw/2025/IMM-12-25-20250302.json.gz" in raw_files(tmp_path)
    line = ledger_lines(tmp_path)[-1]
    assert (line["status"], line["file_path"]) == ("changed", item.file_path)
    assert line["changes"] == {"previous_file": "json/2025/IMM-12-25-20250301.json",
                               "entries_added": ["2"], "entries_removed": [],
                               "entries_changed": [], "fields": ["office"]}
    assert h.stat("cases/changed") == 1 and manifest_of(tmp_path)["counts"]["changed"] == 1


def test_the_latest_file_of_any_day_is_compared_also_within_one_run(tmp_path, caplog):
    Harness(tmp_path).run([with_evidence()])
    h = Harness(tmp_path)
    items = [grown(DAY2), grown(DAY2), with_evidence(scraped_at=DAY2),
             with_evidence("IMM-13-25", scraped_at=DAY2)]
    with caplog.at_level(logging.INFO):
        h.run(items)
    lines = ledger_lines(tmp_path)[1:]
    assert [(r["status"], r["file_path"]) for r in lines] == [
        ("changed", "json/2025/IMM-12-25-20250302.json"),
        ("unchanged", "json/2025/IMM-12-25-20250302.json"),  # the file just written
        # Back to the first content: changed again (against the file just written), in a
        # new file of the day with the next suffix: never an overwrite.
        ("changed", "json/2025/IMM-12-25-20250302-1.json"),
        ("saved", "json/2025/IMM-13-25-20250302.json")]
    assert lines[2]["changes"]["entries_removed"] == ["2"]
    assert lines[2]["changes"]["previous_file"] == "json/2025/IMM-12-25-20250302.json"
    assert h.stat("files/created") == 3
    m = manifest_of(tmp_path)
    assert (m["counts"]["saved"], m["counts"]["changed"], m["counts"]["unchanged"]) == (1, 2, 1)
    assert (m["first_saved"], m["last_saved"]) == ("IMM-12-25", "IMM-13-25")
    assert "saved 1, changed 2, unchanged 1 (IMM-12-25 to IMM-13-25), no results 0, failed 0" in caplog.text


def test_a_missing_latest_file_is_warned_once_and_the_case_saved_anew(tmp_path, caplog):
    first = case()
    Harness(tmp_path).run([first])
    (tmp_path / first.file_path).unlink()
    h = Harness(tmp_path)
    with caplog.at_level(logging.WARNING):
        h.run([case(scraped_at=DAY2), case(scraped_at=DAY3)])
    assert [(r["status"], r["file_path"]) for r in ledger_lines(tmp_path)[1:]] == [
        ("saved", "json/2025/IMM-12-25-20250302.json"), ("unchanged", "json/2025/IMM-12-25-20250302.json")]
    assert caplog.text.count("its latest file json/2025/IMM-12-25-20250301.json") == 1


def test_an_unreadable_latest_file_is_no_previous_file(tmp_path):
    first = case()
    Harness(tmp_path).run([first])
    (tmp_path / first.file_path).write_text("{not json")
    h = Harness(tmp_path)
    h.run([case(scraped_at=DAY2)])
    assert ledger_lines(tmp_path)[-1]["status"] == "saved"


def test_a_v1_latest_file_against_a_v2_record_is_changed(tmp_path):
    v1 = {k: v for k, v in json.loads(json.dumps(case().__dict__)).items()
          if k not in ("schema_version", "evidence", "incomplete")}
    v1["parties"] = [{"name": "A", "role": "Applicant", "representation": None}]
    path = tmp_path / "json" / "2025" / "IMM-12-25-20240101.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(v1))
    Harness(tmp_path).pipe.ledger.record("IMM-12-25", "saved", run_id="old", year=2025,
                                         file_path="json/2025/IMM-12-25-20240101.json")
    h = Harness(tmp_path)
    h.run([case(scraped_at=DAY2)])
    line = ledger_lines(tmp_path)[-1]
    assert line["status"] == "changed" and line["changes"]["fields"] == ["parties", "schema_version"]


def test_an_invalid_record_is_a_parse_error_also_against_a_latest_file(tmp_path):
    Harness(tmp_path).run([case()])
    h = Harness(tmp_path)
    assert h.run([case(scraped_at=DAY2, court="x")]) == ["dropped"]
    assert ledger_lines(tmp_path)[-1]["status"] == "parse_error"


def test_dry_run_says_unchanged_or_changed_and_writes_nothing(tmp_path, caplog):
    Harness(tmp_path).run([case()])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    h = Harness(tmp_path, CASESCRAPER_DRY_RUN=True)
    with caplog.at_level(logging.INFO):
        h.run([case(scraped_at=DAY2), case(summary="Order", scraped_at=DAY2)])
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert f"would keep unchanged {tmp_path}/json/2025/IMM-12-25-20250301.json" in caplog.text
    assert (f"would write (changed: entries changed 1) {tmp_path}/json/2025/IMM-12-25-20250302.json"
            in caplog.text)
    assert h.stat("cases/dry_run") == 2


def test_an_incomplete_record_is_kept_asked_again_and_completed_as_a_change(tmp_path):
    """Parties that could not be read: the file is written with null parties and the line
    is `incomplete` (saying why); the ledger asks the number again; a later complete
    answer is a `changed` line against that file (issue 23, point 1)."""
    from casescraper.store.ledger import Ledger

    partial = case(parties=None)
    partial.incomplete = "parties not read: PublicPartiesListInfo answer is not JSON (cut off?)"
    Harness(tmp_path).run([partial])
    [line] = ledger_lines(tmp_path)
    assert line["status"] == "incomplete" and "parties not read" in line["error"]
    assert line["file_path"] and json.loads((tmp_path / line["file_path"]).read_text())["parties"] is None
    ledger = Ledger(str(tmp_path))
    assert ledger.standing(line)[0] == "incomplete" and 12 in ledger.facts(2025, "IMM").failed
    Harness(tmp_path).run([case()])
    last = ledger_lines(tmp_path)[-1]
    assert last["status"] == "changed" and last["changes"]["fields"] == ["parties"]
    assert last["changes"]["previous_file"] == line["file_path"]
