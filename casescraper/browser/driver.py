"""Browser processes: start a WebDriver session, measure it, end it without leftovers;
what a WebDriver failure means (classify), and the DevTools commands both ends use.

Plain Selenium and psutil, no Scrapy. Every browser of a run lives under one run
directory (`<tmp>/casescraper/<run_id>/`) holding an owner marker, the profile dirs
and Chromium's own temp files (TMPDIR points there). chromedriver starts in its own
process group and carries CASESCRAPER_RUN_DIR in its environment, inherited by every
Chromium process: after a kill -9 of a crawl, the next start finds its leftovers by
that marker, never by process name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import psutil
from selenium import webdriver
from selenium.common.exceptions import (
    InvalidSessionIdException, NoSuchWindowException, TimeoutException, WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
from selenium.webdriver.remote.client_config import ClientConfig
from urllib3.exceptions import HTTPError as Urllib3Error

from casescraper.errors import BrowserError, BrowserMissing, DeadSession, PageStuck
from casescraper.browser.procmem import tree_pss_mb  # one memory reader with the benchmarks
from casescraper.browser.watchdog import Watchdog

logger = logging.getLogger(__name__)

MARKER_ENV = "CASESCRAPER_RUN_DIR"
OWNER_FILE = "owner.json"
# The court sits in Toronto: the page shows the portal's UTC instants as dates in the
# browser's time zone (FACT, SITE.md), so the browser must run in the court's.
COURT_TIMEZONE = "America/Toronto"

DEAD_SESSION_MARKERS = (
    "chrome not reachable",
    "tab crashed",
    "session deleted",
    "disconnected",
    "no such session",
    "invalid session id",
    "target frame detached",
    "timed out receiving message from renderer",
    "unable to receive message from renderer",
    "not connected to devtools",
)


def classify(exc: BaseException) -> Exception:
    """Turn a Selenium/transport error into ours: a dead session or a stuck page."""
    if isinstance(exc, (InvalidSessionIdException, NoSuchWindowException, Urllib3Error, ConnectionError)):
        return DeadSession(f"{type(exc).__name__}: {_first_line(exc)}")
    message = _first_line(exc)
    if isinstance(exc, WebDriverException) and any(m in message.lower() for m in DEAD_SESSION_MARKERS):
        return DeadSession(f"{type(exc).__name__}: {message}")
    if isinstance(exc, TimeoutException):
        # A script that never returns means the renderer is busy forever (a hung page):
        # only a fresh browser is certain to recover from that.
        return DeadSession(f"page did not answer in time: {message}")
    return PageStuck(f"{type(exc).__name__}: {message}")


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def cdp(driver, cmd: str, params: dict) -> dict:
    """One DevTools command through chromedriver's own command (goog/cdp/execute), which
    local and remote Chromium sessions both have (execute_cdp_cmd is local-only)."""
    return driver.execute("executeCdpCommand", {"cmd": cmd, "params": params})["value"]


def set_timezone(driver, timezone: str) -> None:
    """Run the page's clock in `timezone` (an IANA name): it holds across navigations."""
    cdp(driver, "Emulation.setTimezoneOverride", {"timezoneId": timezone})


def runs_root() -> Path:
    return Path(tempfile.gettempdir()) / "casescraper"


@dataclass
class BrowserConfig:
    driver_path: str
    browser_path: str
    arguments: list[str]
    command_executor: str = ""  # a remote WebDriver URL; empty for a local chromedriver
    page_load_timeout: float = 30.0
    script_timeout: float = 30.0
    command_timeout: float = 60.0
    user_agent: str = ""
    timezone: str = COURT_TIMEZONE  # empty: the machine's own (TZ), not the court's
    extra_env: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        """Fail before anything starts when the local browser is not installed."""
        if self.command_executor:
            return
        for what, path, package in (
            ("chromedriver", self.driver_path, "chromium-driver"),
            ("Chromium", self.browser_path, "chromium"),
        ):
            if not path or not os.access(path, os.X_OK):
                raise BrowserMissing(
                    f"{what} not found at {path!r}: install it (apt-get install -y {package}) "
                    f"or set SELENIUM_{'DRIVER' if what == 'chromedriver' else 'BROWSER'}_EXECUTABLE_PATH"
                )


