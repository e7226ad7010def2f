"""ConfigAddon: config file, environment, validation of the final values."""

import re
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from casescraper.config import SPECS, ConfigAddon, configured, default_settings, tomllib, validate_settings
from casescraper.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def project_settings():
    settings = Settings()
    settings.setdict(default_settings(), priority="project")
    return settings


def apply(tmp_path, toml=None, env=None, settings=None):
    """Run the add-on as Scrapy would, with tmp_path as the current directory."""
    if toml is not None:
        (tmp_path / "config.toml").write_text(toml)
    settings = settings or project_settings()
    ConfigAddon(environ=env or {}, cwd=str(tmp_path)).update_settings(settings)
    return settings


def error(tmp_path, toml=None, env=None, settings=None):
    with pytest.raises(ConfigError) as info:
        apply(tmp_path, toml, env, settings)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_precedence_defaults_file_env_cmdline(tmp_path):
    name = "CASESCRAPER_WRITE_RETRIES"
    assert apply(tmp_path)[name] == 3
    toml = "[app]\nexport_write_retries = 4\n"
    settings = apply(tmp_path, toml)
    assert (settings[name], settings.getpriority(name)) == (4, 21)
    settings = apply(tmp_path, toml, {name: "5"})
    assert (settings[name], settings.getpriority(name)) == (5, 22)
    cmdline = project_settings()
    cmdline.set(name, "6", priority="cmdline")
    settings = apply(tmp_path, toml, {name: "5"}, cmdline)
    assert (settings[name], settings.getpriority(name)) == (6, 40)


def test_spider_settings_beat_the_file(tmp_path):
    settings = project_settings()
    settings.set("CASESCRAPER_BOUNDARY_GAP", 7, priority="spider")
    assert apply(tmp_path, "[app]\nboundary_gap = 9\n", settings=settings)["CASESCRAPER_BOUNDARY_GAP"] == 7


def test_scrapy_table(tmp_path):
    settings = apply(tmp_path, '[scrapy]\nDOWNLOAD_DELAY = 4.5\nUSER_AGENT = "me"\n'
                               'CASESCRAPER_DRY_RUN = true\n')
    assert settings.getfloat("DOWNLOAD_DELAY") == 4.5 and settings.getpriority("DOWNLOAD_DELAY") == 21
    assert settings["USER_AGENT"] == "me" and settings["CASESCRAPER_DRY_RUN"] is True
    message = error(tmp_path, "[scrapy]\nDOWNLOAD_DELAYS = 1\n")
    assert message.startswith("config.toml: [scrapy] DOWNLOAD_DELAYS: not a Scrapy setting")


@pytest.mark.parametrize("toml,expected", [
    ("[app]\nexport_write_retries = -1\n",
     "config.toml: [app] export_write_retries = -1: expected an integer from 1 to 100"),
    ('[app]\nexport_write_retries = "3"\n',
     'config.toml: [app] export_write_retries = "3": expected an integer from 1 to 100'),
    ("[app]\nforce_overwrite = 1\n", "config.toml: [app] force_overwrite = 1: expected true or false"),
    ("[app]\noutput_dir = 5\n", "config.toml: [app] output_dir = 5: expected a directory path"),
    ('[app]\nper_case_subdir = "a/b"\n',
     'config.toml: [app] per_case_subdir = "a/b": expected a plain directory name'),
    ('[app]\nsite_url = "ftp://x"\n',
     'config.toml: [app] site_url = "ftp://x": expected an http(s) URL of the court-files page'),
    ("[app]\nrest_seconds = inf\n",
     "config.toml: [app] rest_seconds = Infinity: expected a number of seconds from 0 to 3600 (0 turns it off)"),
    ("[app]\nexport_write_retry = 3\n",
     "config.toml: [app] export_write_retry: unknown key; did you mean export_write_retries?"),
    ("[scrapy]\nCASESCRAPER_DRYRUN = true\n",
     "config.toml: [scrapy] CASESCRAPER_DRYRUN: unknown setting; did you mean CASESCRAPER_DRY_RUN?"),
    ("[ap]\nx = 1\n", "config.toml: unknown table or key 'ap'"),
    ("output_dir = 'x'\n", "config.toml: unknown table or key 'output_dir'"),
    ("[app]\nexport_write_retries = \n", "config.toml: malformed TOML: "),
    ("[app\n", "config.toml: malformed TOML: "),
])
def test_bad_file(tmp_path, toml, expected):
    assert error(tmp_path, toml).startswith(expected)


