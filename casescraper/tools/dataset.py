"""`python -m casescraper dataset --years 2019-2025 --out DIR [--format parquet|csv|jsonl] [--layout tables|rll]`.

Writes four analysis-ready tables, `cases`, `docket_entries`, `parties` and `related`,
from the LATEST file of each case under `<output-dir>/<subdir>/<YYYY>/` (schema v1, v2 and
v3 files alike; the subdir is the one the year's ledger lines name, or --per-case-subdir),
plus a `DATASET.md` data card beside them. `--layout rll` writes one table, `rll`, in the
Refugee Law Lab's "Luck of the Draw III" layout instead (dataset_rll.py), to be appended
to theirs.

- Latest: the file the case's latest saved/changed/unchanged ledger line names, else
  (no such line, or that file is gone) the highest file name (`dataset_files`). Chosen
  from the ledger and the directory listing alone: each chosen file is read once.
- Streamed: rows go out in batches of BATCH_ROWS per table; besides one batch, memory
  holds 16 bytes per case number of the year being read (its latest versions) and a byte
  per number of a ledger, never the records.
- Deterministic: cases in (year, prefix, number) order, entries and parties in file
  order; no time stamps of the export itself, so the same files give byte-identical
  CSV/JSONL/DATASET.md and equal Parquet tables.
- Whole: the tables and DATASET.md are written into a hidden directory beside them,
  then moved into place and named, with their SHA-256, by `dataset.json`, written last
  (`dataset_files.publish_set`): a set without it, or not matching it, is not whole.
- Exit status (`exits`): 0 written; 3 written, but some case files could not be read, or
  were not the case their name says, and were skipped (each named in a warning and in
  DATASET.md; remove or fix it and run again: the case's previous file is then used);
  2 nothing written (bad argument, no such output dir, no case files for those years);
  4 the tables could not be written (the previous set, if any, stays).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from datetime import date, datetime, timezone
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from casescraper.frontier import casenumbers
from casescraper.tools import exits
from casescraper.tools.datacard import RLL_SCHEMA, SCHEMAS, Summary, coverage, data_card, years_text
from casescraper.tools.dataset_files import latest_files, publish_set, staging
from casescraper.tools.dataset_rll import rll_row
from casescraper.errors import CasescraperError, ConfigError, UnsafeCaseNumber, printable
from casescraper.tools import finding
from casescraper.items import SCHEMA_VERSION
from casescraper.store.fileops import digest
from casescraper.store.layout import CASE_FILE_NAME, DEFAULT_SUBDIR, Layout, plain_subdir
from casescraper.store.ledger import Ledger
from casescraper.store.safe_read import Unreadable, read_case_file
from casescraper.store.storage import safe_name

FORMATS = ("parquet", "csv", "jsonl")
LAYOUTS = {"tables": SCHEMAS, "rll": {"rll": RLL_SCHEMA}}
# Rows per write (and Parquet row group). Measured: with larger batches (16,384, 32,768,
# or 8,192 gathered into 65,536-row groups) peak RSS grew with the number of files, the
# heap fragmenting; at 8,192 it is flat (benchmarks/README.md, "Dataset export").
BATCH_ROWS = 8_192
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_INSTANT = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})"
                      r"(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$")


class DatasetError(CasescraperError):
    """Nothing can be written: a bad argument or unusable input (exit status 2)."""


_VERSION = SCHEMAS["cases"].get_field_index("schema_version")
_SCRAPED = SCHEMAS["cases"].get_field_index("scraped_at")


# --- reading one case file -------------------------------------------------------

def _text(obj: dict[str, Any], key: str, where: str = "") -> Optional[str]:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where}{key} is not text")


def _date(obj: dict[str, Any], key: str, where: str = "") -> Optional[date]:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str) and _DATE.match(value):
        return date.fromisoformat(value)  # ValueError for a day that does not exist
    raise ValueError(f"{where}{key} is not a YYYY-MM-DD date")


def _instant(value: Any) -> Optional[datetime]:
    """A UTC datetime from the file's ISO 8601 text (any fraction width, Z or offset)."""
    if value is None:
        return None
    m = _INSTANT.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError("scraped_at is not an ISO 8601 date and time with an offset")
    day, clock, fraction, offset = m.groups()
    text = f"{day}T{clock}.{(fraction or '').ljust(6, '0')[:6]}{'+00:00' if offset == 'Z' else offset}"
    return datetime.fromisoformat(text).astimezone(timezone.utc)  # 3.10 needs 6 digits


