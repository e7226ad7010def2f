"""Small helpers: per-case summaries, the machine's description (process-tree memory:
casescraper/browser/procmem.py, the reader the crawl itself uses)."""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
from typing import Any, Iterable, Optional

import psutil


def summarize(seconds: Iterable[float]) -> dict[str, Any]:
    """Per-case times (s) -> n, total, cases/s, mean/median/p90 in ms."""
    xs = sorted(seconds)
    n = len(xs)
    if not n:
        return {"n": 0, "total_s": 0.0, "cases_per_s": 0.0, "mean_ms": None,
                "median_ms": None, "p90_ms": None, "max_ms": None}
    total = sum(xs)
    mid = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return {
        "n": n,
        "total_s": round(total, 3),
        "cases_per_s": round(n / total, 2) if total else None,
        "mean_ms": round(1000 * total / n, 1),
        "median_ms": round(1000 * mid, 1),
        "p90_ms": round(1000 * xs[max(0, math.ceil(0.9 * n) - 1)], 1),  # nearest rank
        "max_ms": round(1000 * xs[-1], 1),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True,
                             timeout=30).stdout
        chromium = re.search(r"Chromium [0-9.]+", out).group(0)  # type: ignore[union-attr]
    except (OSError, subprocess.SubprocessError, AttributeError):
        chromium = "unknown"
    import scrapy
    import selenium

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / (1024 ** 3), 1),
        "chromium": chromium,
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "selenium": selenium.__version__,
        "kernel": platform.release(),
    }


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return round(a / b, 2) if a and b else None
