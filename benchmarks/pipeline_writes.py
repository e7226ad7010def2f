"""How many case files per second the storage layer publishes with fsync on.

Not a test. Usage: python benchmarks/pipeline_writes.py [COUNT] [DIR]
(benchmarks.run calls `measure` for its pipeline line.)
Each write is a full publish (temp, fsync, hard link, directory fsync) plus its ledger
line (flock, append, fsync), as the pipeline does for a saved case.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from casescraper.frontier import casenumbers  # noqa: E402
from casescraper.democourt import records  # noqa: E402
from casescraper.store.ledger import Ledger  # noqa: E402
from casescraper.store.storage import CaseStore  # noqa: E402


def case_records(count: int) -> list[dict]:
    """The demo court's first `count` files, as the pipeline receives them: the records a
    benchmark crawl writes (a mean of ~5 docket entries), not a made-up heavier one."""
    last = count + count // 10 + 10  # ~4 % of numbers have no file
    found = records(2025, last, seed=0)[:count]
    if len(found) < count:
        raise ValueError(f"the demo court has only {len(found)} files up to {casenumbers.format('IMM', last, 2025)}")
    return [dict(rec, source_url="http://127.0.0.1/en/court-files-and-decisions/court-files",
                 scraped_at="2025-03-01T10:20:30+00:00", file_path=None) for rec in found]


def measure(count: int = 200, directory: str | None = None) -> dict:
    """`count` saved cases (file publish + ledger line) -> writes/s and ms per write."""
    times = []
    with tempfile.TemporaryDirectory(dir=directory) as out:
        store, ledger = CaseStore(out), Ledger(out)
        store.probe()
        for rec in case_records(count):
            t0 = time.perf_counter()
            saved = store.write(rec)
            ledger.record(rec["case_number"], "saved", run_id="bench", year=2025,
                          file_path=saved.rel_path)
            times.append(time.perf_counter() - t0)
        ledger.close()
    elapsed = sum(times)
    times.sort()
    return {"writes": count, "seconds": round(elapsed, 3),
            "writes_per_s": round(count / elapsed, 1), "mean_ms": round(1000 * elapsed / count, 2),
            "median_ms": round(1000 * times[count // 2], 2)}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    result = measure(count, sys.argv[2] if len(sys.argv) > 2 else None)
    print(f"{count} writes in {result['seconds']:.2f} s: {result['writes_per_s']:.0f} "
          "writes/second (fsync on)")


if __name__ == "__main__":
    main()
