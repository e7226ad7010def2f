"""A real crawl keeps its evidence, and `reparse` rebuilds the same case data from it.

Real headless Chromium against the demo court, then `python -m casescraper reparse` as an
operator runs it: no portal, no browser.
"""

import gzip
import json
import subprocess
import sys

from casescraper.store.storage import validate_record

from .conftest import ROOT
from .e2e import ENV, expected, ledger_lines, needs_browser, run_crawl, saved_files, strip_run_fields

pytestmark = needs_browser
YEAR, LAST, COUNT = 2025, 150, 100


def test_a_crawl_keeps_evidence_and_reparse_reproduces_it(tmp_path):
    result = run_crawl(tmp_path, {"site": "demo", "year": YEAR, "max_cases": COUNT,
                                  "demo_last_number": LAST})
    assert result["reason"] == "finished", result["log"][-3000:]
    out = tmp_path / "output"
    files, want = saved_files(out), expected(YEAR, LAST, range(1, COUNT + 1))
    assert set(files) == set(want)
    for case, record in files.items():
        validate_record(record)  # schema v2
        assert record["schema_version"] == 3 and strip_run_fields(record) == want[case], case
    # Evidence beside each case file: same stem, the portal's answers and the HTML read.
    paths = sorted((out / "json" / str(YEAR)).glob("*.json"))
    for path in paths:
        raw = out / "raw" / str(YEAR) / (path.stem + ".json.gz")
        evidence = json.loads(gzip.decompress(raw.read_bytes()))
        assert evidence["case_number"] == json.loads(path.read_text())["case_number"]
        assert {a["endpoint"] for a in evidence["answers"]} >= {
            "proceedingQueriesAddInfo", "PublicPartiesListInfo", "proceedingQueriesRE"}
        assert "ModalForm" in evidence["html"]
    before = {p: p.read_bytes() for p in paths}
    lines = len(ledger_lines(out, YEAR))

    done = subprocess.run([sys.executable, "-m", "casescraper", "reparse", "--year", str(YEAR),
                           "--output-dir", str(out)], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"read {len(paths)}, unchanged {len(paths)}, new files 0, failed 0" in done.stdout
    # Equal case data: no new file, no byte changed, no ledger line added.
    assert sorted((out / "json" / str(YEAR)).glob("*.json")) == paths
    assert {p: p.read_bytes() for p in paths} == before
    assert len(ledger_lines(out, YEAR)) == lines
