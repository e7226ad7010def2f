"""A scrapy-selenium style spider, unchanged, to prove the middleware is a drop-in."""

import json

import scrapy
from scrapy_selenium import SeleniumRequest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC


class DropInSpider(scrapy.Spider):
    name = "dropin"

    async def start(self):
        yield SeleniumRequest(
            url=self.url,
            callback=self.parse,
            wait_time=10,
            wait_until=EC.presence_of_element_located((By.ID, "tab02Submit")),
            screenshot=True,
            script="document.title = 'changed by script';",
        )

    def parse(self, response):
        driver = response.meta["driver"]
        report = {
            "title_after_script": driver.title,
            "screenshot_png": response.meta["screenshot"].startswith(b"\x89PNG"),
            "has_court_select": bool(response.css("select#tab02selectCourt")),
            "waited_for": response.css("#tab02Submit::attr(id)").get(),
        }
        with open(self.report, "w", encoding="utf-8") as fh:
            json.dump(report, fh)
