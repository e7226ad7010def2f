"""The one memory reader of process trees (the crawl's recycling check and the benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys

from casescraper.browser.driver import Browser, BrowserConfig
from casescraper.browser.procmem import tree_pss_mb


def test_a_tree_counts_its_children():
    # A child holding 64 MiB of its own, touched: its PSS is part of this process's tree.
    child = subprocess.Popen([sys.executable, "-c", "import sys; b = bytearray(64 << 20); "
                              "b[::4096] = b'x' * len(b[::4096]); print(1, flush=True); sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "1\n"  # the memory is touched
        alone, tree = tree_pss_mb(child.pid), tree_pss_mb(os.getpid())
        assert alone is not None and alone >= 64
        assert tree is not None and tree >= alone
    finally:
        child.stdin.close()
        child.wait()


def test_a_process_that_is_gone_reads_none_and_a_browser_without_one_zero():
    with open("/proc/sys/kernel/pid_max", encoding="ascii") as f:
        never = int(f.read()) + 1  # no process can have it
    assert tree_pss_mb(never) is None
    browser = Browser(BrowserConfig("chromedriver", "chromium", []), None, 1)
    assert browser.driver_pid is None and browser.memory_mb() == 0.0
