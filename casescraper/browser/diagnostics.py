"""What a failed case leaves behind: a screenshot and the page's HTML under
`<output>/diagnostics/<run_id>/<case>-<n>.{png,html}`.

Pure file logic, no Scrapy, no Selenium. Names come from storage.safe_name (the case
files' rule), and each file is published like a case file (fileops.publish_new: temp,
fsync, hard link), so a reader never sees half a screenshot and two processes sharing a
run id never overwrite each other's: a taken name moves on to the next `n`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from casescraper.errors import UnsafeCaseNumber
from casescraper.store.fileops import makedirs_durable, publish_new
from casescraper.store.layout import DIAGNOSTICS, Layout
from casescraper.store.storage import safe_name

logger = logging.getLogger(__name__)

DIAGNOSTICS_DIR = DIAGNOSTICS  # kept for importers; the layout owns the name


class DiagnosticsWriter:
    def __init__(self, output_dir: Path, run_id: str):
        self.output_dir = Path(output_dir)
        self.folder = Path(Layout(str(output_dir)).diagnostics_dir(run_id))
        self.counts: dict[str, int] = {}

    def write(self, case: str, html: str, png: Optional[bytes] = None) -> str:
        """Publish the page's HTML (and screenshot); returns the path stem relative to
        the output dir (`diagnostics/<run_id>/IMM-1-25-1`), as the ledger records it."""
        try:
            safe = safe_name(case, what="case number")
        except UnsafeCaseNumber:
            safe = "case"  # a diagnostic is still worth keeping under a plain name
        makedirs_durable(str(self.folder))
        data = html.encode("utf-8", "backslashreplace")
        while True:
            n = self.counts[safe] = self.counts.get(safe, 0) + 1
            name = f"{safe}-{n}"
            # The HTML claims the name; the screenshot follows it.
            if publish_new(str(self.folder), name, data, str(self.folder / f"{name}.html")):
                break
        if png is not None and not publish_new(str(self.folder), name, png,
                                               str(self.folder / f"{name}.png")):
            logger.warning("diagnostics: %s.png already exists; the screenshot was not kept", name)
        return str((self.folder / name).relative_to(self.output_dir))