class RunDir:
    """The per-run directory, its owner marker, and the sweep of dead runs' leftovers."""

    def __init__(self, run_id: str, root: Optional[Path] = None):
        self.root = root or runs_root()
        self.path = self.root / run_id
        # Made under a hidden name and renamed with its owner marker inside, so that a
        # concurrent crawl's sweep never sees it without an owner and takes it for dead.
        hidden = self.root / f".{run_id}.{os.getpid()}"
        hidden.mkdir(parents=True)
        me = psutil.Process()
        owner = {"pid": me.pid, "create_time": me.create_time()}
        (hidden / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
        os.rename(hidden, self.path)

    def remove(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)

    @staticmethod
    def owner_alive(run_path: Path) -> bool:
        try:
            owner = json.loads((run_path / OWNER_FILE).read_text(encoding="utf-8"))
            proc = psutil.Process(owner["pid"])
            return abs(proc.create_time() - owner["create_time"]) < 1.0
        except (FileNotFoundError, psutil.NoSuchProcess, json.JSONDecodeError, KeyError):
            return False

    @classmethod
    def sweep(cls, root: Optional[Path] = None) -> int:
        """Kill processes and remove directories of runs whose owner is dead."""
        root = root or runs_root()
        if not root.is_dir():
            return 0
        dead = [p for p in root.iterdir()
                if p.is_dir() and not p.name.startswith(".") and not cls.owner_alive(p)]
        killed = 0
        for run_path in dead:
            killed += kill_marked(str(run_path))
            shutil.rmtree(run_path, ignore_errors=True)
            logger.info("removed leftovers of dead run %s (%d processes)", run_path.name, killed)
        return killed


def kill_marked(run_dir: str) -> int:
    """SIGKILL every process carrying our marker for `run_dir`, and their process groups.

    Some Chromium helpers (zygote children) do not expose the marker; they share the
    process group of the chromedriver that started them, so the groups are killed too.
    """
    victims, groups = [], set()
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER_ENV) == run_dir:
                victims.append(proc)
                groups.add(os.getpgid(proc.pid))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ProcessLookupError):
            continue
    groups.discard(os.getpgrp())  # never our own group (chromedriver has its own session)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(victims, timeout=5)
    return len(victims)


