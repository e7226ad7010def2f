"""Evidence files: format, names beside the case files, no-clobber publishing."""

import gzip
import json
import os

import pytest

from casescraper.record import evidence
from casescraper.record.evidence import EvidenceError, EvidenceStore

AT = "2025-03-01T10:20:30+00:00"


def sample(**changes):
    ev = evidence.build(
        case_number="IMM-12-25", captured_at=AT, source_url="https://portal.invalid/court-files",
        court="t", html="<p>Émilie &amp; Fils\u00a0v. Canada \ud800</p>", timezone="America/Toronto",
        answers=[{"endpoint": "proceedingQueriesRE", "status": 200, "body": '{"Count":0,"data":[]}',
                  "url": "https://portal.invalid/CourtFilesAndDecisions/proceedingQueriesRE?courtnumber=IMM-12-25"}])
    ev.update(changes)
    return ev


def test_round_trip_is_exact_and_deterministic():
    ev = sample()
    data = evidence.encode(ev)
    assert data == evidence.encode(sample())  # no gzip timestamp: same evidence, same bytes
    assert evidence.decode(data) == {"evidence_version": 1, **ev}  # a lone surrogate too
    assert json.loads(gzip.decompress(data))["html"] == ev["html"]


def test_build_without_timezone_leaves_it_out():
    ev = evidence.build(case_number="T-1-25", captured_at=AT, source_url=None, court="a",
                        answers=[], html="")
    assert ev == {"case_number": "T-1-25", "captured_at": AT, "source_url": None, "court": "a",
                  "answers": [], "html": ""}


@pytest.mark.parametrize("data,message", [
    (b"plain text", "not gzip"),
    (gzip.compress(b"{"), "not valid JSON"),
    (gzip.compress(b"[" * 100 + b"]" * 100), "nested deeper than"),
    (gzip.compress(b"\xff{}"), "not UTF-8"),
    (gzip.compress(b"[]"), "not a JSON object"),
    (gzip.compress(b'{"evidence_version": 9}'), "evidence_version 9 is not 1"),
    (evidence.encode({k: v for k, v in sample().items() if k != "html"}), "html is missing"),
    (evidence.encode(sample(answers="x")), "answers has the wrong type"),
    (evidence.encode(sample(answers=[{"endpoint": "x", "url": "u", "status": True, "body": ""}])),
     r"answers\[0\]\.status has the wrong type"),
])
def test_unreadable_evidence_says_what_is_wrong(data, message):
    with pytest.raises(EvidenceError, match=message):
        evidence.decode(data)


def test_unencodable_evidence_is_an_evidence_error():
    with pytest.raises(EvidenceError, match="not JSON"):
        evidence.encode(sample(html=object()))


@pytest.mark.parametrize("file_path,expected", [
    ("json/2025/IMM-12-25-20250301.json", "raw/2025/IMM-12-25-20250301.json.gz"),
    ("cases/2025/IMM-12-25-20250301-7.json", "raw/2025/IMM-12-25-20250301-7.json.gz"),
])
def test_rel_path(file_path, expected):
    assert evidence.rel_path(file_path) == expected


def test_write_publishes_once_and_never_clobbers(tmp_path):
    store = EvidenceStore(str(tmp_path))
    case_path = str(tmp_path / "json" / "2025" / "IMM-12-25-20250301-1.json")
    kept = store.write(case_path, sample())
    assert (kept.rel_path, kept.outcome) == ("raw/2025/IMM-12-25-20250301-1.json.gz", "created")
    assert oct(os.stat(kept.path).st_mode & 0o777) == "0o644"
    before = open(kept.path, "rb").read()
    again = store.write(case_path, sample(html="other"))
    assert (again.path, again.outcome) == (kept.path, "existing")
    assert open(kept.path, "rb").read() == before
    replaced = store.write(case_path, sample(html="other"), replace=True)
    assert replaced.outcome == "replaced" and evidence.read(kept.path)["html"] == "other"
    assert [p.name for p in tmp_path.rglob(".*.tmp")] == []


def test_link_gives_a_case_file_the_same_evidence(tmp_path):
    store = EvidenceStore(str(tmp_path))
    first = store.write(str(tmp_path / "json/2025/T-1-25-20250301.json"), sample())
    linked = store.link(first.path, str(tmp_path / "json/2025/T-1-25-20250301-1.json"))
    assert linked.outcome == "created" and os.path.samefile(first.path, linked.path)
    second = str(tmp_path / "json/2025/T-1-25-20250301-2.json")
    other = store.write(second, sample(html="x"))
    kept = store.link(first.path, second)
    assert kept.outcome == "existing" and evidence.read(other.path)["html"] == "x"


def test_evidence_dir_behind_a_symlink_outside_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out" / "raw").mkdir(parents=True)
    (tmp_path / "out" / "raw" / "2025").symlink_to(outside)
    store = EvidenceStore(str(tmp_path / "out"))
    with pytest.raises(EvidenceError, match="outside"):
        store.write(str(tmp_path / "out/json/2025/T-1-25-20250301.json"), sample())
    assert list(outside.iterdir()) == []