def _integer(value: Any, what: str, bits: int = 64) -> int:
    # bool is an int subclass, not an id; the range is the column's (int64 or int32)
    if type(value) is not int or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError(f"{what} is not an integer of {bits} bits")
    return value


def _other_fields(data: dict[str, Any]) -> Optional[str]:
    """other_fields as JSON text (null in v1 files, which have none)."""
    other = data.get("other_fields")
    if other is None:
        return None
    if not isinstance(other, dict) or any(v is not None and not isinstance(v, str) for v in other.values()):
        raise ValueError("other_fields is not an object of texts")
    return json.dumps(other, ensure_ascii=False, separators=(",", ":"))


def _related(number: str, raw: Any) -> list[tuple]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ValueError("related is neither a list of objects nor null")
    return [(number, i, _text(r, "case_number", f"related[{i - 1}]."), _text(r, "style_of_cause", f"related[{i - 1}]."))
            for i, r in enumerate(raw, 1)]


def case_rows(data: Any, year: int, source_file: str) -> dict[str, list[tuple]]:
    """The rows of one file per table (cases: one); ValueError when malformed."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    number = _text(data, "case_number")
    if not number:
        raise ValueError("no case_number")
    version = _integer(data.get("schema_version", 1), "schema_version", 32)
    raw_entries, raw_parties = data.get("docket_entries"), data.get("parties")
    if not isinstance(raw_entries, list):
        raise ValueError("docket_entries is not a list")
    if raw_parties is not None and not isinstance(raw_parties, list):
        raise ValueError("parties is neither a list nor null")
    entries = []
    for i, e in enumerate(raw_entries):
        where = f"docket_entries[{i}]."
        if not isinstance(e, dict):
            raise ValueError(f"docket_entries[{i}] is not an object")
        doc = e.get("document")
        if doc is not None and not isinstance(doc, dict):
            raise ValueError(f"{where}document is neither an object nor null")
        doc = doc or {}
        flags = [doc.get(k) for k in ("downloadable", "confidential")]
        if any(v is not None and not isinstance(v, bool) for v in flags):
            raise ValueError(f"{where}document flags are not true/false")
        docno = e.get("docno")
        entries.append((number, _integer(e.get("id"), f"{where}id"), _date(e, "date_filed", where),
                        _text(e, "office", where), _text(e, "summary", where),
                        _text(doc, "id", where + "document."), *flags,
                        _text(doc, "url", where + "document."),
                        None if docno is None else _integer(docno, f"{where}docno"),
                        _date(e, "document_date", where)))
    parties = []
    for i, p in enumerate(raw_parties or []):
        where = f"parties[{i}]."
        if not isinstance(p, dict):
            raise ValueError(f"parties[{i}] is not an object")
        parties.append((number, i + 1, *(_text(p, k, where) for k in (
            "name", "solicitor_firm", "solicitor_contact", "role", "representation"))))
    dated = [e[2] for e in entries if e[2] is not None]
    case = (number, year, *(_text(data, k) for k in ("court", "style_of_cause", "nature_of_proceeding",
                                                     "case_type", "type_of_action")),
            _date(data, "filing_date"), _text(data, "office"), _text(data, "language"),
            *(_text(data, k) for k in ("track", "proceeding_class", "proceeding_type", "nature_code",
                                       "office_code")), _other_fields(data), version,
            min(dated, default=None), max(dated, default=None), len(entries),
            None if raw_parties is None else len(parties), _instant(data.get("scraped_at")),
            source_file)
    return {"cases": [case], "docket_entries": entries, "parties": parties,
            "related": _related(number, data.get("related"))}


# --- writing -----------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class _Sink:
    """One table's file, written in batches; JSONL line by line."""

    def __init__(self, path: str, schema: pa.Schema, fmt: str):
        self.schema, self.fmt = schema, fmt
        self.rows: list[tuple] = []
        self.count = 0
        if fmt == "parquet":
            # zstd: read by pandas, DuckDB, Polars, Spark and R arrow alike.
            self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        elif fmt == "csv":
            self.writer = pa_csv.CSVWriter(path, schema)
        else:
            self.file = open(path, "w", encoding="utf-8", newline="\n")
            self.names = schema.names

    def add(self, row: tuple) -> None:
        self.count += 1
        if self.fmt == "jsonl":
            line = dict(zip(self.names, map(_json_value, row)))
            self.file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            return
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            columns = [pa.array(list(c), type=f.type) for c, f in zip(zip(*self.rows), self.schema)]
            self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        if self.fmt == "jsonl":
            self.file.close()
        else:
            self.flush()
            self.writer.close()


