"""The `cases` spider's arguments, checked in-process: no Scrapy crawl, no browser."""

import pytest

from casescraper.errors import ConfigError
from casescraper.spiders.arguments import HIGHEST, parse_arguments


def test_a_year_run_and_its_defaults():
    a = parse_arguments({"year": "2025", "max_cases": "50", "site": "demo", "demo_fade_ms": "0"})
    assert (a.year, a.start_n, a.end_n, a.prefix, a.court, a.site) == (2025, 1, 50, "IMM", "t", "demo")
    assert (a.shard_index, a.shard_count, a.refresh, a.dry_run) == (1, 1, False, None)
    assert a.demo_court_args["year"] == 2025 and a.demo_court_args["knobs"].fade_ms == 0


def test_explicit_cases_are_normalised_and_deduplicated(tmp_path):
    listed = tmp_path / "cases.txt"
    listed.write_text("# watch list\nimm-3-25\nIMM-3-25\n\nIMM-12-24\n", encoding="utf-8")
    assert parse_arguments({"cases_file": str(listed)}).explicit == ["IMM-3-25", "IMM-12-24"]
    assert parse_arguments({"case": " imm-7-25 "}).explicit == ["IMM-7-25"]


@pytest.mark.parametrize("kwargs, says", [
    ({"year": "abc"}, "argument year='abc' is invalid"),
    ({"year": "²⁰²⁵"}, "argument year="),
    ({"year": "2025", "end": "3", "start": "5"}, "end=3 is below start=5"),
    ({"year": "2025", "end": "9", "max_cases": "2"}, "end and max_cases exclude each other"),
    ({"year": "2025", "end": str(HIGHEST + 1)}, "reaches past 9999999"),
    ({"year": "2025", "shard": "4/3"}, "argument shard="),
    ({"year": "2025", "refresh": "maybe"}, "use -a refresh=1 or -a refresh=0"),
    ({"year": "2025", "demo_seed": "1"}, "need -a site=demo"),
    ({"year": "2025", "strat": "1"}, "unknown argument(s) strat"),
    ({"case": "IMM-1-25", "year": "2025"}, "cannot be combined with case/cases_file"),
    ({"year": "2025", "probe_only": "1", "end": "9"}, "probe_only=1 finds a year's end"),
])
def test_each_mistake_is_one_line_naming_it(kwargs, says):
    with pytest.raises(ConfigError) as caught:
        parse_arguments(kwargs)
    message = str(caught.value)
    assert says in message and "\n" not in message


def test_a_huge_value_is_cut_in_the_message():
    with pytest.raises(ConfigError) as caught:
        parse_arguments({"year": "9" * 100_000})
    assert len(str(caught.value)) < 600
