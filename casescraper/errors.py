"""Our own errors, all under one base class.

Scrapy's exceptions (CloseSpider, DropItem, NotConfigured, IgnoreRequest) are raised
only at Scrapy boundaries; everything below those boundaries raises these.

`shown` and `printable` make any value safe to echo in a one-line message or on a
terminal: a 100 MB argument must not become 100 MB of log, and a case number read from
a file must not send escape sequences to the operator's terminal.
"""

import unicodedata

ECHO_LIMIT = 200  # characters of a value echoed in an error or log line
# Control (Cc), format (Cf: bidi overrides, zero-width), line/paragraph separators and
# lone surrogates: nothing a person should see raw on a terminal or in a log line.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(value: object, limit: "int | None" = ECHO_LIMIT) -> str:
    """`value` as text with control characters escaped (`\\x1b`, `\\n`, `\\u202e`), cut to
    `limit` characters (None: no cut) with a note of its full size."""
    text = value if isinstance(value, str) else str(value)
    full = len(text)
    cut = text if limit is None or full <= limit else text[:limit]
    out = "".join(_escape(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in cut)
    return out if cut is text else f"{out}... ({full:,} characters in all)"


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """`value` quoted for an error message, as `printable` makes it: `'IMM-1-25'`,
    `'aaaa... (104,857,600 characters in all)'`."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return f"'{printable(text, None)}'"
    return f"'{printable(text[:limit], None)}'... ({len(text):,} characters in all)"


class CasescraperError(Exception):
    """Base class of every error casescraper raises on purpose."""


class ConfigError(CasescraperError):
    """A setting, config file value or spider argument is invalid."""


class OutputError(CasescraperError):
    """The output directory cannot be used (unwritable, no hard links, ...)."""


class ParseError(CasescraperError):
    """A captured page lacks parts the parser requires; the message names them."""


class BrowserError(CasescraperError):
    """Base for failures of the browser or of the page in it.

    `diagnostics` names the saved screenshot/HTML (relative to the output dir), if any.
    """

    def __init__(self, message: str = "", diagnostics: "str | None" = None):
        super().__init__(message)
        self.diagnostics = diagnostics


class BrowserMissing(BrowserError):
    """Chromium or chromedriver is not installed where the settings say."""


class DeadSession(BrowserError):
    """The WebDriver session or its browser died; a fresh driver is needed."""


class PageStuck(BrowserError):
    """The page did not respond as expected (modal would not open or close, timeout)."""


class LayoutChanged(BrowserError):
    """The page loaded but an element the page object needs is missing."""

    def __init__(self, element: str, detail: str = ""):
        self.element = element
        super().__init__(f"required element {element} is missing{': ' + detail if detail else ''}")


class RestartsExhausted(BrowserError):
    """Too many browser restarts without a successful case in between."""


class CaseFailed(BrowserError):
    """A case could not be fetched after its retries; the crawl goes on."""


class Blocked(BrowserError):
    """The portal answered HTTP 403 or a WAF page."""


class BadAnswer(BrowserError):
    """The portal's answers for a case were cut off, of another shape or about another
    number (after the case's retries): the number is not settled."""


class RateLimited(BrowserError):
    """The portal answered HTTP 429 (too many requests): pause, then go on.

    `retry_after`: the seconds its Retry-After header asked for, or None."""

    def __init__(self, message: str = "", retry_after: "float | None" = None,
                 diagnostics: "str | None" = None):
        super().__init__(message, diagnostics)
        self.retry_after = retry_after


class ClockSkew(BrowserError):
    """This machine's clock is further from the portal's than CASESCRAPER_MAX_CLOCK_SKEW."""


class InvalidRecord(CasescraperError):
    """A case record does not match the case file JSON Schema; the message names where."""


class UnsafeCaseNumber(CasescraperError):
    """A case number cannot be turned into a file name inside the output directory."""


class SuffixLimitReached(CasescraperError):
    """Every allowed `-N` suffix for a case file name on that day is taken."""


class FrontierError(CasescraperError):
    """The frontier was told something it did not ask: an answer for a number that is not
    the one outstanding, a second answer, or a status it does not know."""


class QueueError(CasescraperError):
    """The queue cannot be used: unreachable, refused, or the job is not what it should be."""
