"""`python -m casescraper queue status|retry-failed --queue-url URL --job NAME`.

status: tasks waiting (never handed out: the group's lag), pending (handed out, not yet
acknowledged) with their worker and idle time, done; numbers settled (and failed) per
year, each year's end once found, the workers seen and when. `--json` prints the same as
one JSON object (at least `waiting`, `lag`, `pending`, `done`).
retry-failed: queue again the numbers whose latest outcome job-wide is a failure.

The queue's URL comes from --queue-url, else CASESCRAPER_QUEUE_URL (environment, config.toml);
its password is never printed. Every mistake is one `casescraper: error:` line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Optional

from casescraper.errors import CasescraperError, ConfigError


def queue_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--queue-url", help="redis://[:password@]host:port/db (default: "
                                        "CASESCRAPER_QUEUE_URL from the environment or config.toml)")
    ap.add_argument("--job", required=True, help="the job's name")


def configured_value(name: str) -> Any:
    from casescraper.config import configured  # pulls in Scrapy's Settings: only when needed

    return configured(name)


def open_job(args: argparse.Namespace) -> Any:
    """The job named by the arguments; ConfigError / QueueError for one line."""
    url = args.queue_url or configured_value("CASESCRAPER_QUEUE_URL")
    if not url:
        raise ConfigError("no queue URL: give --queue-url redis://[:password@]host:port/db (or set "
                          "CASESCRAPER_QUEUE_URL)")
    try:
        from casescraper.queue.job import Job
    except ImportError:
        raise ConfigError("redis-py is not installed: pip install redis (or pip install "
                          "'casescraper[queue]')") from None
    return Job(url, args.job)


def run(fn: Callable[[], int]) -> int:
    """fn() with our errors as one line and exit status 2."""
    try:
        return fn()
    except CasescraperError as exc:
        print(f"casescraper: error: {exc}", file=sys.stderr)
        return 2


def show_status(status: dict[str, Any]) -> str:
    meta = status["meta"]
    lines = [f"job {status['job']} at {status['queue']} ({meta.get('prefix', '?')}, court "
             f"{meta.get('court', '?')}, blocks of {meta.get('block_size', '?')})",
             f"tasks: {status['waiting']} waiting, {status['pending']} pending, {status['done']} done "
             f"({status['enqueued']} enqueued)"]
    for p in status["pending_tasks"]:
        lines.append(f"  pending {p['task']}: worker {p['worker']}, idle {p['idle_seconds']:g} s, "
                     f"handed out {p['deliveries']} time(s)")
    for year, count in status["settled"].items():
        failed = status["failed"].get(year, 0)
        lines.append(f"{year}: {count} numbers settled" + (f", {failed} failed" if failed else ""))
    for year, n in status["ends"].items():
        lines.append(f"{year}: last file number {n}")
    lines += [f"worker {w}: last seen {t}" for w, t in status["workers"].items()]
    if not status["waiting"] and not status["pending"]:
        lines.append("nothing left and nothing pending")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m casescraper queue",
                                 description="a job's state in its queue, or queue its failures again")
    sub = ap.add_subparsers(dest="action", required=True)
    status = sub.add_parser("status", help="tasks waiting, pending, done; numbers settled per year; workers")
    queue_options(status)
    status.add_argument("--json", action="store_true", help="one JSON object")
    retry = sub.add_parser("retry-failed", help="queue again the numbers whose latest outcome is a failure")
    queue_options(retry)
    args = ap.parse_args(argv)

    def act() -> int:
        job = open_job(args)
        job.check()
        if args.action == "status":
            state = job.status()
            print(json.dumps(state, indent=2) if args.json else show_status(state))
            return 0
        from casescraper.queue.tasks import number_tasks

        failed = job.failed()
        added = job.add(number_tasks(failed, int(job.check().get("block_size") or 50)))
        print(f"job {job.name}: {len(failed)} failed numbers, {added} task(s) added")
        return 0

    return run(act)
