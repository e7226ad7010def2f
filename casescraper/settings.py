"""Scrapy settings for casescraper.

casescraper's own settings (CASESCRAPER_*) and their defaults are listed in config.py;
a config file (config.toml or $CASESCRAPER_CONFIG), the environment and `-s` override
them, in that order, through the ConfigAddon, which also validates every value.
"""

import shutil

from casescraper import __version__
from casescraper.config import default_settings

BOT_NAME = "casescraper"
SPIDER_MODULES = ["casescraper.spiders"]
NEWSPIDER_MODULE = "casescraper.spiders"
COMMANDS_MODULE = "casescraper.commands"

globals().update(default_settings())

ADDONS = {"casescraper.config.ConfigAddon": 0}

# One browser serves the crawl, one case at a time.
CONCURRENT_REQUESTS = 1
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# A response yields one item (and at most a follow-up request); Scrapy starts this many
# worker tasks per response: its default of 100 cost ~100 asyncio tasks per case.
CONCURRENT_ITEMS = 2

# Politeness against the real portal: 2.25-6.75 s between queries (4.5 s +-50%, Scrapy's
# DOWNLOAD_DELAY_JITTER default), as its original operators did. site=demo sets 0.
DOWNLOAD_DELAY = 4.5
DOWNLOAD_DELAY_JITTER = 0.5
ROBOTSTXT_OBEY = False  # the page is driven in a browser; no robots.txt fetch over HTTP
USER_AGENT = (
    f"casescraper/{__version__} (batch collection of public court file records; "
    "contact the operator of this crawl)"
)
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    "casescraper.middlewares.SeleniumMiddleware": 800,
}
EXTENSIONS = {
    "casescraper.extensions.Progress": 500,
}
ITEM_PIPELINES = {
    "casescraper.pipelines.CaseFilesPipeline": 300,
}

# scrapy-selenium's settings, honoured by our middleware (a drop-in replacement).
SELENIUM_DRIVER_NAME = "chrome"
SELENIUM_DRIVER_EXECUTABLE_PATH = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SELENIUM_BROWSER_EXECUTABLE_PATH = shutil.which("chromium") or "/usr/bin/chromium"
SELENIUM_DRIVER_ARGUMENTS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
]
SELENIUM_COMMAND_EXECUTOR = ""

LOG_LEVEL = "INFO"
# Scrapy re-reads a callback's source on every response to warn about `return` in a
# generator; with bound methods its cache misses: 0.7 ms per case on the reactor.
WARN_ON_GENERATOR_RETURN_VALUE = False
FEED_EXPORT_ENCODING = "utf-8"
# Feeds (`-o cases.jsonl`) hold the case record, schema v2 in its order, never the
# evidence (a page of HTML per case: it is kept in raw/, see casescraper.evidence).
# CaseOutcome rows keep their own fields (case_number, status, error, diagnostics): an
# exporter writes only the listed fields an item has.
FEED_EXPORT_FIELDS = [
    "schema_version", "case_number", "court", "style_of_cause", "nature_of_proceeding",
    "case_type", "type_of_action", "filing_date", "office", "language", "other_fields",
    "parties", "related", "docket_entries", "source_url", "scraped_at", "file_path",
    "status", "error", "diagnostics",
]
