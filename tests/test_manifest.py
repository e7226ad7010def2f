"""RunManifest in-process: built from what the spider and the pipeline publish."""

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from casescraper.config import default_settings
from casescraper.store.ledger import Site
from casescraper.manifest import RunManifest
from casescraper.signals import case_recorded, run_started, year_searched

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = {"casescraper.pipelines.CaseFilesPipeline": 300}


def build(tmp_path, **settings):
    crawler = get_crawler(settings_dict={
        **default_settings(), "CASESCRAPER_OUTPUT_DIR": str(tmp_path), "CASESCRAPER_RUN_ID": "m1",
        "ITEM_PIPELINES": PIPELINES, **settings})
    ext = RunManifest.from_crawler(crawler)
    ext.run_in_thread = asyncio.to_thread
    return crawler, ext


def run(crawler, events, reason="finished"):
    async def go():
        send = crawler.signals.send_catch_log_async
        await send(signal=signals.spider_opened, spider=None)
        for signal, kwargs in events:
            await send(signal=signal, **kwargs)
        await send(signal=signals.spider_closed, spider=None, reason=reason)
    asyncio.run(go())


def recorded(case, status, error=None, lost=False):
    return case_recorded, {"case_number": case, "status": status, "error": error, "ledger_line_lost": lost}


def started(years, arguments=None):
    return run_started, {"arguments": arguments or {"years": "2023-2025"}, "years": years,
                         "requested_first": 1, "requested_last": None, "site": Site("demo")}


def searched(year, last, probes):
    return year_searched, {"year": year, "last_file": last, "probes_above_end": probes}


@pytest.mark.parametrize("arguments, first, last, says", [
    ({"year": "2025", "max_cases": "50"}, 1, 50, "end not searched: coverage of 1..50 only"),
    ({"year": "2025", "start": "7", "end": "30"}, 7, 30, "end not searched: coverage of 7..30 only"),
    ({"case": "IMM-3-25"}, None, None, "a case list: no end searched"),
])
def test_a_bounded_run_says_its_coverage_is_only_what_it_asked(tmp_path, arguments, first, last, says):
    crawler, _ = build(tmp_path)
    run(crawler, [(run_started, {"arguments": arguments, "years": [2025], "requested_first": first,
                                 "requested_last": last, "site": Site("demo")}),
                  recorded("IMM-3-25", "saved")])
    m = json.loads((tmp_path / "runs" / "m1.json").read_text())
    assert m["year_last_file"] is None and m["coverage"] == says


def test_not_enabled_without_the_pipeline():
    with pytest.raises(NotConfigured):
        RunManifest.from_crawler(get_crawler(settings_dict={"ITEM_PIPELINES": {}}))


def test_several_years_per_year_fields_and_lines(tmp_path, caplog):
    crawler, _ = build(tmp_path)
    crawler.stats.set_value("casescraper/canaries/passed", 1)
    events = [
        started([2023, 2024, 2025]),
        recorded("IMM-1-23", "saved"), recorded("IMM-2-23", "unchanged"), recorded("IMM-3-23", "no_results"),
        recorded("IMM-4-23", "no_results"), searched(2023, "IMM-2-23", ["IMM-4-23"]),
        recorded("IMM-1-24", "changed"), recorded("IMM-2-24", "driver_error", "the page hung", lost=True),
    ]
    with caplog.at_level(logging.INFO, logger="casescraper.manifest"):
        run(crawler, events, reason="canary_failed")
    m = json.loads((tmp_path / "runs" / "m1.json").read_text())
    assert m["site"] == "demo" and m["arguments"] == {"years": "2023-2025"} and m["year_last_file"] is None
    assert (m["first_saved"], m["last_saved"], m["total"]) == ("IMM-1-23", "IMM-1-24", 5)
    assert (m["counts"]["saved"], m["counts"]["changed"], m["counts"]["unchanged"]) == (1, 1, 1)
    assert m["no_results"] == ["IMM-3-23"] and m["probes_above_end"] == ["IMM-4-23"]
    assert m["failed"] == [{"case_number": "IMM-2-24", "status": "driver_error", "error": "the page hung"}]
    assert m["ledger_lines_lost"] == {"count": 1, "case_numbers": ["IMM-2-24"]}
    y23, y24, y25 = (m["years"][y] for y in ("2023", "2024", "2025"))
    assert (y23["first_saved"], y23["last_saved"], y23["year_last_file"]) == ("IMM-1-23", "IMM-2-23", "IMM-2-23")
    assert y23["coverage"] == "end found: the year's last file IMM-2-23" and m["coverage"] is None
    assert y24["coverage"] == "end not found: the run stopped before its end search ended"
    assert y23["total"] == 3 and y23["probes_above_end"] == ["IMM-4-23"] and y23["failed"] == []
    assert y24["year_last_file"] is None and y24["counts"]["changed"] == 1 and len(y24["failed"]) == 1
    assert y25["total"] == 0
    lines = [r.getMessage() for r in caplog.records]
    assert ("run m1, 2023: saved 1, unchanged 1 (IMM-1-23 to IMM-2-23), no results 1, failed 0, "
            "the year's last file IMM-2-23 (1 probes above it)") in lines
    assert "run m1, 2024: saved 0, changed 1 (IMM-1-24 to IMM-1-24), no results 0, failed 1" in lines
    assert "run m1, 2025: not reached (the run stopped before)" in lines
    assert ("run m1: 3 years (2023-2025): saved 1, changed 1, unchanged 1 (IMM-1-23 to IMM-1-24), "
            "no results 1, failed 1, 1 probes above the years' last files, "
            "lost writes 1 (ledger lines 1, evidence 0), canaries 1 (1 passed)") in lines
    assert any("1 ledger line(s) could not be written (IMM-2-24)" in line for line in lines)


def test_a_finished_run_of_several_years_with_nothing_to_do_is_one_line(tmp_path, caplog):
    crawler, _ = build(tmp_path)
    with caplog.at_level(logging.INFO, logger="casescraper.manifest"):
        run(crawler, [started([2019, 2021]), searched(2019, "IMM-9-19", []), searched(2021, "IMM-5-21", [])])
    assert [r.getMessage() for r in caplog.records] == [
        "run m1: nothing to do: every number asked for is already done"]
    m = json.loads((tmp_path / "runs" / "m1.json").read_text())
    assert m["years"]["2019"]["year_last_file"] == "IMM-9-19" and m["total"] == 0


def test_a_dry_run_writes_no_manifest(tmp_path, caplog):
    crawler, _ = build(tmp_path / "out", CASESCRAPER_DRY_RUN=True)
    with caplog.at_level(logging.INFO, logger="casescraper.manifest"):
        run(crawler, [started([2025], {"year": "2025"}), recorded("IMM-1-25", "dry_run")])
    assert not (tmp_path / "out").exists()
    assert "run m1: dry run 1 (IMM-1-25 to IMM-1-25), no results 0, failed 0" in caplog.text


def test_no_stage_reads_the_spider_attributes():
    """Later stages learn from signals and stats (issue #14), not getattr on the spider."""
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "casescraper").rglob("*.py"))
             for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"getattr\(\s*spider\b", text)]
    assert found == []
