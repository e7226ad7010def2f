"""A local replica of the Federal Court "Court Files" portal, for tests, benchmarks and demos.

    from casescraper.democourt import DemoCourt, Knobs
    with DemoCourt(year=2025, last_number=200, seed=0, knobs=Knobs(latency_ms=50)) as court:
        court.url            # http://127.0.0.1:<port>/en/court-files-and-decisions/court-files
        court.query_count    # searches received so far
        court.records()      # what a correct crawl must produce

Command line: `python -m casescraper.democourt serve|dump ...` (see __main__.py).
The default page is the closest known copy of the real one (knobs.py says what is a fact
and what a guess); the knobs switch fault injections and the variants of what is unknown.
Served on 127.0.0.1 only; the data is fictional and deterministic (data.py).
"""

from casescraper.democourt.data import record, records
from casescraper.democourt.knobs import Knobs
from casescraper.democourt.server import PAGE_PATH, DemoCourt

__all__ = ["DemoCourt", "Knobs", "PAGE_PATH", "record", "records"]
