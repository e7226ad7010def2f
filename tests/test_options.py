"""Options (issue 14): every CASESCRAPER_* value, typed, built once per crawler from
config.SPECS and shared by every component; no module re-reads raw settings strings."""

from __future__ import annotations

import ast
import dataclasses
import os

import pytest
from scrapy import Spider
from scrapy.crawler import AsyncCrawlerRunner, Crawler, CrawlerRunner
from scrapy.settings import Settings
from scrapy.utils.reactor import is_reactor_installed
from scrapy.utils.test import get_crawler, get_reactor_settings

from casescraper.config import SPECS, default_settings
from casescraper.errors import ConfigError
from casescraper.extensions import Progress
from casescraper.manifest import RunManifest
from casescraper.middleware_settings import MiddlewareSettings
from casescraper.options import Options, attribute
from casescraper.pipelines import CaseFilesPipeline
from casescraper.spiders.cases import CasesSpider

from .test_architecture import PACKAGE

PIPELINES = {"casescraper.pipelines.CaseFilesPipeline": 300}


def test_one_field_per_spec_in_its_order_and_type():
    fields = dataclasses.fields(Options)
    assert [f.name for f in fields] == [attribute(name) for name in SPECS]
    # `from __future__ import annotations`: the field types are their names
    assert [f.type for f in fields] == [spec.type.__name__ for spec in SPECS.values()]
    assert attribute("CASESCRAPER_OUTPUT_DIR") == "output_dir"


def test_the_same_object_for_one_crawler_and_every_component(tmp_path, monkeypatch):
    built = []
    original = Options.from_settings.__func__

    def counting(cls, settings):
        built.append(settings)
        return original(cls, settings)

    monkeypatch.setattr(Options, "from_settings", classmethod(counting))
    crawler = get_crawler(CasesSpider, {**default_settings(), "CASESCRAPER_OUTPUT_DIR": str(tmp_path),
                                        "CASESCRAPER_RUN_ID": "opt", "ITEM_PIPELINES": PIPELINES})
    crawler.spider = CasesSpider.from_crawler(crawler, year="2025", end="3")
    options = Options.of(crawler)
    assert Options.of(crawler) is options
    assert crawler.spider.options is options
    pipeline = CaseFilesPipeline.from_crawler(crawler)
    manifest = RunManifest.from_crawler(crawler)
    Progress.from_crawler(crawler)
    middleware = MiddlewareSettings.of(crawler)
    assert len(built) == 1
    assert (pipeline.run_id, manifest.run_id, middleware.session.run_id) == ("opt", "opt", "opt")
    assert pipeline.output_dir == manifest.output_dir == str(tmp_path)
    # Another crawler: its own object.
    other = get_crawler(settings_dict={"CASESCRAPER_RUN_ID": "other"})
    assert Options.of(other) is not options
    assert Options.of(other).run_id == "other"


def test_typed_and_defaulted_per_specs():
    crawler = get_crawler()  # no CASESCRAPER_* setting at all: every default
    options = Options.of(crawler)
    assert dataclasses.asdict(options) == {attribute(n): s.default for n, s in SPECS.items()}
    # Values as settings.py, Scrapyd or an old project may give them: typed per spec.
    given = get_crawler(settings_dict={"CASESCRAPER_WRITE_RETRIES": "4", "CASESCRAPER_DRY_RUN": "yes",
                                       "CASESCRAPER_REST_SECONDS": 2, "CASESCRAPER_KEEP_RAW": 0})
    options = Options.of(given)
    assert (options.write_retries, options.dry_run, options.rest_seconds, options.keep_raw) == (
        4, True, 2.0, False)
    assert type(options.rest_seconds) is float


def test_immutable():
    options = Options.of(get_crawler())
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.output_dir = "elsewhere"


def test_not_before_the_settings_are_final():
    crawler = Crawler(Spider, Settings())  # as while the spider is made: add-ons not run yet
    with pytest.raises(RuntimeError, match="before the crawler's settings are final"):
        Options.of(crawler)


def test_without_the_config_addon_defaults_and_checks_itself():
    """Another project enabling only our middleware: no add-on checked anything."""
    options = Options.from_settings(Settings({"CASESCRAPER_CASE_RETRIES": "5"}))
    assert options.case_retries == 5 and options.site_url == SPECS["CASESCRAPER_SITE_URL"].default
    with pytest.raises(ConfigError, match=r"CASESCRAPER_PAGE_LOAD_TIMEOUT = \"soon\": expected a number"):
        Options.from_settings(Settings({"CASESCRAPER_PAGE_LOAD_TIMEOUT": "soon"}))


