"""What a watcher of `changes` reads: each new, changed or removed docket entry with its
text, and an Atom feed (RFC 4287) of a watch list's changes for a feed reader or a mail
bridge.

The ledger's `changed` line names entry ids only; their date and summary come from the
case files it names (the new file for added and changed entries, the previous one for
removed ones). A file that is gone or unreadable leaves the ids without text, said so.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from typing import Any, Optional
from xml.etree import ElementTree as ET

from casescraper.errors import printable
from casescraper.record import history
from casescraper.store.fileops import replace_durably
from casescraper.store.ledger import Ledger
from casescraper.store.ledger_lines import line_time
from casescraper.store.storage import read_record
from casescraper.tools import finding

ATOM = "http://www.w3.org/2005/Atom"
# The entry kinds in the order a reader wants them, with the file their text is in.
KINDS = (("entries_added", "added", "file_path"), ("entries_changed", "changed", "file_path"),
         ("entries_removed", "removed", "previous_file"))


def add_entry_texts(ledger: Ledger, row: dict[str, Any]) -> None:
    """Give a change row `entries` ([{how, id, date_filed, summary}]: its docket entries
    as the case files hold them, date and summary None when the file or the entry is
    not there) and `source_url` (the new file's, None without one)."""
    records: dict[str, Optional[dict[str, Any]]] = {}

    def record(file_key: str) -> dict[str, Any]:
        if file_key not in records:
            path = ledger.file_of(row.get(file_key))  # None for an untrusted or absent path
            records[file_key] = read_record(path) if path else None
        return records[file_key] or {}

    entries = []
    for name, how, file_key in KINDS:
        ids = row.get(name) or []
        if not ids:
            continue
        by_id = {str(e.get("id")): e for e in record(file_key).get("docket_entries") or []
                 if isinstance(e, dict)}
        for entry_id in ids:
            entry = by_id.get(str(entry_id), {})
            entries.append({"how": how, "id": str(entry_id), "date_filed": entry.get("date_filed"),
                            "summary": entry.get("summary")})
    row["entries"] = entries
    url = record("file_path").get("source_url")
    row["source_url"] = url if isinstance(url, str) else None


def hint(output_dir: str, years: Optional[list[int]]) -> str:
    """Where changes may be, when the directory read has no ledger for `years`."""
    return finding.hint(output_dir, "ledger", "changes", years)


def entry_lines(row: dict[str, Any]) -> list[str]:
    """One line per docket entry of a change: `added #8 2025-03-02 Notice of appearance`."""
    lines = []
    for e in row.get("entries", []):
        text = printable(e["summary"], 300) if e["summary"] is not None else "(text not in the case file)"
        lines.append(f"{e['how']} #{printable(e['id'], 40)} {printable(e['date_filed'] or '-', 20)} {text}")
    if row.get("fields"):
        lines.append("fields changed: " + ", ".join(printable(f, 60) for f in row["fields"]))
    return lines


def _stamp(when: Optional[datetime]) -> str:
    return (when or datetime(1970, 1, 1, tzinfo=timezone.utc)).astimezone(timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _urn(*parts: Any) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "casescraper:" + "\x00".join(map(str, parts))).urn


def atom_feed(rows: list[dict[str, Any]], watch: str, output_dir: str,
              now: Optional[datetime] = None) -> bytes:
    """The Atom document of `rows` (newest first), for the watch list named `watch`.
    Ids are stable: the feed's from the output dir and the watch list, an entry's from
    its case and new file, so a reader shows each change once."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: Optional[str] = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", _urn("feed", os.path.abspath(output_dir), watch))
    sub(feed, "title", f"casescraper: changes of {watch}")
    times = [t for r in rows if (t := line_time(r.get("at")))]
    sub(feed, "updated", _stamp(max(times) if times else now or datetime.now(timezone.utc)))
    sub(sub(feed, "author"), "name", "casescraper")
    sub(feed, "generator", "casescraper changes")
    for row in rows:
        entry = sub(feed, "entry")
        case = printable(row["case_number"], 40)
        sub(entry, "id", _urn("change", row["case_number"], row.get("file_path"), row.get("at")))
        sub(entry, "title", f"{case}: {history.describe(row)}")
        sub(entry, "updated", _stamp(line_time(row.get("at"))))
        url = row.get("source_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            sub(entry, "link", href=url, rel="alternate")
        lines = entry_lines(row) + [f"file: {printable(row.get('file_path') or '-', 200)}",
                                    f"previous file: {printable(row.get('previous_file') or '-', 200)}"]
        sub(entry, "content", "\n".join(lines), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_atom(path: str, data: bytes) -> None:
    """Replace the feed file atomically: a reader never sees half a feed."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    stem = os.path.basename(path) or "feed.atom"
    replace_durably(directory, stem, data, os.path.abspath(path))
