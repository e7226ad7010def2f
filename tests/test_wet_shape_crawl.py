"""A crawl of the demo court in its WET-like shape equals the demo dump (issue 24).

Real headless Chromium against the demo court on loopback with `demo_shape=wet`: helper
texts hidden by class (one of them a wrong "Office : Ottawa"), a hidden template docket,
row-header cells in the results and the docket, Office and Language as a definition
list, the filing date as 30-MAY-2025 and invisible characters inside values. Every record
must equal the dump field by field, the fields for research included, with no failures.
"""

from __future__ import annotations

from casescraper.record import evidence

from .e2e import expected, final_statuses, needs_browser, run_crawl, saved_files, strip_run_fields

pytestmark = needs_browser
YEAR, LAST, COUNT = 2025, 40, 12


def test_the_wet_shape_gives_the_dump(tmp_path):
    args = {"site": "demo", "year": YEAR, "demo_last_number": LAST, "max_cases": COUNT, "demo_shape": "wet"}
    result = run_crawl(tmp_path, args)
    out = tmp_path / "output"
    assert result["returncode"] == 0 and result["reason"] == "finished", result["log"][-3000:]
    assert not [k for k in result["stats"] if k.startswith("casescraper/failures/")], result["stats"]
    assert set(final_statuses(out).values()) <= {"saved", "no_results"}
    files, want = saved_files(out), expected(YEAR, LAST, range(1, COUNT + 1))
    assert set(files) == set(want) and want
    for case in sorted(want):
        got = strip_run_fields(files[case])
        for key in want[case]:
            assert got.get(key) == want[case][key], f"{case} {key}: {got.get(key)!r} != {want[case][key]!r}"
        assert got["schema_version"] == 3 and got["track"] and got["office_code"]
    # The pages were the WET shape, and the capture marked what the browser did not render.
    [raw] = sorted((out / "raw" / str(YEAR)).glob("*.json.gz"))[:1]
    html = evidence.read(str(raw))["html"]
    assert 'scope="row"' in html and "<dl" in html and "data-cs-hidden" in html
    # Nothing was read from hidden text, nothing unknown was met.
    assert result["stats"].get("casescraper/parse/unknown_label") is None
    assert result["stats"].get("casescraper/fidelity/disagree") is None
