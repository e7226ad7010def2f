"""A case's change history: what differs between its latest file and a new record.

Pure functions, no Scrapy and no I/O. When a case is asked again, the pipeline compares
the new record with the case's latest file (the ledger names it): equal case data is an
`unchanged` ledger line and no new file; anything else is a new file and a `changed`
line whose `changes` say what changed (`changes()` below, plus `previous_file`).

Case data is what `storage.comparable` keeps (the record without scraped_at,
source_url, file_path and the origin of document urls), so "unchanged" here and "the
same file" in storage never disagree. Any two JSON objects can be compared: a v1 file
(no schema_version, parties of another shape) against a v2 record is simply changed,
with `schema_version` among its fields.
"""

from __future__ import annotations

from typing import Any, Optional

from casescraper.store.storage import comparable

ENTRY_LISTS = ("entries_added", "entries_removed", "entries_changed")
_ABSENT = object()  # a field one side lacks differs from every value, null included


def changes(old: dict[str, Any], new: dict[str, Any]) -> Optional[dict[str, list[str]]]:
    """None when the two records hold the same case data, else
    `{"entries_added": [ids], "entries_removed": [ids], "entries_changed": [ids],
    "fields": [names]}`: docket entry ids as strings, sorted numerically (others after,
    as text); `fields` the other top-level fields that differ, sorted."""
    a, b = comparable(old), comparable(new)
    if a == b:
        return None
    before, after = _by_id(a.get("docket_entries")), _by_id(b.get("docket_entries"))
    out = {
        "entries_added": _sorted(i for i in after if i not in before),
        "entries_removed": _sorted(i for i in before if i not in after),
        "entries_changed": _sorted(i for i in after if i in before and after[i] != before[i]),
        "fields": sorted(k for k in set(a) | set(b)
                         if k != "docket_entries" and a.get(k, _ABSENT) != b.get(k, _ABSENT)),
    }
    if not any(out.values()):
        # The entries differ, yet not by id: reordered, repeated ids, or not a list at all.
        out["fields"] = ["docket_entries"]
    return out


def _by_id(entries: Any) -> dict[str, Any]:
    """Entries by id (as text); an entry without a usable id is keyed by its position
    (`#3`). Repeated ids keep the first: the lists still differ, which changes() notes."""
    out: dict[str, Any] = {}
    if not isinstance(entries, list):
        return out
    for position, entry in enumerate(entries, start=1):
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        key = str(entry_id) if isinstance(entry_id, (int, str)) and not isinstance(entry_id, bool) \
            else f"#{position}"
        out.setdefault(key, entry)
    return out


def _id_key(entry_id: str) -> tuple:
    return (0, int(entry_id), "") if entry_id.isdigit() else (1, 0, entry_id)


def _sorted(ids: Any) -> list[str]:
    return sorted(ids, key=_id_key)


def describe(changed: dict[str, Any], limit: int = 10) -> str:
    """`changes` in words for a log or a table cell: `entries added 31, 32; fields office`.
    At most `limit` ids per kind (then `+N more`)."""
    parts = []
    for name in (*ENTRY_LISTS, "fields"):
        values = changed.get(name) or []
        if not isinstance(values, list) or not values:
            continue
        shown = ", ".join(str(v) for v in values[:limit])
        more = f" +{len(values) - limit} more" if len(values) > limit else ""
        parts.append(f"{name.replace('_', ' ')} {shown}{more}")
    return "; ".join(parts) or "no details"
