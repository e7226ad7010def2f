"""Pacing of the browser's queries by Scrapy's own download slot.

A downloader middleware that answers a request itself (here the browser fetches) skips
the downloader, and with it the slot that spaces the requests to one host. So the
Selenium middleware takes the request's slot from the downloader (the one a plain
request to the portal's host gets) and waits as the downloader waits: the slot's
`download_delay()` after its `lastseen`, the previous query's start, then sets
`lastseen`. The delay is therefore DOWNLOAD_DELAY with DOWNLOAD_DELAY_JITTER (or the
deprecated RANDOMIZE_DOWNLOAD_DELAY), or the host's entry of DOWNLOAD_SLOTS (`delay`,
`jitter`), or AutoThrottle's: after each case the middleware sends `response_downloaded`
with the search's time as `download_latency`, which is what AutoThrottle adjusts the
slot's delay by (`autothrottle_dont_adjust_delay` in the meta still opts out).

The longer rest every CASESCRAPER_REST_EVERY queries is ours: Scrapy has none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from scrapy import signals

logger = logging.getLogger(__name__)


def downloader_slot(downloader: Any, request: Any) -> Any:
    """The downloader's slot for `request`, made as the downloader makes a new one
    (DOWNLOAD_SLOTS' delay and jitter for its key, else DOWNLOAD_DELAY or AutoThrottle's
    start delay, and DOWNLOAD_DELAY_JITTER). Scrapy has no public way to get or create a
    slot: `Downloader._get_slot` is the one private access of the project, kept here."""
    key, slot = downloader._get_slot(request)
    # As the downloader records it: AutoThrottle finds the slot by this key.
    request.meta[downloader.DOWNLOAD_SLOT] = key
    return slot


@dataclass
class Turn:
    request: Any
    slot: Any
    started: float  # when the query started (epoch seconds; the `query_started` meta)


class SlotPacer:
    def __init__(self, crawler: Any, rest_every: int, rest_seconds: float, *,
                 slot_for: Optional[Callable[[Any], Any]] = None,
                 clock: Callable[[], float] = time.monotonic,  # the downloader's clock
                 wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.crawler = crawler
        self.rest_every = rest_every
        self.rest_seconds = rest_seconds
        self.slot_for = slot_for or (lambda request: downloader_slot(crawler.engine.downloader, request))
        self.clock, self.wall, self.sleep = clock, wall, sleep
        self.queries = 0

    async def wait(self, request: Any) -> Turn:
        """Wait for the request's turn; `finish` it after the query, whatever happened.
        Callers take turns one at a time (the middleware's lock: one browser)."""
        slot = self.slot_for(request)
        slot.active.add(request)  # as in the downloader: a slot in use is never collected
        delay = slot.download_delay()
        if delay:
            wait = slot.lastseen + delay - self.clock()
            if wait > 0:
                await self.sleep(wait)
        if self.rest_every and self.rest_seconds and self.queries and self.queries % self.rest_every == 0:
            logger.info("resting %.0f s after %d queries", self.rest_seconds, self.queries)
            self.crawler.stats.inc_value("casescraper/politeness/rests")
            await self.sleep(self.rest_seconds)
        slot.lastseen = self.clock()
        self.queries += 1
        return Turn(request, slot, self.wall())

    def finish(self, turn: Turn, response: Any = None, latency: Optional[float] = None) -> None:
        """The query is over; with its response, tell AutoThrottle (and any listener of
        response_downloaded) how long it took."""
        turn.slot.active.discard(turn.request)
        if response is not None and latency is not None:
            turn.request.meta["download_latency"] = latency
            self.crawler.signals.send_catch_log(
                signal=signals.response_downloaded, response=response, request=turn.request,
                spider=self.crawler.spider)
