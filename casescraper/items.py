"""What the crawl produces: one CaseItem per found court file, one CaseOutcome otherwise.

Both are dataclasses handled through itemadapter. A CaseItem becomes a JSON file (and a
`saved` ledger line); a CaseOutcome becomes only a ledger line (`no_results`,
`parse_error`, `driver_error`, `blocked`).
"""

from __future__ import annotations

import json
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Optional

# Ledger statuses. `saved` and `no_results` settle a number; the failures are retried
# by the next run. `unverified` marks a "no data" answer that a failed canary put in
# doubt; `dry_run` is only counted, never written.
FAILED = ("failed_write", "parse_error", "driver_error", "blocked", "unverified")
STATUSES = ("saved", "no_results", *FAILED, "dry_run")


@dataclass
class CaseItem:
    case_number: str
    court: str
    style_of_cause: Optional[str]
    nature_of_proceeding: Optional[str]
    case_type: Optional[str]
    type_of_action: Optional[str]
    filing_date: Optional[str]
    office: Optional[str]
    language: Optional[str]
    parties: list[dict[str, Any]] = field(default_factory=list)
    docket_entries: list[dict[str, Any]] = field(default_factory=list)
    source_url: Optional[str] = None
    scraped_at: Optional[str] = None
    file_path: Optional[str] = None


@dataclass
class CaseOutcome:
    """A final answer for a number that produced no file."""

    case_number: str
    status: str
    error: Optional[str] = None
    diagnostics: Optional[str] = None


@cache
def case_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, read as package data so Scrapyd eggs work."""
    raw = pkgutil.get_data("casescraper", "schema/case.schema.json")
    assert raw is not None
    return json.loads(raw)
