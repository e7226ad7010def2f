"""casescraper's own signals, sent through the crawler's SignalManager as Scrapy's are.

Items are case records only (they go to the pipelines and to `-o` feeds). What a number
yielded when it produced no record travels by `case_outcome`, so that feeds and
CLOSESPIDER_ITEMCOUNT see cases only, while the ledger still gets one line per number.

    crawler.signals.connect(handler, signal=casescraper.signals.case_outcome)
"""

# Sent by the spider for a number that produced no case record, and awaited: when
# `await signals.send_catch_log_async(...)` returns, the outcome is recorded.
# Arguments: case_number, status (one of items.OUTCOMES), error, diagnostics, spider.
# The CaseFilesPipeline records it: a ledger line, stats and the run manifest.
case_outcome = object()

# Sent by the CaseFilesPipeline once a number's outcome is counted (and its ledger line
# written, unless it could not be): case_number, status (one of items.STATUSES).
# The progress bar redraws on it.
case_recorded = object()
