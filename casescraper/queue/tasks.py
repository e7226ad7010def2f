"""What a task of a job is: pure, no Redis.

A task is one entry of the job's stream, a flat map of text:
- `end`: find the end of a year from `start` (the worker that holds it runs the end search,
  then adds the year's blocks);
- `block`: the numbers `start..end` of a year;
- `numbers`: a list of case numbers (re-queued failures, gaps), comma-separated.
Every task has an id (`task`) made of what it covers, so that enqueueing it again is seen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator, Optional

from casescraper.frontier import casenumbers

KINDS = ("end", "block", "numbers")


@dataclass(frozen=True)
class Task:
    kind: str
    prefix: str = "IMM"
    year: int = 0
    start: int = 1
    end: int = 0  # blocks only
    numbers: tuple[str, ...] = ()  # `numbers` tasks only
    entry: str = ""  # the stream entry id, once leased
    deliveries: int = 0  # how often it was handed out (> 1: reclaimed or given back)

    @property
    def id(self) -> str:
        if self.kind == "end":
            return f"end/{self.prefix}/{self.year}/{self.start}"
        if self.kind == "block":
            return f"block/{self.prefix}/{self.year}/{self.start}-{self.end}"
        digest = hashlib.sha1(",".join(sorted(self.numbers)).encode("ascii")).hexdigest()[:16]
        return f"numbers/{len(self.numbers)}/{digest}"

    def fields(self) -> dict[str, str]:
        out = {"task": self.id, "kind": self.kind, "prefix": self.prefix}
        if self.kind == "numbers":
            out["numbers"] = ",".join(self.numbers)
        else:
            out.update(year=str(self.year), start=str(self.start))
            if self.kind == "block":
                out["end"] = str(self.end)
        return out

    @classmethod
    def from_fields(cls, fields: dict[str, str], entry: str = "", deliveries: int = 0) -> "Task":
        """The task of a stream entry; ValueError when the entry is not one of ours."""
        kind = fields.get("kind", "")
        if kind not in KINDS:
            raise ValueError(f"stream entry {entry} is not a casescraper task (kind {kind[:40]!r})")
        numbers = tuple(n for n in fields.get("numbers", "").split(",") if n)
        for n in numbers:
            casenumbers.parse(n)  # ValueError for anything else
        return cls(kind, fields.get("prefix", "IMM"), int(fields.get("year") or 0),
                   int(fields.get("start") or 1), int(fields.get("end") or 0), numbers,
                   entry, deliveries)

    def cases(self) -> Iterator[str]:
        """The case numbers of a block or numbers task, in order."""
        if self.kind == "numbers":
            yield from self.numbers
        elif self.kind == "block":
            for n in range(self.start, self.end + 1):
                yield casenumbers.format(self.prefix, n, self.year)

    def describe(self) -> str:
        if self.kind == "end":
            return f"end search of {self.year} from {casenumbers.format(self.prefix, self.start, self.year)}"
        if self.kind == "block":
            return (f"{casenumbers.format(self.prefix, self.start, self.year)}.."
                    f"{casenumbers.format(self.prefix, self.end, self.year)}")
        return f"{len(self.numbers)} numbers ({', '.join(self.numbers[:3])}{', ...' if len(self.numbers) > 3 else ''})"


def blocks(prefix: str, year: int, start: int, end: int, size: int) -> list[Task]:
    """`start..end` of a year in blocks of `size`, aligned on `start`."""
    return [Task("block", prefix, year, n, min(n + size - 1, end)) for n in range(start, end + 1, size)]


def year_tasks(prefix: str, years: list[int], start: int, end: Optional[int], size: int) -> list[Task]:
    """What `enqueue` adds: per year one end search (no `end`), else the range's blocks."""
    out: list[Task] = []
    for year in years:
        out += [Task("end", prefix, year, start)] if end is None else blocks(prefix, year, start, end, size)
    return out


def number_tasks(cases: list[str], size: int) -> list[Task]:
    """Case numbers (any prefix and year) in tasks of at most `size`, in order."""
    ordered = sorted(set(cases), key=casenumbers.order)
    return [Task("numbers", numbers=tuple(ordered[i:i + size])) for i in range(0, len(ordered), size)]
