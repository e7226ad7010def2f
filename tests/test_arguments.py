"""The `cases` spider's arguments, checked in-process: no Scrapy crawl, no browser."""

import pytest

from casescraper.errors import ConfigError
from casescraper.spiders.arguments import HIGHEST, parse_arguments


def test_a_year_run_and_its_defaults():
    a = parse_arguments({"year": "2025", "max_cases": "50", "site": "demo", "demo_fade_ms": "0"})
    assert (a.year, a.start_n, a.end_n, a.prefix, a.court, a.site) == (2025, 1, 50, "IMM", "t", "demo")
    assert (a.shard_index, a.shard_count, a.refresh, a.dry_run) == (1, 1, False, None)
    assert a.demo_court_args["year"] == 2025 and a.demo_court_args["knobs"].fade_ms == 0


def test_a_queue_worker_takes_what_to_ask_from_its_job():
    a = parse_arguments({"queue": " job-1 ", "site": "demo", "demo_last_number": "30"})
    assert (a.queue, a.years, a.explicit, a.site) == ("job-1", [], None, "demo")
    assert a.demo_court_args["last_number"] == 30
    assert parse_arguments({"year": "2025"}).queue is None


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
    ({"year": "2024", "years": "2023-2024"}, "arguments year and years exclude each other"),
    ({"years": "2023-2024", "case": "IMM-1-24"}, "years cannot be combined with case/cases_file"),
    ({"years": "2023-2024", "end": "9"}, "argument end applies to one year, and years gives 2"),
    ({"years": "2023,2025", "max_cases": "9"}, "argument max_cases applies to one year"),
    ({"years": "2025-2023"}, "argument years '2025-2023' is invalid"),
    ({"years": "2023,,2024"}, "argument years"),
    ({"years": "1970-1972"}, "years 1971 to"),
    ({"years": "abc"}, "use YYYY, YYYY-YYYY or a comma-separated list"),
    ({"queue": "job1", "year": "2025"}, "argument queue excludes year: the job's tasks say which years"),
    ({"queue": "job1", "years": "2024-2025"}, "argument queue excludes years"),
    ({"queue": "job1", "case": "IMM-1-25"}, "argument queue excludes case:"),
    ({"queue": "job1", "cases_file": "x.txt"}, "argument queue excludes cases_file"),
    ({"queue": "job1", "shard": "1/2"}, "argument queue excludes shard: the workers of a job share"),
    ({"queue": "job1", "end": "9"}, "argument queue excludes end"),
    ({"queue": "job1", "dry_run": "1"}, "argument queue excludes dry_run"),
    ({"queue": "a b"}, "argument queue='a b' is invalid: use -a queue=NAME"),
    ({"queue": "job1", "demo_seed": "1"}, "need -a site=demo"),
])
def test_each_mistake_is_one_line_naming_it(kwargs, says):
    with pytest.raises(ConfigError) as caught:
        parse_arguments(kwargs)
    message = str(caught.value)
    assert says in message and "\n" not in message


@pytest.mark.parametrize("kwargs", [{"year": "9" * 100_000}, {"years": "2023," * 100_000}])
def test_a_huge_value_is_cut_in_the_message(kwargs):
    with pytest.raises(ConfigError) as caught:
        parse_arguments(kwargs)
    assert len(str(caught.value)) < 600


@pytest.mark.parametrize("text, years", [
    ("2019-2021", [2019, 2020, 2021]),
    ("2023,2019,2021", [2019, 2021, 2023]),
    ("2019-2020, 2023,2020", [2019, 2020, 2023]),
    ("2024", [2024]),
])
def test_years_ranges_and_lists_run_ascending(text, years):
    a = parse_arguments({"years": text, "start": "5", "site": "demo"})
    assert a.years == years and a.year == years[0] and a.start_n == 5 and a.end_n is None
    assert a.run_args["years"] == text  # the manifest records it as given


def test_one_year_of_years_may_have_an_end():
    a = parse_arguments({"years": "2024", "end": "9"})
    assert (a.years, a.end_n) == ([2024], 9)
    assert parse_arguments({"year": "2024"}).years == [2024]
    assert parse_arguments({"case": "IMM-1-24"}).years == []
