"""Case file validation: the compiled check (fastjsonschema) and jsonschema agree.

`storage.validate_record` decides with the schema compiled to Python and asks jsonschema
only to word the error. These tests hold the two to the same verdict on valid records and
on every single-value mutation of them, so the faster check never lets through a record
jsonschema would refuse.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest

from casescraper.record import parser
from casescraper.democourt import records
from casescraper.errors import InvalidRecord
from casescraper.items import case_schema
from casescraper.store.storage import _quick_check, _validator, validate_record

WRONG_VALUES = [None, True, False, 0, -1, 7, 1.5, "", "x", "2025-13-45", [], [None], {}, {"x": 1}]


def v1_record() -> dict[str, Any]:
    """A file written before schema versions (parties with role and representation)."""
    return {
        "case_number": "IMM-3-24", "court": "t", "style_of_cause": "A v. B",
        "nature_of_proceeding": None, "case_type": None, "type_of_action": "Immigration Matters",
        "filing_date": "2024-03-01", "office": "Toronto", "language": "English",
        "parties": [{"name": "ANA PÉREZ", "role": "Applicant", "representation": "Lee & Co"}],
        "docket_entries": [{"id": 1, "date_filed": "2024-03-01", "office": "Toronto",
                            "summary": "Notice of application"}],
        "source_url": "https://www.fct-cf.ca/en/court-files-and-decisions/court-files",
        "scraped_at": "2024-11-05T09:30:00.5+00:00", "file_path": None,
    }


def saved(record: dict[str, Any]) -> dict[str, Any]:
    return dict(record, source_url="http://127.0.0.1/x", scraped_at="2025-11-28T10:00:00+00:00",
                file_path=None)


def demo_records() -> list[dict[str, Any]]:
    return [saved(r) for r in records(2025, 60, seed=3)]


def verdicts(record: dict[str, Any]) -> tuple[bool, bool]:
    version = record.get("schema_version", 1)
    quick = True
    try:
        _quick_check(version)(record)
    except Exception:  # noqa: BLE001 - any refusal counts; the verdict is what is compared
        quick = False
    return quick, _validator(version).is_valid(record)


def mutations(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, str, Any]]:
    """(path, kind, value) for every value a record holds: replace it, drop it, add a key."""
    if isinstance(node, dict):
        yield path, "add", "unexpected"
        for key, value in node.items():
            yield path + (key,), "drop", None
            yield from mutations(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from mutations(value, path + (index,))
    for wrong in WRONG_VALUES:
        # validate_record checks schema_version itself before either validator runs.
        if path and path != ("schema_version",) and not (type(wrong) is type(node) and wrong == node):
            yield path, "set", wrong


def mutated(record: dict[str, Any], path: tuple, kind: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    parent = out
    for step in path[:-1] if kind != "add" else path:
        parent = parent[step]
    if kind == "add":
        parent["zz_unknown"] = value
    elif kind == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def test_every_demo_record_and_a_v1_file_are_valid_for_both():
    for record in demo_records() + [v1_record()]:
        assert verdicts(record) == (True, True), record["case_number"]
        validate_record(record)


def test_the_real_detail_page_record_is_valid_for_both(fct_page):
    record = saved(parser.parse_case(fct_page("detail.html")))
    assert verdicts(record) == (True, True)


@pytest.mark.parametrize("base", ["demo-documents", "demo-plain", "v1"])
def test_every_single_mutation_gets_the_same_verdict(base):
    demo = demo_records()
    record = {
        # A demo record with documents, related files and other fields where one has them.
        "demo-documents": max(demo, key=lambda r: (r.get("related") is not None,
                                                   bool(r.get("other_fields")),
                                                   sum(e.get("document") is not None
                                                       for e in r["docket_entries"]))),
        "demo-plain": demo[0],
        "v1": v1_record(),
    }[base]
    checked = disagreements = 0
    for path, kind, value in mutations(record):
        candidate = mutated(record, path, kind, value)
        quick, reference = verdicts(candidate)
        checked += 1
        if quick != reference:
            disagreements += 1
            print("disagree:", path, kind, repr(value), quick, reference)
    assert checked > 100
    assert disagreements == 0


def test_an_invalid_record_is_worded_by_jsonschema():
    record = demo_records()[0]
    record["parties"] = [{"name": "", "solicitor_firm": None, "solicitor_contact": None,
                          "role": None}]
    with pytest.raises(InvalidRecord, match=r"^\$\.parties\[0\]\.name: .*"):
        validate_record(record)


def test_where_only_the_compiled_check_objects_its_verdict_stands(monkeypatch):
    # No such record is known (the mutations above agree); should one appear, refusing it is
    # the safe side, and the line still names where.
    import fastjsonschema

    from casescraper.store import storage

    def refuse(record):
        raise fastjsonschema.JsonSchemaValueException(
            "data.docket_entries[0].id must be integer", name="data.docket_entries[0].id")

    monkeypatch.setattr(storage, "_quick_check", lambda version: refuse)
    with pytest.raises(InvalidRecord, match=r"^\$\.docket_entries\[0\]\.id: data\..* must be integer$"):
        validate_record(demo_records()[0])


def test_both_schemas_compile():
    for version in (1, 2):
        assert callable(_quick_check(version))
        assert case_schema(version)["$schema"].endswith("2020-12/schema")
