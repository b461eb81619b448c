"""The time parser: a table of inputs with a fixed ``now``, DST edges, errors and their examples."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.timeparse import (
    TimeParseError,
    discord_timestamp,
    format_full,
    format_ts,
    parse_when,
    to_zone,
)
from bot.errors import UserError

LONDON = "Europe/London"
NEW_YORK = "America/New_York"

# Monday 23 November 2026, 15:00 UTC: 15:00 GMT in London, 10:00 EST in New York.
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def local(tz: str, text: str, fold: int = 0) -> datetime:
    """``local(LONDON, "2026-12-04 20:00")`` -> the aware UTC instant of that wall time."""
    naive = datetime.fromisoformat(text)
    return naive.replace(tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def examples_in(message: str) -> list[str]:
    """The backticked inputs offered after "Try"/"try"/"Did you mean" in an error message."""
    m = re.search(r"(?:[Tt]ry|Did you mean) (.*)$", message)
    assert m, f"no examples offered in: {message}"
    return re.findall(r"`([^`]+)`", m.group(1))


# --------------------------------------------------------------------------- valid input

VALID_LONDON: list[tuple[str, str]] = [
    # ISO
    ("2026-12-04 20:00", "2026-12-04 20:00"),
    ("2026-12-04T20:00", "2026-12-04 20:00"),
    ("2026-12-04 8pm", "2026-12-04 20:00"),
    ("2026/12/04 20:00", "2026-12-04 20:00"),
    ("20:00 2026-12-04", "2026-12-04 20:00"),
    ("2026-12-04 midnight", "2026-12-05 00:00"),
    # weekdays (today is Monday 15:00)
    ("fri 8pm", "2026-11-27 20:00"),
    ("friday 20:00", "2026-11-27 20:00"),
    ("fri 8:30pm", "2026-11-27 20:30"),
    ("fri at 8pm", "2026-11-27 20:00"),
    ("on friday at 8 p.m.", "2026-11-27 20:00"),
    ("8 P.M. Friday", "2026-11-27 20:00"),
    ("  FRI    8PM  ", "2026-11-27 20:00"),
    ("this fri 8pm", "2026-11-27 20:00"),
    ("next fri 8pm", "2026-12-04 20:00"),
    ("mon 4pm", "2026-11-23 16:00"),  # today, still ahead
    ("mon 2pm", "2026-11-30 14:00"),  # today's has passed: next week
    ("mon 15:00", "2026-11-30 15:00"),  # exactly now is not ahead
    ("next mon 4pm", "2026-11-30 16:00"),
    ("sun noon", "2026-11-29 12:00"),
    ("fri midnight", "2026-11-28 00:00"),  # end of Friday
    # today / tonight / tomorrow / bare times
    ("tomorrow 7:30pm", "2026-11-24 19:30"),
    ("tmrw noon", "2026-11-24 12:00"),
    ("12am tomorrow", "2026-11-24 00:00"),
    ("tomorrow 12pm", "2026-11-24 12:00"),
    ("tomorrow 20:00:30", "2026-11-24 20:00:30"),
    ("tomorrow 8:00", "2026-11-24 08:00"),  # a colon means the 24-hour clock
    ("today 21:00", "2026-11-23 21:00"),
    ("tonight 8pm", "2026-11-23 20:00"),
    ("8pm", "2026-11-23 20:00"),
    ("15:01", "2026-11-23 15:01"),
    ("midnight", "2026-11-24 00:00"),
    # relative
    ("in 2 hours", "2026-11-23 17:00"),
    ("in 90 minutes", "2026-11-23 16:30"),
    ("in 1h30m", "2026-11-23 16:30"),
    ("in 1 hour and 30 minutes", "2026-11-23 16:30"),
    ("in an hour", "2026-11-23 16:00"),
    ("in 3 days", "2026-11-26 15:00"),
    ("in 2 weeks", "2026-12-07 15:00"),
    ("in 1d 2h", "2026-11-24 17:00"),
    ("in 3 days 8pm", "2026-11-26 20:00"),
    # month and day
    ("dec 4 8pm", "2026-12-04 20:00"),
    ("december 4 20:00", "2026-12-04 20:00"),
    ("4 dec 8pm", "2026-12-04 20:00"),
    ("the 4th of December at 8pm", "2026-12-04 20:00"),
    ("Dec. 4th, 8pm", "2026-12-04 20:00"),
    ("dec 4 2026 8pm", "2026-12-04 20:00"),
    ("fri dec 4 8pm", "2026-12-04 20:00"),
    ("friday 4 december 2026 20:00", "2026-12-04 20:00"),
    ("fri 2026-12-04 20:00", "2026-12-04 20:00"),
    ("nov 30 8pm", "2026-11-30 20:00"),
    ("nov 20 2pm", "2027-11-20 14:00"),  # already behind us this year: next year
    ("jan 5 9am", "2027-01-05 09:00"),
    ("feb 29 8pm", "2028-02-29 20:00"),  # next leap year
    ("nov 23 4pm", "2026-11-23 16:00"),  # today, still ahead
]


@pytest.mark.parametrize(("text", "expected"), VALID_LONDON)
def test_valid_inputs_london(text: str, expected: str) -> None:
    result = parse_when(text, NOW, LONDON)
    assert result == local(LONDON, expected)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fri 8pm", "2026-11-27 20:00"),
        ("today 21:00", "2026-11-23 21:00"),
        ("8pm", "2026-11-23 20:00"),
        ("mon 11am", "2026-11-23 11:00"),  # 10:00 in New York now, so still ahead today
        ("dec 4 8pm", "2026-12-04 20:00"),
        ("in 2 hours", "2026-11-23 12:00"),
    ],
)
def test_valid_inputs_new_york(text: str, expected: str) -> None:
    assert parse_when(text, NOW, NEW_YORK) == local(NEW_YORK, expected)


def test_zone_object_and_non_utc_now_are_accepted() -> None:
    now_in_tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    assert parse_when("fri 8pm", now_in_tokyo, ZoneInfo(LONDON)) == local(LONDON, "2026-11-27 20:00")


def test_local_date_not_utc_date_decides_today() -> None:
    # 23:30 UTC Monday is already Tuesday 08:30 in Tokyo: "today" there is Tuesday.
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert parse_when("today 9pm", now, "Asia/Tokyo") == local("Asia/Tokyo", "2026-11-24 21:00")
    assert parse_when("tue 9am", now, "Asia/Tokyo") == local("Asia/Tokyo", "2026-11-24 09:00")


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize(
    ("tz", "now", "text", "expected_utc"),
    [
        # New York, spring forward 2026-03-08 (02:00 EST -> 03:00 EDT). now = Sun 1 Mar 07:00 EST.
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "2026-03-08 01:30", "2026-03-08 06:30"),
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "2026-03-08 03:30", "2026-03-08 07:30"),
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "2026-03-08 20:00", "2026-03-09 00:00"),
        # "in 7 days" keeps the wall clock (07:00 local) across the change: 167 hours, not 168.
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "in 7 days", "2026-03-08 11:00"),
        # "in N hours" is exact elapsed time. now = 01:30 EST on the change day.
        (NEW_YORK, datetime(2026, 3, 8, 6, 30, tzinfo=UTC), "in 2 hours", "2026-03-08 08:30"),
        (NEW_YORK, datetime(2026, 3, 8, 6, 30, tzinfo=UTC), "in 30 minutes", "2026-03-08 07:00"),
        # "in 3 days" from 02:30 lands in the gap: moved forward by the gap to 03:30 EDT.
        (NEW_YORK, datetime(2026, 3, 5, 7, 30, tzinfo=UTC), "in 3 days", "2026-03-08 07:30"),
        # New York, fall back 2026-11-01 (02:00 EDT -> 01:00 EST): 01:30 happens twice, first wins.
        (NEW_YORK, datetime(2026, 10, 20, 12, tzinfo=UTC), "2026-11-01 01:30", "2026-11-01 05:30"),
        (NEW_YORK, datetime(2026, 10, 20, 12, tzinfo=UTC), "nov 1 1:30am", "2026-11-01 05:30"),
        (NEW_YORK, datetime(2026, 10, 20, 12, tzinfo=UTC), "2026-11-01 00:59", "2026-11-01 04:59"),
        (NEW_YORK, datetime(2026, 10, 20, 12, tzinfo=UTC), "2026-11-01 02:00", "2026-11-01 07:00"),
        (NEW_YORK, datetime(2026, 11, 1, 5, tzinfo=UTC), "in 1 hour", "2026-11-01 06:00"),
        (NEW_YORK, datetime(2026, 11, 1, 5, tzinfo=UTC), "in 1 day", "2026-11-02 06:00"),  # 25 h
        # London, spring forward 2026-03-29 (01:00 GMT -> 02:00 BST).
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "2026-03-29 00:30", "2026-03-29 00:30"),
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "2026-03-29 02:30", "2026-03-29 01:30"),
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "sun 1:30am", "2026-03-22 01:30"),
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "in 10 days", "2026-03-30 11:00"),
        # London, fall back 2026-10-25 (02:00 BST -> 01:00 GMT): first 01:30 is BST.
        (LONDON, datetime(2026, 10, 20, 12, tzinfo=UTC), "2026-10-25 01:30", "2026-10-25 00:30"),
        (LONDON, datetime(2026, 10, 20, 12, tzinfo=UTC), "sun 1:30am", "2026-10-25 00:30"),
        (LONDON, datetime(2026, 10, 20, 12, tzinfo=UTC), "2026-10-25 02:00", "2026-10-25 02:00"),
        (LONDON, datetime(2026, 10, 24, 23, tzinfo=UTC), "in 3 hours", "2026-10-25 02:00"),
    ],
)
def test_dst_edges(tz: str, now: datetime, text: str, expected_utc: str) -> None:
    assert parse_when(text, now, tz) == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "now", "text", "before", "after"),
    [
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "2026-03-08 02:30", "01:30", "03:30"),
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "mar 8 2:30am", "01:30", "03:30"),
        (NEW_YORK, datetime(2026, 3, 1, 12, tzinfo=UTC), "sun 2am", "01:00", "03:00"),
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "2026-03-29 01:30", "00:30", "02:30"),
        (LONDON, datetime(2026, 3, 20, 12, tzinfo=UTC), "next sun 1:30am", "00:30", "02:30"),
    ],
)
def test_nonexistent_wall_time_is_refused(tz: str, now: datetime, text: str, before: str, after: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when(text, now, tz)
    message = info.value.message
    assert "clocks go forward" in message
    day = "2026-03-08" if tz == NEW_YORK else "2026-03-29"
    assert examples_in(message) == [f"{day} {before}", f"{day} {after}"]
    for example in examples_in(message):
        parse_when(example, now, tz)  # both suggestions are real, future times


# --------------------------------------------------------------------------- errors

ERRORS: list[tuple[str, str]] = [
    ("blah", "I couldn't read `blah` as a time"),
    ("", "Tell me when"),
    ("   ", "Tell me when"),
    ("12/4 8pm", "could be 12 April or December 4"),
    ("4/12/2026 20:00", "could be 4 December or April 12"),
    ("13/4 8pm", "all-number dates"),
    ("12-4 8pm", "ambiguous"),
    ("8.30pm", "colon"),
    ("8", "could be morning or evening"),
    ("fri 8", "could be morning or evening"),
    ("dec 4 8", "could be morning or evening"),
    ("today 8", "could be morning or evening"),
    ("fri 13", "write `13` as a time"),
    ("fri 45", "isn't an hour"),
    ("fri", "needs a time of day"),
    ("dec 4", "needs a time of day"),
    ("tomorrow", "needs a time of day"),
    ("13pm", "1 to 12"),
    ("0am", "1 to 12"),
    ("25:00", "00:00 to 23:59"),
    ("8:75pm", "minutes"),
    ("8:7", "isn't a time I can read"),
    ("2pm", "2pm today has already passed"),
    ("today 14:00", "already passed"),
    ("tonight 9am", "already passed"),
    ("2026-11-23 09:00", "already passed"),
    ("nov 23 2pm", "in the past"),
    ("2025-12-04 20:00", "in the past"),
    ("dec 4 2025 8pm", "in the past"),
    ("thu dec 4 8pm", "is a Friday, not a Thursday"),
    ("feb 30 8pm", "February has only 29 days"),
    ("2026-02-29 8pm", "2026 isn't a leap year"),
    ("apr 31 8pm", "April has only 30 days"),
    ("dec 0 8pm", "days start at 1"),
    ("2026-13-01 8pm", "no month 13"),
    ("0000-01-01 8pm", "no year 0"),
    ("fri 8pm 9pm", "two times"),
    ("next week 8pm", "couldn't read"),
    ("in 0 minutes", "right now"),
    ("in 5", "couldn't read"),
    ("in 1.5 hours", "couldn't read"),
    ("in 2 parsecs", "couldn't read"),
    ("in 2 hours 8pm", "not both"),
    ("in 99999999999 hours", "too far"),
    ("in 99999999 weeks", "too far"),
]


@pytest.mark.parametrize(("text", "fragment"), ERRORS)
def test_errors_explain_and_offer_two_working_examples(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when(text, NOW, LONDON)
    message = info.value.message
    assert fragment in message
    examples = examples_in(message)
    assert len(examples) >= 2, message
    for example in examples:
        # Every suggestion must itself be readable (a bare "8pm" may be past, hence allow_past).
        parse_when(example, NOW, LONDON, allow_past=True)


@pytest.mark.parametrize("text", ["blah", "fri 8", "12/4 8pm", "fri", "in 0 minutes", "thu dec 4 8pm"])
def test_examples_for_unreadable_input_are_in_the_future(text: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when(text, NOW, LONDON)
    for example in examples_in(info.value.message):
        assert parse_when(example, NOW, LONDON) > NOW


def test_past_bare_time_hints_tomorrow() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when("2pm", NOW, LONDON)
    assert examples_in(info.value.message)[0] == "tomorrow 2pm"
    assert parse_when("tomorrow 2pm", NOW, LONDON) == local(LONDON, "2026-11-24 14:00")


def test_year_overflow_is_a_user_error() -> None:
    # 23:00 on the last day of year 9999 in New York is already year 10000 in UTC.
    with pytest.raises(TimeParseError, match="outside the calendar"):
        parse_when("9999-12-31 23:00", NOW, NEW_YORK)


def test_backticks_in_input_cannot_break_the_message() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when("`@everyone` lol", NOW, LONDON)
    assert "`'@everyone' lol`" in info.value.message


def test_long_input_is_shortened_in_the_message() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_when("x" * 500, NOW, LONDON)
    assert "x" * 39 + "…" in info.value.message
    assert "x" * 41 not in info.value.message


# --------------------------------------------------------------------------- options


def test_allow_past_lifts_only_the_past_check() -> None:
    assert parse_when("2pm", NOW, LONDON, allow_past=True) == local(LONDON, "2026-11-23 14:00")
    assert parse_when("2025-12-04 20:00", NOW, LONDON, allow_past=True) == local(LONDON, "2025-12-04 20:00")
    # Day rules are unchanged: a passed weekday still means next week.
    assert parse_when("mon 2pm", NOW, LONDON, allow_past=True) == local(LONDON, "2026-11-30 14:00")


def test_max_ahead_limits_and_names_the_limit() -> None:
    limit = timedelta(days=365)
    assert parse_when("in 365 days", NOW, LONDON, max_ahead=limit) == NOW + limit
    with pytest.raises(TimeParseError) as info:
        parse_when("in 366 days", NOW, LONDON, max_ahead=limit)
    assert "more than 365 days" in info.value.message
    assert "too far ahead" in info.value.message
    with pytest.raises(TimeParseError, match="more than 1 day 12 hours"):
        parse_when("in 2 days", NOW, LONDON, max_ahead=timedelta(hours=36))
    assert parse_when("in 2 hours", NOW, LONDON, max_ahead=timedelta(hours=2)) == NOW + timedelta(hours=2)
    with pytest.raises(TimeParseError):
        parse_when("in 121 minutes", NOW, LONDON, max_ahead=timedelta(hours=2))


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware") as info:
        parse_when("fri 8pm", datetime(2026, 11, 23, 15), LONDON)
    assert not isinstance(info.value, TimeParseError)


def test_unknown_zone_is_a_user_error() -> None:
    with pytest.raises(TimeParseError, match="isn't a time zone I know"):
        parse_when("fri 8pm", NOW, "Mars/Olympus_Mons")
    with pytest.raises(TimeParseError):
        to_zone("../../etc/passwd")
    with pytest.raises(TimeParseError):
        to_zone("")
    assert to_zone(" Europe/London ") == ZoneInfo(LONDON)


def test_error_type_is_a_user_error_and_a_value_error() -> None:
    err = TimeParseError("nope")
    assert isinstance(err, UserError)
    assert isinstance(err, ValueError)
    assert err.message == "nope"
    assert str(err) == "nope"


# --------------------------------------------------------------------------- discord timestamps


def test_discord_timestamps() -> None:
    dt = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert format_ts(dt) == "<t:1796414400:F>"
    assert format_ts(dt, "R") == "<t:1796414400:R>"
    assert discord_timestamp(dt, "d") == "<t:1796414400:d>"
    assert format_ts(dt.astimezone(ZoneInfo(NEW_YORK)), "t") == "<t:1796414400:t>"
    assert format_full(dt) == "<t:1796414400:F> (<t:1796414400:R>)"


def test_discord_timestamp_rejects_naive_and_unknown_style() -> None:
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 12, 4, 20, 0))
    with pytest.raises(ValueError):
        format_ts(datetime(2026, 12, 4, 20, 0, tzinfo=UTC), "X")


# --------------------------------------------------------------------------- properties

_VOCAB = [
    "in", "at", "on", "the", "of", "next", "this", "today", "tonight", "tomorrow", "fri", "monday",
    "dec", "february", "8pm", "8", "12am", "20:00", "25:00", "noon", "midnight", "2026-12-04",
    "2026-02-29", "4th", "31", "29", "2027", "hours", "2h", "30m", "days", "a", "and", "12/4", "8.30",
    "1h30m", "weeks", "", "`", "\u00a0", "3", "0", "99999999999",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    words=st.lists(st.sampled_from(_VOCAB), max_size=5),
    minutes=st.integers(min_value=0, max_value=3 * 366 * 24 * 60),
    tz=st.sampled_from([LONDON, NEW_YORK, "Asia/Kolkata", "Pacific/Auckland", "UTC"]),
)
def test_any_input_gives_a_future_utc_time_or_a_user_error(words: list[str], minutes: int, tz: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    text = " ".join(words)
    try:
        result = parse_when(text, now, tz, max_ahead=timedelta(days=800))
    except TimeParseError as err:
        assert err.message and "`" in err.message
        return
    assert result.tzinfo is UTC
    assert now < result <= now + timedelta(days=800)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        result = parse_when(text, NOW, LONDON)
    except TimeParseError:
        return
    assert result > NOW


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=2 * 366 * 24 * 60),
    hours=st.integers(min_value=1, max_value=500),
    tz=st.sampled_from([LONDON, NEW_YORK]),
)
def test_in_hours_is_exact_elapsed_time(minutes: int, hours: int, tz: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    assert parse_when(f"in {hours} hours", now, tz) == now + timedelta(hours=hours)
