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

from casescraper.ledger import Ledger  # noqa: E402
from casescraper.storage import CaseStore  # noqa: E402


def record(n: int) -> dict:
    return {
        "case_number": f"T-{n}-25", "court": "t", "style_of_cause": f"Party {n} v. Canada",
        "nature_of_proceeding": None, "case_type": None, "type_of_action": None,
        "filing_date": "2025-01-15", "office": "Ottawa", "language": "English",
        "parties": [{"name": f"Party {n}", "role": "Applicant", "representation": None}],
        "docket_entries": [{"id": i, "date_filed": "2025-01-15", "office": "Ottawa",
                            "summary": "Notice of application filed " * 4} for i in range(20)],
        "source_url": None, "scraped_at": "2025-03-01T10:20:30+00:00", "file_path": None,
    }


def measure(count: int = 200, directory: str | None = None) -> dict:
    """`count` saved cases (file publish + ledger line) -> writes/s and ms per write."""
    times = []
    with tempfile.TemporaryDirectory(dir=directory) as out:
        store, ledger = CaseStore(out), Ledger(out)
        store.probe()
        records = [record(n) for n in range(1, count + 1)]
        for rec in records:
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
