"""Scrapy settings for casescraper.

casescraper's own settings (CASESCRAPER_*) and their defaults are listed in config.py;
a config file (config.toml or $CASESCRAPER_CONFIG), the environment and `-s` override
them, in that order, through the ConfigAddon, which also validates every value.
"""

from casescraper import __version__
from casescraper.config import (
    DEFAULT_BROWSER_ARGUMENTS, default_browser_path, default_driver_path, default_settings,
)

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
    # After Progress: its summary line follows the final progress line.
    "casescraper.manifest.RunManifest": 600,
}
ITEM_PIPELINES = {
    "casescraper.pipelines.CaseFilesPipeline": 300,
}

# scrapy-selenium's settings, honoured by our middleware (a drop-in replacement).
SELENIUM_DRIVER_NAME = "chrome"
# The middleware falls back to the same defaults in a project that sets none (config.py).
SELENIUM_DRIVER_EXECUTABLE_PATH = default_driver_path()
SELENIUM_BROWSER_EXECUTABLE_PATH = default_browser_path()
SELENIUM_DRIVER_ARGUMENTS = list(DEFAULT_BROWSER_ARGUMENTS)
SELENIUM_COMMAND_EXECUTOR = ""

LOG_LEVEL = "INFO"
# Scrapy re-reads a callback's source on every response to warn about `return` in a
# generator; with bound methods its cache misses: 0.7 ms per case on the reactor.
WARN_ON_GENERATOR_RETURN_VALUE = False
FEED_EXPORT_ENCODING = "utf-8"
# The case record's feed fields and exporters are the `cases` spider's own
# (casescraper.exporters.CASE_FEED_SETTINGS, its custom_settings): any other spider of the
# project exports its items as Scrapy would.
# `scrapy check cases`: contracts run against a demo court started for the check.
SPIDER_CONTRACTS = {
    "casescraper.contracts.DemoCaseContract": 10,
    "casescraper.contracts.DemoRecordContract": 20,
}
