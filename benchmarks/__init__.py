"""casescraper's benchmark suite: the crawl against the browser floor and the habits it
replaces. Not tests: `python -m benchmarks.run --cases 300` (see README.md)."""