class Browser:
    """One WebDriver session: a local chromedriver + Chromium, or a remote session."""

    def __init__(self, config: BrowserConfig, run_dir: Optional[RunDir], index: int):
        self.config = config
        self.run_dir = run_dir
        self.index = index
        self.driver = None
        self.service: Optional[Service] = None
        self.profile: Optional[Path] = None
        self._watchdog: Optional[Watchdog] = None  # bounded()'s one timing thread

    @property
    def driver_pid(self) -> Optional[int]:
        proc = self.service.process if self.service else None
        return proc.pid if proc else None

    def start(self):
        options = webdriver.ChromeOptions()
        for arg in self.config.arguments:
            options.add_argument(arg)
        if self.config.user_agent:
            options.add_argument(f"--user-agent={self.config.user_agent}")
        # The real portal loads third-party scripts that never finish on a closed network.
        options.page_load_strategy = "eager"
        client = dict(keep_alive=True, timeout=int(self.config.command_timeout))
        if self.config.command_executor:
            url = self.config.command_executor
            # A Chromium connection, not a generic one: the page object uses chromedriver's
            # DevTools command (goog/cdp/execute), which it registers.
            self.driver = webdriver.Remote(command_executor=self._connection(url, client),
                                           options=options)
        else:
            assert self.run_dir is not None
            self.profile = self.run_dir.path / f"profile-{self.index}"
            options.binary_location = self.config.browser_path
            options.add_argument(f"--user-data-dir={self.profile}")
            env = {**os.environ, **self.config.extra_env, MARKER_ENV: str(self.run_dir.path),
                   "TMPDIR": str(self.run_dir.path), "SE_OFFLINE": "true"}
            self.service = Service(
                self.config.driver_path, env=env, log_output=subprocess.DEVNULL,
                # Own process group: one killpg ends chromedriver and every Chromium child.
                popen_kw={"start_new_session": True},
            )
            self.service.start()
            executor = self._connection(self.service.service_url, client)
            try:
                self.driver = webdriver.Remote(command_executor=executor, options=options)
            except Exception:
                self.kill()
                raise
        try:
            # Before any page loads: dates on the page are then the court's dates.
            if self.config.timezone:
                set_timezone(self.driver, self.config.timezone)
            self.driver.set_page_load_timeout(self.config.page_load_timeout)
            self.driver.set_script_timeout(self.config.script_timeout)
        except Exception:
            self.quit(deadline=5.0)
            raise
        return self.driver

    @staticmethod
    def _connection(url: str, client: dict) -> ChromiumRemoteConnection:
        return ChromiumRemoteConnection(
            remote_server_addr=url, vendor_prefix="goog", browser_name="chrome",
            client_config=ClientConfig(remote_server_addr=url, **client))

    def quit(self, deadline: float = 10.0) -> None:
        """End the session politely within `deadline` seconds, then make sure."""
        driver, self.driver = self.driver, None
        if driver is not None:
            quitter = threading.Thread(target=self._quit_quietly, args=(driver,), daemon=True)
            quitter.start()
            quitter.join(deadline)
        self.kill()

    @staticmethod
    def _quit_quietly(driver) -> None:
        try:
            driver.quit()
        except Exception as exc:  # the session may already be dead: that is why we quit
            logger.debug("driver.quit failed: %s", exc)

    def abort(self) -> None:
        """SIGKILL the driver's process group, from any thread, without cleaning up (kill()
        or quit() on the owning thread does that): ends a command stuck on a page that never
        answers. A remote browser is not ours to kill: nothing happens."""
        service = self.service
        if service is not None and service.process is not None:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(service.process.pid, signal.SIGKILL)

    def bounded(self, call, limit: float):
        """call(), bounded by `limit` seconds. A page that never answers (an endless loop)
        blocks the DevTools call and chromedriver with it, so the browser is killed, which
        fails the call at once. A remote browser cannot be killed from here: the command
        timeout (CASESCRAPER_COMMAND_TIMEOUT) bounds it instead."""
        if self._watchdog is None:
            self._watchdog = Watchdog(self.abort)
        token = self._watchdog.arm(limit)
        try:
            return call()
        except BrowserError as exc:
            if self._watchdog.fired(token):
                raise DeadSession(f"the page did not answer in {limit:g} s; its browser was killed") from exc
            raise
        finally:
            self._watchdog.disarm(token)

    def kill(self) -> None:
        """SIGKILL the driver's process group and remove the profile dir."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stop()
        service, self.service = self.service, None
        if service is not None and service.process is not None:
            pgid = service.process.pid
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(pgid, signal.SIGKILL)
            service.process.wait(timeout=10)
            if self.run_dir is not None:
                # Chromium children re-parented elsewhere still carry our marker.
                kill_marked(str(self.run_dir.path))
        if self.profile is not None and self.profile.exists():
            shutil.rmtree(self.profile, ignore_errors=True)
        self.profile = None

    def memory_mb(self) -> float:
        """PSS of the browser's process tree (chromedriver and Chromium), in MiB; 0 when gone."""
        pid = self.driver_pid
        return (tree_pss_mb(pid) or 0.0) if pid is not None else 0.0
