"""What the Selenium middleware reads from the settings, in this project or in another.

In this project the config add-on (casescraper.config.ConfigAddon) has checked every
CASESCRAPER_* value before the middleware starts; the middleware reads them from the
crawler's Options (casescraper.options), as every component does. A Scrapy project of
someone else may enable only the middleware (`DOWNLOADER_MIDDLEWARES = {"casescraper.
middlewares.SeleniumMiddleware": 800}`): then every setting it reads has a sensible
default (Options applies config.SPECS' defaults and checks the values itself; Chromium at
/usr/bin/chromium or on PATH, chromedriver on PATH, the root-safe headless flags here),
and a run id is made up.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from casescraper.frontier import casenumbers
from casescraper.browser.driver import COURT_TIMEZONE, BrowserConfig
from casescraper.config import (
    DEFAULT_BROWSER_ARGUMENTS, ConfigAddon, default_browser_path, default_driver_path, new_run_id,
)
from casescraper.errors import BrowserError
from casescraper.options import Options
from casescraper.browser.session import SessionOptions

logger = logging.getLogger(__name__)

# The portal's court-files page (FACT, SITE.md); the demo court serves the same path.
COURT_FILES_PATH = "/en/court-files-and-decisions/court-files"


def hosted(settings: Any) -> bool:
    """Whether the config add-on runs in this crawl (this project, or a project that
    enabled it): then it has checked every value and names the run."""
    addons = settings.get("ADDONS") or {}
    return any(a is ConfigAddon or a == "casescraper.config.ConfigAddon" for a in addons)


def _arguments(s: Any) -> list[str]:
    arguments = list(s.getlist("SELENIUM_DRIVER_ARGUMENTS")) or list(DEFAULT_BROWSER_ARGUMENTS)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--no-sandbox" not in arguments:
        # Chromium refuses to start as root with its sandbox on.
        logger.info("running as root: adding --no-sandbox to SELENIUM_DRIVER_ARGUMENTS")
        arguments.append("--no-sandbox")
    return arguments


def browser_config(s: Any, options: Optional[Options] = None) -> BrowserConfig:
    """The browser the settings describe (scrapy-selenium's names and ours); checked.
    Ours come from `options` (None: built from `s`, as `doctor` does)."""
    if (s.get("SELENIUM_DRIVER_NAME") or "chrome").lower() not in ("chrome", "chromium"):
        raise BrowserError(
            f"SELENIUM_DRIVER_NAME={s.get('SELENIUM_DRIVER_NAME')!r} is not supported: use chrome"
        )
    o = options or Options.from_settings(s)
    config = BrowserConfig(
        driver_path=s.get("SELENIUM_DRIVER_EXECUTABLE_PATH")
        or os.environ.get("SELENIUM_DRIVER_EXECUTABLE_PATH") or default_driver_path(),
        browser_path=s.get("SELENIUM_BROWSER_EXECUTABLE_PATH")
        or os.environ.get("SELENIUM_BROWSER_EXECUTABLE_PATH") or default_browser_path(),
        arguments=_arguments(s),
        command_executor=o.command_executor or s.get("SELENIUM_COMMAND_EXECUTOR") or "",
        page_load_timeout=o.page_load_timeout,
        script_timeout=o.script_timeout,
        command_timeout=o.command_timeout,
        user_agent=s.get("USER_AGENT") or "",
        timezone=o.timezone or COURT_TIMEZONE,
    )
    config.check()
    return config


def case_timeout(config: BrowserConfig) -> float:
    """The page's own deadline comes first, so a slow page is "stuck" (reload) and only a
    page that cannot answer at all hits Selenium's timeout (dead session)."""
    return max(1.0, config.script_timeout * 0.8)


@dataclass
class MiddlewareSettings:
    """The browser session's options, and what the Scrapy front itself uses. Pacing
    (DOWNLOAD_DELAY, its jitter, DOWNLOAD_SLOTS, AutoThrottle) is not read here: it is
    Scrapy's own download slot's (pacing.py)."""
    session: SessionOptions
    rest_every: int
    rest_seconds: float
    site_url: str
    rate_limit_pause: float  # seconds after an HTTP 429 without Retry-After
    max_rate_limits: int  # 429s in a row (each after its pause) before the crawl stops

    @classmethod
    def of(cls, crawler: Any) -> "MiddlewareSettings":
        """From the crawler's own Options, the object every component shares."""
        return cls.read(crawler.settings, Options.of(crawler))

    @classmethod
    def read(cls, s: Any, options: Optional[Options] = None) -> "MiddlewareSettings":
        """ConfigError or BrowserMissing (one line) when a value is bad or the browser absent.
        Ours come from `options` (None: built from `s`)."""
        o = options or Options.from_settings(s)
        config = browser_config(s, o)
        return cls(
            session=SessionOptions(
                config=config,
                # Elsewhere no add-on names the run: a fresh name, so RunDir is never the root.
                run_id=o.run_id or new_run_id(os.environ),
                output_dir=Path(o.output_dir),
                case_timeout=case_timeout(config),
                max_restarts=o.max_driver_restarts,
                case_retries=o.case_retries,
                recycle_after=o.recycle_after,
                recycle_mb=o.recycle_memory_mb,
                diagnostics=o.diagnostics,
                max_clock_skew=o.max_clock_skew,
            ),
            rest_every=o.rest_every,
            rest_seconds=o.rest_seconds,
            site_url=o.site_url,
            rate_limit_pause=o.rate_limit_pause,
            max_rate_limits=o.max_rate_limits,
        )


def case_in_url(url: str, site_url: str, court: str = "t") -> Optional[dict[str, Any]]:
    """The middleware's meta for a plain request of the court-files page with a case number
    as its fragment (`.../court-files#IMM-12-25`, as `scrapy shell` and `scrapy parse` send
    it), else None."""
    base, _, fragment = url.partition("#")
    if not fragment:
        return None
    try:
        case = str(casenumbers.parse(fragment))
    except ValueError:
        return None
    if base != site_url.split("#", 1)[0] and urlsplit(base).path.rstrip("/") != COURT_FILES_PATH:
        return None
    return {"case": case, "court": court, "canary": False}
