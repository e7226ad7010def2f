"""casescraper: batch-collect Federal Court of Canada court files with Scrapy and Selenium."""

import sys

__version__ = "0.1.0"

# Checked first, on import, in syntax any Python 3 reads: on an older Python every entry
# point (`python -m casescraper`, `scrapy crawl`) says this one line instead of failing
# later on a missing module or a syntax error.
if sys.version_info < (3, 10):
    sys.exit("casescraper: error: Python 3.10 or newer is needed, this is Python %d.%d (%s): "
             "run ./setup.sh and use .venv/bin/python" % (sys.version_info[0], sys.version_info[1],
                                                          sys.executable))
