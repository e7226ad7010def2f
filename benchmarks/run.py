"""The benchmark suite, one command:

    python -m benchmarks.run --cases 300 [--slow-cases 20] [--rounds 2] [--long] [--no-diagnose]
        [--no-peers] [--hosts N] [--real-page [DIR]]

Starts one demo court (zero latency, in this process) and runs, on IMM-1-25 .. IMM-N-25:
1. casescraper (`scrapy crawl cases` in a subprocess, delays off, real pipeline);
5./6. the peer a Scrapy user would pick, scrapy-playwright, tuned and idiomatic
   (benchmarks.peer_spiders), interleaved with run 1 over --rounds rounds, each peer's
   records checked against the court's dump;
2. a new browser per case;  3. a reload per case;  (sample of --slow-cases numbers)
4. the floor: one execute_async_script per case, with and without the parties dialog,
   and (4c) the same script called by one DevTools Runtime.evaluate, casescraper's transport;
then the pipeline's writes (fsync on), memory, the reactor's worst stall, (unless
--no-diagnose) where casescraper's time goes and (--hosts N) the many-hosts run. Prints
a table and writes JSON and Markdown to benchmarks/results/<timestamp>.{json,md}. See
benchmarks/README.md. --real-page: the court serves the real page's vendor assets
(benchmarks.realpage), so every run loads a page as heavy as the real one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import datetime, timezone
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from casescraper.frontier import casenumbers
from casescraper.democourt import DemoCourt, Knobs

from . import browsers, diagnose, peer, realpage
from .crawl import crawl
from .pipeline_writes import measure as measure_writes
from .report import markdown
from .stats import machine

RESULTS = Path(__file__).resolve().parent / "results"
YEAR = 2025
LONG_CASES = 5000


def numbers(n: int) -> list[str]:
    return [casenumbers.format("IMM", i, YEAR) for i in range(1, n + 1)]


def spread(cases: list[str], k: int) -> list[str]:
    """k numbers spread evenly over `cases` (found and missing ones in proportion)."""
    if k >= len(cases):
        return list(cases)
    step = len(cases) / k
    return [cases[int(i * step)] for i in range(k)]


QUIET = {"load": None, "max_wait": 900.0}  # set from --quiet-load
CHECKPOINT: dict[str, Any] = {}  # "path" and "result": the JSON is rewritten after every step


def wait_quiet() -> None:
    """On a shared machine: wait (up to 15 min) until the 1-minute load average is low."""
    limit, t0 = QUIET["load"], time.monotonic()
    while limit is not None and os.getloadavg()[0] > limit and time.monotonic() - t0 < QUIET["max_wait"]:
        time.sleep(5)


def step(label: str, fn, *args, **kwargs) -> Any:
    save()  # every step finished so far
    wait_quiet()
    print(f"[{datetime.now():%H:%M:%S}] {label} (load {os.getloadavg()[0]:.1f}) ...", flush=True)
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"    done in {time.perf_counter() - t0:.1f} s", flush=True)
    if isinstance(result, dict):
        result.setdefault("load_after", round(os.getloadavg()[0], 2))
    return result


def save() -> None:
    """Write the results so far (`complete: false` until the end): a failure or Ctrl-C
    late in a long run keeps what was measured before it."""
    if CHECKPOINT:
        CHECKPOINT["path"].write_text(json.dumps(CHECKPOINT["result"], indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                 description="casescraper benchmark suite (see benchmarks/README.md)")
    ap.add_argument("--cases", type=int, default=300, help="numbers for runs 1 and 4 (default 300)")
    ap.add_argument("--slow-cases", type=int, default=20, help="sample for runs 2 and 3 (default 20)")
    ap.add_argument("--writes", type=int, default=300, help="pipeline writes to time (default 300)")
    ap.add_argument("--long", action="store_true",
                    help=f"also crawl {LONG_CASES} cases with recycling off and on, and the floor, for memory")
    ap.add_argument("--no-diagnose", action="store_true", help="skip the where-does-time-go runs")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds of casescraper and the peers, interleaved (default 2)")
    ap.add_argument("--no-peers", action="store_true", help="skip the scrapy-playwright runs (5 and 6)")
    ap.add_argument("--smoke", action="store_true",
                    help="check that the suite runs, fast: one round everywhere, samples of 2, 20 writes, "
                    "two diagnosis crawls (the figures mean nothing)")
    ap.add_argument("--hosts", type=int, default=0, metavar="N",
                    help="also run the many-hosts job with N workers (benchmarks.hosts, when present)")
    ap.add_argument("--hosts-delay", type=float, default=0.5, metavar="S",
                    help="each worker's delay between queries in the many-hosts run (default 0.5 s)")
    ap.add_argument("--quiet-load", type=float, default=None, metavar="LOAD",
                    help="before each run, wait (up to 15 min) until the 1-min load average is below LOAD")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    ap.add_argument("--real-page", type=Path, nargs="?", const=realpage.DEFAULT_DIR, default=None,
                    metavar="DIR", help="serve the real page's vendor assets from DIR (default "
                    "benchmarks/.vendor, fetched with npm if missing): every run loads the heavy page")
    args = ap.parse_args(argv)
    if args.cases < 2 or args.slow_cases < 1 or args.rounds < 1 or args.hosts < 0 or args.hosts_delay < 0:
        ap.error("--cases must be >= 2, --slow-cases and --rounds >= 1, --hosts and --hosts-delay >= 0")
    if args.smoke:
        args.rounds, args.slow_cases, args.writes = 1, min(args.slow_cases, 2), min(args.writes, 20)
    vendor: list[dict[str, Any]] = []
    if args.real_page is not None:
        try:
            vendor = realpage.fetch(args.real_page)
        except realpage.FetchError as exc:
            print(f"benchmarks.run: {exc}", file=sys.stderr)
            return 2

    QUIET["load"] = args.quiet_load
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    last = max(args.cases, LONG_CASES if args.long else 0) + 50
    cases = numbers(args.cases)
    slow = spread(cases, args.slow_cases)
    memory_marks = (100, args.cases)
    result: dict[str, Any] = {
        "stamp": stamp, "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "cases": args.cases, "slow_cases": len(slow), "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()], "complete": False, "runs": {},
    }
    CHECKPOINT.update(path=args.out / f"{stamp}.json", result=result)
    runs = result["runs"]
    # The demo page's defaults now copy the real page's animations and background traffic
    # (Bootstrap fades cost ~0.7 s a case). The benchmark measures casescraper's own cost
    # against the floor on the page the recorded runs used: no fades, popup or beacons,
    # and the jQuery-UI-like parties dialog the floor script closes.
    calm = {"fade_ms": 0, "efiling_popup": False, "background_noise": False, "parties_ui": "jqueryui"}
    knobs = Knobs(vendor_dir=str(args.real_page), **calm) if vendor else Knobs(**calm)
    court = DemoCourt(year=YEAR, last_number=last, seed=0, knobs=knobs)
    url = court.start()
    try:
        result["page"] = {
            "kind": "real page weight" if vendor else "light demo page",
            **realpage.page_weight(url),  # files and bytes of one load with an empty cache
            "vendor_dir": str(args.real_page) if vendor else None,
            "vendor_files": len(vendor), "vendor_bytes": sum(e["bytes"] for e in vendor),
        }
        why_not = "--no-peers" if args.no_peers else peer.unavailable()
        if why_not:
            print(f"runs 5 and 6 (scrapy-playwright) skipped: {why_not}", flush=True)
        result["peers_skipped"] = why_not
        result["rounds"] = interleaved(court, cases, args.rounds, memory_marks, peers=not why_not)
        first = result["rounds"][0]
        runs["casescraper"] = first["casescraper"]
        for style in ("tuned", "idiomatic"):
            if style in first:
                runs[f"peer_{style}"] = first[style]
        floor_memory: dict[str, Any] = {}
        runs["floor"] = step("4. floor with parties", browsers.floor, url, cases, True,
                             memory_marks, floor_memory)
        runs["floor"]["memory"] = floor_memory
        runs["floor_no_parties"] = step("4b. floor without parties", browsers.floor, url, cases, False)
        runs["floor_devtools"] = step("4c. floor with parties over DevTools", browsers.floor, url,
                                      cases, True, devtools=True)
        runs["reload_per_case"] = step(f"3. reload per case, {len(slow)} cases",
                                       browsers.reload_per_case, url, slow)
        runs["new_browser_per_case"] = step(f"2. new browser per case, {len(slow)} cases",
                                            browsers.new_browser_per_case, url, slow)
        result["pipeline_writes"] = step(f"pipeline writes x{args.writes}", measure_writes, args.writes)
        if not args.no_diagnose:
            prof = args.out / f"{stamp}-crawl.prof"
            profiled = step("diagnose: crawl under cProfile", crawl, court, args.cases, "profiled",
                            profile=prof)
            diag = step("diagnose: page object alone, script variants", diagnose.page_object, url, cases)
            diag["profiled_crawl_per_case_ms"] = profiled["median_ms"]
            diag["reactor_top_functions"] = diagnose.top_functions(prof, profiled["completed"] or 1)
            diag["crawl_variants"] = crawl_variants(court, args.cases, args.smoke)
            diag["crawl_variants_skipped"] = diagnose.crawl_plan()[1]
            result["diagnosis"] = diag
        if args.hosts:
            result["hosts"] = step(f"many hosts: {args.hosts} workers, {args.cases} cases", many_hosts,
                                   args.hosts, args.cases, args.hosts_delay)
        if args.long:
            result["long"] = {}
            long_runs(court, url, result["long"])
    finally:
        court.stop()
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["complete"] = True
    save()
    text = markdown(result)
    (args.out / f"{stamp}.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"written: {args.out / (stamp + '.json')} and .md")
    return 0


def interleaved(court: DemoCourt, cases: list[str], rounds: int, memory_marks: tuple[int, ...],
                peers: bool) -> list[dict[str, Any]]:
    """Run 1 and the peers (5 tuned, 6 idiomatic) in turn, A B C A B C, so that a change of
    the machine's load shows as a change between rounds, not as a difference between runs.
    Memory marks are sampled in the first round only."""
    out = []
    for r in range(rounds):
        one = {"casescraper": step(f"round {r + 1}: 1. casescraper, {len(cases)} cases", crawl, court,
                                   len(cases), f"crawl-{r}", memory_marks=memory_marks if r == 0 else ())}
        for style in ("tuned", "idiomatic") if peers else ():
            one[style] = step(f"round {r + 1}: {peer.STYLES[style]}, {len(cases)} cases",
                              peer.peer, court, cases, style)
            if not one[style]["valid"]:
                print(f"    INVALID, not timed: {one[style]['wrong_count']} wrong records, e.g. "
                      f"{'; '.join(one[style]['wrong'][:2]) or one[style]['reason']}", flush=True)
        out.append(one)
    return out


def many_hosts(workers: int, cases: int, delay: float) -> dict[str, Any]:
    """The many-hosts job (benchmarks.hosts, from the Redis work queue) when it is there."""
    if find_spec("benchmarks.hosts") is None:
        print("    many hosts: not available (benchmarks/hosts.py is not in this checkout)", flush=True)
        return {"available": False}
    from .hosts import run_hosts  # lazy: it needs the queue's dependencies

    return {"available": True, "workers": workers, "delay_s": delay, **run_hosts(workers, cases, delay)}


def crawl_variants(court: DemoCourt, cases: int, smoke: bool = False) -> dict[str, Any]:
    """diagnose.CRAWL_VARIANTS, interleaved over CRAWL_ROUNDS; keeps each one's best round
    (by median) and every round's median. `smoke`: one round, of the first variant and those
    with a script edit (each code path once)."""
    out: dict[str, Any] = {}
    runnable, skipped = diagnose.crawl_plan()
    for name in skipped:
        print(f"    skipped: crawl variant {name!r}: its script edit no longer applies to page_scripts.py")
    if smoke:
        runnable = {k: v for i, (k, v) in enumerate(runnable.items()) if i == 0 or v[1]}
    for r in range(1 if smoke else diagnose.CRAWL_ROUNDS):
        for i, (name, (settings, patch)) in enumerate(runnable.items()):
            x = step(f"diagnose: crawl, {name}, round {r + 1}", crawl, court, cases, f"diag-{i}",
                     settings=settings, patch=patch)
            medians = out.get(name, {}).get("round_medians_ms", []) + [x["median_ms"]]
            if name not in out or x["median_ms"] < out[name]["median_ms"]:
                out[name] = x
            out[name]["round_medians_ms"] = medians
    return out


def long_runs(court: DemoCourt, url: str, out: dict[str, Any]) -> None:
    """Memory over LONG_CASES cases: casescraper with recycling off and on, and the floor."""
    marks = (100, *range(250, LONG_CASES + 1, 250))
    off = {"CASESCRAPER_RECYCLE_AFTER": 0, "CASESCRAPER_RECYCLE_MEMORY_MB": 0}
    on = {"CASESCRAPER_RECYCLE_AFTER": 1000, "CASESCRAPER_RECYCLE_MEMORY_MB": 1500}  # the defaults
    out.update(cases=LONG_CASES, recycling_on_settings=on)
    for name, settings in (("recycling_off", off), ("recycling_on", on)):
        out[name] = step(f"long: casescraper {LONG_CASES} cases, {name}", crawl, court, LONG_CASES,
                         f"long-{name[10:]}", settings=settings, memory_marks=marks, timeout=3 * 3600)
    floor_memory: dict[str, Any] = {}
    out["floor"] = step(f"long: floor {LONG_CASES} cases", browsers.floor, url, numbers(LONG_CASES), True,
                        marks, floor_memory)
    out["floor"]["memory"] = floor_memory


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    # Ctrl-C and `kill` both unwind through every `finally`: browsers quit, dirs removed.
    # (SIGINT is set explicitly: a shell starts background jobs with it ignored.)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: browsers quit and run dirs removed", file=sys.stderr)
        sys.exit(130)
