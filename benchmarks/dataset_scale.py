"""How long `python -m casescraper dataset` takes over many case files, and its peak memory.

Not a test. Usage:
    nice -n 10 python -m benchmarks.dataset_scale [--files 10000 100000] [--years 2019-2025]
        [--format parquet] [--dir PARENT] [--keep]

For each size, N case files are generated into a scratch output dir under PARENT (default:
the system temp dir), spread evenly over the years: the demo court's records (a mean of
~5.6 docket entries and ~2.4 parties, ~3 KB of JSON each, written as the pipeline writes
them), 5 % of the cases also with an older version that the export must pass over, and a
ledger per year (a `saved` line per case, `no_results` for the numbers without a file).
The export then runs in a fresh subprocess (so its peak RSS is its own), and the script
prints wall and CPU time, peak RSS (VmHWM), peak RSS right after the imports and the rows
written: peak RSS that stays flat from 10,000 to 100,000 files is the streaming working.
The files are read warm from the page cache (they were just written), as after a crawl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OLDER_EVERY = 20  # one case in 20 also has an older file (a re-scrape): 5 %
DAY, OLDER_DAY = "20251128", "20251101"


def generate(root: str, files: int, years: list[int]) -> dict:
    """Write `files` case files (latest and older versions together) and the ledgers."""
    from casescraper.frontier import casenumbers
    from casescraper.democourt import data

    per_year = [files // len(years) + (i < files % len(years)) for i in range(len(years))]
    cases = 0
    for year, count in zip(years, per_year):
        wanted = count * OLDER_EVERY // (OLDER_EVERY + 1)  # cases; the rest are older versions
        last = wanted + wanted // 10 + 20  # ~4 % of the demo court's numbers have no file
        records = data.records(year, last)[:wanted]
        directory = os.path.join(root, "json", str(year))
        os.makedirs(directory)
        os.makedirs(os.path.join(root, "ledger"), exist_ok=True)
        older = count - wanted  # spread evenly over the cases
        written, lines = 0, []
        for i, rec in enumerate(records):
            name = rec["case_number"]
            versions = [DAY] + ([OLDER_DAY] if i * older // wanted != (i + 1) * older // wanted else [])
            for day in versions:
                rel = f"json/{year}/{name}-{day}.json"
                full = dict(rec, source_url="http://127.0.0.1:8000/en/court-files-and-decisions/"
                            "court-files", scraped_at=f"{day[:4]}-{day[4:6]}-{day[6:]}T10:00:00+00:00",
                            file_path=rel)
                with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
                    f.write(json.dumps(full, ensure_ascii=False, indent=2) + "\n")
                written += 1
            lines.append({"case_number": name, "status": "saved",
                          "file_path": f"json/{year}/{name}-{DAY}.json",
                          "run_id": "bench", "site": "demo"})
        got = {casenumbers.parse(r["case_number"]).n for r in records}
        top = max(got, default=0)
        lines += [{"case_number": data.case_number(year, n), "status": "no_results", "run_id": "bench",
                   "site": "demo"} for n in range(1, top + 1) if n not in got]
        with open(os.path.join(root, "ledger", f"{year}.jsonl"), "w", encoding="ascii") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
        cases += len(records)
        if written != count:
            raise RuntimeError(f"{year}: generated {written} files, wanted {count}")
    return {"files": files, "cases": cases}


def peak_rss_mib() -> float:
    """This process's peak RSS. Linux's VmHWM belongs to the process image, whereas
    ru_maxrss carries over the parent's peak through fork and exec (the generator's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_here(output_dir: str, out: str, years: str, fmt: str) -> None:
    """In the subprocess: run the export and print one JSON line of measurements."""
    from casescraper.tools import dataset  # pyarrow and the rest: the fixed cost

    after_imports = peak_rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    status = dataset.main(["--years", years, "--output-dir", output_dir, "--out", out, "--format", fmt])
    print(json.dumps({
        "status": status, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
        "peak_rss_mib": peak_rss_mib(), "rss_after_imports_mib": after_imports}))


def measure(output_dir: str, out: str, years: str, fmt: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.dataset_scale", "--measure",
                           output_dir, out, years, fmt], capture_output=True, text=True, check=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["summary"] = proc.stdout.strip().splitlines()[0]
    result["out_mib"] = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out)) / 2**20
    return result


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.dataset_scale")
    ap.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--years", default="2019-2025")
    ap.add_argument("--format", default="parquet", choices=("parquet", "csv", "jsonl"))
    ap.add_argument("--dir", default=None, help="parent of the scratch dirs (default: temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--measure", nargs=4, metavar=("OUTPUT_DIR", "OUT", "YEARS", "FORMAT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure_here(*args.measure)
        return 0
    from casescraper.tools.dataset import parse_years
    import pyarrow

    years = parse_years(args.years)
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, pyarrow {pyarrow.__version__}, load "
          f"{os.getloadavg()[0]:.2f}; years {args.years}, format {args.format}")
    header = ("files", "cases", "years", "generate s", "export wall s", "CPU s", "files/s",
              "peak RSS MiB", "after imports MiB", "output MiB")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for files in args.files:
        scratch = tempfile.mkdtemp(prefix=f"dataset-scale-{files}-", dir=args.dir)
        try:
            t0 = time.perf_counter()
            made = generate(os.path.join(scratch, "output"), files, years)
            generated = time.perf_counter() - t0
            r = measure(os.path.join(scratch, "output"), os.path.join(scratch, "tables"),
                        args.years, args.format)
            if r["status"] != 0 or f"wrote {made['cases']} cases" not in r["summary"]:
                raise RuntimeError(f"unexpected export result: {r}")
            print(f"| {files:,} | {made['cases']:,} | {len(years)} | {generated:.1f} | "
                  f"{r['wall_s']:.1f} | "
                  f"{r['cpu_s']:.1f} | {files / r['wall_s']:,.0f} | {r['peak_rss_mib']:.0f} | "
                  f"{r['rss_after_imports_mib']:.0f} | {r['out_mib']:.1f} |", flush=True)
            print(f"  {r['summary']}", file=sys.stderr)
        finally:
            if args.keep:
                print(f"  kept {scratch}", file=sys.stderr)
            else:
                shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
