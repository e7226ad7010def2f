"""What the crawl produces: one CaseItem per found court file; items are case records only.

A CaseItem becomes a JSON file and a `saved` ledger line (`changed` or `unchanged` when
the case was saved before: see `history`), and goes to `-o` feeds. A
number that produced no record (`no_results`, a failure) is not an item: the spider
sends its outcome by the `casescraper.signals.case_outcome` signal, which the pipeline
records in the ledger, the stats and the run manifest.
"""

from __future__ import annotations

import json
import pkgutil
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Optional

# Ledger statuses. A found case settles its number: `saved` (its first file), `changed`
# (a new file, differing from its latest one: the line says what changed) or `unchanged`
# (equal to its latest file: nothing written); each line's file_path is the case's latest
# file. `no_results` settles a number too; the failures are retried by the next run.
# `unverified` marks a "no data" answer that a failed canary put in doubt; `bad_answer` a
# portal answer that was cut off, of another shape or about another number; `dry_run` is
# only counted, never written. `incomplete`: a found case whose optional parts (parties,
# related files) could not be read; its file is kept (null parts), its number asked again,
# and a later complete answer is a `changed` line.
FOUND = ("saved", "changed", "unchanged")
FILED = (*FOUND, "incomplete")  # lines whose file_path is the case's latest file
FAILED = ("failed_write", "parse_error", "driver_error", "blocked", "unverified", "bad_answer")
STATUSES = (*FOUND, "incomplete", "no_results", *FAILED, "dry_run")
# What the spider reports by the case_outcome signal (the rest come from writing a record).
OUTCOMES = ("no_results", "parse_error", "driver_error", "blocked", "unverified", "bad_answer")

# The schema every new case file follows; v1 files (no schema_version) and v2 files
# (no fields from the portal's answers for research) stay readable.
SCHEMA_VERSION = 3
SCHEMA_FILES = {1: "schema/case.v1.schema.json", 2: "schema/case.v2.schema.json",
                3: "schema/case.schema.json"}


@dataclass
class CaseItem:
    """A case record, schema v3 (`schema/case.schema.json`), in the file's field order."""

    schema_version: int = field(default=SCHEMA_VERSION, kw_only=True)
    case_number: str
    court: str
    style_of_cause: Optional[str]
    nature_of_proceeding: Optional[str]
    case_type: Optional[str]
    type_of_action: Optional[str]
    filing_date: Optional[str]
    office: Optional[str]
    language: Optional[str]
    # From the portal's answers, for research (schema v3); null where they lack them.
    track: Optional[str] = None
    proceeding_class: Optional[str] = None
    proceeding_type: Optional[str] = None
    nature_code: Optional[str] = None
    office_code: Optional[str] = None
    other_fields: dict[str, Optional[str]] = field(default_factory=dict)
    # None: the parties could not be read this time (not "no parties").
    parties: Optional[list[dict[str, Any]]] = None
    # None: the portal's RelatedListInfo answer was not seen.
    related: Optional[list[dict[str, Any]]] = None
    docket_entries: list[dict[str, Any]] = field(default_factory=list)
    source_url: Optional[str] = None
    scraped_at: Optional[str] = None
    file_path: Optional[str] = None
    # The raw capture (portal answers, modal HTML) for the pipeline's evidence file;
    # never part of the case file nor of feeds.
    evidence: Optional[dict[str, Any]] = None
    # Why the record is incomplete (parts not read: items.FILED), or None; not in files.
    incomplete: Optional[str] = None


@cache
def case_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema of a case file of `version` (v1 files carry no schema_version),
    read as package data so Scrapyd eggs work."""
    raw = pkgutil.get_data("casescraper", SCHEMA_FILES[version])
    assert raw is not None
    return json.loads(raw)


# The record's fields in the case file's order: what feeds (`-o`) hold, never the evidence.
RECORD_FIELDS = tuple(f.name for f in fields(CaseItem) if f.name not in ("evidence", "incomplete"))
