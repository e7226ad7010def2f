"""The output dir's layout, in one place: every reader and writer asks here for paths.

```
<output>/<subdir>/<YYYY>/<case>-<YYYYMMDD>[-N].json   case files (subdir: CASESCRAPER_PER_CASE_SUBDIR, json)
<output>/raw/<YYYY>/<same stem>.json.gz                their evidence
<output>/ledger/<YYYY>.jsonl                           the ledger; <YYYY>[.shard-I-of-N].lock: a running crawl's lock
<output>/runs/<run_id>.json                            run manifests
<output>/diagnostics/<run_id>/<case>-<n>.{png,html}    failures
```

Pure paths, no file system access: which case-file folder a reader should list, when the
crawl ran with another subdir, is for its caller to learn (`Ledger.case_subdir` reads
it off the ledger's own lines, `reparse` and `dataset` take --per-case-subdir).
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Optional

DEFAULT_SUBDIR = "json"
RAW = "raw"
LEDGER = "ledger"
RUNS = "runs"
DIAGNOSTICS = "diagnostics"
CASE_SUFFIX = ".json"
EVIDENCE_SUFFIX = ".json.gz"
LEDGER_SUFFIX = ".jsonl"
# Directories below the output dir besides the case files' folder.
OTHER_DIRS = (RAW, LEDGER, RUNS, DIAGNOSTICS)
YEAR_NAME = re.compile(r"^[0-9]{4}$")
LEDGER_NAME = re.compile(r"^([0-9]{4})\.jsonl$")
# `<stem>-<YYYYMMDD>[-N].json` as storage.CaseStore names case files; the stem may hold dashes.
CASE_FILE_NAME = re.compile(r"^(?P<stem>.+)-(?P<day>[0-9]{8})(?:-(?P<n>[1-9][0-9]{0,5}))?\.json$")


def plain_subdir(subdir: str) -> Optional[str]:
    """Why `subdir` cannot be the case files' folder (None when it can): one plain name."""
    if not subdir or set(subdir) & set("/\\\0") or subdir in (".", "..") or subdir in OTHER_DIRS:
        return (f"{subdir[:60]!r} must be a plain directory name other than "
                f"{', '.join(OTHER_DIRS)}")
    return None


class Layout:
    """Paths below one output dir; `subdir` is the case files' folder."""

    def __init__(self, output_dir: str, subdir: str = DEFAULT_SUBDIR):
        self.root = os.path.abspath(output_dir)
        self.subdir = subdir or DEFAULT_SUBDIR

    def _abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def rel(self, path: str) -> str:
        """A path below the output dir as the ledger and case files write it (posix)."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    # --- case files
    def cases_rel(self, year: Optional[int] = None) -> str:
        return self.subdir if year is None else f"{self.subdir}/{year:04d}"

    def cases_dir(self, year: Optional[int] = None) -> str:
        return self._abs(self.cases_rel(year))

    def case_rel(self, year: int, name: str) -> str:
        return f"{self.cases_rel(year)}/{name}"

    @staticmethod
    def case_name(base: str, index: int) -> str:
        """`<base>.json`, or `<base>-<index>.json` for a later version of the same day."""
        return f"{base}{CASE_SUFFIX}" if index == 0 else f"{base}-{index}{CASE_SUFFIX}"

    # --- evidence
    def raw_dir(self, year: Optional[int] = None) -> str:
        return self._abs(RAW if year is None else f"{RAW}/{year:04d}")

    @staticmethod
    def evidence_rel(case_rel: str) -> str:
        """`<subdir>/2025/IMM-1-25-20250301-1.json` -> `raw/2025/IMM-1-25-20250301-1.json.gz`."""
        year_dir, name = case_rel.split("/")[-2:]
        stem = name[: -len(CASE_SUFFIX)] if name.endswith(CASE_SUFFIX) else name
        return f"{RAW}/{year_dir}/{stem}{EVIDENCE_SUFFIX}"

    def evidence_path(self, case_rel: str) -> str:
        return self._abs(self.evidence_rel(case_rel))

    # --- ledger, locks
    def ledger_dir(self) -> str:
        return self._abs(LEDGER)

    def ledger_path(self, year: int) -> str:
        return os.path.join(self.ledger_dir(), f"{year:04d}{LEDGER_SUFFIX}")

    def lock_path(self, year: int, shard: Optional[tuple[int, int]] = None) -> str:
        """The run lock of a year (`shard` (I, N): that shard's own lock)."""
        tail = "" if shard is None else f".shard-{shard[0]}-of-{shard[1]}"
        return os.path.join(self.ledger_dir(), f"{year:04d}{tail}.lock")

    # --- runs, diagnostics
    def runs_dir(self) -> str:
        return self._abs(RUNS)

    def manifest_path(self, safe_run_id: str) -> str:
        """A run's manifest; the run id must already be a safe file name."""
        return os.path.join(self.runs_dir(), f"{safe_run_id}.json")

    def diagnostics_dir(self, run_id: str) -> str:
        return os.path.join(self._abs(DIAGNOSTICS), run_id)

    # --- what a ledger's file_path says
    @staticmethod
    def top_of(file_path: str) -> Optional[str]:
        """The case-file folder a trusted ledger file_path lies in (`cases/2025/x.json` ->
        `cases`), None for a path of another shape."""
        parts = posixpath.normpath(file_path).split("/")
        return parts[0] if len(parts) == 3 and YEAR_NAME.match(parts[1]) else None
