"""A queue worker's requests (`-a queue=NAME`): what to ask comes from the job's tasks.

The Scrapy side of queue.frontier.QueueFrontier: each step it gives is asked as a number
of a year run is (spider.ask: one at a time, canaries, pacing by the download slot), its
answer told back; its Redis calls run in a thread, never on the reactor. The pipeline's
case_recorded tells it which numbers have their ledger line (a task is acknowledged only
then); at the close, the task in hand goes back to the job, unacknowledged, whatever the
reason (Scrapyd's cancel included), and the worker's close reason is its usual one. The
worker finishes when the job has nothing left and nothing pending.

redis-py (through casescraper.queue) is imported only here and only for a queue worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING, Any, AsyncIterator

import scrapy
from scrapy import signals

from casescraper import signals as our_signals
from casescraper.errors import ConfigError
from casescraper.frontier.planning import Canary
from casescraper.store.ledger import Ledger

if TYPE_CHECKING:
    from casescraper.spiders.cases import CasesSpider

logger = logging.getLogger(__name__)


def worker_id(configured: str) -> str:
    """CASESCRAPER_WORKER_ID, else this host's name and process id."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


def open_job(spider: "CasesSpider", options: Any) -> None:
    """Before any browser: the queue is reachable, the job exists; the job's prefix and
    court become the spider's. ConfigError / QueueError: one line."""
    if not options.queue_url:
        raise ConfigError(f"argument queue={spider.arguments.queue} needs the queue's URL: "
                          "-s CASESCRAPER_QUEUE_URL=redis://[:password@]host:port/db (or queue_url "
                          "in config.toml)")
    if options.dry_run:
        raise ConfigError("CASESCRAPER_DRY_RUN cannot be combined with -a queue: a worker's ledger "
                          "lines are what the job counts as done")
    try:
        from casescraper.queue.job import Job
    except ImportError:
        raise ConfigError("redis-py is not installed, which -a queue needs: pip install redis (or "
                          "pip install 'casescraper[queue]')") from None
    job = Job(options.queue_url, spider.arguments.queue)
    meta = job.check()
    spider.queue_job, spider.queue_meta = job, meta
    spider.prefix, spider.court = meta.get("prefix", "IMM"), meta.get("court", "t")
    spider.worker_id = worker_id(options.worker_id)


class QueueWorker:
    """The frontier of one crawl and the signal handlers that feed it (kept by the spider:
    Scrapy's signals hold their receivers weakly)."""

    def __init__(self, spider: "CasesSpider"):
        from casescraper.queue.frontier import QueueFrontier

        options = spider.options
        self.spider = spider
        self.frontier = QueueFrontier(
            spider.queue_job, spider.worker_id, facts=Ledger(options.output_dir).facts,
            prefix=spider.prefix, block_size=int(spider.queue_meta.get("block_size") or options.queue_block_size),
            lease_seconds=options.queue_lease_seconds, gap=options.boundary_gap)
        spider.crawler.signals.connect(self.recorded, signal=our_signals.case_recorded)
        spider.crawler.signals.connect(self.closed, signal=signals.spider_closed)

    def recorded(self, case_number: str, status: str, ledger_line_lost: bool = False, **_: Any) -> None:
        self.frontier.recorded(case_number, status, ledger_line_lost)

    async def closed(self, reason: str) -> None:
        from casescraper.queue.job import QueueError

        try:
            await asyncio.get_running_loop().run_in_executor(None, self.frontier.stop, reason)
        except QueueError as exc:
            # The lease lapses by itself: another worker takes the task after it.
            logger.error("casescraper: error: %s; the task in hand goes to another worker once "
                         "its lease lapses", exc)


async def queue_requests(spider: "CasesSpider") -> AsyncIterator[scrapy.Request]:
    """The requests of a queue worker, each yielded when the one before it is settled."""
    from casescraper.queue.frontier import Done, Wait
    from casescraper.queue.job import QueueError

    options = spider.options
    worker = spider.queue_worker = QueueWorker(spider)
    frontier = worker.frontier
    loop = asyncio.get_running_loop()
    canaries: dict[int, Canary] = {}
    spider.set_planned(None)
    while not spider.stopped():
        try:
            step = await loop.run_in_executor(None, frontier.next)
        except QueueError as exc:
            spider.logger.error("casescraper: error: %s; stopping (queue_unreachable): the task in "
                                "hand goes to another worker once its lease lapses", exc)
            spider._stop("queue_unreachable")
            return
        for notice in frontier.notices():
            if notice.kind == "year_searched":
                await spider.crawler.signals.send_catch_log_async(signal=our_signals.year_searched, **notice.data)
            else:
                spider.logger.info("%s", notice.data.get("message", ""))
        if isinstance(step, Done):
            spider.logger.info("job %s: nothing left and nothing pending", spider.arguments.queue)
            return
        if isinstance(step, Wait):
            await spider._written()  # the records in flight reach the ledger
            if step.seconds:
                await asyncio.sleep(step.seconds)  # another worker holds a task: it may lapse
            continue
        spider.year = step.year
        spider.use_demo_year(step.year)
        spider.canary = canaries.setdefault(step.year, Canary(options.canary_every, options.boundary_gap))
        async for request in spider.ask(step.case):
            yield request
        frontier.settle(step.case, spider.last.status)
