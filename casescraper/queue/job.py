"""A job's keys in Redis, and every operation on them (redis-py is imported here only).

Keys of job NAME, all below `casescraper:{NAME}:` (one hash tag: one slot on a cluster):
- `tasks`: a stream of tasks (see tasks.py), read by the consumer group `workers`: a worker
  leases an entry with XREADGROUP, keeps it alive with XCLAIM ... JUSTID (which resets its
  idle time) while it works, and XACKs it once every number is in its own ledger. An entry
  idle for longer than the lease (its worker died or hung) is taken by another worker with
  XAUTOCLAIM; a worker that stops early gives its entry back by making it look lapsed
  (XCLAIM ... IDLE), so that the next worker takes it at once.
- `enqueued` (set): every task id ever added, so that enqueueing again adds nothing twice;
  `done` (set): the task ids acknowledged.
- `settled:<YYYY>` (hash): case number -> latest status, for numbers found or answered "no
  data" by any worker: no worker asks them again. `failed:<YYYY>` (set): numbers whose
  outcome was a failure and that no worker settled since (`queue retry-failed`).
- `workers` (hash): worker id -> when it was last seen (UTC, ISO 8601); `ends` (hash):
  year -> its last file's number, found by an end search; `meta` (hash): prefix, court,
  block_size of the job.

Every check-then-act on an entry (is it still mine? then touch, ack or give back) is one
Lua script, so that two workers never both act on one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit, urlunsplit

import redis

from casescraper.errors import QueueError, printable, shown
from casescraper.frontier import casenumbers
from casescraper.items import FAILED, FOUND
from casescraper.queue.tasks import Task

GROUP = "workers"
SETTLED = (*FOUND, "no_results")  # no worker asks such a number again
GIVEN_BACK_IDLE_MS = 10 ** 12  # a given-back entry looks lapsed to any lease setting

_ENQUEUE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  if ARGV[2] ~= '1' or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return 0 end
  redis.call('SREM', KEYS[2], ARGV[1])
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3))
return 1
"""
# KEYS: stream, done; ARGV: group, consumer, entry, action, task id.
_OWNED = """
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
if ARGV[4] == 'touch' then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
elseif ARGV[4] == 'ack' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('SADD', KEYS[2], ARGV[5])
else
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[6], 'JUSTID')
end
return 1
"""
# KEYS: settled:<year>, failed:<year>; ARGV: case, status, 'settled' or 'failed'.
_SETTLE = """
if ARGV[3] == 'settled' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SREM', KEYS[2], ARGV[1])
elseif redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('SADD', KEYS[2], ARGV[1])
end
return 1
"""