def _warn(message: str) -> None:
    print(f"casescraper: warning: {message}", file=sys.stderr)


def _reason(exc: Exception) -> str:
    reason = str(exc) if isinstance(exc, Unreadable) else f"not a case record: {exc}"
    return reason if len(reason) <= 160 else reason[:157] + "..."


def _host(url: Any) -> str:
    try:
        return (urlsplit(url).hostname if isinstance(url, str) else None) or "none"
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "invalid"


def _export_year(layout: Layout, year: int, sinks: dict[str, _Sink], s: Summary,
                 warn: Callable[[str], None], kind: str = "tables") -> None:
    directory = layout.cases_dir(year)
    counts = s.per_year.setdefault(year, Counter())
    if not os.path.isdir(directory):
        warn(f"no case files for {year}: {directory} does not exist")
        return
    ledger = Ledger(layout.root)
    recorded: dict[str, tuple[str, Optional[int]]] = {}  # file name -> its line's SHA-256, size
    try:
        names, counts["listed"] = latest_files(directory, warn, ledger, year, layout.cases_rel(year),
                                               recorded)
    except OSError as exc:
        raise DatasetError(f"cannot list {directory}: {exc.strerror or exc}") from None
    for name in names:
        rel = layout.case_rel(year, name)
        try:
            path = os.path.join(directory, name)
            data = read_case_file(path)
            problem = _not_its_file(data, name)
            if problem is None and name in recorded and digest(path) != recorded[name]:
                problem = "its bytes differ from the SHA-256 and size its ledger line recorded"
            if problem:
                raise Unreadable(problem)
            rows = case_rows(data, year, rel)
            if kind == "rll":
                rows = {"cases": rows["cases"], "rll": [rll_row(data, year)]}
        except (Unreadable, ValueError) as exc:  # unreadable, not JSON, or not a case record
            reason = _reason(exc)
            warn(f"{rel}: {reason}; skipped (fix or remove it to use the case's previous file)")
            s.skipped.append((rel, reason))
            counts["skipped"] += 1
            continue
        case = rows["cases"][0]
        for table, sink in sinks.items():
            for row in rows[table]:
                sink.add(row)
        counts["cases"] += 1
        if case[_VERSION] > SCHEMA_VERSION and case[_VERSION] not in s.versions:
            warn(f"{rel}: case file schema v{case[_VERSION]} is newer than this casescraper's "
                 f"(v{SCHEMA_VERSION}); the fields it knows are exported, others left out")
        s.versions[case[_VERSION]] += 1
        s.hosts[_host(data.get("source_url"))] += 1
        when = case[_SCRAPED]
        if when is not None:
            s.first_scraped = min(s.first_scraped or when, when)
            s.last_scraped = max(s.last_scraped or when, when)


def _not_its_file(data: dict[str, Any], name: str) -> Optional[str]:
    """Why a file is not the case its name says (None when it is): a record saved under
    another case's name must never become a second row of that case."""
    number = data.get("case_number")
    match = CASE_FILE_NAME.match(name)
    try:
        stem = safe_name(number) if isinstance(number, str) else None
    except UnsafeCaseNumber:
        stem = None
    if match is None or stem is None or match["stem"] != stem:
        return f"holds case {printable(number, 40)}, not the case its name says"
    return None


class DatasetUnwritable(DatasetError):
    """The tables could not be written (exit status exits.UNWRITABLE)."""


def layouts(root: str, years: list[int], subdir: Optional[str] = None) -> dict[int, Layout]:
    """Where each year's case files are: `subdir` when given, else the folder the year's
    ledger lines name (the crawl's CASESCRAPER_PER_CASE_SUBDIR), else json."""
    ledger = Ledger(root)
    found = {}
    for year in years:
        learned = None
        if subdir is None:
            try:
                learned = ledger.case_subdir(year)
            except (OSError, CasescraperError):
                learned = None  # said again, once, when the year's ledger is read for the export
        found[year] = Layout(root, subdir or learned or DEFAULT_SUBDIR)
    return found


