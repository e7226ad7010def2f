"""Spoiled answers: what a broken proxy or a failing portal may hand back (demo knobs
`spoil_rate` and `spoil`), so tests can show that no such answer settles a number.

Kinds (GUESSES at what can go wrong between the portal and the browser):
- `cut`: the body cut off part way (a dropped connection behind a proxy);
- `shape`: well-formed JSON of another shape (a proxy's or an upgraded portal's);
- `short`: the known shape, but fewer rows than its Count (rows dropped);
- `other`: the whole answer of another court number (a cache keyed wrongly); only for the
  search and the docket, whose rows name their number (FACT) - elsewhere it could not
  be told from a right answer, so it is not drawn there;
- `garble`: the known shape with rows of unknown fields (a garbled parties list);
- `mixed`: any of the above that fits the endpoint, drawn per answer.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

KINDS = ("cut", "shape", "short", "other", "garble", "mixed")
NAMED = ("proceedingQueriesAddInfo", "proceedingQueriesRE")  # rows carry COURT_NO


def body(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"Count": len(rows), "data": rows}, ensure_ascii=False).encode("utf-8")


def spoiled(endpoint: str, rows: list[dict[str, Any]], kind: str, rng: random.Random,
            others: Callable[[], list[dict[str, Any]]]) -> bytes:
    """The body of a spoiled answer of `endpoint` whose right rows are `rows`; `others()`
    gives another number's rows of the same endpoint."""
    if kind == "mixed":
        kinds = ["cut", "shape", "short", "garble"] + (["other"] if endpoint in NAMED else [])
        kind = rng.choice(kinds)
    if kind == "other" and endpoint in NAMED:
        return body(others() or [{"COURT_NO": "IMM-999999-99", "RE_NO": 1}])
    if kind == "short":
        return json.dumps({"Count": len(rows) + 1, "data": rows[:-1]}).encode("utf-8")
    if kind == "garble":
        return body([{"VALUE": i, "TEXT": "\ufffd" * 3} for i in range(max(1, len(rows)))])
    if kind == "shape":
        return json.dumps({"count": len(rows), "rows": rows}).encode("utf-8")
    whole = body(rows)  # cut, and "other" where it cannot be told
    return whole[: max(1, len(whole) // 2)]