@pytest.mark.parametrize("name,value,form", [
    ("CASESCRAPER_WRITE_RETRIES", "x", "an integer from 1 to 100"),
    ("CASESCRAPER_WRITE_RETRIES", "0", "an integer from 1 to 100"),
    ("CASESCRAPER_WRITE_BACKOFF_SECONDS", "-1", "a number of seconds from 0 to 600"),
    ("CASESCRAPER_DRY_RUN", "maybe", "true or false"),
    ("CASESCRAPER_PAGE_LOAD_TIMEOUT", "nan", "a number of seconds from 1 to 3600"),
    # Absurd values are mistakes, not settings (issue 23).
    ("CASESCRAPER_COMMAND_TIMEOUT", "1e308", "a number of seconds from 1 to 3600"),
    ("CASESCRAPER_SUFFIX_LIMIT", "1000000000000000000", "an integer from 1 to 10000"),
    ("CASESCRAPER_BOUNDARY_GAP", "100000000", "an integer from 1 to 1000"),
    ("CASESCRAPER_MAX_CLOCK_SKEW", "-1", "a number of seconds from 0 to 31536000 (0 accepts any clock)"),
])
def test_bad_environment(tmp_path, name, value, form):
    assert error(tmp_path, env={name: value}) == (
        f'{name} = "{value}" (from environment variable {name}): expected {form}')


def test_bad_cmdline_value(tmp_path):
    settings = project_settings()
    settings.set("CASESCRAPER_SUFFIX_LIMIT", "lots", priority="cmdline")
    assert error(tmp_path, settings=settings) == (
        'CASESCRAPER_SUFFIX_LIMIT = "lots" (from the command line (-s) or Scrapyd (setting=)): '
        "expected an integer from 1 to 10000")


def test_bad_project_value(tmp_path):
    settings = project_settings()
    settings.set("CASESCRAPER_OUTPUT_DIR", "", priority="project")
    assert "(from settings.py)" in error(tmp_path, settings=settings)


@pytest.mark.parametrize("name,raw,value", [
    ("CASESCRAPER_WRITE_RETRIES", "3", 3), ("CASESCRAPER_WRITE_RETRIES", " 12 ", 12),
    ("CASESCRAPER_WRITE_BACKOFF_SECONDS", "0.5", 0.5), ("CASESCRAPER_WRITE_BACKOFF_SECONDS", "2", 2.0),
    *[("CASESCRAPER_DRY_RUN", raw, True) for raw in ("1", "true", "Yes", "ON")],
    *[("CASESCRAPER_DRY_RUN", raw, False) for raw in ("0", "false", "no", "Off")],
    ("CASESCRAPER_OUTPUT_DIR", "/data/out", "/data/out"),
])
def test_cmdline_strings_are_coerced(tmp_path, name, raw, value):
    settings = project_settings()
    settings.set(name, raw, priority="cmdline")
    apply(tmp_path, settings=settings)
    assert settings[name] == value and type(settings[name]) is type(value)
    assert settings.getpriority(name) == 40


