"""casescraper's own signals, sent through the crawler's SignalManager as Scrapy's are.

Items are case records only (they go to the pipelines and to `-o` feeds). What a number
yielded when it produced no record travels by `case_outcome`, so that feeds and
CLOSESPIDER_ITEMCOUNT see cases only, while the ledger still gets one line per number.

    crawler.signals.connect(handler, signal=casescraper.signals.case_outcome)
"""

# Sent by the spider for a number that produced no case record, and awaited: when
# `await signals.send_catch_log_async(...)` returns, the outcome is recorded.
# Arguments: case_number, status (one of items.OUTCOMES), error, diagnostics, spider,
# answered_at (the portal's time of a "no data" answer: its Date header, ISO, or None).
# The CaseFilesPipeline records it: a ledger line and stats (then case_recorded).
case_outcome = object()

# Sent by the CaseFilesPipeline once a number's outcome is counted (and its ledger line
# written, unless it could not be): case_number, status (one of items.STATUSES), error
# (None, or why it failed), ledger_line_lost (True when its ledger line could not be
# written). The progress bar redraws on it; the run manifest (manifest.RunManifest)
# counts and lists the outcomes from it.
case_recorded = object()

# Facts the `cases` spider publishes for later stages (the run manifest, the progress
# bar), so that none of them reads the spider's attributes.
#
# Sent once, before the first request: arguments (dict, as given), years (list of int,
# ascending; [] for case/cases_file), requested_first (int), requested_last (int or None),
# site (ledger.Site: which site answers), queue (a queue worker's {"job", "worker"}, else None).
run_started = object()
# Sent when a year's end search is over: year, last_file (the year's last file, or None),
# probes_above_end (the numbers asked above it: probes, not cases of the year).
year_searched = object()
# Sent whenever the count of queries for numbers the run plans changes: planned (int, or
# None while a year's end is searched). It adds up across years; canaries are not counted.
plan_changed = object()
# Sent by the pipeline when a write was lost after its retries: case_number, what
# ("ledger line" or "evidence"). The run manifest lists those cases.
write_lost = object()
