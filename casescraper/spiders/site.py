"""Which site the `cases` spider asks, in Scrapy's terms: per-site settings before they
freeze, the ledger's site check once they are final, and the demo court of each year.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.conf import build_component_list

from casescraper.config import SPECS, valid_run_id
from casescraper.democourt import DemoCourt
from casescraper.frontier import casenumbers
from casescraper.options import Options
from casescraper.spiders.arguments import RunArguments
from casescraper.store import runlock
from casescraper.store.ledger import Ledger, Site


def apply_site(settings: Any, args: RunArguments) -> None:
    """Per-site defaults and spider-argument settings, before settings freeze."""
    # `job` is Scrapyd's job id (Scrapyd 1.5+ passes it only as `_job`, no longer as
    # SCRAPY_JOB): the run id.
    if valid_run_id(args.job):
        # At settings.py's priority: a config file, the environment and -s still win.
        settings.set("CASESCRAPER_RUN_ID", args.job, priority="project")
    if args.dry_run is not None:
        settings.set("CASESCRAPER_DRY_RUN", args.dry_run, priority="spider")
    if args.force_overwrite is not None:
        settings.set("CASESCRAPER_FORCE_OVERWRITE", args.force_overwrite, priority="spider")
    if args.site == "demo":
        # Same priority as settings.py: the config file, environment and -s still win.
        settings.set("DOWNLOAD_DELAY", 0, priority="project")
        settings.set("CASESCRAPER_REST_SECONDS", 0, priority="project")
        # Fictional files get a default dir of their own (output/demo), so they never
        # stand in for real ones. Only the default moves: an output dir given by -s,
        # the config file or the environment (applied later, at higher priorities) wins.
        if (settings.getpriority("CASESCRAPER_OUTPUT_DIR") or 0) <= SETTINGS_PRIORITIES["project"]:
            base = settings.get("CASESCRAPER_OUTPUT_DIR") or SPECS["CASESCRAPER_OUTPUT_DIR"].default
            settings.set("CASESCRAPER_OUTPUT_DIR", os.path.join(base, "demo"), priority="project")


def ledger_site(settings: Any, args: RunArguments) -> Site:
    """The site this crawl's ledger lines name, once settings are final; ConfigError
    (before any browser) when the output dir's ledger of the years asked holds another
    site's lines, OutputError when another crawl of those years runs there (the run lock,
    held until this process ends)."""
    options = Options.from_settings(settings)
    site = Site.of(args.site, options.site_url)
    if not build_component_list(settings.getwithbase("ITEM_PIPELINES")):
        return site  # `scrapy parse`, `scrapy check`: nothing is written, no site to refuse
    ledger = Ledger(options.output_dir)
    # A queue worker's years come from its tasks: every year its output dir holds.
    years = ({casenumbers.parse(c).year for c in args.explicit} if args.explicit is not None
             else set(args.years) or set(ledger.years()))
    ledger.refuse_other_site(years, site)
    if not options.dry_run:  # one crawl per year and output dir (store/runlock.py)
        runlock.take(options.output_dir, years, options.run_id, (args.shard_index, args.shard_count))
    return site


class Portal:
    """The URL a crawl asks: CASESCRAPER_SITE_URL, or with site=demo the demo court
    serving the year asked (it serves one year: a run of several starts one per year)."""

    def __init__(self, site: str, court_args: dict[str, Any], log: Any = logging.getLogger(__name__)):
        self.site = site
        self.court_args = court_args  # DemoCourt(**...), `year` the default year
        self.log = log
        self.url = ""  # set by open(), once settings are final
        self.demo: Optional[DemoCourt] = None  # the demo court running, if any

    def open(self, site_url: str, year: Optional[int]) -> None:
        self.url = self.demo_court(year).url if self.site == "demo" else site_url

    def year_started(self, year: int) -> None:
        if self.site == "demo":
            self.url = self.demo_court(year).url

    def demo_court(self, year: Optional[int] = None) -> DemoCourt:
        """The demo court serving `year` (None: the default year), started when needed
        (site=demo, and `scrapy check` whatever the site)."""
        year = year or self.court_args.get("year")
        if self.demo is not None and self.demo.year == year:
            return self.demo
        self.stop()
        self.demo = DemoCourt(**{**self.court_args, "year": year})
        self.demo.start()
        self.log.info("demo court serving %s at %s", self.demo.year, self.demo.url)
        return self.demo

    def stop(self) -> None:
        if self.demo is not None:
            self.demo.stop()
