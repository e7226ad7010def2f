"""Spiders that fail the way casescraper must survive, for `scrapy crawl` end to end
(run with -s SPIDER_MODULES=tests.spiders):

- `stuck` blocks a reactor thread for good (opening a FIFO nobody writes, as the temp
  sweep once did): SIGTERM must still end the crawl (the deadline in
  casescraper/commands/crawl.py). Argument: -a fifo=PATH.
- `broken` raises while planning its requests: close reason start_error, exit status 10.
"""

import scrapy
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread


def _open_for_good(path: str) -> None:
    with open(path, "rb"):  # blocks until a writer opens the FIFO: never
        pass


class StuckSpider(scrapy.Spider):
    name = "stuck"

    async def start(self):
        self.logger.info("blocking a thread on %s", self.fifo)
        await maybe_deferred_to_future(deferToThread(_open_for_good, self.fifo))
        yield scrapy.Request("data:,never")


class BrokenStartSpider(scrapy.Spider):
    name = "broken"

    async def start(self):
        raise RuntimeError("planning failed")
        yield  # an async generator, as Scrapy wants start() to be
