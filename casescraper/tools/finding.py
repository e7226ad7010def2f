"""Where the data is when the directory a reader reads has none of it.

`report`, `changes`, `dataset` and `reparse` read one output dir (by default a crawl's:
`output`), while a demo crawl writes below it, in `output/demo`, and so may a crawl of
another site given a directory of its own there. When the directory read has nothing
for the years asked, the error names such a directory and the command that reads it.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Optional

from casescraper.errors import printable

# What each reader needs of an output dir, per year: the file or directory it reads.
WHAT = {"ledger": ("ledger", "{year}.jsonl", "ledgers"), "json": ("json", "{year}", "case files"),
        "raw": ("raw", "{year}", "kept evidence")}


def _years(directory: str, kind: str) -> list[int]:
    sub, pattern, _ = WHAT[kind]
    try:
        names = os.listdir(os.path.join(directory, sub))
    except OSError:
        return []
    shape = re.escape(pattern).replace(re.escape("{year}"), "([0-9]{4})")
    return sorted(int(m.group(1)) for n in names if (m := re.fullmatch(shape, n)))


def elsewhere(output_dir: str, kind: str, years: Optional[Iterable[int]] = None) -> list[tuple[str, list[int]]]:
    """(directory as the user would type it, its years) of each directory one level below
    `output_dir` holding `kind` for any of `years` (any year when None), by name."""
    wanted = None if years is None else set(years)
    try:
        names = sorted(os.listdir(output_dir))
    except OSError:
        return []
    found = []
    for name in names:
        path = os.path.join(output_dir, name)
        if name.startswith(".") or name in WHAT or not os.path.isdir(path):
            continue
        have = [y for y in _years(path, kind) if wanted is None or y in wanted]
        if have:
            found.append((path, have))
    return found


def hint(output_dir: str, kind: str, command: str, years: Optional[Iterable[int]] = None) -> str:
    """`; output/demo has ledgers for 2025: read them with python -m casescraper report
    --year 2025 --output-dir output/demo`, or "" when no directory below has any.
    `command` is the reader's command line, `{year}` standing for the first year found,
    `{years}` for them all (`2023-2025`, `2023,2025`)."""
    found = elsewhere(output_dir, kind, years)
    if not found:
        return ""
    path, have = found[0]
    line = command.format(year=have[0], years=",".join(map(str, have)))
    shown = printable(path, 200)
    return (f"; {shown} has {WHAT[kind][2]} for {', '.join(map(str, have))}: read them with "
            f"python -m casescraper {line} --output-dir {shown}")
