"""casescraper: batch-collect Federal Court of Canada court files with Scrapy and Selenium."""

__version__ = "0.1.0"
