"""One way to stop the crawl: `stop_crawl(crawler, reason)`.

The spider (portal_unreachable, canary_failed), the pipeline (output_unusable,
write_failures) and the Selenium middleware (blocked, layout_changed, browser_missing,
driver_restarts_exhausted, ...) all stop the crawl through it, so that:
- only the first call per crawler closes the spider, and its reason is the close reason
  (a later call, e.g. a write failure while the canary is closing the crawl, only logs at
  debug level);
- the close is scheduled, never awaited by the caller (a pipeline or callback awaiting the
  engine's close would wait for itself to finish);
- an error while closing is logged, never lost in an unobserved future;
- the pending close is kept referenced until done (asyncio keeps only weak references to
  tasks).

`stop_reason(crawler)` tells whether (and why) a stop was asked: the spider plans no
further numbers once it is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

from scrapy.utils.defer import deferred_from_coro

logger = logging.getLogger(__name__)

# The crawler carries its stop, so it lives exactly as long as the crawler (and a test's
# stand-in crawler needs nothing special).
_ATTRIBUTE = "_casescraper_stop"


@dataclass
class _Stop:
    reason: str
    closing: Any = None  # the Deferred closing the spider, kept referenced until done


def stop_reason(crawler: Any) -> Optional[str]:
    """The reason given to the first stop_crawl for this crawler, or None."""
    stop = getattr(crawler, _ATTRIBUTE, None)
    return stop.reason if stop is not None else None


def stop_crawl(crawler: Any, reason: str) -> None:
    """Close the crawl with `reason`, once per crawler; errors of closing are logged."""
    first = stop_reason(crawler)
    if first is not None:
        logger.debug("stop (%s) asked while the crawl is already stopping (%s)", reason, first)
        return
    stop = _Stop(reason)
    setattr(crawler, _ATTRIBUTE, stop)
    engine = crawler.engine
    if engine is None:
        logger.error("cannot stop the crawl (%s): the crawler has no engine", reason)
        return

    def failed(failure: Any) -> None:
        logger.error("closing the spider (%s) failed: %s", reason, failure.getErrorMessage(),
                     exc_info=(failure.type, failure.value, failure.getTracebackObject()))

    def done(result: Any) -> Any:
        stop.closing = None
        return result

    stop.closing = deferred_from_coro(engine.close_spider_async(reason=reason))
    stop.closing.addErrback(failed)
    stop.closing.addBoth(done)
