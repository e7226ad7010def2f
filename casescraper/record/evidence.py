"""Evidence: what the portal showed and answered for one case, kept beside its case file.

A case file `<out>/<subdir>/<YYYY>/<stem>.json` gets `<out>/raw/<YYYY>/<stem>.json.gz`
(same stem, `-N` suffix included): one gzip JSON object holding the captured HTML the
parser read and the portal's own answers (see Capture in page.py). A parser fix can then
rebuild the case files without asking the portal again (`reparse`).

Evidence files are published like case files (temp + fsync + `os.link` + directory
fsync, see `storage`) and never overwritten, except by force_overwrite, which replaces
the case file beside them too.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass
from typing import Any, Optional

from casescraper.errors import CasescraperError
from casescraper.store import safe_read
from casescraper.store.fileops import fsync_dir, makedirs_durable, publish_new, replace_durably
from casescraper.store.layout import EVIDENCE_SUFFIX, RAW, Layout

VERSION = 1
RAW_DIR = RAW  # kept for importers; the layout (store/layout.py) owns the name
SUFFIX = EVIDENCE_SUFFIX
# field -> accepted types; `timezone` (the browser's, which dated the page) is optional.
_FIELDS: dict[str, tuple[type, ...]] = {
    "case_number": (str,), "captured_at": (str,), "source_url": (str, type(None)),
    "court": (str,), "answers": (list,), "html": (str,),
}
_ANSWER_FIELDS: dict[str, tuple[type, ...]] = {
    "endpoint": (str,), "url": (str,), "status": (int,), "body": (str,),
}


class EvidenceError(CasescraperError):
    """An evidence file cannot be written or read back; the message says what is wrong."""


def build(*, case_number: str, captured_at: str, source_url: Optional[str], court: str,
          answers: list[dict[str, Any]], html: str, timezone: Optional[str] = None) -> dict[str, Any]:
    """The evidence of one capture, as the spider puts it in `CaseItem.evidence`."""
    evidence = {"case_number": case_number, "captured_at": captured_at, "source_url": source_url,
                "court": court, "answers": list(answers), "html": html}
    if timezone is not None:
        evidence["timezone"] = timezone
    return evidence


def encode(evidence: dict[str, Any]) -> bytes:
    """Gzip JSON, byte-identical for identical evidence (no gzip timestamp)."""
    try:
        # ASCII escapes round-trip any text, lone surrogates of a broken page included.
        text = json.dumps({"evidence_version": VERSION, **evidence}, ensure_ascii=True,
                          allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise EvidenceError(f"evidence of {evidence.get('case_number')!r} is not JSON: {exc}") from exc
    return gzip.compress(text.encode("ascii"), compresslevel=6, mtime=0)


def decode(data: bytes) -> dict[str, Any]:
    """The evidence held by an evidence file's bytes, read within safe_read's limits
    (decompressed size, depth, valid text); EvidenceError says what is wrong."""
    try:
        evidence = safe_read.loads(safe_read.gunzip(data), surrogates=True)
    except safe_read.Unreadable as exc:
        raise EvidenceError(str(exc)) from None
    return _checked(evidence)


def _checked(evidence: Any) -> dict[str, Any]:
    if not isinstance(evidence, dict):
        raise EvidenceError("not a JSON object")
    if evidence.get("evidence_version") != VERSION:
        raise EvidenceError(f"evidence_version {evidence.get('evidence_version')!r} is not "
                            f"{VERSION}; this casescraper cannot read it")
    _check(evidence, _FIELDS, "")
    for i, answer in enumerate(evidence["answers"]):
        if not isinstance(answer, dict):
            raise EvidenceError(f"answers[{i}] is not an object")
        _check(answer, _ANSWER_FIELDS, f"answers[{i}].")
    return evidence


def _check(obj: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str) -> None:
    for name, types in fields.items():
        if name not in obj:
            raise EvidenceError(f"{where}{name} is missing")
        if not isinstance(obj[name], types) or isinstance(obj[name], bool):
            raise EvidenceError(f"{where}{name} has the wrong type ({type(obj[name]).__name__})")


def read(path: str) -> dict[str, Any]:
    """The evidence in a file; a FIFO, device or link named like one is never opened."""
    try:
        return _checked(safe_read.read_gzip_json(path))
    except safe_read.Unreadable as exc:
        raise EvidenceError(str(exc)) from None


def rel_path(file_path: str) -> str:
    """The evidence path of a case file path, both relative to the output dir:
    `json/2025/IMM-1-25-20250301-1.json` -> `raw/2025/IMM-1-25-20250301-1.json.gz`."""
    return Layout.evidence_rel(file_path)


@dataclass(frozen=True)
class Kept:
    path: str  # absolute path of the evidence file
    rel_path: str  # relative to the output dir
    outcome: str  # "created", "existing" (a file of that name was kept) or "replaced"


class EvidenceStore:
    """Evidence files below `<output_dir>/raw/<YYYY>/`, named after their case files."""

    def __init__(self, output_dir: str):
        self.root = os.path.abspath(output_dir)

    def locate(self, case_path: str) -> tuple[str, str]:
        """(directory, file name) of the evidence beside the case file `case_path`."""
        layout = Layout(self.root)
        path = layout.evidence_path(layout.rel(case_path))
        root = os.path.realpath(self.root)
        directory = os.path.dirname(path)
        if os.path.commonpath([root, os.path.realpath(directory)]) != root:
            raise EvidenceError(f"evidence directory {directory} resolves outside {root}; "
                                "check for symlinks in the output directory")
        return directory, os.path.basename(path)

    def write(self, case_path: str, evidence: dict[str, Any], replace: bool = False) -> Kept:
        """Publish the evidence beside `case_path`; an existing file is kept unless `replace`."""
        data = encode(evidence)
        directory, name = self.locate(case_path)
        final = os.path.join(directory, name)
        makedirs_durable(directory)
        stem = name[: -len(SUFFIX)]
        if replace:
            existed = os.path.lexists(final)
            replace_durably(directory, stem, data, final)
            return self._kept(final, "replaced" if existed else "created")
        return self._kept(final, "created" if publish_new(directory, stem, data, final) else "existing")

    def link(self, source: str, case_path: str) -> Kept:
        """Give the case file `case_path` the evidence file `source` (a hard link, no copy)."""
        directory, name = self.locate(case_path)
        final = os.path.join(directory, name)
        makedirs_durable(directory)
        try:
            os.link(source, final)
        except FileExistsError:
            return self._kept(final, "existing")
        try:
            fsync_dir(directory)
        except OSError:
            os.unlink(final)  # not known to be durable: withdraw it, as publish_new does
            raise
        return self._kept(final, "created")

    def _kept(self, path: str, outcome: str) -> Kept:
        return Kept(path, os.path.relpath(path, self.root).replace(os.sep, "/"), outcome)
