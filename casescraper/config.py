"""Every casescraper setting, its type, default and config-file key, in one table.

`settings.py` takes the defaults from here; the config add-on (below) loads
`config.toml`, the environment and validates the final values, so that a bad value
stops the crawl at startup with one line naming the source, the key and the form.

Precedence, lowest first: defaults (settings.py, priority "project"), per-site defaults
set by the spider, config file, environment, `-s` on the command line / Scrapyd `setting=`.
A `CASESCRAPER_*` name that is not in SPECS, from any of them, stops the crawl: a typo
must not run a crawl with the default it meant to change.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import secrets
import shutil
import sys
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional


from casescraper.errors import ECHO_LIMIT, ConfigError, printable
from casescraper.errors import shown as echo

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the backport of the same module (requirements.txt installs it there)
    import tomli as tomllib

REAL_SITE_URL = "https://www.fct-cf.ca/en/court-files-and-decisions/court-files"


@dataclass(frozen=True)
class Spec:
    type: type  # str, int, float, bool
    default: Any
    key: str  # key in the config file's [app] table
    check: Optional[Callable[[Any], bool]] = None
    form: str = ""  # the accepted form, for error messages


# A run id names files (runs/<id>.json, the run dir): letters, digits, '.', '_', '-'. At
# most 40: the run dir is Chromium's TMPDIR, and its socket path must fit 107 bytes.
RUN_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,40}")


def valid_run_id(text: str) -> bool:
    """Whether `text` may be a run id (CASESCRAPER_RUN_ID, Scrapyd's job id)."""
    return RUN_ID_RE.fullmatch(text) is not None


def _within(low: float, high: float) -> Callable[[Any], bool]:
    """A check: low <= v <= high. Every number has bounds: an absurd value (a timeout of
    1e308 s, a million retries) is a mistake to stop at, not a value to run with."""
    return lambda v: low <= v <= high


def _number(kind: type, default: Any, key: str, low: float, high: float, unit: str = "",
             off: str = "") -> Spec:
    """A numeric Spec between low and high; its form says so (`off`: what 0 means)."""
    what = "an integer" if kind is int else f"a number of {unit or 'seconds'}"
    return Spec(kind, default, key, _within(low, high),
                f"{what} from {_plain(low)} to {_plain(high)}" + (f" ({off})" if off else ""))


def _plain(number: float) -> str:
    """A bound as a person writes it: 31536000, 0.01 (never 3.1536e+07)."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _time_zone(v: Any) -> bool:
    """An IANA time zone name zoneinfo knows (no paths, no empty name)."""
    if not v or v.startswith(("/", ".")) or ".." in v:
        return False
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _worker_id(v: str) -> bool:
    return len(v) <= 100 and v.isprintable() and not any(c.isspace() for c in v)


DAY = 86400.0
SPECS: dict[str, Spec] = {
    # --- output and export
    "CASESCRAPER_OUTPUT_DIR": Spec(
        str, "output", "output_dir", lambda v: bool(v) and "\0" not in v, "a directory path"),
    "CASESCRAPER_PER_CASE_SUBDIR": Spec(
        str, "json", "per_case_subdir",
        lambda v: bool(v) and not set(v) & set("/\\\0") and v not in (".", ".."),
        "a plain directory name",
    ),
    "CASESCRAPER_WRITE_RETRIES": _number(int, 3, "export_write_retries", 1, 100),
    "CASESCRAPER_WRITE_BACKOFF_SECONDS": _number(float, 1.0, "export_write_backoff_seconds", 0, 600),
    "CASESCRAPER_MAX_CONSECUTIVE_WRITE_FAILURES": _number(int, 5, "max_consecutive_write_failures", 1, 10_000),
    "CASESCRAPER_SUFFIX_LIMIT": _number(int, 100, "suffix_limit", 1, 10_000),
    "CASESCRAPER_FORCE_OVERWRITE": Spec(bool, False, "force_overwrite", None, "true or false"),
    "CASESCRAPER_DRY_RUN": Spec(bool, False, "dry_run", None, "true or false"),
    "CASESCRAPER_KEEP_RAW": Spec(bool, True, "keep_raw", None, "true or false"),
    # --- the site
    "CASESCRAPER_SITE_URL": Spec(
        str, REAL_SITE_URL, "site_url",
        lambda v: v.startswith(("http://", "https://")), "an http(s) URL of the court-files page"),
    "CASESCRAPER_MAX_CLOCK_SKEW": _number(float, 300.0, "max_clock_skew", 0, 365 * DAY,
                                          off="0 accepts any clock"),
    "CASESCRAPER_RATE_LIMIT_PAUSE": _number(float, 60.0, "rate_limit_pause", 1, 3600),
    "CASESCRAPER_MAX_RATE_LIMITS": _number(int, 5, "max_rate_limits", 0, 100),
    # --- the browser
    "CASESCRAPER_MAX_DRIVER_RESTARTS": _number(int, 1, "max_driver_restarts", 0, 100),
    "CASESCRAPER_CASE_RETRIES": _number(int, 2, "case_retries", 0, 100),
    "CASESCRAPER_MAX_CONSECUTIVE_FAILURES": _number(int, 10, "max_consecutive_failures", 1, 10_000),
    "CASESCRAPER_PAGE_LOAD_TIMEOUT": _number(float, 30.0, "page_load_timeout", 1, 3600),
    "CASESCRAPER_SCRIPT_TIMEOUT": _number(float, 30.0, "script_timeout", 1, 3600),
    "CASESCRAPER_COMMAND_TIMEOUT": _number(float, 60.0, "command_timeout", 1, 3600),
    "CASESCRAPER_RECYCLE_AFTER": _number(int, 1000, "recycle_after", 0, 10_000_000, off="0 turns it off"),
    "CASESCRAPER_RECYCLE_MEMORY_MB": _number(int, 1500, "recycle_memory_mb", 0, 1_048_576,
                                             off="0 turns it off"),
    "CASESCRAPER_TIMEZONE": Spec(
        str, "America/Toronto", "timezone", _time_zone,
        "an IANA time zone name such as America/Toronto (the court's; the browser runs in it)"),
    "CASESCRAPER_COMMAND_EXECUTOR": Spec(
        str, "", "command_executor", None, "a WebDriver URL such as http://127.0.0.1:4444, or empty"),
    "CASESCRAPER_DIAGNOSTICS": Spec(bool, True, "diagnostics", None, "true or false"),
    # --- the year run
    "CASESCRAPER_BOUNDARY_GAP": _number(int, 20, "boundary_gap", 1, 1000),
    "CASESCRAPER_CANARY_EVERY": _number(int, 100, "canary_every", 0, 1_000_000,
                                        off="0: only after a run of no data"),
    "CASESCRAPER_REST_SECONDS": _number(float, 60.0, "rest_seconds", 0, 3600, off="0 turns it off"),
    "CASESCRAPER_REST_EVERY": _number(int, 100, "rest_every", 0, 1_000_000, off="0 turns it off"),
    "CASESCRAPER_RUN_ID": Spec(
        str, "", "run_id", lambda v: v == "" or valid_run_id(v),
        "at most 40 letters, digits, '.', '_' or '-' (empty: Scrapyd's job id or a timestamp)"),
    "CASESCRAPER_PROGRESS_INTERVAL": _number(float, 60.0, "progress_interval", 0, DAY, off="0 turns it off"),
    # --- many hosts, one job (-a queue=NAME)
    # Not checked here: an error line would echo the password; the queue checks the URL and
    # names it with the password hidden (queue.job.redacted).
    "CASESCRAPER_QUEUE_URL": Spec(
        str, "", "queue_url", None, "a Redis URL, redis://[:password@]host:port/db, or empty"),
    "CASESCRAPER_WORKER_ID": Spec(
        str, "", "worker_id", lambda v: v == "" or _worker_id(v),
        "at most 100 printable characters without spaces (empty: host name and process id)"),
    "CASESCRAPER_QUEUE_LEASE_SECONDS": _number(float, 120.0, "queue_lease_seconds", 1, DAY),
    "CASESCRAPER_QUEUE_BLOCK_SIZE": _number(int, 50, "queue_block_size", 1, 100000),
}
# Scrapy's own settings that matter here, with their bounds (checked at start-up, as ours).
# The crawl sends one query at a time (each waits for the previous answer): more
# concurrency buys nothing, and a delay is what keeps the portal's WAF calm.
SCRAPY_BOUNDS: dict[str, tuple[float, float]] = {
    "DOWNLOAD_DELAY": (0, 3600), "DOWNLOAD_DELAY_JITTER": (0, 1),
    "CONCURRENT_REQUESTS": (1, 16), "CONCURRENT_REQUESTS_PER_DOMAIN": (1, 16),
    "AUTOTHROTTLE_START_DELAY": (0, 3600), "AUTOTHROTTLE_MAX_DELAY": (0, 3600),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": (0.01, 16),
}


def scrapy_bounds_problem(settings: Any) -> Optional[str]:
    """The first of SCRAPY_BOUNDS out of bounds, as one line, or None."""
    for name, (low, high) in SCRAPY_BOUNDS.items():
        raw = settings.get(name)
        if raw is None:
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and low <= number <= high):
            return f"{name} = {_show(raw)}: expected a number from {_plain(low)} to {_plain(high)}"
    return None


def default_settings() -> dict[str, Any]:
    return {name: spec.default for name, spec in SPECS.items()}


def setting(settings: Any, name: str) -> Any:
    """A CASESCRAPER_* value for a component: as the config add-on checked it in this
    project; where the add-on does not run (another project using our middleware) the
    default when unset, else the value checked here (ConfigError naming the form)."""
    spec = SPECS[name]
    value = settings.get(name)
    if value is None:
        return spec.default
    try:
        return coerce(spec, value)
    except ValueError:
        raise ConfigError(f"{name} = {_show(value)}: expected {spec.form}") from None


# --- scrapy-selenium's settings: defaults for this project and any other ---------------

# Headless Chromium that also runs as root and in containers (small /dev/shm, no GPU).
DEFAULT_BROWSER_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
)


def default_driver_path() -> str:
    """chromedriver from PATH, else Debian's place."""
    return shutil.which("chromedriver") or "/usr/bin/chromedriver"


def default_browser_path() -> str:
    """Chromium from PATH, else Debian's place."""
    return shutil.which("chromium") or "/usr/bin/chromium"


# --- loading and validation: the config add-on -------------------------------------

CONFIG_ENV = "CASESCRAPER_CONFIG"
DEFAULT_CONFIG_FILE = "config.toml"
FILE_PRIORITY = 21  # above "project" (20), below "spider" (30)
ENV_PRIORITY = 22
# scrapy-selenium's settings that are also read from the environment (as CASESCRAPER_*).
ENV_SETTINGS = ("SELENIUM_BROWSER_EXECUTABLE_PATH", "SELENIUM_DRIVER_EXECUTABLE_PATH")
# The words for true and false, in settings and spider arguments alike.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
_NAME_BY_KEY = {spec.key: name for name, spec in SPECS.items()}
_ORIGINS = {
    0: "the defaults",
    20: "settings.py",
    30: "the spider's custom_settings",
    40: "the command line (-s) or Scrapyd (setting=)",
}


def closest(name: str, known: Iterable[str]) -> str:
    """The known name most like `name` (difflib's ratio), for "did you mean" hints."""
    # difflib is quadratic: a name is compared by its start only.
    return difflib.get_close_matches(name[:100], list(known), n=1, cutoff=0)[0]


def _unknown_setting(name: str, origin: str) -> ConfigError:
    if name == CONFIG_ENV:
        return ConfigError(f"{name} (from {origin}) is read from the environment only: run "
                           f"{name}=PATH scrapy crawl ... (or export it)")
    return ConfigError(f"{printable(name, 100)} (from {origin}): unknown setting; "
                       f"did you mean {closest(name, SPECS)}? The settings are listed in "
                       "config.example.toml")


def _show(value: Any) -> str:
    """A value as TOML-like text on one line (strings quoted, booleans lower case), with
    control characters escaped and cut to ECHO_LIMIT characters (noting its full size)."""
    if isinstance(value, str) and len(value) > ECHO_LIMIT:
        text = json.dumps(value[:ECHO_LIMIT], ensure_ascii=False)
        return f"{printable(text, None)}... ({len(value):,} characters in all)"
    return printable(json.dumps(value, ensure_ascii=False, default=str), ECHO_LIMIT)


def coerce(spec: Spec, value: Any, *, strict: bool = False) -> Any:
    """The value in the spec's type, or ValueError. `strict` (TOML) refuses strings for non-strings."""
    if isinstance(value, str) and spec.type is not str:
        if strict:
            raise ValueError(value)
        text = value.strip()
        if spec.type is bool:
            if text.lower() not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(value)
            result: Any = text.lower() in TRUE_WORDS
        else:
            result = spec.type(text)
    elif spec.type is bool:
        # Python settings may say 0/1 as Scrapy's getbool allows; TOML has real booleans.
        if not isinstance(value, bool) and (strict or value not in (0, 1)):
            raise ValueError(value)
        result = bool(value)
    elif spec.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(value)
        result = value
    elif spec.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(value)
        result = float(value)
    elif not isinstance(value, spec.type):
        raise ValueError(value)
    else:
        result = value
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError(value)
    if spec.check is not None and not spec.check(result):
        raise ValueError(value)
    return result


def validate_settings(settings: Any, origins: Optional[dict[str, str]] = None) -> None:
    """Coerce the final value of every SPECS setting in place, at its current priority."""
    origins = origins or {}
    for name, spec in SPECS.items():
        priority = settings.getpriority(name)
        if priority is None:
            settings.set(name, spec.default, priority="default")
            continue
        value = settings[name]
        try:
            settings.set(name, coerce(spec, value), priority=priority)
        except ValueError:
            origin = origins.get(name) if priority in (FILE_PRIORITY, ENV_PRIORITY) else None
            origin = origin or _ORIGINS.get(priority, f"settings priority {priority}")
            raise ConfigError(
                f"{name} = {_show(value)} (from {origin}): expected {spec.form}") from None
    problem = scrapy_bounds_problem(settings)
    if problem:
        raise ConfigError(problem)


def new_run_id(environ: Mapping[str, str]) -> str:
    """Scrapyd's job id when run by Scrapyd (it sets SCRAPY_JOB), else a UTC timestamp."""
    job = environ.get("SCRAPY_JOB", "")
    if valid_run_id(job):
        return job
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"


class ConfigAddon:
    """Scrapy add-on: config file (priority 21), environment (22), then validation.

    It reads files but never writes any; the pipeline checks the output dir at startup.
    Once the settings are final it calls the spider's `settings_ready(settings)`, if it
    has one: the spider's last check before any component (or browser) starts.
    """

    def __init__(self, environ: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
                 crawler: Any = None):
        self.environ = os.environ if environ is None else environ
        self.cwd = cwd
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ConfigAddon":
        return cls(crawler=crawler)

    def update_settings(self, settings: Any) -> None:
        origins: dict[str, str] = {}
        for name in sorted(self.environ):
            if name.startswith("CASESCRAPER_") and name not in SPECS and name != CONFIG_ENV:
                raise _unknown_setting(name, f"environment variable {printable(name, 100)}")
        for name in sorted(settings.attributes):
            if name.startswith("CASESCRAPER_") and name not in SPECS:
                priority = settings.getpriority(name)
                raise _unknown_setting(name, _ORIGINS.get(priority, f"settings priority {priority}"))
        path, shown = self._config_path()
        if path is not None:
            self._apply_file(settings, path, shown, origins)
        for name in (*SPECS, *ENV_SETTINGS):
            if name in self.environ:
                settings.set(name, self.environ[name], priority=ENV_PRIORITY)
                origins[name] = f"environment variable {name}"
        validate_settings(settings, origins)
        if not settings.get("CASESCRAPER_RUN_ID"):
            settings.set("CASESCRAPER_RUN_ID", new_run_id(self.environ),
                         priority=settings.getpriority("CASESCRAPER_RUN_ID"))
        ready = getattr(getattr(self.crawler, "spider", None), "settings_ready", None)
        if ready is not None:
            ready(settings)

    def _config_path(self) -> tuple[Optional[str], str]:
        explicit = self.environ.get(CONFIG_ENV)
        if explicit:
            if not os.path.isfile(explicit):
                raise ConfigError(f"{CONFIG_ENV}={printable(explicit)}: no such config file; point it to a "
                                  "TOML file (see config.example.toml) or unset it")
            return explicit, printable(explicit)
        default = os.path.join(self.cwd or os.getcwd(), DEFAULT_CONFIG_FILE)
        return (default, DEFAULT_CONFIG_FILE) if os.path.isfile(default) else (None, "")

    def _apply_file(self, settings: Any, path: str, shown: str, origins: dict[str, str]) -> None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{shown}: malformed TOML: {exc}; fix the syntax") from None
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot read the config file: {exc.strerror}") from None
        for table, body in data.items():
            if table not in ("app", "scrapy"):
                raise ConfigError(f"{shown}: unknown table or key {echo(table, 100)}: only the tables [app] "
                                  "and [scrapy] are allowed (see config.example.toml)")
            if not isinstance(body, dict):
                raise ConfigError(f"{shown}: {table} = {_show(body)}: expected a table [{table}]")
        for key, value in data.get("app", {}).items():
            name = _NAME_BY_KEY.get(key)
            if name is None:
                raise ConfigError(f"{shown}: [app] {printable(key, 100)}: unknown key; did you mean "
                                  f"{closest(key, _NAME_BY_KEY)}? The keys are listed in "
                                  "config.example.toml")
            self._set_checked(settings, name, value, f"{shown}: [app] {key}", origins)
        for key, value in data.get("scrapy", {}).items():
            if key in SPECS:
                self._set_checked(settings, key, value, f"{shown}: [scrapy] {key}", origins)
            elif key.startswith("CASESCRAPER_"):
                raise ConfigError(f"{shown}: [scrapy] {printable(key, 100)}: unknown setting; did you mean "
                                  f"{closest(key, SPECS)}? The settings are listed in "
                                  "config.example.toml")
            elif key.isupper() and _scrapy_setting(key):
                settings.set(key, value, priority=FILE_PRIORITY)
            else:
                raise ConfigError(f"{shown}: [scrapy] {printable(key, 100)}: not a Scrapy setting; use the name "
                                  "of one, in upper case (e.g. DOWNLOAD_DELAY)")

    @staticmethod
    def _set_checked(settings: Any, name: str, value: Any, where: str,
                     origins: dict[str, str]) -> None:
        try:
            settings.set(name, coerce(SPECS[name], value, strict=True), priority=FILE_PRIORITY)
        except ValueError:
            raise ConfigError(f"{where} = {_show(value)}: expected {SPECS[name].form}") from None
        origins[name] = where


def configured(name: str, environ: Optional[Mapping[str, str]] = None,
               cwd: Optional[str] = None) -> Any:
    """A setting's value as a crawl started here would see it without -s: the default,
    then the config file, then the environment (for commands other than `scrapy crawl`)."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setdict(default_settings(), priority="project")
    ConfigAddon(environ, cwd).update_settings(settings)
    return settings[name]


def _scrapy_setting(key: str) -> bool:
    """Whether Scrapy has a setting of that name. Imported here: the rest of this module
    (the specs, run ids) is used by Scrapy-free modules such as the ledger."""
    from scrapy.settings import default_settings

    return hasattr(default_settings, key)
