"""`python -m casescraper report --years ...`: several years, coverage across them, and the
recent changes (the ledger's `changed` lines), in text and in the HTML page."""

import json

import pytest

from casescraper.frontier import casenumbers

from casescraper.tools import dataset
from casescraper.__main__ import main
from casescraper.tools.report import build, render_text
from casescraper.tools.report_model import Report, percent, years_rows
from casescraper.store.storage import CaseStore
from tests.test_report import Collector, record

FILES = {  # case -> (filing_date, office)
    "IMM-1-23": ("2023-03-01", "Toronto"),
    "IMM-3-23": ("2023-04-01", "Ottawa"),
    "IMM-1-25": ("2025-01-10", "Toronto"),
    "IMM-2-25": ("2025-01-20", "Montréal"),
    "IMM-3-25": ("2025-02-03", "Toronto"),
    "IMM-6-25": ("2025-02-05", "Vancouver"),
}


def changes(added=(), removed=(), changed=(), fields=(), previous="json/old.json"):
    return {"previous_file": previous, "entries_added": list(added), "entries_removed": list(removed),
            "entries_changed": list(changed), "fields": list(fields)}


@pytest.fixture
def out(tmp_path):
    """2023 and 2025 have ledgers, 2024 none (ledger lines written as JSON lines, as the
    crawl writes them).

    2023: IMM-1 and IMM-3 saved (IMM-1 later changed), IMM-2 never tried: 2 of 3 answered.
    2025: IMM-1 saved; IMM-2 saved, then changed twice; IMM-3 saved, then unchanged;
    IMM-4 no results; IMM-5 driver_error; IMM-6 saved, the last; IMM-7 changed but its
    file is gone; IMM-9 no results (a probe above the last): 5 of 6 answered.
    """
    root = tmp_path / "output"
    store = CaseStore(str(root))
    paths = {c: store.write(record(c, *v)).rel_path for c, v in FILES.items()}

    def ledger(year, *lines):
        (root / "ledger").mkdir(exist_ok=True)
        with open(root / "ledger" / f"{year}.jsonl", "a") as f:
            for case, status, extra in lines:
                line = {"case_number": case, "status": status, "file_path": paths.get(case),
                        "error": None, "run_id": f"r{year}", "at": "2025-01-01T00:00:00+00:00",
                        "site": "demo", **extra}
                if status in ("no_results", "driver_error"):
                    line["file_path"] = None
                f.write(json.dumps(line) + "\n")

    ledger(2023,
           ("IMM-1-23", "saved", {}),
           ("IMM-3-23", "saved", {}),
           ("IMM-1-23", "changed", {"at": "2025-06-03T08:00:00+00:00",
                                    "changes": changes(added=["7"], fields=["office"])}))
    ledger(2025,
           ("IMM-1-25", "saved", {}),
           ("IMM-2-25", "saved", {}),
           ("IMM-3-25", "saved", {}),
           ("IMM-4-25", "no_results", {}),
           ("IMM-5-25", "driver_error", {"error": "boom"}),
           ("IMM-6-25", "saved", {}),
           ("IMM-9-25", "no_results", {}),
           ("IMM-2-25", "changed", {"at": "2025-06-01T10:00:00Z",
                                    "changes": changes(added=["3", "4"], removed=["1"])}),
           ("IMM-3-25", "unchanged", {"at": "2025-06-01T11:00:00+00:00"}),
           ("IMM-2-25", "changed", {"at": "2025-06-02T09:30:00+02:00",  # 07:30 UTC
                                    "changes": changes(changed=["2"], fields=["parties", "office"])}),
           ("IMM-7-25", "changed", {"file_path": "json/2025/IMM-7-25-20250601.json",
                                    "at": "not a time", "changes": changes(fields=["style_of_cause"])}))
    # Both years' ends were found by an end search (the run manifests say so).
    (root / "runs").mkdir()
    for run_id, last in (("r2023", "IMM-3-23"), ("r2025", "IMM-6-25")):
        (root / "runs" / f"{run_id}.json").write_text(json.dumps(
            {"run_id": run_id, "finished_at": "2025-01-01T00:00:00+00:00", "year_last_file": last}))
    return root


