"""Memory of a process tree, as the crawl and the benchmarks measure it (psutil, no Scrapy).

PSS (proportional set size, from /proc/<pid>/smaps_rollup): shared pages are split
between the processes that map them, so Chromium's many processes sum to what they
really cost, unlike RSS, which counts each shared page in every process.
"""

from __future__ import annotations

from typing import Optional

import psutil

MiB = 1024 * 1024


def tree(root_pid: int) -> Optional[list[psutil.Process]]:
    """A process and all its descendants; None when the root is gone."""
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None


def tree_pss_mb(root_pid: int) -> Optional[float]:
    """PSS of a process and all its descendants, in MiB; None when the root is gone.
    A descendant that ends (or cannot be read) while being summed counts for nothing."""
    procs = tree(root_pid)
    if procs is None:
        return None
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
            continue
    return total / MiB
