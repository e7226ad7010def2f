"""Where the `cases` spider's questions come from: the run's own Frontier (its arguments'
years or list), or with `-a queue=NAME` the job's tasks, shared with other workers.

For a queue worker this is the Scrapy side of queue.frontier.QueueFrontier, guarded by frontier.guard.Guard (the
breaker and the canary of any run): the spider drives it as it drives a year's Frontier,
calling next() off the reactor (it reaches Redis). The pipeline's case_recorded tells it
which numbers have their ledger line (a task is acknowledged only then); at the close the
task in hand goes back to the job, unacknowledged, whatever the reason (Scrapyd's cancel
included), and the worker's close reason is its usual one. The worker finishes when the
job has nothing left and nothing pending.

redis-py (through casescraper.queue) is imported only here, and only for a queue worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Optional

from scrapy import signals

from casescraper import signals as our_signals
from casescraper.errors import ConfigError, QueueError
from casescraper.frontier import steps
from casescraper.frontier.guard import Guard
from casescraper.store.ledger import Ledger

logger = logging.getLogger(__name__)


def worker_id(configured: str) -> str:
    """CASESCRAPER_WORKER_ID, else this host's name and process id."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class QueueJob:
    """The job a worker serves, checked before any browser: its queue, what its tasks
    ask (prefix, court, block size) and this worker's name in it."""

    name: str
    job: Any  # queue.job.Job
    meta: dict[str, Any]
    worker: str

    @property
    def prefix(self) -> str:
        return self.meta.get("prefix", "IMM")

    @property
    def court(self) -> str:
        return self.meta.get("court", "t")


def open_job(name: str, options: Any) -> QueueJob:
    """The queue is reachable and the job exists, or ConfigError / QueueError: one line."""
    if not options.queue_url:
        raise ConfigError(f"argument queue={name} needs the queue's URL: -s CASESCRAPER_QUEUE_URL="
                          "redis://[:password@]host:port/db (or queue_url in config.toml)")
    if options.dry_run:
        raise ConfigError("CASESCRAPER_DRY_RUN cannot be combined with -a queue: a worker's ledger "
                          "lines are what the job counts as done")
    try:
        from casescraper.queue.job import Job
    except ImportError:
        raise ConfigError("redis-py is not installed, which -a queue needs: pip install redis (or "
                          "pip install 'casescraper[queue]')") from None
    job = Job(options.queue_url, name)
    return QueueJob(name, job, job.check(), worker_id(options.worker_id))


class QueueWorker:
    """The guarded frontier of one crawl and the signal handlers that feed it (kept by the
    spider: Scrapy's signals hold their receivers weakly)."""

    def __init__(self, crawler: Any, queue: QueueJob, options: Any):
        from casescraper.queue.frontier import QueueFrontier

        self.queue = queue
        self.source = QueueFrontier(
            queue.job, queue.worker, facts=Ledger(options.output_dir).facts, prefix=queue.prefix,
            block_size=int(queue.meta.get("block_size") or options.queue_block_size),
            lease_seconds=options.queue_lease_seconds, gap=options.boundary_gap)
        self.frontier = Guard(self.source, max_consecutive_failures=options.max_consecutive_failures,
                              canary_every=options.canary_every, boundary_gap=options.boundary_gap)
        crawler.signals.connect(self.recorded, signal=our_signals.case_recorded)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    def recorded(self, case_number: str, status: str, ledger_line_lost: bool = False, **_: Any) -> None:
        self.source.recorded(case_number, status, ledger_line_lost)

    async def closed(self, reason: str) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.source.release, reason)
        except QueueError as exc:
            # The lease lapses by itself: another worker takes the task after it.
            logger.error("casescraper: error: %s; the task in hand goes to another worker once "
                         "its lease lapses", exc)


def frontier_for(crawler: Any, arguments: Any, options: Any,
                 queue: Optional[QueueJob]) -> tuple[Any, Optional[QueueWorker]]:
    """The crawl's frontier, and its queue worker when it has one (kept by the spider)."""
    if queue is not None:
        worker = QueueWorker(crawler, queue, options)
        return worker.frontier, worker
    facts = Ledger(options.output_dir).facts
    return arguments.frontier(options, facts=lambda year: facts(year, arguments.prefix)), None


async def next_step(frontier: Any, log: logging.Logger) -> steps.Step:
    """The frontier's next step; one that reaches a queue is asked off the reactor, and a
    queue that stops answering ends the run (queue_unreachable)."""
    if not getattr(frontier, "blocking", False):
        return frontier.next()
    try:
        return await asyncio.get_running_loop().run_in_executor(None, frontier.next)
    except QueueError as exc:
        log.error("casescraper: error: %s; stopping (queue_unreachable): the task in hand goes to "
                  "another worker once its lease lapses", exc)
        frontier.stop("queue_unreachable")
        return steps.Done("queue_unreachable")
