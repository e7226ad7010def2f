"""Options: every CASESCRAPER_* value of one crawl, typed, in one immutable object.

Built once per crawler (`Options.of(crawler)`) from config.SPECS when the settings are
final (`settings_final`): the spider's per-site defaults, the config file, the environment
and `-s` all applied and checked by the config add-on. It is kept on the crawler, so every
component (spider, middleware, pipeline, extensions, the crawl command) reads the same
values, and none reads raw settings strings. Scrapy's own settings (DOWNLOAD_DELAY,
FEEDS, ITEM_PIPELINES...) stay on `crawler.settings`.

An attribute is the setting's name without the prefix, in lower case:
CASESCRAPER_OUTPUT_DIR -> `options.output_dir`.

`Options.from_settings(settings)` builds one from any settings object, each value by
config.setting: the default when unset, else checked against its spec (ConfigError naming
the form). So it also works where the config add-on never ran: another Scrapy project
that enabled only our middleware, or a settings object before it is final.

Scrapy-free (like config): a crawler is only something with `.settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casescraper.config import SPECS, setting

PREFIX = "CASESCRAPER_"
_KEPT_AS = "_casescraper_options"  # the crawler attribute holding its Options


def attribute(name: str) -> str:
    """The Options attribute of a setting: CASESCRAPER_OUTPUT_DIR -> output_dir."""
    return name[len(PREFIX):].lower()


def settings_final(crawler: Any) -> bool:
    """Whether no CASESCRAPER_* value of the crawler can change any more: its settings are
    frozen, or its add-ons have run. Scrapy builds the crawler's stats right after the
    add-ons, and the extensions (Progress, RunManifest) after those, before it freezes
    the settings; it documents `_stats` as the attribute to read before the crawl."""
    return bool(crawler.settings.frozen) or getattr(crawler, "_stats", None) is not None


@dataclass(frozen=True)
class Options:
    # One field per config.SPECS entry, in its order and of its type (tests/test_options.py
    # checks both ways); the defaults, forms and checks live in SPECS only.
    # --- output and export
    output_dir: str
    per_case_subdir: str
    write_retries: int
    write_backoff_seconds: float
    max_consecutive_write_failures: int
    suffix_limit: int
    force_overwrite: bool
    dry_run: bool
    keep_raw: bool
    # --- the site
    site_url: str
    max_clock_skew: float
    rate_limit_pause: float
    max_rate_limits: int
    # --- the browser
    max_driver_restarts: int
    case_retries: int
    max_consecutive_failures: int
    page_load_timeout: float
    script_timeout: float
    command_timeout: float
    recycle_after: int
    recycle_memory_mb: int
    timezone: str
    command_executor: str
    diagnostics: bool
    # --- the year run
    boundary_gap: int
    canary_every: int
    rest_seconds: float
    rest_every: int
    run_id: str
    progress_interval: float
    # --- many hosts, one job
    queue_url: str
    worker_id: str
    queue_lease_seconds: float
    queue_block_size: int

    @classmethod
    def from_settings(cls, settings: Any) -> "Options":
        """Every SPECS value of `settings`, typed; ConfigError (one line) for a bad one."""
        return cls(**{attribute(name): setting(settings, name) for name in SPECS})

    @classmethod
    def of(cls, crawler: Any) -> "Options":
        """The crawler's Options: built on the first call, the same object afterwards.
        Only once the settings are final: before, a value may still change."""
        options = vars(crawler).get(_KEPT_AS)
        if options is None:
            if not settings_final(crawler):
                raise RuntimeError("Options.of(crawler) before the crawler's settings are final; "
                                   "use Options.from_settings(settings) there")
            options = cls.from_settings(crawler.settings)
            setattr(crawler, _KEPT_AS, options)
        return options
