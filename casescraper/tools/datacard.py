"""What `python -m casescraper dataset` writes: the tables' schemas and the data card.

SCHEMAS fixes each table's columns, their order and pyarrow types, and says what each
means; the Parquet files carry the meanings as field metadata (`description`).

DATASET.md says where the tables come from (the portal, or the demo court's fictional
data when the ledger says `site: demo`), when the files were scraped, what each year's
ledger covered, and what every column means. It holds nothing of the export's own
time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

import pyarrow as pa

from casescraper.frontier import casenumbers
from casescraper.errors import OutputError
from casescraper.store.ledger import STANDINGS, Ledger
from casescraper.tools.report import case_key
from casescraper.tools.report_model import OTHER
from casescraper.tools.year_end import not_searched, year_end

# As config.REAL_SITE_URL; not imported from there because config pulls in Scrapy.
REAL_SITE_URL = "https://www.fct-cf.ca/en/court-files-and-decisions/court-files"


def _f(name: str, type_: pa.DataType, meaning: str) -> pa.Field:
    return pa.field(name, type_, nullable=True, metadata={"description": meaning})


_TEXT, _DAY = pa.string(), pa.date32()
SCHEMAS = {
    "cases": pa.schema([
        _f("case_number", _TEXT, "court file number, e.g. IMM-12-25"),
        _f("year", pa.int32(), "case year: the folder json/<YYYY>/ the file is in (the number's -yy)"),
        _f("court", _TEXT, "court searched: t Federal Court, a Federal Court of Appeal, b both"),
        _f("style_of_cause", _TEXT, "style of cause (parties' names as the court titles the file)"),
        _f("nature_of_proceeding", _TEXT, "nature of proceeding"),
        _f("case_type", _TEXT, "the details' \"Type\""),
        _f("type_of_action", _TEXT, "the details' \"Type of Action\""),
        _f("filing_date", _DAY, "filing date (court's local date)"),
        _f("office", _TEXT, "registry office of the file"),
        _f("language", _TEXT, "language of the proceeding"),
        _f("track", _TEXT, "the portal's TRACK (its docket answer), e.g. \"Immigration Leave & Judicial "
                           "Review\"; v3 files, null before"),
        _f("proceeding_class", _TEXT, "the portal's CLASS (its docket answer), e.g. \"Non-Action\"; v3 files"),
        _f("proceeding_type", _TEXT, "the portal's PRCDG_TYPE code (its search answer); v3 files"),
        _f("nature_code", _TEXT, "the portal's NATURE_CD, the code of nature_of_proceeding (search "
                                 "answer); v3 files"),
        _f("office_code", _TEXT, "the portal's OFF_CD, the code of the office (search answer); v3 files"),
        _f("other_fields", _TEXT, "labels of the details the parser did not know, as JSON text "
                                  "{label: value}; \"{}\" when none, null in v1 files"),
        _f("schema_version", pa.int32(), "case file schema: 1 for files without schema_version, "
                                          "else its value"),
        _f("first_docket_date", _DAY, "earliest date_filed of its docket entries; null when none "
                                      "is dated"),
        _f("last_docket_date", _DAY, "latest date_filed of its docket entries; null when none is dated"),
        _f("entry_count", pa.int32(), "number of docket entries (rows in docket_entries)"),
        _f("party_count", pa.int32(), "number of parties (rows in parties); null when the file says "
                                      "the parties could not be read (v2 parties: null)"),
        _f("scraped_at", pa.timestamp("us", tz="UTC"), "when the file was scraped (UTC)"),
        _f("source_file", _TEXT, "the case file the row comes from, relative to the output dir"),
    ]),
    "docket_entries": pa.schema([
        _f("case_number", _TEXT, "the case (cases.case_number)"),
        _f("id", pa.int64(), "docket entry number as the portal shows it"),
        _f("date_filed", _DAY, "date filed (court's local date)"),
        _f("office", _TEXT, "registry office of the entry"),
        _f("summary", _TEXT, "recorded entry text, whitespace normalized"),
        _f("document_id", _TEXT, "the document's number (FOREMOST_NUMBER); null when no document "
                                 "is named, always null in v1 files"),
        _f("document_downloadable", pa.bool_(), "the page offers a Download link"),
        _f("document_confidential", pa.bool_(), "the portal marks it confidential; null when unknown"),
        _f("document_url", _TEXT, "download URL; null when not downloadable"),
        _f("docno", pa.int64(), "the portal's DOCNO (docket answer): the number of the document the "
                                "entry records; null for entries without one (orders, notes) and "
                                "before v3"),
        _f("document_date", _DAY, "the portal's DOC_DT (docket answer), as a date; null before v3"),
    ]),
    "parties": pa.schema([
        _f("case_number", _TEXT, "the case (cases.case_number)"),
        _f("position", pa.int32(), "1-based order of the party in the file"),
        _f("name", _TEXT, "party name"),
        _f("solicitor_firm", _TEXT, "solicitor's firm (v2 files; null in v1 files)"),
        _f("solicitor_contact", _TEXT, "solicitor's name/contact (v2 files; null in v1 files)"),
        _f("role", _TEXT, "party role: v1 files, and v3 files where the parties came from a dialog "
                          "showing one (the portal's answer has no role)"),
        _f("representation", _TEXT, "firm and contact as one text (v1 files only)"),
    ]),
    "related": pa.schema([
        _f("case_number", _TEXT, "the case (cases.case_number)"),
        _f("position", pa.int32(), "1-based order in the portal's RelatedListInfo answer"),
        _f("related_case_number", _TEXT, "a court file the portal lists as related"),
        _f("style_of_cause", _TEXT, "its style of cause"),
    ]),
}


# The Refugee Law Lab's "Luck of the Draw III" layout (every FC immigration docket
# 1997-2022, one row per case): the same names, types and nesting, so that a researcher
# can append these rows to theirs (`dataset --layout rll`).
RLL_DOCUMENT = pa.struct([pa.field("RE_NO", pa.int64()), pa.field("DOCNO", pa.int64()),
                          pa.field("DOC_DT", pa.string()), pa.field("RECORDED_ENTRY", pa.string())])
RLL_SCHEMA = pa.schema([
    _f("citation", _TEXT, "the court file number (case_number)"),
    _f("year", pa.int64(), "the case year"),
    _f("name", _TEXT, "style of cause"),
    _f("date_filed", _TEXT, "filing date, YYYY-MM-DD"),
    _f("city_filed", _TEXT, "registry office (office)"),
    _f("nature", _TEXT, "nature of proceeding"),
    _f("class", _TEXT, "the portal's CLASS (proceeding_class), e.g. Non-Action"),
    _f("track", _TEXT, "the portal's TRACK, e.g. Immigration Leave & Judicial Review"),
    _f("documents", pa.list_(RLL_DOCUMENT), "docket entries, newest first: RE_NO (id), DOCNO, DOC_DT "
                                            "(document_date, YYYY-MM-DD), RECORDED_ENTRY (summary, "
                                            "whitespace normalized)"),
    _f("source_url", _TEXT, "the page the case was read from"),
    _f("scraped_timestamp", _TEXT, "when it was scraped (scraped_at, ISO 8601 UTC)"),
])


def years_text(years: list[int]) -> str:
    """`2019-2025` for a run of years, else `2019, 2021`."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(map(str, years))