def redacted(url: str) -> str:
    """The URL with its password (if any) replaced by ***: what may be shown or written."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return printable(url, 120)
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return printable(urlunsplit(parts._replace(netloc=f"{user}:***@{host}")), 120)
    except ValueError:
        return "(an unreadable URL)"


def valid_job_name(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "._-") for c in name)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Outstanding:
    waiting: int  # entries never handed out (the group's lag)
    pending: int  # entries handed out and not acknowledged (leased, lapsed or given back)

    @property
    def nothing_left(self) -> bool:
        return self.waiting == 0 and self.pending == 0


class Job:
    """One job of the queue at `url` (redis://[:password@]host:port/db)."""

    def __init__(self, url: str, name: str):
        if not valid_job_name(name):
            raise QueueError(f"job name {shown(name, 80)} is invalid: use 1-64 letters, digits, "
                             "'.', '_' or '-'")
        self.url, self.name = url, name
        self.shown = redacted(url)
        try:
            self.r = redis.Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=10, socket_timeout=30,
                health_check_interval=30)
        except ValueError as exc:
            raise QueueError(f"queue URL {self.shown} is invalid ({exc}): use "
                             "redis://[:password@]host:port/db") from None
        self.base = f"casescraper:{{{name}}}:"
        self.stream = self.key("tasks")
        self._enqueue = self.r.register_script(_ENQUEUE)
        self._owned = self.r.register_script(_OWNED)
        self._settle = self.r.register_script(_SETTLE)

    def key(self, *parts: Any) -> str:
        return self.base + ":".join(str(p) for p in parts)

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """fn(...) with Redis's errors as one QueueError line (no URL password in it)."""
        try:
            return fn(*args, **kwargs)
        except redis.AuthenticationError:
            raise QueueError(f"the queue at {self.shown} refused the password: give it in the URL "
                             "(redis://:PASSWORD@host:port/db)") from None
        except redis.ConnectionError as exc:
            raise QueueError(f"cannot reach the queue at {self.shown} ({what}): "
                             f"{printable(str(exc), 160)}") from None
        except redis.RedisError as exc:
            raise QueueError(f"the queue at {self.shown} failed ({what}): "
                             f"{printable(str(exc), 160)}") from None

    # --- the job itself
    def check(self) -> dict[str, str]:
        """The job's meta; QueueError when the queue is unreachable or the job unknown."""
        meta = self.call("reading the job", self.r.hgetall, self.key("meta"))
        if not meta:
            raise QueueError(f"job {self.name} has no tasks at {self.shown}: run python -m "
                             f"casescraper enqueue --queue-url URL --job {self.name} --years ... first")
        return meta

    def create(self, prefix: str, court: str, block_size: int) -> dict[str, str]:
        """The job's meta, set on first use; QueueError when the job exists with others."""
        wanted = {"prefix": prefix, "court": court, "block_size": str(block_size)}

        def create() -> dict[str, str]:
            pipe = self.r.pipeline()
            for name, value in wanted.items():
                pipe.hsetnx(self.key("meta"), name, value)
            pipe.hsetnx(self.key("meta"), "created", _now())
            pipe.hgetall(self.key("meta"))
            meta = pipe.execute()[-1]
            try:
                self.r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            return meta

        meta = self.call("creating the job", create)
        for name, value in wanted.items():
            if meta.get(name) != value:
                raise QueueError(f"job {self.name} has {name} {printable(meta.get(name), 40)}, not "
                                 f"{printable(value, 40)}: give the job's own value, or a new --job name")
        return meta

    def add(self, tasks: Iterable[Task]) -> int:
        """Add the tasks not added before (a `numbers` task again once done); how many."""
        keys = [self.key("enqueued"), self.key("done"), self.stream]

        def add() -> int:
            added = 0
            for task in tasks:
                pairs = [x for kv in task.fields().items() for x in kv]
                added += int(self._enqueue(keys=keys, args=[task.id, int(task.kind == "numbers"), *pairs]))
            return added

        return self.call("adding tasks", add)

    # --- a worker's lease
    def lease(self, worker: str, lease_ms: int) -> Optional[Task]:
        """A lapsed (or given back) entry, else a new one; None when there is neither."""
        def lease() -> Optional[Task]:
            _, claimed, *_ = self.r.xautoclaim(self.stream, GROUP, worker, lease_ms, "0-0", count=1)
            claimed = [c for c in claimed if c and c[1]]
            if not claimed:
                answer = self.r.xreadgroup(GROUP, worker, {self.stream: ">"}, count=1)
                claimed = answer[0][1] if answer else []
            if not claimed:
                return None
            entry, fields = claimed[0]
            info = self.r.xpending_range(self.stream, GROUP, entry, entry, 1)
            return Task.from_fields(fields, entry, int(info[0]["times_delivered"]) if info else 1)

        task = self.call("leasing a task", lease)
        self.seen(worker)
        return task

    def _act(self, action: str, worker: str, task: Task) -> bool:
        return bool(self.call(f"{action} {task.describe()}", self._owned,
                              keys=[self.stream, self.key("done")],
                              args=[GROUP, worker, task.entry, action, task.id, GIVEN_BACK_IDLE_MS]))

    def touch(self, worker: str, task: Task) -> bool:
        """Keep the lease alive (its idle time starts again); False when it is no longer ours."""
        return self._act("touch", worker, task)

    def ack(self, worker: str, task: Task) -> bool:
        """The task is done; False when another worker holds it now (it will ack it)."""
        return self._act("ack", worker, task)

    def give_back(self, worker: str, task: Task) -> bool:
        """Hand the task to the next worker at once, unacknowledged."""
        return self._act("give_back", worker, task)

    def seen(self, worker: str) -> None:
        self.call("recording the worker", self.r.hset, self.key("workers"), worker, _now())

    # --- numbers, job-wide
    def settle(self, outcomes: list[tuple[str, str]]) -> None:
        """Record (case number, status) pairs job-wide, in one round trip."""
        if not outcomes:
            return

        def settle() -> None:
            pipe = self.r.pipeline(transaction=False)
            for case, status in outcomes:
                if status not in SETTLED and status not in FAILED:
                    continue  # dry_run: says nothing about the number
                year = casenumbers.parse(case).year
                pipe.sadd(self.key("years"), year)
                self._settle(keys=[self.key("settled", year), self.key("failed", year)],
                             args=[case, status, "settled" if status in SETTLED else "failed"], client=pipe)
            pipe.execute()

        self.call("recording outcomes", settle)

    def settled(self, cases: list[str]) -> dict[str, str]:
        """Case number -> status, for those of `cases` settled job-wide."""
        if not cases:
            return {}

        def settled() -> dict[str, str]:
            pipe = self.r.pipeline(transaction=False)
            for case in cases:
                pipe.hget(self.key("settled", casenumbers.parse(case).year), case)
            return {c: s for c, s in zip(cases, pipe.execute()) if s is not None}

        return self.call("reading settled numbers", settled)

    def found_end(self, year: int, last: int) -> None:
        self.call("recording a year's end", self.r.hset, self.key("ends"), year, last)

    def failed(self) -> list[str]:
        """Numbers whose outcome was a failure and that no worker settled since."""
        def failed() -> list[str]:
            out = []
            for year in sorted(self.r.smembers(self.key("years")), key=int):
                cases = sorted(self.r.smembers(self.key("failed", year)))
                settled = self.r.hmget(self.key("settled", year), cases) if cases else []
                out += [c for c, s in zip(cases, settled) if s is None]
            return out

        return self.call("reading failed numbers", failed)

    # --- status
    def outstanding(self) -> Outstanding:
        groups = self.call("reading the job's state", self.r.xinfo_groups, self.stream)
        group = next((g for g in groups if g["name"] == GROUP), None)
        if group is None:
            return Outstanding(0, 0)
        lag = group.get("lag")
        if lag is None:  # Redis cannot tell (entries deleted): count what follows the group
            lag = len(self.call("reading the job's state", self.r.xrange, self.stream,
                                f"({group['last-delivered-id']}", "+"))
        return Outstanding(int(lag), int(group["pending"]))

    def status(self, limit: int = 100) -> dict[str, Any]:
        """What `queue status` shows (see cli.py)."""
        out = self.outstanding()

        def read() -> dict[str, Any]:
            pending = self.r.xpending_range(self.stream, GROUP, "-", "+", limit)
            tasks = []
            for p in pending:
                entries = self.r.xrange(self.stream, p["message_id"], p["message_id"])
                task = entries[0][1].get("task", "?") if entries else "(deleted)"
                tasks.append({"task": task, "entry": p["message_id"], "worker": p["consumer"],
                              "idle_seconds": round(p["time_since_delivered"] / 1000, 1),
                              "deliveries": p["times_delivered"]})
            years = sorted(self.r.smembers(self.key("years")), key=int)
            return {
                "job": self.name, "queue": self.shown, "meta": self.r.hgetall(self.key("meta")),
                "waiting": out.waiting, "lag": out.waiting, "pending": out.pending,
                "pending_tasks": tasks, "done": self.r.scard(self.key("done")),
                "enqueued": self.r.scard(self.key("enqueued")),
                "settled": {y: self.r.hlen(self.key("settled", y)) for y in years},
                "failed": {y: self.r.scard(self.key("failed", y)) for y in years},
                "ends": {y: int(n) for y, n in sorted(self.r.hgetall(self.key("ends")).items())},
                "workers": dict(sorted(self.r.hgetall(self.key("workers")).items())),
            }

        return self.call("reading the job's state", read)
