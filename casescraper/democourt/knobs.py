"""The demo court's knobs: fault injections and the variants of what is unknown.

Defaults give the closest known copy of the real page (see SITE.md): Bootstrap fades, the
e-filing popup on load, the parties popup of the portal's own popup.js, background traffic
of analytics scripts. Each field is also a `serve` option (kebab-case, __main__.py) and a
`demo_<name>` spider argument (casescraper/spiders/cases.py derives them from these fields).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable, Optional

from casescraper.democourt.spoil import KINDS as SPOILS

VENDOR_TYPES = {"css": "text/css", "js": "application/javascript"}  # as IIS sends them
PARTIES_UIS = ("popup", "jqueryui", "bootstrap", "escape")
LAYOUTS = ("v1", "v2")
# How the page marks up what it shows (GUESS: the portal is built on Canada.ca's WET
# toolkit, whose results table class `wb-tables` it already carries): "plain" is the
# captured page; "wet" hides helper texts by class (wb-inv, a hidden wrong "Office" line,
# a hidden template docket), uses row-header cells (<th scope="row">) in the results and
# the docket, shows Office and Language as a definition list, Filing Date as 30-MAY-2025
# and puts invisible characters (soft hyphen, zero-width space) inside values.
SHAPES = ("plain", "wet")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MAX_DAY = 1000  # knob day: at most this many entries added to a case


def _vendor_assets(vendor_dir: str) -> dict[str, tuple[str, str, Path]]:
    """URL path -> (kind, place, file) from vendor_dir/manifest.json, in manifest order."""
    root = Path(vendor_dir).resolve()
    fix = f"fill it with: python -m benchmarks.realpage fetch {vendor_dir}"
    if not root.is_dir():
        raise ValueError(f"vendor_dir {vendor_dir!r} is not a directory; {fix}")
    try:
        entries = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"vendor_dir {vendor_dir!r} has no readable manifest.json ({exc}); {fix}") from None
    if not isinstance(entries, list):
        raise ValueError(f"vendor_dir {vendor_dir!r}: manifest.json is not a list; {fix}")
    assets: dict[str, tuple[str, str, Path]] = {}
    for e in entries:
        if not (isinstance(e, dict) and e.get("kind") in VENDOR_TYPES and e.get("place") in ("head", "body")
                and str(e.get("path", "")).startswith("/")):
            raise ValueError(f"vendor_dir {vendor_dir!r}: manifest.json entry {e!r:.120} needs kind "
                             "css/js, place head/body and a path starting with /")
        file = (root / e["path"].lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            raise ValueError(f"vendor_dir {vendor_dir!r}: {e['path']} is missing or outside it; {fix}")
        assets[e["path"]] = (e["kind"], e["place"], file)
    return assets


def _case_set(values: Optional[Iterable[str]]) -> frozenset[str]:
    """Case numbers as the page compares them: trimmed, upper-case."""
    if isinstance(values, str):
        values = values.split(",")
    return frozenset(v.strip().upper() for v in (values or ()) if v.strip())


def _bad(name: str, value: object, use: str) -> ValueError:
    return ValueError(f"{name}={str(value)[:60]!r} is invalid: use {use}")


@dataclass
class Knobs:
    """Fault injections (off by default) and page variants (default: the real page)."""

    latency_ms: int = 0  # every JSON endpoint sleeps this long first
    forbid_after: Optional[int] = None  # search n+1 and everything after it: HTTP 403
    hang_on: frozenset[str] = field(default_factory=frozenset)  # More -> endless JS loop
    sticky_modal_on: frozenset[str] = field(default_factory=frozenset)  # modal won't close
    slow_modal_on: frozenset[str] = field(default_factory=frozenset)  # modal opens late
    slow_modal_ms: int = 2000
    layout: str = "v1"  # "v2": input#courtNumber, button#tab02SubmitCourtNumber
    shape: str = "plain"  # "wet": the markup of a WET page (see SHAPES)
    consent_banner: bool = False  # overlay until cookie consent=1
    error_rate: float = 0.0  # JSON endpoints answer 500 with this probability (seeded)
    nodata_after: Optional[int] = None  # search n+1 onward answers Count 0
    vendor_dir: str = ""  # serve the real page's vendor assets from here (benchmarks.realpage)
    # Bootstrap modal fade: the modal's transition in ms, its backdrop's half of it
    # (FACT: Bootstrap's 300 / 150 ms); 0 = instant.
    fade_ms: int = 300
    efiling_popup: bool = True  # #EfilingModal pops up after load (FACT: seen on load)
    efiling_delay_ms: int = 800  # GUESS: how long after load it pops up
    parties_ui: str = "popup"  # shape of the parties dialog (GUESSES): see PARTIES_UIS
    background_noise: bool = True  # analytics-like beacons, some failing or never answered
    # Change history: the court as it is `day` days on. Each case of `grow` has `day` more
    # docket entries, filed after its others (ids, dates and texts seeded, so day 2 holds
    # day 1's entries and one more); day 0 or no grow: the data as drawn.
    day: int = 0
    grow: frozenset[str] = field(default_factory=frozenset)
    # Answers that must not settle a number (spoil.py): each answer of a case's JSON
    # endpoints is spoiled with probability spoil_rate (seeded), in the way `spoil` says.
    spoil_rate: float = 0.0
    spoil: str = "mixed"
    # HTTP 429: the searches after throttle_after answer 429 (throttle_count of them, 0 =
    # all), with `Retry-After: retry_after` seconds when it is given.
    throttle_after: Optional[int] = None
    throttle_count: int = 1
    retry_after: Optional[int] = None
    date_offset: int = 0  # seconds added to the Date header of every answer (a clock off)

    def __post_init__(self) -> None:
        self.hang_on = _case_set(self.hang_on)
        self.sticky_modal_on = _case_set(self.sticky_modal_on)
        self.slow_modal_on = _case_set(self.slow_modal_on)
        self.grow = _case_set(self.grow)
        for name in ("latency_ms", "slow_modal_ms", "fade_ms", "efiling_delay_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600_000:
                raise _bad(name, value, "an integer number of milliseconds, 0 to 600000")
        if not isinstance(self.day, int) or isinstance(self.day, bool) or not 0 <= self.day <= MAX_DAY:
            raise _bad("day", self.day, f"a whole number of days, 0 to {MAX_DAY}")
        for name in ("forbid_after", "nodata_after", "throttle_after", "retry_after"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise _bad(name, value, "nothing (off) or an integer >= 0")
        for name in ("error_rate", "spoil_rate"):
            if not (isinstance(getattr(self, name), (int, float)) and 0.0 <= getattr(self, name) <= 1.0):
                raise _bad(name, getattr(self, name), "a probability between 0 and 1")
        if self.spoil not in SPOILS:
            raise _bad("spoil", self.spoil, ", ".join(SPOILS))
        if not isinstance(self.throttle_count, int) or self.throttle_count < 0:
            raise _bad("throttle_count", self.throttle_count, "an integer >= 0 (0: every search)")
        if not isinstance(self.date_offset, int) or abs(self.date_offset) > 10 ** 9:
            raise _bad("date_offset", self.date_offset, "a whole number of seconds, + or -")
        if self.layout not in LAYOUTS:
            raise _bad("layout", self.layout, " or ".join(LAYOUTS))
        if self.shape not in SHAPES:
            raise _bad("shape", self.shape, " or ".join(SHAPES))
        if self.parties_ui not in PARTIES_UIS:
            raise _bad("parties_ui", self.parties_ui, ", ".join(PARTIES_UIS))
        for name in ("consent_banner", "efiling_popup", "background_noise"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), "True or False")
        # Derived from vendor_dir, not a field: URL path -> (kind, place, file).
        self.vendor_assets = _vendor_assets(self.vendor_dir) if self.vendor_dir else {}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> "Knobs":
        """Knobs from text values (spider arguments): "5", "IMM-3-25,IMM-4-25", "1"."""
        kinds = {f.name: f.type for f in fields(cls)}
        parsed: dict[str, object] = {}
        for name, raw in values.items():
            if name not in kinds:
                raise ValueError(f"unknown demo knob {name!r}; known: {', '.join(kinds)}")
            kind, text = kinds[name], str(raw).strip()
            if "frozenset" in kind:
                parsed[name] = frozenset(c for c in text.split(",") if c.strip())
            elif kind == "bool":
                if text.lower() not in TRUE + FALSE:
                    raise _bad(name, raw, "1 or 0")
                parsed[name] = text.lower() in TRUE
            elif "int" in kind:
                if not text.removeprefix("-").isdigit() or (text.startswith("-") and name != "date_offset"):
                    raise _bad(name, raw, "a whole number >= 0")
                parsed[name] = int(text)
            elif kind == "float":
                try:
                    parsed[name] = float(text)
                except ValueError:
                    raise _bad(name, raw, "a number between 0 and 1") from None
            else:
                parsed[name] = text
        return cls(**parsed)