def started_crawler(tmp_path, monkeypatch, cmdline: dict, **args) -> object:
    """A `cases` crawler as `scrapy crawl cases -s ...` makes it: project settings, -s at
    cmdline priority, the spider (and its per-site defaults), then the add-ons; frozen."""
    monkeypatch.chdir(tmp_path)  # no config.toml
    for name in list(os.environ):
        if name.startswith("CASESCRAPER_"):
            monkeypatch.delenv(name)
    settings = Settings()
    settings.setmodule("casescraper.settings", priority="project")
    settings.setdict(get_reactor_settings(), priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    runner = CrawlerRunner(settings) if is_reactor_installed() else AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(CasesSpider)
    crawler.spider = crawler._create_spider(**args)
    crawler._apply_settings()
    return crawler


def test_command_line_settings_are_visible(tmp_path, monkeypatch):
    out = str(tmp_path / "out")
    crawler = started_crawler(tmp_path, monkeypatch, {
        "CASESCRAPER_OUTPUT_DIR": out, "CASESCRAPER_CANARY_EVERY": "7",
        "CASESCRAPER_DRY_RUN": "on", "CASESCRAPER_TIMEZONE": "America/Vancouver",
    }, year="2025", end="3")
    options = Options.of(crawler)
    assert (options.output_dir, options.canary_every, options.dry_run, options.timezone) == (
        out, 7, True, "America/Vancouver")
    assert crawler.spider.options is options
    assert options.run_id  # the add-on named the run


def test_what_the_spider_sets_before_the_freeze_is_seen(tmp_path, monkeypatch):
    crawler = started_crawler(tmp_path, monkeypatch, {}, site="demo", year="2025", _job="job-1",
                              dry_run="1")
    options = Options.of(crawler)
    assert (options.output_dir, options.rest_seconds, options.run_id, options.dry_run) == (
        os.path.join("output", "demo"), 0.0, "job-1", True)


# --- nobody else reads raw CASESCRAPER_* settings ---------------------------------------

# Modules that may: where Options comes from, and the middleware's settings for another
# project (it builds Options from settings itself).
MAY_READ = {"config.py", "options.py", "middleware_settings.py"}
# Functions that run before the settings are final, when no Options can exist yet.
BEFORE_FINAL = {("spiders/site.py", "apply_site")}


def raw_reads(source: str, path: str = "x.py") -> list[tuple[int, str]]:
    """(line, function) of each `<x>.get*("CASESCRAPER_...")` and `<x>["CASESCRAPER_..."]`
    (SPECS[...] apart: a spec is no setting's value) in `source`."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if _is_raw_read(child):
                found.append((child.lineno, function))
            visit(child, inner)

    visit(ast.parse(source, path), "")
    return found


def _is_raw_read(node: ast.AST) -> bool:
    def ours(arg: ast.AST) -> bool:
        return isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith(
            "CASESCRAPER_")

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr.startswith("get") and bool(node.args) and ours(node.args[0])
    if isinstance(node, ast.Subscript) and ours(node.slice):
        return not (isinstance(node.value, ast.Name) and node.value.id == "SPECS")
    return False


def test_the_scan_finds_raw_reads():
    source = ('def f(s, crawler):\n'
              '    s.get("CASESCRAPER_OUTPUT_DIR")\n'
              '    crawler.settings.getint("CASESCRAPER_BOUNDARY_GAP", 3)\n'
              '    s.getpriority("CASESCRAPER_RUN_ID")\n'
              '    s["CASESCRAPER_DRY_RUN"]\n'
              '    SPECS["CASESCRAPER_DRY_RUN"].default\n'
              '    s.get("DOWNLOAD_DELAY")\n'
              '    s.set("CASESCRAPER_DRY_RUN", True)\n')
    assert raw_reads(source) == [(2, "f"), (3, "f"), (4, "f"), (5, "f")]


def test_no_component_reads_raw_casescraper_settings():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in MAY_READ:
            continue
        for line, function in raw_reads(path.read_text(encoding="utf-8"), str(path)):
            if (rel, function) not in BEFORE_FINAL:
                offenders.append(f"casescraper/{rel}:{line} ({function or 'module level'})")
    assert not offenders, ("read CASESCRAPER_* values from Options.of(crawler), not the "
                           "settings:\n" + "\n".join(offenders))
