"""A real redis-server for a test: a free loopback port, a password, no persistence."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .e2e import free_port

needs_redis = pytest.mark.skipif(not shutil.which("redis-server"),
                                 reason="redis-server is required (apt-get install redis-server)")


class RedisServer:
    def __init__(self, home: Path):
        self.home = home
        self.port = free_port()
        self.password = secrets.token_hex(8)
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.home.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass",
             self.password, "--save", "", "--appendonly", "no", "--dir", str(self.home)],
            stdout=open(self.home / "redis.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                assert self.proc.poll() is None, (self.home / "redis.log").read_text()
                assert time.monotonic() < deadline, "redis-server did not listen"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    """An empty config file of the test's own: the checkout's config.toml is never read."""
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("CASESCRAPER_CONFIG", str(path))
    monkeypatch.delenv("CASESCRAPER_QUEUE_URL", raising=False)
    return path
