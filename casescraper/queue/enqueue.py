"""`python -m casescraper enqueue --queue-url URL --job NAME --years 2019-2025 [--prefix IMM]
[--court t] [--start N] [--end N]`, or `--from-gaps DIR`.

A year without --end becomes one end-search task (the worker that takes it finds the
year's end, then adds the year's blocks); a known range becomes blocks of
CASESCRAPER_QUEUE_BLOCK_SIZE numbers. --years, --prefix, --court, --start and --end follow
the spider's own rules and messages. --from-gaps DIR queues the numbers no host settled in
a merged output dir (see `merge --gaps`). Running it again adds nothing twice.
"""

from __future__ import annotations

import argparse
from typing import Optional

from casescraper.errors import ConfigError
from casescraper.frontier import casenumbers
from casescraper.queue.cli import configured_value, open_job, queue_options, run


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m casescraper enqueue",
                                 description="add a job's tasks to its queue (nothing twice)")
    queue_options(ap)
    ap.add_argument("--years", help="2019-2025, 2019,2021 or 2025")
    ap.add_argument("--prefix", help="file number prefix (default IMM)")
    ap.add_argument("--court", help="t (Federal Court, the default), a (Appeal) or b (both)")
    ap.add_argument("--start", help="first number (default 1)")
    ap.add_argument("--end", help="last number (one year only); without it each year's end is searched")
    ap.add_argument("--from-gaps", metavar="DIR",
                    help="queue the numbers no host settled in this (merged) output dir")
    args = ap.parse_args(argv)

    def act() -> int:
        from casescraper.queue.tasks import number_tasks, year_tasks
        from casescraper.spiders.arguments import parse_arguments

        given = {k: v for k, v in (("years", args.years), ("prefix", args.prefix), ("court", args.court),
                                   ("start", args.start), ("end", args.end)) if v is not None}
        if args.from_gaps is None and "years" not in given:
            raise ConfigError("give --years (e.g. --years 2019-2025), or --from-gaps DIR")
        if args.from_gaps is not None and {"start", "end"} & set(given):
            raise ConfigError("--from-gaps queues the numbers missing in DIR: it takes no --start or --end")
        checked = parse_arguments({**given, "years": given.get("years", "2025")})
        size = int(configured_value("CASESCRAPER_QUEUE_BLOCK_SIZE"))
        job = open_job(args)
        meta = job.create(checked.prefix, checked.court, size)
        size = int(meta["block_size"])
        if args.from_gaps is not None:
            from casescraper.tools.merge import gaps

            years = set(checked.years) if "years" in given else None
            missing = [c for c in gaps(args.from_gaps, checked.prefix)
                       if years is None or casenumbers.year_of(c) in years]
            tasks = number_tasks(missing, size)
            what = f"{len(missing)} numbers no host settled"
        else:
            tasks = year_tasks(checked.prefix, checked.years, checked.start_n, checked.end_n, size)
            what = (f"{len(checked.years)} year(s), " +
                    ("each year's end searched first" if checked.end_n is None else
                     f"numbers {checked.start_n}..{checked.end_n} in blocks of {size}"))
        added = job.add(tasks)
        print(f"job {job.name}: {added} task(s) added, {len(tasks) - added} already there ({what})")
        return 0

    return run(act)
