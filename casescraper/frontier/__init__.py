"""What to ask next: a run's sequencing, without Scrapy, Twisted, Selenium or file I/O.

The face every frontier offers its adapter (the `cases` spider drives one; a frontier fed
by a shared queue would offer the same):

    frontier.next()         -> Ask(case, canary, year): ask the portal for `case`
                               Wait(seconds):  nothing now (None: settle the outstanding
                                               question first)
                               Done(reason):   nothing more: finished, portal_unreachable,
                                               canary_failed, or the reason given to stop()
    frontier.settle(case, status)   what the outstanding number got (found, no_results,
                                    parse_error, driver_error, blocked); FrontierError for
                                    any other number
    frontier.stop(reason)   the crawl is stopping: next() says Done(reason)
    frontier.notices()      side facts since the last call, oldest first (YearStarted,
                            Planned, YearSearched, NoFiles, Resuming, CanaryPassed,
                            CanaryFailed, Unreachable): the adapter turns them into
                            signals, stats and log lines

Modules: `casenumbers` (court file numbers), `planning` (Facts, Resume, EndFinder, Canary,
Plan), `steps` (the words above), `years` (YearRun: one year's work, or only its end
search, or only a range of it), `run` (Frontier: the year loop, the breaker, the canary's
verdict, the one outstanding question).
"""

from casescraper.frontier.run import Frontier
from casescraper.frontier.steps import (
    Ask, CanaryFailed, CanaryPassed, Done, NoFiles, Planned, Resuming, Unreachable, Wait,
    YearSearched, YearStarted,
)

__all__ = [
    "Ask", "CanaryFailed", "CanaryPassed", "Done", "Frontier", "NoFiles", "Planned", "Resuming",
    "Unreachable", "Wait", "YearSearched", "YearStarted",
]
