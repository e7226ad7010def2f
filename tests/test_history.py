"""history.changes: what differs between a case's latest file and a new record (pure)."""

from casescraper.record import history


def record(entries, **fields):
    base = {"schema_version": 2, "case_number": "IMM-1-25", "court": "t", "office": "Toronto",
            "parties": [{"name": "A", "solicitor_firm": None, "solicitor_contact": None}],
            "docket_entries": entries, "source_url": "http://a/x", "scraped_at": "2025-03-01T00:00:00+00:00",
            "file_path": "json/2025/IMM-1-25-20250301.json"}
    return {**base, **fields}


def entry(i, summary="s", url=None):
    return {"id": i, "date_filed": "2025-03-01", "office": "Toronto", "summary": summary,
            "document": {"id": str(i), "downloadable": bool(url), "confidential": False, "url": url}}


def test_equal_case_data_is_no_change_whatever_the_run_fields():
    old = record([entry(2, url="http://127.0.0.1:1/d?n=2"), entry(1)])
    new = record([entry(2, url="https://portal.example/d?n=2"), entry(1)], source_url=None,
                 scraped_at="2025-04-01T00:00:00+00:00", file_path=None)
    assert history.changes(old, new) is None


def test_entries_by_id_and_fields_sorted():
    old = record([entry(3), entry(2, "two"), entry(1)], office="Toronto")
    new = record([entry(11), entry(10), entry(9), entry(2, "TWO"), entry(1)], office="Ottawa",
                 style_of_cause="A v. B")
    assert history.changes(old, new) == {
        "entries_added": ["9", "10", "11"], "entries_removed": ["3"], "entries_changed": ["2"],
        "fields": ["office", "style_of_cause"]}


def test_reordered_or_odd_entries_still_say_something():
    a, b = entry(1), entry(2)
    assert history.changes(record([a, b]), record([b, a]))["fields"] == ["docket_entries"]
    assert history.changes(record([a]), record("not a list"))["entries_removed"] == ["1"]
    odd = history.changes(record([{"summary": "no id"}, "text", entry(True)]), record([]))
    assert odd["entries_removed"] == ["#1", "#2", "#3"]
    assert history.changes(record([a, a]), record([a]))["fields"] == ["docket_entries"]


def test_a_v1_file_against_a_v2_record_is_changed_never_a_crash():
    v1 = {k: v for k, v in record([entry(1)]).items() if k != "schema_version"}
    v1["parties"] = [{"name": "A", "role": "Applicant", "representation": None}]
    v1["docket_entries"] = [{"id": 1, "date_filed": "2025-03-01", "office": "Toronto", "summary": "s"}]
    out = history.changes(v1, record([entry(1), entry(2)]))
    assert out == {"entries_added": ["2"], "entries_removed": [], "entries_changed": ["1"],
                   "fields": ["parties", "schema_version"]}
    assert history.changes({}, {"x": None}) == {"entries_added": [], "entries_removed": [],
                                                 "entries_changed": [], "fields": ["x"]}


def test_describe_in_words():
    assert history.describe({"entries_added": [str(i) for i in range(1, 13)], "fields": ["office"]}) == (
        "entries added 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 +2 more; fields office")
    assert history.describe({}) == "no details"
