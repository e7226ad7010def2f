"""Our own errors, all under one base class.

Scrapy's exceptions (CloseSpider, DropItem, NotConfigured, IgnoreRequest) are raised
only at Scrapy boundaries; everything below those boundaries raises these.
"""


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


class InvalidRecord(CasescraperError):
    """A case record does not match the case file JSON Schema; the message names where."""


class UnsafeCaseNumber(CasescraperError):
    """A case number cannot be turned into a file name inside the output directory."""


class SuffixLimitReached(CasescraperError):
    """Every allowed `-N` suffix for a case file name on that day is taken."""