def rows_of(text):
    return [line.split() for line in text.splitlines()]


def test_changed_and_unchanged_count_as_saved_when_their_file_exists(out):
    cov = build(str(out), 2025)
    imm = cov.prefixes["IMM"]
    assert sorted(imm.saved) == [1, 2, 3, 6] and (imm.first, imm.last) == (1, 6)
    assert imm.missing_file == {7: "json/2025/IMM-7-25-20250601.json"}
    assert sorted(imm.no_results) == [4, 9] and imm.failed == {5: "driver_error"}
    assert imm.answered() == 5  # 1 2 3 6 saved, 4 no results; 9 is above the last
    assert [line["case_number"] for line in cov.changes] == ["IMM-2-25", "IMM-2-25", "IMM-7-25"]


def test_coverage_is_rounded_down():
    assert percent(2, 3) == "66.6%" and percent(9_999, 10_000) == "99.9%"
    assert percent(5, 5) == "100.0%" and percent(0, 0) == "-"


def test_several_years_in_text(out, capsys):
    assert main(["report", "--years", "2023-2025", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    rows = rows_of(text)
    assert text.startswith(f"years 2023, 2025, output {out}: 2 ledger(s), 14 line(s) from 2 run(s)\n")
    assert "no ledger (skipped): 2024\n" in text
    # each year's own table and details, in year order
    assert text.index("year 2023, ledger") < text.index("year 2025, ledger") < text.index("all years")
    assert ["IMM", "IMM-1-23", "IMM-3-23", "2", "0", "0", "0", "0", "1", "1"] in rows
    assert ["IMM", "IMM-1-25", "IMM-6-25", "4", "1", "1", "1", "1", "0", "2"] in rows
    assert "IMM missing files: IMM-7-25 (json/2025/IMM-7-25-20250601.json)\n" in text
    # the table across years, with a total
    table = text[text.index("all years"):]
    assert ["year", "first", "last", "saved", "no", "results", "probes", "above", "failed", "missing",
            "file", "never", "tried", "coverage"] in rows_of(table)
    assert ["2023", "IMM-1-23", "IMM-3-23", "2", "0", "0", "0", "0", "1", "66.6%"] in rows_of(table)
    assert ["2025", "IMM-1-25", "IMM-6-25", "4", "1", "1", "1", "1", "0", "83.3%"] in rows_of(table)
    assert ["all", "6", "1", "1", "1", "1", "1", "77.7%"] in rows_of(table)  # 7 of 9 answered


def test_recent_changes_newest_first(out, capsys):
    assert main(["report", "--years", "2023,2025", "--output-dir", str(out)]) == 0
    text = capsys.readouterr().out
    changes = text[text.index("recent changes"):].splitlines()
    assert changes[0] == "recent changes: all 4, newest first"
    assert changes[1].split() == ["case", "when", "new", "entries", "removed", "changed", "entries",
                                  "fields"]
    assert [line.split()[:3] for line in changes[2:]] == [
        ["IMM-1-23", "2025-06-03", "08:00"],  # another year's ledger: merged by time
        ["IMM-2-25", "2025-06-02", "07:30"],  # +02:00 shown in UTC
        ["IMM-2-25", "2025-06-01", "10:00"],
        ["IMM-7-25", "not", "a"],  # no time: oldest, shown as written
    ]
    assert " ".join(changes[2].split()) == "IMM-1-23 2025-06-03 08:00 UTC 1 (7) - - office"
    assert " ".join(changes[3].split()) == "IMM-2-25 2025-06-02 07:30 UTC - - 1 (2) parties, office"
    assert " ".join(changes[4].split()) == "IMM-2-25 2025-06-01 10:00 UTC 2 (3, 4) 1 (1) - -"


def test_changes_limit_and_none(out, capsys):
    assert main(["report", "--year", "2025", "--output-dir", str(out), "--changes", "1"]) == 0
    text = capsys.readouterr().out
    tail = text[text.index("recent changes"):].splitlines()
    assert tail[0] == "recent changes: the 1 newest of 3, newest first" and len(tail) == 3
    assert tail[2].split()[:3] == ["IMM-2-25", "2025-06-02", "07:30"]
    assert "all years" not in text  # one year: its table alone, as before
    assert main(["report", "--year", "2025", "--output-dir", str(out), "--changes", "0"]) == 0
    assert "recent changes" not in capsys.readouterr().out


def test_many_ids_are_cut_and_hostile_values_escaped(tmp_path):
    lines = [{"case_number": "IMM-\x1b[2J1-25", "status": "changed", "at": "\x07bell",
              "changes": {"entries_added": [str(i) for i in range(1, 11)], "fields": ["x" * 100],
                          "entries_removed": "not a list"}},
             {"case_number": "IMM-2-25", "status": "changed", "changes": None}]
    cov = build_from(tmp_path, lines)
    text = render_text(Report(str(tmp_path), [cov], changes_limit=5))
    assert "\x1b" not in text and "\x07" not in text
    # neither time is ISO 8601: both oldest, the later line first
    assert text.splitlines()[-2].split()[-4:] == ["?", "?", "?", "?"]  # no changes at all
    last = text.splitlines()[-1]
    assert "IMM-\\x1b[2J1-25" in last and "\\x07bell" in last
    assert "10 (1, 2, 3, 4, 5, 6, ...)" in last and "x" * 40 + "..." in last
    assert " ? " in last  # entries_removed of the wrong type


def build_from(tmp_path, lines):
    """A year's Coverage holding these `changed` lines as they are: past the ledger
    reader's checks, as a reader that lets more through would hand them over."""
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "2025.jsonl").write_text(
        json.dumps({"case_number": "IMM-1-25", "status": "no_results"}) + "\n")
    cov = build(str(tmp_path), 2025)
    cov.changes = lines
    return cov


def test_several_years_html(out, tmp_path, capsys):
    page_path = tmp_path / "report.html"
    assert main(["report", "--years", "2023-2025", "--output-dir", str(out),
                 "--html", str(page_path)]) == 0
    capsys.readouterr()
    page = page_path.read_text(encoding="utf-8")
    parsed = Collector()
    parsed.feed(page)
    parsed.close()
    assert parsed.errors == [] and parsed.stack == []
    names = [tag for tag, _ in parsed.tags]
    assert not {"script", "link", "img", "iframe", "object"} & set(names)
    assert not any(k in ("src", "href") for _, attrs in parsed.tags for k in attrs)
    assert "http://" not in page and "https://" not in page
    assert names.count("svg") == 2  # a chart per year with a ledger
    text = "".join(parsed.text)
    assert "casescraper coverage 2023-2025" in text and "No ledger (skipped): 2024." in text
    cells = table_cells(page)
    years, recent = cells["years"], cells["changes"]
    assert years[0] == ["year", "first", "last", "saved", "no results", "probes above", "failed",
                        "missing file", "never tried", "coverage"]
    assert years[1:] == [["2023", "IMM-1-23", "IMM-3-23", "2", "0", "0", "0", "0", "1", "66.6%"],
                         ["2025", "IMM-1-25", "IMM-6-25", "4", "1", "1", "1", "1", "0", "83.3%"],
                         ["all", "", "", "6", "1", "1", "1", "1", "1", "77.7%"]]
    assert recent[0] == ["case", "when", "new entries", "removed", "changed entries", "fields"]
    assert [r[:2] for r in recent[1:]] == [["IMM-1-23", "2025-06-03 08:00 UTC"],
                                           ["IMM-2-25", "2025-06-02 07:30 UTC"],
                                           ["IMM-2-25", "2025-06-01 10:00 UTC"],
                                           ["IMM-7-25", "not a time"]]
    assert page.index("Coverage by year") < page.index("Recent changes") < page.index(">2023</h2>") \
        < page.index(">2025</h2>")


def test_one_year_html_has_its_changes(out, tmp_path, capsys):
    page_path = tmp_path / "one.html"
    assert main(["report", "--year", "2023", "--output-dir", str(out), "--html", str(page_path)]) == 0
    page = page_path.read_text(encoding="utf-8")
    assert "Coverage by year" not in page and page.count("<svg") == 1
    assert [r[:2] for r in table_cells(page)["changes"][1:]] == [["IMM-1-23", "2025-06-03 08:00 UTC"]]


def table_cells(page):
    """{table class: rows of cell texts} of the page's classed tables."""
    tables, current = {}, None

    class Cells(Collector):
        def handle_starttag(self, tag, attrs):
            nonlocal current
            super().handle_starttag(tag, attrs)
            if tag == "table":
                current = tables.setdefault(dict(attrs).get("class", ""), [])
            elif tag == "tr" and current is not None:
                current.append([])
            elif tag in ("td", "th") and current is not None:
                current[-1].append("")

        def handle_data(self, data):
            if current and current[-1] and self.stack and self.stack[-1] in ("td", "th"):
                current[-1][-1] += data

    Cells().feed(page)
    return tables


def test_the_years_parser_is_the_datasets():
    assert dataset.parse_years("2019-2020,2025") == casenumbers.parse_years("2019-2020,2025") \
        == [2019, 2020, 2025]


@pytest.mark.parametrize("args, message", [
    (["--years", "20x5"], "--years '20x5' is invalid: use YYYY, YYYY-YYYY"),
    (["--years", "2025-2023"], "--years '2025-2023' is invalid"),
    (["--year", "2023-2025"], "--year '2023-2025' names several years: use --years"),
    (["--year", "2025", "--years", "2025"], "not allowed with argument"),
    ([], "one of the arguments --years --year is required"),
    (["--year", "2025", "--changes", "-1"], "--changes '-1' is invalid"),
])
def test_bad_arguments_are_one_line(out, capsys, args, message):
    assert main(["report", *args, "--output-dir", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("casescraper: error: ") and message in captured.err


def test_years_without_any_ledger(out, capsys):
    assert main(["report", "--years", "2019-2021", "--output-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (f"casescraper: error: no ledger for 2019-2021 in {out / 'ledger'}; ledgers exist "
                   "for 2023, 2025\n")


def test_ledgers_of_different_sites_are_not_merged(out, capsys):
    with open(out / "ledger" / "2023.jsonl", "w") as f:  # 2023 now real data, 2025 demo
        f.write(json.dumps({"case_number": "IMM-2-23", "status": "no_results", "site": "real",
                            "site_host": "www.fct-cf.ca"}) + "\n")
    assert main(["report", "--years", "2023-2025", "--output-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (f"casescraper: error: the ledgers mix sites: {out / 'ledger' / '2023.jsonl'} holds "
                   f"lines of real (www.fct-cf.ca), {out / 'ledger' / '2025.jsonl'} of demo; a report "
                   "would merge them: keep each site in its own output dir\n")
    assert main(["report", "--years", "2023", "--output-dir", str(out)]) == 0  # alone: fine


def test_years_rows_of_a_year_with_several_prefixes(tmp_path):
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "2025.jsonl").write_text("".join(json.dumps(line) + "\n" for line in [
        {"case_number": "IMM-1-25", "status": "no_results"},
        {"case_number": "T-1-25", "status": "driver_error"}]))
    rows = years_rows([build(str(tmp_path), 2025)])
    assert [r[0] for r in rows[1:]] == ["2025 IMM", "2025 T", "all"]
    # no end searched: what was asked, never a share; the total leaves them out
    assert rows[1][-1] == rows[2][-1] == "end not searched: coverage of 1..1 only"
    assert rows[-1][-1] == "- (2 without a searched end left out)"