@dataclass
class Summary:
    """What an export wrote, for the card."""

    years: list[int]
    fmt: str
    output_dir: str
    subdir: str = "json"  # the case files' folder below output_dir (the crawl's PER_CASE_SUBDIR)
    layout: str = "tables"  # or "rll"
    counts: Counter = field(default_factory=Counter)  # table -> rows
    per_year: dict[int, Counter] = field(default_factory=dict)  # files listed, cases, skipped
    versions: Counter = field(default_factory=Counter)  # schema version -> cases
    hosts: Counter = field(default_factory=Counter)  # source_url host -> cases
    first_scraped: Optional[datetime] = None
    last_scraped: Optional[datetime] = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


@dataclass
class YearCoverage:
    """A year's numbers by latest ledger outcome, counted as `report` counts them."""

    year: int
    ledger: Optional[str] = None  # None: no ledger for the year
    error: Optional[str] = None
    counts: Counter = field(default_factory=Counter)  # saved, missing_file, no_results, ...
    spans: list[str] = field(default_factory=list)  # "IMM-1-25 to IMM-950-25" per prefix
    never_tried: int = 0
    probes_above: int = 0  # no results above the last saved number (counted in no_results too)
    sites: dict = field(default_factory=dict)  # ledger.Site -> lines
    ends: list[str] = field(default_factory=list)  # per prefix: the end found, or what was covered


# A number's latest standing (Ledger.standing), a byte each; 0 is "no line". `found` is
# counted as `saved`, report's name for it.
_CODES = {"saved" if name == "found" else name: code for code, name in enumerate(STANDINGS, 1)}


