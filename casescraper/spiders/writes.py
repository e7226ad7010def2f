"""The `cases` spider's write back-pressure: at most one case's record in the pipelines.

A found case is answered as soon as the capture says so; its record is read and written
while the next query runs. The next record waits until the one before it has left the
pipelines, and after a record that could not be written (item_dropped, item_error) each
query waits too: a failing disk holds every new query back.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from scrapy import signals

from casescraper.items import CaseItem

Writing = tuple[str, asyncio.Future]


class WriteGate:
    def __init__(self, crawler: Any):
        # The case whose record is in the pipelines, and a future done when it has left them.
        self.writing: Optional[Writing] = None
        self.failing = False  # the last record to leave the pipelines was not saved
        crawler.signals.connect(self._saved, signal=signals.item_scraped)
        for failed in (signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._not_saved, signal=failed)

    async def written(self) -> None:
        """Return once the record in the pipelines (if any) has left them."""
        if self.writing is not None:
            await asyncio.shield(self.writing[1])

    def enter(self, case: str) -> Writing:
        """`case`'s record goes into the pipelines (after written())."""
        self.writing = (case, asyncio.get_running_loop().create_future())
        return self.writing

    def release(self, writing: Writing, saved: bool) -> None:
        """The record left the pipelines (saved or already there), could not be written,
        or there is none (saved=True: not a write failure)."""
        self.failing = not saved
        if self.writing is writing:
            self.writing = None
        if not writing[1].done():
            writing[1].set_result(saved)

    def cancel(self) -> None:
        if self.writing is not None and not self.writing[1].done():
            self.writing[1].cancel()

    def _saved(self, item: Any, **_: Any) -> None:
        self._left(item, saved=True)

    def _not_saved(self, item: Any, **_: Any) -> None:
        self._left(item, saved=False)

    def _left(self, item: Any, saved: bool) -> None:
        writing = self.writing
        if isinstance(item, CaseItem) and writing is not None \
                and item.case_number.upper() == writing[0].upper():
            self.release(writing, saved)
