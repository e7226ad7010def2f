"""`python -m casescraper merge --out DIR SRC_DIR... [--gaps]`: output dirs copied from the
hosts of one job (each its own CASESCRAPER_OUTPUT_DIR) joined into one of the usual layout.

- Ledgers are combined by time: each year's merged ledger holds every line it held
  before, byte for byte, and each source line not there yet (an attempt is known by its
  run id, case number and time), all in time order, so that a case's latest line is its
  latest attempt on any host. It is rewritten atomically (temp, fsync, rename).
- A found case's file is copied without overwriting anything: a record equal to the
  case's latest one in DIR (run fields such as scraped_at aside) is not copied, and its
  line becomes `unchanged` naming that file, as a crawl asking again does; a different
  one is written as a crawl writes it (the day's name, or the next suffix) and its line
  is `changed` (or `saved` for the case's first file). Its evidence goes beside it.
- Run manifests are copied when DIR has none of that run id.
- Sites are never mixed: demo and real data (or two portals) are refused, one line.
Running it again, with the same or more or newer dirs, adds only what is new.
`--gaps` then prints the numbers no host settled (below each year's last found file),
one per line: `python -m casescraper enqueue --from-gaps DIR` queues them.
Do not merge into a dir a crawl is writing to.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from casescraper.errors import CasescraperError, OutputError, printable
from casescraper.frontier import casenumbers
from casescraper.items import FILED
from casescraper.record import evidence, history
from casescraper.store.fileops import digest, makedirs_durable, open_regular, publish_new, replace_durably
from casescraper.store.ledger import Ledger, Site, clashing
from casescraper.store.ledger_lines import line_time
from casescraper.store.storage import CaseStore, comparable, read_record

_NO_TIME = ""  # sorts before every ISO time: a line without one keeps its place at the start


@dataclass
class Merged:
    lines_added: int = 0
    lines_there: int = 0
    files_written: int = 0
    files_equal: int = 0
    changed: int = 0
    evidence: int = 0
    manifests: int = 0
    missing_files: list[str] = field(default_factory=list)

    def summary(self, out: str, sources: int) -> str:
        return (f"merged {sources} dir(s) into {out}: {self.lines_added} ledger lines added "
                f"({self.lines_there} already there), {self.files_written} case files written "
                f"({self.changed} of them changes), {self.files_equal} equal to a file there, "
                f"{self.evidence} evidence files, {self.manifests} run manifests"
                + (f"; {len(self.missing_files)} lines name a file missing in their dir "
                   f"({', '.join(self.missing_files[:5])})" if self.missing_files else ""))


def _key(line: dict[str, Any]) -> tuple[str, str, str]:
    """One attempt: the same run, number and time on any host's copy."""
    return str(line.get("run_id")), line["case_number"], str(line.get("at"))


def _sort_time(line: dict[str, Any]) -> str:
    at = line_time(line.get("at"))
    return at.isoformat() if at is not None else _NO_TIME


def _without_changes(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "changes"}


def _raw_time(text: bytes) -> str:
    """A ledger line's time as it sorts ("" for a line that is not a JSON object with one)."""
    try:
        line = json.loads(text)
    except ValueError:
        return _NO_TIME
    return _sort_time(line) if isinstance(line, dict) else _NO_TIME


