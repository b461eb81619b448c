"""Calendar dates (memorial birth and passing dates)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.dates import parse_date
from bot.domain.timeparse import TimeParseError

MONDAY = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", date(2024, 5, 1)),
        ("2024-5-1", date(2024, 5, 1)),
        ("2024/05/01", date(2024, 5, 1)),
        ("May 1 2024", date(2024, 5, 1)),
        ("May 1, 2024", date(2024, 5, 1)),
        ("1 May 2024", date(2024, 5, 1)),
        ("1 may 2024", date(2024, 5, 1)),
        ("  1   MAY   2024 ", date(2024, 5, 1)),
        ("1st of May, 2024", date(2024, 5, 1)),
        ("the 1st of may 2024", date(2024, 5, 1)),
        ("May 1st 2024.", date(2024, 5, 1)),
        ("Sept 30 2019", date(2019, 9, 30)),
        ("31 december 1999", date(1999, 12, 31)),
        ("feb 29 2024", date(2024, 2, 29)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Jan 2024", "needs the day of the month"),
        ("2024 jan", "needs the day of the month"),
        ("may 1", "needs the year"),
        ("1/5/2024", "could be 1 May or January 5"),
        ("1.5.2024", "could be 1 May or January 5"),
        ("13-5-2024", "all-number dates"),
        ("2023-02-29", "2023 isn't a leap year"),
        ("feb 29 2023", "2023 isn't a leap year"),
        ("april 31 2024", "April has only 30 days"),
        ("2024-13-01", "no month 13"),
        ("0000-01-01", "no year 0"),
        ("blah", "I couldn't read `blah` as a date"),
        ("", "Please give a date"),
    ],
)
def test_parse_date_errors_offer_working_examples(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_date(text)
    message = info.value.message
    assert fragment in message
    m = re.search(r"Try (.*)$", message)
    assert m, message
    examples = re.findall(r"`([^`]+)`", m.group(1))
    assert examples == ["2024-05-01", "1 May 2024", "yesterday"]
    assert {parse_date(example, MONDAY) for example in examples} == {date(2024, 5, 1), date(2026, 1, 4)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Every form a time option takes, the time of day ignored.
        ("2024-02-10 20:00", date(2024, 2, 10)),
        ("today 21:00", MONDAY),
        ("fri 8pm", date(2026, 1, 2)),
        ("friday 20:00", date(2026, 1, 2)),
        ("tomorrow 7:30pm", date(2026, 1, 6)),
        ("dec 4 2025 8pm", date(2025, 12, 4)),
        ("May 1 2024 8pm", date(2024, 5, 1)),
        # The words, and weekdays meaning the most recent one.
        ("today", MONDAY),
        ("Yesterday", date(2026, 1, 4)),
        ("tomorrow", date(2026, 1, 6)),
        ("mon", MONDAY),
        ("sunday", date(2026, 1, 4)),
        ("tue", date(2025, 12, 30)),
        ("fri 2026-01-02", date(2026, 1, 2)),
    ],
)
def test_parse_date_takes_the_time_forms_and_day_words(text: str, expected: date) -> None:
    assert parse_date(text, MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("in 2 hours", "time from now"),
        ("8pm", "time of day"),
        ("dec 4 8pm", "needs the year too"),
    ],
)
def test_date_forms_that_name_no_day_are_refused_with_examples(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_date(text, MONDAY)
    assert fragment in info.value.message and "`2024-05-01`" in info.value.message


def test_day_words_need_today() -> None:
    with pytest.raises(TimeParseError):
        parse_date("yesterday")
