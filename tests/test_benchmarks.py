"""The benchmark suite runs as benchmarks/README.md says (issue 26): end to end on real
Chromium against its own demo court, with its diagnosis and without, writing its JSON and
Markdown. No figure is asserted: on a shared machine they mean nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import diagnose, peer, run
from casescraper.democourt import DemoCourt

from .conftest import ROOT
from .e2e import ENV, needs_browser


@needs_browser
@pytest.mark.parametrize("options", [["--smoke", "--no-peers"], ["--smoke", "--no-diagnose"]],
                         ids=["with-diagnosis", "no-diagnose-with-peers"])
def test_the_suite_runs_and_writes_json_and_markdown(tmp_path, options):
    done = subprocess.run([sys.executable, "-m", "benchmarks.run", "--cases", "5", *options,
                           "--out", str(tmp_path)], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=1800)  # a hang ends the test; no timing is asserted
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    [saved] = tmp_path.glob("*.json")
    result = json.loads(saved.read_text(encoding="utf-8"))
    text = saved.with_suffix(".md").read_text(encoding="utf-8")
    assert result["complete"] and result["runs"]["casescraper"]["completed"] == 5
    assert "## Per case" in text and "## casescraper and scrapy-playwright" in text
    assert ("diagnosis" in result) == ("--no-diagnose" not in options)
    if "--no-diagnose" in options and peer.unavailable() is None:
        [one] = result["rounds"]
        # Each peer's records were checked against the court's dump.
        assert one["tuned"]["valid"] and one["idiomatic"]["valid"], (one["tuned"]["wrong"], one["idiomatic"]["wrong"])
        assert "Where the tuned peer's time goes" in text


def test_a_diagnosis_variant_that_no_longer_applies_is_skipped(monkeypatch):
    monkeypatch.setitem(diagnose.CRAWL_VARIANTS, "stale proposal", ({}, "an edit of a line gone since"))
    runnable, skipped = diagnose.crawl_plan()
    assert skipped == ["stale proposal"] and "as shipped (again)" in runnable


def test_many_hosts_without_its_module_says_so_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(run, "find_spec", lambda name: None)
    assert run.many_hosts(3, 10, 0.0) == {"available": False}
    assert capsys.readouterr().out.strip().count("\n") == 0


def test_a_peer_record_unlike_the_dump_makes_the_run_invalid():
    court = DemoCourt(year=2025, last_number=20, seed=0)  # not started: the dump only
    cases = [f"IMM-{n}-25" for n in range(1, 4)]
    items = [{"case": c, "record": court.record(int(c.split("-")[1]))} for c in cases]
    assert peer.check(items, court, cases) == []
    items[1]["record"] = {**items[1]["record"], "filing_date": "1999-01-01"}
    assert peer.check(items, court, cases) == ["IMM-2-25: differs in filing_date"]
    assert peer.check(items[:2], court, cases)[-1] == "IMM-3-25: no answer"
