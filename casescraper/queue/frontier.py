"""QueueFrontier: what a worker asks next, from the tasks it leases from the job.

Another source of "what to ask next" for the `cases` spider (`-a queue=NAME`), with the
frontier's face: `next()` -> Ask(case, canary, year) | Wait(seconds) | Done(reason);
`settle(case, status)` when a number is answered; `recorded(case, status, lost)` when its
ledger line is written (the pipeline's case_recorded); `stop(reason)`; `notices()`.

Scrapy-free, and every call that reaches Redis (next, stop) is made off the reactor by the
caller. A leased task is kept alive by a timer thread (every third of the lease) and
acknowledged only once every number asked for it has its line in this worker's own ledger
(written and fsynced by the pipeline before case_recorded); a task left unfinished (the
crawl stops, a ledger line was lost) is given back, unacknowledged, to the next worker.
Numbers settled job-wide (found or no data, by any worker) are not asked again; each
outcome is made known job-wide before the next number is asked, so a worker killed with
`kill -9` leaves at most the number in flight to be asked twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterator, Optional

from casescraper.frontier import casenumbers
from casescraper.frontier.planning import EndFinder, Facts, Resume
from casescraper.frontier.steps import Ask, Done, Log, Notice, Step, Wait, YearSearched
from casescraper.queue.job import Job, QueueError
from casescraper.queue.tasks import Task, blocks

logger = logging.getLogger(__name__)

# A failed query says nothing about the number: the end search asks it again.
UNKNOWN = ("driver_error", "bad_answer", "blocked")


class QueueFrontier:
    blocking = True  # next() and release() reach Redis: the adapter calls them off the reactor

    def __init__(self, job: Job, worker: str, *, facts: Callable[[int, str], Facts], prefix: str,
                 block_size: int, lease_seconds: float, gap: int, highest: int = casenumbers.HIGHEST_N,
                 poll_seconds: Optional[float] = None):
        self.job, self.worker = job, worker
        self.facts, self.prefix, self.block_size = facts, prefix, block_size
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.gap, self.highest = gap, highest
        self.poll = poll_seconds if poll_seconds is not None else min(5.0, lease_seconds / 3)
        self.task: Optional[Task] = None
        self._todo: Iterator[str] = iter(())
        self._finder: Optional[EndFinder] = None
        self._asking: Optional[str] = None
        self._told: Optional[tuple[int, bool]] = None  # an answer for the end search
        self._resumes: dict[int, Resume] = {}
        self._lost = False  # the lease lapsed and another worker took the task
        self._incomplete = False  # a number of the task has no line in our ledger
        self._flushed_once = False  # Wait(0) was given for the task's last records
        self._unrecorded: set[str] = set()
        self._outbox: list[tuple[str, str]] = []
        self._notices: list[Notice] = []
        self._stopped: Optional[str] = None
        self._lock = threading.Lock()  # outbox, unrecorded, incomplete: also the reactor's
        self._task_lock = threading.Lock()  # the task's lease: this thread and the keep-alive
        self._wake = threading.Event()
        self._keeper = threading.Thread(target=self._keep_alive, name="casescraper-queue-lease", daemon=True)
        self._keeper.start()

    # --- the face
    def next(self) -> Step:
        self._flush()
        while True:
            if self._stopped is not None:
                return Done(self._stopped)
            if self.task is None:
                task = self.job.lease(self.worker, self.lease_ms)
                if task is None:
                    if self.job.outstanding().nothing_left:
                        return Done("finished")
                    return Wait(self.poll)
                self._begin(task)
            if self._lost:  # another worker holds it now and skips what we settled
                self._end_task()
                continue
            step = self._step()
            if step is not None:
                return step
            with self._lock:
                unrecorded = bool(self._unrecorded)
            if unrecorded and not self._lost and not self._flushed_once:
                self._flushed_once = True
                return Wait(0)
            self._end_task()

    def settle(self, case: str, status: str) -> None:
        """`case` was answered (or not: `status`); the end search learns from it."""
        if case != self._asking:
            return
        self._asking = None
        if self._finder is not None and status not in UNKNOWN:
            # Told in next(): the search's next step may read the job (Redis), off the reactor.
            self._told = (casenumbers.parse(case).n, status != "no_results")

    def recorded(self, case: str, status: str, lost: bool = False) -> None:
        """`case`'s ledger line is written (lost: it could not be). Any thread; no Redis."""
        with self._lock:
            self._unrecorded.discard(case)
            if lost:
                self._incomplete = True
            else:
                self._outbox.append((case, status))

    def stop(self, reason: str) -> None:
        """The crawl is stopping: next() says Done(reason). Any thread; no Redis (release()
        gives the task back)."""
        self._stopped = self._stopped or reason
        self._wake.set()

    def release(self, reason: str) -> None:
        """The crawl ends: outcomes made known, the task in hand given back (unacknowledged).
        Reaches Redis: off the reactor."""
        self.stop(reason)
        try:
            self._flush()
            with self._task_lock:
                task, self.task = self.task, None
                if task is not None and not self._lost:
                    self.job.give_back(self.worker, task)
                    logger.info("gave back %s (%s): the next worker takes it", task.describe(), reason)
        finally:
            self._keeper.join(timeout=5)

    def notices(self) -> list[Notice]:
        with self._lock:
            out, self._notices = self._notices, []
        return out

    # --- tasks
    def _resume(self, year: int) -> Resume:
        if year not in self._resumes:
            self._resumes[year] = Resume(self.facts(year, self.prefix))
        return self._resumes[year]

    def _begin(self, task: Task) -> None:
        with self._task_lock:
            self.task = task
            self._lost = self._incomplete = self._flushed_once = False
        self._asking, self._finder, self._told = None, None, None
        again = f" (delivered {task.deliveries} times: taken over)" if task.deliveries > 1 else ""
        self._notice(Log(f"worker {self.worker} took {task.describe()}{again}"))
        if task.kind == "end":
            resume = self._resume(task.year)

            def known(n: int) -> Optional[bool]:
                mine = resume.known(n)
                if mine is not None:
                    return mine
                case = casenumbers.format(task.prefix, n, task.year)
                return True if self.job.settled([case]).get(case) in ("saved", "changed", "unchanged") else None

            self._finder = EndFinder(task.start, self.gap, known, highest=self.highest)
            return
        cases = list(task.cases())
        elsewhere = self.job.settled(cases)
        todo, mine = [], []
        for case in cases:
            number = casenumbers.parse(case)
            own = self._resume(number.year) if number.prefix == self.prefix else None
            if case in elsewhere:
                continue
            if own is not None and own.done(number.n):
                mine.append((case, "saved" if number.n in own.found else "no_results"))
            else:
                todo.append(case)
        if mine:  # settled here before, not yet known job-wide (a kill between the two)
            self.job.settle(mine)
        if len(todo) < len(cases):
            self._notice(Log(f"{task.describe()}: {len(cases) - len(todo)} numbers already settled, "
                             f"asking {len(todo)}"))
        self._todo = iter(todo)

    def _step(self) -> Optional[Ask]:
        task = self.task
        assert task is not None
        if self._finder is not None:
            if self._told is not None:
                self._finder.tell(*self._told)
                self._told = None
            n = self._finder.ask()
            if n is None:
                self._end_found(task, self._finder)
                self._finder = None
                return None
            case = casenumbers.format(task.prefix, n, task.year)
        else:
            case = next(self._todo, None)
            if case is None:
                return None
        self._asking = case
        with self._lock:
            self._unrecorded.add(case)
        return Ask(case, False, casenumbers.parse(case).year)

    def _end_found(self, task: Task, finder: EndFinder) -> None:
        """The end search is over: the year's blocks go to the job, for every worker."""
        end = finder.last if finder.last is not None else task.start - 1
        last_file = casenumbers.format(task.prefix, end, task.year) if end >= task.start else None
        probes = [casenumbers.format(task.prefix, n, task.year) for n in finder.asked if n > end]
        self._notice(YearSearched(task.year, last_file, tuple(probes), finder.queries))
        self._flush()  # the numbers the search asked are settled before the blocks go out
        if last_file is None:
            return
        added = self.job.add(blocks(task.prefix, task.year, task.start, end, self.block_size))
        self.job.found_end(task.year, end)
        self._notice(Log(f"the last file of {task.year} is {last_file} ({finder.queries} queries); "
                         f"{added} blocks added to job {self.job.name}"))

    def _end_task(self) -> None:
        self._flush()
        with self._task_lock:
            task, self.task = self.task, None
            if task is None or self._lost:
                if task is not None:
                    self._notice(Log(f"{task.describe()}: lease lost to another worker"))
                return
            if self._incomplete or self._unrecorded:
                self.job.give_back(self.worker, task)
                self._notice(Log(f"{task.describe()}: given back (a ledger line is missing)"))
            else:
                self.job.ack(self.worker, task)
        with self._lock:
            self._unrecorded.clear()

    def _flush(self) -> None:
        with self._lock:
            out, self._outbox = self._outbox, []
        if out:
            try:
                self.job.settle(out)
            except QueueError:
                with self._lock:
                    self._outbox[:0] = out  # kept for the next try
                raise

    def _notice(self, notice: Notice) -> None:
        with self._lock:
            self._notices.append(notice)

    # --- the lease's keep-alive
    def _keep_alive(self) -> None:
        interval = self.lease_ms / 3000
        while not self._wake.wait(interval):
            try:
                with self._task_lock:
                    task = self.task
                    if task is not None and not self._lost and not self.job.touch(self.worker, task):
                        self._lost = True
                        logger.warning("the lease of %s lapsed and another worker took it",
                                       task.describe())
                self.job.seen(self.worker)
            except QueueError as exc:
                logger.warning("keeping the lease alive failed: %s", exc)
