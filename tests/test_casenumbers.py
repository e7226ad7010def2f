"""Court file numbers: written by casenumbers.format, read back by casenumbers.parse."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from casescraper.frontier import casenumbers
from casescraper.frontier.casenumbers import CaseNumber

THIS_YEAR = datetime.now(timezone.utc).year


@pytest.mark.parametrize("prefix, n, year, text", [
    ("IMM", 12334, 2025, "IMM-12334-25"),
    ("IMM", 1, 2005, "IMM-1-05"),
    ("T", 9_999_999, 2000, "T-9999999-00"),
    ("ABCDE", 7, 1999, "ABCDE-7-99"),
])
def test_format_writes_the_number_and_parse_reads_it_back(prefix, n, year, text):
    assert casenumbers.format(prefix, n, year) == text
    assert casenumbers.parse(text) == CaseNumber(prefix, year, n)
    assert str(casenumbers.parse(text)) == text


@pytest.mark.parametrize("year", [1971, 1999, 2000, 2009, THIS_YEAR, THIS_YEAR + 1])
def test_round_trip_over_the_years_asked_for(year):
    for n in (1, 9, 10, 12345, casenumbers.HIGHEST_N):
        number = casenumbers.parse(casenumbers.format("IMM", n, year))
        assert (number.prefix, number.n, number.year) == ("IMM", n, year)
        assert casenumbers.year_of(casenumbers.format("IMM", n, year)) == year


def test_yy_is_two_digits_of_a_four_or_two_digit_year():
    assert [casenumbers.yy(y) for y in (2025, 2005, 2000, 1999, 25, 5)] == ["25", "05", "00", "99", "25", "05"]


def test_parse_reads_what_a_person_types():
    assert casenumbers.parse(" imm-12-25 ") == CaseNumber("IMM", 2025, 12)


@pytest.mark.parametrize("text", ["IMM-0-25", "IMM-012-25", "IMM-12-2025", "IMM-12345678-25",
                                  "ABCDEF-1-25", "IMM 12 25", "IMM-12", ""])
def test_parse_refuses_other_shapes(text):
    with pytest.raises(ValueError, match="is not a court file number like IMM-12345-25"):
        casenumbers.parse(text)


def test_order_is_year_prefix_then_number_other_shapes_last():
    numbers = ["IMM-15-25", "zz", "IMM-9-25", "T-3-25", "IMM-100-24"]
    assert sorted(numbers, key=casenumbers.order) == ["IMM-100-24", "IMM-9-25", "IMM-15-25", "T-3-25", "zz"]
