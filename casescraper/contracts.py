"""Contracts for `scrapy check cases`: the spider's callback against a demo court, offline.

    @demo_case IMM-3-25   ask for this case, as a crawl does, on a demo court started for
                          the check (the spider's demo_* arguments apply; it stops with
                          the spider)
    @demo_record          the one item equals the demo court's record of that case (run
                          fields aside, document urls compared without the court's origin)

Registered in settings.py (SPIDER_CONTRACTS); Scrapy's own @returns and @scrapes work
beside them. The check needs Chromium, as a crawl does.
"""

from __future__ import annotations

import re
from typing import Any

from scrapy.contracts import Contract
from scrapy.exceptions import ContractFail

from casescraper.frontier import casenumbers
from casescraper.items import RECORD_FIELDS, CaseItem

RUN_FIELDS = ("source_url", "scraped_at", "file_path")


class DemoCaseContract(Contract):
    name = "demo_case"

    def __init__(self, method: Any, *args: Any):
        super().__init__(method, *args)
        self.spider = method.__self__

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        case = casenumbers.parse(self.args[0])
        court = self.spider.portal.demo or self.spider.portal.demo_court(case.year)
        args["url"] = f"{court.url}#{case}"
        args["meta"] = {"casescraper": {"case": str(case), "court": self.spider.court, "canary": False}}
        return args


class DemoRecordContract(Contract):
    name = "demo_record"

    def __init__(self, method: Any, *args: Any):
        super().__init__(method, *args)
        self.spider = method.__self__

    def post_process(self, output: list[Any]) -> None:
        items = [x for x in output if isinstance(x, CaseItem)]
        if len(items) != 1:
            raise ContractFail(f"expected one case record, got {len(items)}")
        item, court = items[0], self.spider.portal.demo
        number = casenumbers.parse(item.case_number)
        want = court.record(number.n)  # as served, knobs (day, grow) included
        if want is None:
            raise ContractFail(f"{item.case_number} does not exist on the demo court")
        got = comparable({f: getattr(item, f) for f in RECORD_FIELDS})
        for field in RECORD_FIELDS:
            if field not in RUN_FIELDS and got.get(field) != want.get(field):
                raise ContractFail(f"{item.case_number} {field}: got {got.get(field)!r:.300}, "
                                   f"the demo court has {want.get(field)!r:.300}")


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A crawled record as the demo court's dump has it: document urls without the origin
    (the court's port changes with every start)."""
    entries = []
    for entry in record.get("docket_entries") or []:
        document = entry.get("document")
        if document and document.get("url"):
            document = {**document, "url": re.sub(r"^https?://[^/]+", "", document["url"])}
        entries.append({**entry, "document": document})
    return {**record, "docket_entries": entries}
