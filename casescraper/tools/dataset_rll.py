"""One case file as a row of the Refugee Law Lab's "Luck of the Draw III" layout.

Their data (every Federal Court immigration docket 1997-2022, Parquet, one row per case)
has the columns of datacard.RLL_SCHEMA; `dataset --layout rll` writes the same names,
types and nesting so 2023 onward can be appended to it. What differs, said in
DATASET.md: RECORDED_ENTRY is the entry's text as the page shows it (whitespace runs one
space), theirs kept the portal's line breaks and leading spaces; files before schema v3
have no DOCNO, DOC_DT, class or track (null).
"""

from __future__ import annotations

from typing import Any


def rll_row(data: dict[str, Any], year: int) -> tuple:
    """The row of a case file already checked by dataset.case_rows."""
    documents = [{"RE_NO": e["id"], "DOCNO": e.get("docno"), "DOC_DT": e.get("document_date"),
                  "RECORDED_ENTRY": e.get("summary")} for e in data["docket_entries"]]
    return (data["case_number"], year, data.get("style_of_cause"), data.get("filing_date"),
            data.get("office"), data.get("nature_of_proceeding"), data.get("proceeding_class"),
            data.get("track"), documents, data.get("source_url"), data.get("scraped_at"))
