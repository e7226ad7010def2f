"""The middleware in someone else's Scrapy project (issue 13.7): a minimal project made in
tmp_path, with its own scrapy.cfg and settings holding only DOWNLOADER_MIDDLEWARES, and a
scrapy-selenium spider, run with `scrapy crawl` against the demo court."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from casescraper.democourt import DemoCourt

from .conftest import ROOT
from .e2e import needs_browser, our_processes

pytestmark = needs_browser

SPIDER = '''
import scrapy
from scrapy_selenium import SeleniumRequest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC


class CourtSpider(scrapy.Spider):
    name = "court"

    async def start(self):
        yield SeleniumRequest(url=self.url, callback=self.parse, wait_time=10,
                              wait_until=EC.presence_of_element_located((By.ID, "tab02Submit")))

    def parse(self, response):
        yield {"title": response.css("title::text").get(),
               "courts": response.css("select#tab02selectCourt option::attr(value)").getall(),
               "driver": type(response.meta["driver"]).__name__}
'''


def make_project(home: Path) -> Path:
    (home / "theirs" / "spiders").mkdir(parents=True)
    (home / "scrapy.cfg").write_text("[settings]\ndefault = theirs.settings\n")
    (home / "theirs" / "__init__.py").write_text("")
    (home / "theirs" / "spiders" / "__init__.py").write_text("")
    (home / "theirs" / "settings.py").write_text(
        'BOT_NAME = "theirs"\nSPIDER_MODULES = ["theirs.spiders"]\n'
        'DOWNLOADER_MIDDLEWARES = {"casescraper.middlewares.SeleniumMiddleware": 800}\n')
    (home / "theirs" / "spiders" / "court.py").write_text(SPIDER)
    return home


def crawl(home: Path, url: str, *settings: str) -> subprocess.CompletedProcess:
    # Only casescraper itself is importable from the checkout; nothing of its settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASESCRAPER_", "SELENIUM_"))}
    env.update(SE_OFFLINE="true", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "scrapy", "crawl", "court", "-a", f"url={url}",
           "-O", str(home / "items.json"), "-s", "CASESCRAPER_RUN_ID=theirs", *settings]
    return subprocess.run(cmd, cwd=home, env=env, capture_output=True, text=True, timeout=180)


def test_only_downloader_middlewares_set(tmp_path):
    home = make_project(tmp_path / "project")
    with DemoCourt(year=2025, last_number=5) as court:
        run = crawl(home, court.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and " ERROR: " not in run.stderr, run.stderr[-3000:]
    assert "Spider closed (finished)" in run.stderr
    items = json.loads((home / "items.json").read_text())
    assert items == [{"title": "Federal Court - Court Files (demo replica)", "courts": ["t", "a", "b"],
                      "driver": "WebDriver"}]
    assert our_processes("theirs") == []


def test_a_missing_browser_is_one_line_and_no_traceback(tmp_path):
    home = make_project(tmp_path / "project")
    with DemoCourt(year=2025, last_number=5) as court:
        run = crawl(home, court.url, "-s", "SELENIUM_BROWSER_EXECUTABLE_PATH=/nonexistent/chromium")
    errors = [line for line in run.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and errors[0].endswith(
        "casescraper: error: Chromium not found at '/nonexistent/chromium': install it "
        "(apt-get install -y chromium) or set SELENIUM_BROWSER_EXECUTABLE_PATH"), run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "Spider closed (browser_missing)" in run.stderr
    assert json.loads((home / "items.json").read_text() or "[]") == []


def test_a_bad_value_is_one_line(tmp_path):
    home = make_project(tmp_path / "project")
    run = crawl(home, "http://127.0.0.1:9/", "-s", "CASESCRAPER_SCRIPT_TIMEOUT=soon")
    errors = [line for line in run.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and errors[0].endswith(
        'casescraper: error: CASESCRAPER_SCRIPT_TIMEOUT = "soon": expected a number of seconds from 1 to 3600')
    assert "Traceback" not in run.stderr and "Spider closed (bad_settings)" in run.stderr