def test_explicit_config_path(tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text("[app]\nsuffix_limit = 7\n")
    assert apply(tmp_path, env={"CASESCRAPER_CONFIG": str(path)})["CASESCRAPER_SUFFIX_LIMIT"] == 7
    path.write_text("[app]\nsuffix_limit = 0\n")
    assert error(tmp_path, env={"CASESCRAPER_CONFIG": str(path)}).startswith(f"{path}: [app] suffix_limit")
    missing = tmp_path / "missing.toml"
    assert error(tmp_path, env={"CASESCRAPER_CONFIG": str(missing)}).startswith(
        f"CASESCRAPER_CONFIG={missing}: no such config file")


def test_missing_settings_get_defaults(tmp_path):
    settings = apply(tmp_path, settings=Settings())
    generated = {"CASESCRAPER_RUN_ID"}
    assert all(settings[name] == spec.default for name, spec in SPECS.items() if name not in generated)


def test_run_id_is_scrapyd_job_or_a_timestamp(tmp_path):
    assert apply(tmp_path, env={"SCRAPY_JOB": "abc123"})["CASESCRAPER_RUN_ID"] == "abc123"
    generated = apply(tmp_path)["CASESCRAPER_RUN_ID"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-\d+-[0-9a-f]{4}", generated), generated
    assert apply(tmp_path, env={"CASESCRAPER_RUN_ID": "mine"})["CASESCRAPER_RUN_ID"] == "mine"


def test_example_file_lists_every_key_with_its_default(tmp_path):
    text = (ROOT / "config.example.toml").read_text()
    app = tomllib.loads(text)["app"]
    assert {spec.key: spec.default for spec in SPECS.values()} == app
    assert list(app)[:5] == ["output_dir", "per_case_subdir", "export_write_retries",
                             "export_write_backoff_seconds", "max_driver_restarts"]
    uncommented = text.replace("# [scrapy]", "[scrapy]").replace("# DOWNLOAD_DELAY", "DOWNLOAD_DELAY")
    uncommented = uncommented.replace("# USER_AGENT", "USER_AGENT").replace("# LOG_LEVEL", "LOG_LEVEL")
    settings = apply(tmp_path, uncommented)
    assert settings.getfloat("DOWNLOAD_DELAY") == 4.5
    assert all(settings[name] == spec.default for name, spec in SPECS.items()
               if name != "CASESCRAPER_RUN_ID")


def test_scrapy_runs_the_addon(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASESCRAPER_CONFIG")  # the tests' empty one (conftest): ./config.toml here
    (tmp_path / "config.toml").write_text("[app]\ndry_run = true\n")
    monkeypatch.setenv("CASESCRAPER_SUFFIX_LIMIT", "9")
    crawler = get_crawler(Spider, {**default_settings(), "ADDONS": {ConfigAddon: 0},
                                   "CASESCRAPER_WRITE_RETRIES": "2"})
    assert crawler.settings["CASESCRAPER_DRY_RUN"] is True
    assert crawler.settings["CASESCRAPER_SUFFIX_LIMIT"] == 9
    assert crawler.settings["CASESCRAPER_WRITE_RETRIES"] == 2


# --- unknown names and the environment (issue 13, points 4 and 10) ---------------------

def test_unknown_cmdline_setting_names_the_closest_known_one(tmp_path):
    settings = project_settings()
    settings.set("CASESCRAPER_OUTPT_DIR", "elsewhere", priority="cmdline")  # -s or setting=
    assert error(tmp_path, settings=settings) == (
        "CASESCRAPER_OUTPT_DIR (from the command line (-s) or Scrapyd (setting=)): unknown "
        "setting; did you mean CASESCRAPER_OUTPUT_DIR? The settings are listed in "
        "config.example.toml")


def test_unknown_environment_variable_stops_too(tmp_path):
    message = error(tmp_path, env={"CASESCRAPER_WRITE_RETRY": "3"})
    assert message.startswith("CASESCRAPER_WRITE_RETRY (from environment variable "
                              "CASESCRAPER_WRITE_RETRY): unknown setting; did you mean "
                              "CASESCRAPER_WRITE_RETRIES?")
    # The config file's name is the one CASESCRAPER_* variable that is not a setting.
    path = tmp_path / "c.toml"
    path.write_text("")
    assert apply(tmp_path, env={"CASESCRAPER_CONFIG": str(path)})["CASESCRAPER_WRITE_RETRIES"] == 3


def test_config_path_given_as_a_setting_is_explained(tmp_path):
    settings = project_settings()
    settings.set("CASESCRAPER_CONFIG", "x.toml", priority="cmdline")
    assert "is read from the environment only: run CASESCRAPER_CONFIG=PATH" in error(
        tmp_path, settings=settings)


def test_selenium_paths_from_the_environment(tmp_path):
    name = "SELENIUM_BROWSER_EXECUTABLE_PATH"
    settings = project_settings()
    settings.set(name, "/usr/bin/chromium", priority="project")  # as settings.py does
    settings.set("SELENIUM_DRIVER_EXECUTABLE_PATH", "/usr/bin/chromedriver", priority="project")
    env = {name: "/opt/chromium/chrome", "SELENIUM_DRIVER_EXECUTABLE_PATH": "/opt/cd"}
    apply(tmp_path, env=env, settings=settings)
    assert settings[name] == "/opt/chromium/chrome"
    assert settings["SELENIUM_DRIVER_EXECUTABLE_PATH"] == "/opt/cd"
    settings = project_settings()
    settings.set(name, "/from/the/command/line", priority="cmdline")
    assert apply(tmp_path, env=env, settings=settings)[name] == "/from/the/command/line"


def test_configured_reads_file_then_environment(tmp_path):
    assert configured("CASESCRAPER_OUTPUT_DIR", {}, str(tmp_path)) == "output"
    (tmp_path / "config.toml").write_text('[app]\noutput_dir = "/srv/fct"\n')
    assert configured("CASESCRAPER_OUTPUT_DIR", {}, str(tmp_path)) == "/srv/fct"
    env = {"CASESCRAPER_OUTPUT_DIR": "/env/out"}
    assert configured("CASESCRAPER_OUTPUT_DIR", env, str(tmp_path)) == "/env/out"


def test_the_spider_checks_the_final_settings(tmp_path, monkeypatch):
    seen = []

    class Checking(Spider):
        name = "checking"

        def settings_ready(self, settings):
            seen.append(settings["CASESCRAPER_SUFFIX_LIMIT"])

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASESCRAPER_SUFFIX_LIMIT", "9")
    crawler = Crawler(Checking, default_settings())  # as Scrapy does: spider first, then add-ons
    crawler.spider = Checking.from_crawler(crawler)
    ConfigAddon.from_crawler(crawler).update_settings(crawler.settings)
    assert seen == [9]  # after the environment, with the coerced value


@pytest.mark.parametrize("env, shown", [
    ({"CASESCRAPER_RUN_ID": "x" * 50_000_000}, '"' + "x" * 200 + '"... (50,000,000 characters in all)'),
    ({"CASESCRAPER_" + "Q" * 1_000_000: "1"}, "CASESCRAPER_" + "Q" * 88 + "... (1,000,012 characters in all)"),
    ({"CASESCRAPER_OUTPUT_DIR": "\x1b[31mred\x00"}, '"\\u001b[31mred\\u0000"'),
    ({"CASESCRAPER_OUTPT_DIR\x1b[2J": "x"}, "CASESCRAPER_OUTPT_DIR\\x1b[2J"),
])
def test_echoed_values_are_cut_and_escaped(tmp_path, env, shown):
    """Issue 15.7: a 50 MB value must not become 50 MB of log; no raw control character."""
    message = error(tmp_path, env=env)
    assert shown in message and len(message) < 600
    assert not any(ord(c) < 32 or ord(c) == 127 for c in message)


@pytest.mark.parametrize("name,value", [
    ("DOWNLOAD_DELAY", -5), ("DOWNLOAD_DELAY", "nan"), ("CONCURRENT_REQUESTS", 1000),
    ("CONCURRENT_REQUESTS_PER_DOMAIN", 0), ("DOWNLOAD_DELAY", "soon"),
])
def test_scrapy_settings_out_of_bounds_stop_the_crawl(tmp_path, name, value):
    settings = project_settings()
    settings.set(name, value, priority="cmdline")
    message = error(tmp_path, settings=settings)
    assert message.startswith(f"{name} = ") and "expected a number from" in message


def test_scrapy_settings_within_bounds_pass(tmp_path):
    settings = project_settings()
    settings.set("DOWNLOAD_DELAY", "0", priority="cmdline")
    settings.set("CONCURRENT_REQUESTS", 1, priority="cmdline")
    validate_settings(settings)