def _encode(line: dict[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def _check_sites(dirs: list[str]) -> None:
    sites: list[Site] = []
    for d in dirs:
        ledger = Ledger(d)
        for year in ledger.years():
            sites += list(ledger.sites(year))
    pair = clashing(sites)
    if pair is not None:
        raise OutputError(f"the dirs hold data of site {pair[0]} and of site {pair[1]}: merge each "
                          "site's dirs into an output dir of its own")


class Merge:
    def __init__(self, out: str, sources: list[str]):
        self.out = os.path.abspath(out)
        self.sources = [os.path.abspath(s) for s in sources]
        self.ledger = Ledger(self.out)
        self.store = CaseStore(self.out)
        self.result = Merged()

    def run(self) -> Merged:
        for src in self.sources:
            if not os.path.isdir(os.path.join(src, "ledger")):
                raise OutputError(f"{printable(src, 120)} is no output dir (it has no ledger/): give "
                                  "the dirs the workers wrote (CASESCRAPER_OUTPUT_DIR)")
            if os.path.realpath(src) == os.path.realpath(self.out):
                raise OutputError(f"{printable(src, 120)} is the output dir itself: give --out a dir of its own")
        _check_sites([*self.sources, self.out])
        makedirs_durable(self.out)
        self.store.probe()
        years = sorted({y for src in self.sources for y in Ledger(src).years()})
        for year in years:
            self._year(year)
        for src in self.sources:
            self._manifests(src)
        return self.result

    def _year(self, year: int) -> None:
        there = list(self.ledger.records(year)) if os.path.exists(self.ledger.path(year)) else []
        seen = {_key(line) for line in there}
        new: list[tuple[str, int, str, dict[str, Any]]] = []
        for index, src in enumerate(self.sources):
            for line in Ledger(src).records(year):
                if _key(line) in seen:
                    self.result.lines_there += 1
                    continue
                seen.add(_key(line))
                new.append((_sort_time(line), index, src, line))
        if not new:
            return
        new.sort(key=lambda item: (item[0], item[1]))
        # The latest file of each case in DIR, and when its line was written.
        latest = {line["case_number"]: (_sort_time(line), line.get("file_path")) for line in there
                  if line["status"] in FILED and line.get("file_path")}
        lines = [(when, self._line(src, line, latest, when)) for when, _, src, line in new]
        self._write_ledger(year, lines)
        self.result.lines_added += len(lines)

    def _line(self, src: str, line: dict[str, Any], latest: dict[str, tuple[str, Any]],
              when: str) -> dict[str, Any]:
        """The line as DIR records it: its file is DIR's (copied, or an equal one there),
        with that file's SHA-256 and size (the source's describe the source's file)."""
        if line["status"] not in FILED:
            return line
        out = self._placed(src, line, latest, when)
        out.pop("sha256", None)
        out.pop("size", None)
        found = digest(self.ledger.file_of(out["file_path"]) or "") if out.get("file_path") else None
        if found is not None:
            out["sha256"], out["size"] = found
        if line["status"] == "incomplete":  # its parts are still missing, wherever it is kept
            out["status"] = "incomplete"
            out.pop("changes", None)
        return out

    def _placed(self, src: str, line: dict[str, Any], latest: dict[str, tuple[str, Any]],
                when: str) -> dict[str, Any]:
        case = line["case_number"]
        source_file = Ledger(src).file_of(line.get("file_path"))
        record = read_record(source_file) if source_file else None
        if record is None:
            self.result.missing_files.append(case)
            return {**line, "file_path": None}
        previous_rel = latest.get(case, (None, None))[1]
        previous_path = self.ledger.file_of(previous_rel) if previous_rel else None
        previous = read_record(previous_path) if previous_path else None
        if previous is not None and comparable(previous) == comparable(record):
            self.result.files_equal += 1
            return {**_without_changes(line), "status": "unchanged", "file_path": previous_rel}
        saved = self.store.write(record)
        self._evidence(src, line["file_path"], saved.path)
        if saved.outcome == "created":
            self.result.files_written += 1
        out = {**_without_changes(line), "file_path": saved.rel_path, "status": "saved"}
        if previous is not None and saved.rel_path != previous_rel:
            out.update(status="changed", changes={"previous_file": previous_rel,
                                                  **(history.changes(previous, record) or {})})
            self.result.changed += 1
        if when >= latest.get(case, (_NO_TIME, None))[0]:
            latest[case] = (when, saved.rel_path)
        return out

    def _evidence(self, src: str, source_rel: str, case_path: str) -> None:
        path = os.path.join(src, *evidence.rel_path(source_rel).split("/"))
        fd = open_regular(path)
        if fd is None:
            return  # kept only with CASESCRAPER_KEEP_RAW, or not copied from the host
        with os.fdopen(fd, "rb") as f:
            data = f.read()
        directory, name = evidence.EvidenceStore(self.out).locate(case_path)
        makedirs_durable(directory)
        if publish_new(directory, name[: -len(evidence.SUFFIX)], data, os.path.join(directory, name)):
            self.result.evidence += 1

    def _write_ledger(self, year: int, lines: list[tuple[str, dict[str, Any]]]) -> None:
        """Every byte of the ledger there, and the new lines, in time order; atomically."""
        path = self.ledger.path(year)
        makedirs_durable(self.ledger.dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # no crawl appends meanwhile (it takes this lock)
            with os.fdopen(os.dup(fd), "rb") as f:
                raw = f.read()
            rows: list[tuple[str, int, bytes]] = []
            when = _NO_TIME
            for index, text in enumerate(raw.splitlines(keepends=True)):
                # A torn or foreign line stays where it is: after the line before it.
                when = _raw_time(text) or when
                rows.append((when, index, text if text.endswith(b"\n") else text + b"\n"))
            rows += [(t, len(rows) + i, _encode(line)) for i, (t, line) in enumerate(lines)]
            rows.sort(key=lambda row: (row[0], row[1]))
            replace_durably(self.ledger.dir, os.path.basename(path), b"".join(r[2] for r in rows), path)
        finally:
            os.close(fd)

    def _manifests(self, src: str) -> None:
        runs = os.path.join(src, "runs")
        if not os.path.isdir(runs):
            return
        target = os.path.join(self.out, "runs")
        for name in sorted(os.listdir(runs)):
            fd = open_regular(os.path.join(runs, name)) if name.endswith(".json") else None
            if fd is None:
                continue
            with os.fdopen(fd, "rb") as f:
                data = f.read()
            makedirs_durable(target)
            if publish_new(target, name[:-5], data, os.path.join(target, name)):
                self.result.manifests += 1


def gaps(output_dir: str, prefix: str = "IMM") -> list[str]:
    """Numbers of each year up to its last found file that no host settled (found, or
    answered no data): never asked, or failed."""
    ledger = Ledger(output_dir)
    out = []
    for year in ledger.years():
        facts = ledger.facts(year, prefix)
        last = max(facts.found, default=0)
        settled = facts.found | facts.no_results
        out += [casenumbers.format(prefix, n, year) for n in range(1, last + 1) if n not in settled]
    return out


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m casescraper merge", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the merged output dir (created if missing)")
    ap.add_argument("sources", nargs="*", metavar="SRC_DIR", help="output dirs copied from the hosts")
    ap.add_argument("--gaps", action="store_true", help="then print the numbers no host settled, one per line")
    ap.add_argument("--prefix", default="IMM", help="the prefix --gaps looks at (default IMM)")
    args = ap.parse_args(argv)
    try:
        if not args.sources and not args.gaps:
            raise OutputError("give the dirs to merge (merge --out DIR SRC_DIR...), or --gaps")
        if args.sources:
            result = Merge(args.out, args.sources).run()
            print(result.summary(args.out, len(args.sources)), file=sys.stderr if args.gaps else sys.stdout)
        if args.gaps:
            if not os.path.isdir(os.path.join(args.out, "ledger")):
                raise OutputError(f"{printable(args.out, 120)} has no ledger/: nothing to look at")
            missing = gaps(args.out, args.prefix.strip().upper())
            if missing:
                print("\n".join(missing))
            print(f"{len(missing)} numbers no host settled", file=sys.stderr)
    except CasescraperError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"casescraper: error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
