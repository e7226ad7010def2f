"""Runs 5 and 6: what a Scrapy user would pick instead of casescraper, scrapy-playwright,
written as a competent user writes it from its documentation, on the same page.

- idiomatic (`peer_idiomatic`): one request per case; `playwright_page_methods` load the
  page, pick the tab and court, type the number and submit; the callback gets the page
  (`playwright_include_page=True`), opens Parties and More with Playwright's own
  `click`/`wait_for`, reads the page and closes it. A page load per case.
- tuned (`peer_tuned`): one request for the page, set up once by page methods; its
  callback reuses that one page for every case: `fill`, `click`, `wait_for`.

Both keep the portal's answers (the parser needs their JSON, as casescraper's capture
carries it: the search answer holds the codes the page does not show): the tuned one with
`page.expect_response`, the idiomatic one, whose page methods submit the search, with a
`playwright_page_event_handlers` response handler and read the page with casescraper's parser,
so what differs is the driving: many Playwright calls, each a round trip to the node
driver and on to the browser, against casescraper's one in-page call per case. One
query at a time (CONCURRENT_REQUESTS=1), as casescraper asks. Each case is one item:
its number, its record (None when not found), start and end times and step timings.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Optional
from urllib.parse import parse_qs, urlsplit

import scrapy
from scrapy_playwright.page import PageMethod

from casescraper.record.parser import parse_case

COURT = "t"
API = "/CourtFilesAndDecisions/"
# Picked as a user would from the page: the tab by its text, the form by its ids.
TAB = "role=link[name='Search by court number']"
COURT_SELECT = "select#tab02selectCourt"
NUMBER = "input#selectCourtNumber"
SUBMIT = "button#tab02Submit"
LOADING = "#loadingscreen"


def _endpoint(name: str):
    return lambda response: f"{API}{name}?" in response.url


async def _answer(response) -> dict[str, Any]:
    """A portal answer as casescraper's capture hands it to the parser."""
    endpoint = response.url.split(API, 1)[1].split("?", 1)[0]
    return {"endpoint": endpoint, "url": response.url, "status": response.status,
            "body": await response.text()}


class Steps:
    """Per-step wall times (ms) of one case, for the diagnosis of where the peer's time goes."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.t = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(1000 * (now - self.t), 2)
        self.t = now


async def search(page, case: str, steps: Steps) -> dict[str, Any]:
    """Type the number, submit, wait for the portal's answer and the table it builds; the
    search answer."""
    await page.fill(NUMBER, case)
    steps.mark("fill the number")
    async with page.expect_response(_endpoint("proceedingQueriesAddInfo")) as searched:
        await page.click(SUBMIT)
    answer = await _answer(await searched.value)
    steps.mark("click Submit, wait for the search answer")
    await page.wait_for_selector(LOADING, state="hidden")
    steps.mark("wait for the results table")
    return answer


async def read_case(page, case: str, steps: Steps, searched: dict[str, Any]) -> Optional[dict[str, Any]]:
    """After a search: the case's row (the one showing the number), Parties (the dialog and
    its answer), More (the details modal and its two answers); the page's HTML parsed to
    the record. None when the number has no file."""
    row = page.locator("table#datatable tbody tr").filter(has=page.get_by_text(case, exact=True))
    found = await row.count()
    steps.mark("find the row")
    if not found:
        return None
    async with page.expect_response(_endpoint("PublicPartiesListInfo")) as parties:
        await row.locator("button#more").click()
    dialog = page.locator("#dialog")
    await dialog.wait_for(state="visible")
    steps.mark("click Parties, wait for its answer and dialog")
    await page.click(".ui-dialog-titlebar-close")
    await dialog.wait_for(state="hidden")
    steps.mark("close the dialog")
    async with page.expect_response(_endpoint("proceedingQueriesRE")) as docket, \
            page.expect_response(_endpoint("RelatedListInfo")) as related:
        await row.locator("button#re").click()
    modal = page.locator("#ModalForm")
    await page.locator("#modalTitle", has_text=case).wait_for()
    await modal.wait_for(state="visible")
    steps.mark("click More, wait for its answers and the modal")
    html = await page.content()
    answers = [searched, *[await _answer(await info.value) for info in (parties, docket, related)]]
    steps.mark("read the page and the answers")
    await page.click("#ModalForm button.close")
    await modal.wait_for(state="hidden")
    steps.mark("close the modal")
    record = parse_case(html, court=COURT, case_number=case, answers=answers, page_url=page.url)
    steps.mark("parse")
    return record


def _item(case: str, record: Optional[dict[str, Any]], started: float, steps: Steps) -> dict[str, Any]:
    return {"case": case, "record": record, "started": started, "done": time.time(), "steps": steps.times}


class _PeerSpider(scrapy.Spider):
    def __init__(self, url: str = "", cases: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.url, self.cases = url, cases.split(",")

    async def close_page(self, failure):
        page = failure.request.meta.get("playwright_page")
        if page:
            await page.close()


class IdiomaticPeer(_PeerSpider):
    """A request per case, a page load per case. The next case's request is yielded by the
    callback once the case is read: CONCURRENT_REQUESTS=1 bounds downloads only, and the
    next page's search would otherwise run beside this page's Parties and More."""

    name = "peer_idiomatic"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.searched: dict[str, asyncio.Future] = {}  # page url + case -> its search answer

    async def keep_search_answer(self, response) -> None:
        """The page's response handler: the search answer the page methods waited for."""
        if _endpoint("proceedingQueriesAddInfo")(response):
            case = parse_qs(urlsplit(response.url).query).get("courtnumber", [""])[0].strip().upper()
            future = self.searched.setdefault(case, asyncio.get_running_loop().create_future())
            if not future.done():
                future.set_result(await _answer(response))

    def request(self, i: int) -> scrapy.Request:
        case = self.cases[i]
        return scrapy.Request(self.url, callback=self.parse_case, errback=self.close_page,
                              dont_filter=True, cb_kwargs={"i": i}, meta={
                                  "playwright": True, "playwright_include_page": True,
                                  "playwright_page_event_handlers": {"response": "keep_search_answer"},
                                  "playwright_page_methods": [
                                      PageMethod("click", TAB),
                                      PageMethod("select_option", COURT_SELECT, COURT),
                                      PageMethod("fill", NUMBER, case),
                                      PageMethod("click", SUBMIT),
                                      PageMethod("wait_for_selector", LOADING, state="hidden"),
                                  ]})

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.request(0)

    async def parse_case(self, response, i: int):
        page = response.meta["playwright_page"]
        case, steps = self.cases[i], Steps()
        try:
            searched = self.searched.setdefault(case, asyncio.get_running_loop().create_future())
            record = await read_case(page, case, steps, await asyncio.wait_for(searched, 60))
        finally:
            await page.close()
        # The case started when its request reached the downloader (set by the runner).
        yield _item(case, record, response.meta.get("bench_started", 0.0), steps)
        if i + 1 < len(self.cases):
            yield self.request(i + 1)


class TunedPeer(_PeerSpider):
    """One page, set up once and reused for every case."""

    name = "peer_tuned"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.url, callback=self.parse_all, errback=self.close_page, meta={
            "playwright": True, "playwright_include_page": True,
            "playwright_page_methods": [PageMethod("click", TAB),
                                        PageMethod("select_option", COURT_SELECT, COURT)]})

    async def parse_all(self, response):
        page = response.meta["playwright_page"]
        try:
            for case in self.cases:
                started, steps = time.time(), Steps()
                searched = await search(page, case, steps)
                yield _item(case, await read_case(page, case, steps, searched), started, steps)
        finally:
            await page.close()