def coverage(root: str, year: int) -> YearCoverage:
    """Classified as report.build does, but streamed: report.build keeps every ledger line
    and reads every saved file again (for its chart); here a byte per number is kept."""
    ledger = Ledger(root)
    cov = YearCoverage(year)
    if not os.path.isfile(ledger.path(year)):
        return cov
    cov.ledger = ledger.path(year)
    codes: dict[str, bytearray] = {}  # prefix -> latest outcome per number (0: no line)
    odd: dict[str, int] = {}  # numbers of another shape -> latest outcome
    try:
        for entry in ledger.records(year):  # file order: the last line of a number wins
            standing, _ = ledger.standing(entry)  # saved, changed, unchanged: found alike
            code = _CODES["saved" if standing == "found" else standing]
            prefix, n, _ = case_key(entry["case_number"])
            if prefix == OTHER:
                odd[n] = code
                continue
            slots = codes.setdefault(prefix, bytearray())
            if n >= len(slots):  # numbers are dense: 1..the year's last
                slots.extend(bytes(max(n + 1, 2 * len(slots)) - len(slots)))
            slots[n] = code
        cov.sites = ledger.sites(year)
    except OSError as exc:
        cov.error = f"cannot read {cov.ledger}: {exc.strerror or exc}"
        return cov
    except OutputError as exc:  # not a regular file, e.g. a symbolic link
        cov.error = str(exc)
        return cov
    for name, code in _CODES.items():
        cov.counts[name] = sum(s.count(code) for s in codes.values()) + list(odd.values()).count(code)
    end = year_end(root, year)
    for prefix, slots in sorted(codes.items()):
        last = slots.rfind(_CODES["saved"])
        cov.probes_above += slots.count(_CODES["no_results"], max(last, 0) + 1)
        if last > 0:
            first = slots.find(_CODES["saved"])
            cov.spans.append(f"{casenumbers.format(prefix, first, year)} to {casenumbers.format(prefix, last, year)}")
            cov.never_tried += slots.count(0, 1, last + 1)
        asked = len(slots.rstrip(b"\0")) - 1
        cov.ends.append(f"{prefix}: " + (end.describe(prefix) if end.last_number(prefix) is not None
                                         else not_searched(1, asked)))
    return cov


def _source(covs: list[YearCoverage], warn: Callable[[str], None]) -> str:
    """The portal, the demo court, or both (warned: fictional data must not pass for real)."""
    sites: Counter = Counter()
    for cov in covs:
        sites.update(cov.sites)
    names = {site.name for site in sites}
    if names == {"demo"}:
        return ("the demo court (`casescraper/democourt`): FICTIONAL data generated by casescraper "
                "for tests and drills, not real court files")
    real_hosts = sorted({site.host for site in sites if site.name == "real" and site.host})
    real = f"the Federal Court of Canada's Court Files portal, <{REAL_SITE_URL}>" + (
        f" (hosts: {', '.join(real_hosts)})" if real_hosts else "")
    if names == {"real"}:
        return real
    if not names:
        return "unknown: no ledger lines for these years (see the hosts of source_url below)"
    warn("the ledgers mix sites: demo court (fictional) and real portal data are both in the tables")
    lines = ", ".join(f"{site} {k}" for site, k in sorted(sites.items(), key=lambda kv: str(kv[0])))
    return f"MIXED: ledger lines per site: {lines}; the demo court's data is fictional; also {real}"


def _md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


FORMAT_NOTES = {
    "parquet": "Parquet (zstd) with the types below: `pandas.read_parquet(DIR + '/cases.parquet')`, "
               "`duckdb.sql(\"SELECT * FROM 'DIR/cases.parquet'\")`.",
    "csv": "CSV, UTF-8, a header line, `\\n` line ends; text always in double quotes, null is an "
           "empty unquoted field (so \"\" is an empty text), dates `YYYY-MM-DD`, timestamps "
           "`YYYY-MM-DD HH:MM:SS.ffffffZ`, booleans `true`/`false`.",
    "jsonl": "JSON Lines, UTF-8: one object per row with the columns as keys in the order above, "
             "null as null, dates `\"YYYY-MM-DD\"`, timestamps ISO 8601 with `+00:00`.",
}


TABLES_TEXT = [
    "`cases` has one row per case, sorted by year, prefix and number; `docket_entries`, "
    "`parties` and `related` follow the same case order, each case's rows in file order (docket "
    "entries newest first, as the portal lists them). Every column may be null."]
