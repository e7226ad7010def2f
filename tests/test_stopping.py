"""stop_crawl: one close per crawler, whoever asks, and a failed close is logged."""

import asyncio
import logging
from types import SimpleNamespace

from casescraper.stopping import stop_crawl, stop_reason


class Engine:
    def __init__(self, error=None):
        self.reasons, self.error = [], error

    async def close_spider_async(self, *, reason):
        self.reasons.append(reason)
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error


def crawler(engine=None):
    return SimpleNamespace(engine=engine if engine is not None else Engine())


def settle():
    """Run the loop until scheduled closes are done (a few turns; no wall clock)."""
    async def turns():
        for _ in range(10):
            await asyncio.sleep(0)
    return turns()


def test_only_the_first_stop_closes_and_its_reason_stays(caplog):
    one, other = crawler(), crawler()

    async def go():
        assert stop_reason(one) is None
        stop_crawl(one, "canary_failed")
        stop_crawl(one, "write_failures")  # e.g. a write failing while the crawl closes
        stop_crawl(one, "canary_failed")
        stop_crawl(other, "blocked")  # another crawler stops on its own
        await settle()
        stop_crawl(one, "portal_unreachable")  # after the close is done, still once
        await settle()
    with caplog.at_level(logging.DEBUG, logger="casescraper.stopping"):
        asyncio.run(go())
    assert one.engine.reasons == ["canary_failed"] and other.engine.reasons == ["blocked"]
    assert (stop_reason(one), stop_reason(other)) == ("canary_failed", "blocked")
    assert "stop (write_failures) asked while the crawl is already stopping (canary_failed)" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_error_while_closing_is_logged(caplog):
    broken = crawler(Engine(RuntimeError("Engine slot not assigned")))

    async def go():
        stop_crawl(broken, "output_unusable")
        await settle()
    with caplog.at_level(logging.INFO, logger="casescraper.stopping"):
        asyncio.run(go())
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "closing the spider (output_unusable) failed: Engine slot not assigned"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert stop_reason(broken) == "output_unusable"


def test_no_engine_is_logged_and_still_stops_planning(caplog):
    idle = SimpleNamespace(engine=None)
    with caplog.at_level(logging.INFO, logger="casescraper.stopping"):
        stop_crawl(idle, "blocked")
    assert "cannot stop the crawl (blocked): the crawler has no engine" in caplog.text
    assert stop_reason(idle) == "blocked"