def export(output_dir: str, years: list[int], out_dir: str, fmt: str,
           warn: Callable[[str], None] = _warn, subdir: Optional[str] = None,
           layout: str = "tables") -> Summary:
    """Write the tables and DATASET.md into out_dir as one set (dataset_files.publish_set);
    DatasetError when nothing can be."""
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise DatasetError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if layout == "rll" and fmt == "csv":
        raise DatasetError("--layout rll cannot be CSV (its documents column is a list): use "
                           "--format parquet or jsonl")
    schemas = LAYOUTS[layout]
    root = os.path.abspath(output_dir)
    if not os.path.isdir(root):
        raise DatasetError(f"output directory {root} does not exist (use --output-dir DIR, the "
                           "crawl's output)")
    by_year = layouts(root, years, subdir)
    if not any(os.path.isdir(by_year[y].cases_dir(y)) for y in years):
        top = by_year[years[0]].cases_dir()
        present = sorted(n for n in _listdir(top) if re.fullmatch(r"[0-9]{4}", n))
        hint = f"; years with files: {', '.join(present)}" if present else ""
        raise DatasetError(f"no case files for {years_text(years)} under {top}{hint} "
                           "(--per-case-subdir names another folder)"
                           f"{finding.hint(output_dir, 'json', 'dataset --years {years}', years)}")
    subdirs = sorted({place.subdir for place in by_year.values()})
    s = Summary(years, fmt, root, subdir=", ".join(subdirs), layout=layout)
    names = [f"{t}.{fmt}" for t in schemas] + ["DATASET.md"]
    sinks: dict[str, _Sink] = {}
    try:
        with staging(out_dir) as stage:
            try:
                for table, name in zip(schemas, names):
                    sinks[table] = _Sink(os.path.join(stage, name), schemas[table], fmt)
                for year in years:
                    _export_year(by_year[year], year, sinks, s, warn, layout)
            finally:
                for sink in sinks.values():
                    sink.close()
            s.counts.update({t: sink.count for t, sink in sinks.items()})
            with open(os.path.join(stage, names[-1]), "w", encoding="utf-8", newline="\n") as f:
                tables = {t: (name, schemas[t]) for t, name in zip(schemas, names)}
                f.write(data_card(s, [coverage(root, y) for y in years], tables, warn))
            publish_set(stage, out_dir, names, {t: sink.count for t, sink in sinks.items()})
    except OSError as exc:
        raise DatasetUnwritable(f"cannot write to {out_dir}: {exc.strerror or exc}; the tables "
                                "there (if any) are the previous set") from None
    return s


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


# --- command -----------------------------------------------------------------------

def parse_years(text: str) -> list[int]:
    """`2019-2025`, `2019,2021` or `2025` (parts may combine) -> sorted distinct years."""
    try:
        return casenumbers.parse_years(text)
    except ConfigError as exc:
        raise DatasetError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, instead of usage + line
        raise DatasetError(f"{message} (see python -m casescraper dataset --help)")


def main(argv: Optional[list[str]] = None) -> int:
    ap = _Parser(prog="python -m casescraper dataset",
                 description="Write analysis-ready tables (cases, docket_entries, parties, related) and "
                             "DATASET.md from the latest file of each case.")
    ap.add_argument("--years", required=True, help="2019-2025, 2019,2021 or 2025")
    ap.add_argument("--output-dir", default="output",
                    help="the crawl's output directory (CASESCRAPER_OUTPUT_DIR; default: output)")
    ap.add_argument("--out", required=True, help="directory for the tables and DATASET.md")
    ap.add_argument("--format", default="parquet", choices=FORMATS, help="default: parquet")
    ap.add_argument("--per-case-subdir", metavar="NAME",
                    help="the case files' folder below the output dir (the crawl's "
                         "CASESCRAPER_PER_CASE_SUBDIR; default: the one the ledger's lines name, "
                         "else json)")
    ap.add_argument("--layout", default="tables", choices=tuple(LAYOUTS),
                    help="tables (default): cases, docket_entries, parties, related; rll: one table "
                         "in the Refugee Law Lab's Luck of the Draw III layout")
    try:
        args = ap.parse_args(sys.argv[1:] if argv is None else argv)
        if args.per_case_subdir is not None and plain_subdir(args.per_case_subdir):
            raise DatasetError(f"--per-case-subdir {plain_subdir(args.per_case_subdir)}")
        s = export(args.output_dir, parse_years(args.years), args.out, args.format,
                   subdir=args.per_case_subdir, layout=args.layout)
    except DatasetUnwritable as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return exits.UNWRITABLE
    except DatasetError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return exits.USAGE
    what = (f"{s.counts['rll']} cases in the rll layout" if args.layout == "rll" else
            f"{s.counts['cases']} cases, {s.counts['docket_entries']} docket entries, "
            f"{s.counts['parties']} parties and {s.counts['related']} related files")
    print(f"wrote {what} ({s.fmt}) to {args.out}"
          + (f"; {len(s.skipped)} case file(s) skipped" if s.skipped else ""))
    return exits.SKIPPED if s.skipped else exits.OK


if __name__ == "__main__":
    sys.exit(main())