RLL_TEXT = [
    "`rll` has one row per case, sorted by year, prefix and number, in the layout of the Refugee "
    "Law Lab's \"Luck of the Draw III\" data (every Federal Court immigration docket 1997-2022): "
    "the same column names, types and nesting, so these rows can be appended to theirs. Two "
    "differences: `RECORDED_ENTRY` is the entry's text as the page shows it (runs of whitespace one "
    "space), where theirs kept the portal's line breaks and leading spaces; and files written "
    "before schema v3 have no `class`, `track`, `DOCNO` or `DOC_DT` (null)."]
SOURCES_TEXT = [
    "Where the values come from: the page as a person reads it (hidden helper texts left out), "
    "except `track`, `proceeding_class`, `proceeding_type`, `nature_code`, `office_code`, "
    "`docno`, `document_date`, the document columns and `related`, which come from the portal's "
    "own JSON answers to the page. Where the page shows a value empty and the portal's answer has "
    "one (style of cause, nature of proceeding, office, language, filing date; an entry's date, "
    "office or text), the answer's value is stored and the crawl logged a `disagree` note with "
    "both; a docket the page shows only in part (paged) is taken whole from the answer."]


def data_card(s: Summary, covs: list[YearCoverage], tables: dict[str, tuple[str, pa.Schema]],
              warn: Callable[[str], None]) -> str:
    """DATASET.md for an export; `tables`: name -> (file name, schema)."""
    listed = sum(c["listed"] for c in s.per_year.values())
    used = sum(c["cases"] for c in s.per_year.values())
    versions = ", ".join(f"v{v}: {k}" for v, k in sorted(s.versions.items()))
    lines = [f"# Court files dataset, {years_text(s.years)}", "",
             "Written by `python -m casescraper dataset` from the case files under "
             f"`{s.output_dir}/{s.subdir}/`: for each case its latest file, the one its latest saved, changed "
             "or unchanged ledger line names (else the highest scrape date, then the highest `-N` "
             "suffix).", "",
             f"- Source: {_source(covs, warn)}",
             f"- Hosts of the files' `source_url`: "
             f"{', '.join(f'{h} ({k})' for h, k in sorted(s.hosts.items())) or '-'}",
             f"- Scraped (UTC): {s.first_scraped.isoformat() if s.first_scraped else '-'} to "
             f"{s.last_scraped.isoformat() if s.last_scraped else '-'}",
             f"- Case files: {listed} listed, {used} used (schema {versions or '-'}), "
             f"{len(s.skipped)} skipped as unreadable", "",
             *_md_table(["table", "file", "rows"],
                        [[t, name, s.counts[t]] for t, (name, _) in tables.items()]), "",
             "## Coverage per year (from the ledger)", "",
             "As `python -m casescraper report --year YYYY` counts them: the latest ledger line of "
             "each number wins; saved = its file exists; no results = numbers up to the highest "
             "saved one without data; probes above = numbers above it without data (the end "
             "search's, not gaps); never tried = numbers from 1 to the highest saved one with no "
             "ledger line. The year's end: found by which run's end search, or, when no run "
             "searched it (`end`, `max_cases`), which numbers the tables cover: only those.", ""]
    rows = []
    for cov in covs:
        c = cov.counts
        note = cov.error or ("no ledger" if cov.ledger is None else "; ".join(cov.spans) or "-")
        rows.append([cov.year, s.per_year.get(cov.year, Counter())["cases"], sum(c.values()),
                     c["saved"], c["no_results"] - cov.probes_above, cov.probes_above, c["failed"],
                     c["missing_file"], cov.never_tried, note, "; ".join(cov.ends) or "-"])
    lines += _md_table(["year", "cases in tables", "numbers in ledger", "saved", "no results",
                        "probes above", "failed", "missing file", "never tried", "saved numbers",
                        "the year's end"], rows)
    lines += ["", "## Tables", "", f"Format: {FORMAT_NOTES[s.fmt]}", ""]
    lines += RLL_TEXT if s.layout == "rll" else TABLES_TEXT
    lines += ["", *SOURCES_TEXT, ""]
    for table, (_, schema) in tables.items():
        lines += [f"### {table}", ""]
        lines += _md_table(["column", "type", "meaning"],
                           [[f"`{f.name}`", f"`{f.type}`", f.metadata[b"description"].decode()]
                            for f in schema])
        lines.append("")
    if s.skipped:
        lines += ["## Skipped case files", ""]
        lines += [f"- `{rel}`: {reason}" for rel, reason in s.skipped[:100]]
        if len(s.skipped) > 100:
            lines.append(f"- and {len(s.skipped) - 100} more")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"

