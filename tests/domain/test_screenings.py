"""Pure screening rules: RSVP counting, times, ratings, the .ics file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from bot.domain import screenings as d
from bot.domain.ics import build_ics
from bot.errors import UserError

START = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)


def test_button_answer_beats_event_interest() -> None:
    answers = {1: "going", 2: "maybe", 3: "cant"}
    counts = d.count_rsvps(answers, interested={1, 3, 4, 5})
    # 1 and 3 answered with buttons; 4 and 5 only marked Interested -> Maybe.
    assert (counts.going, counts.maybe, counts.cant, counts.interested) == (1, 3, 1, 2)
    lists = d.rsvp_lists(answers, {1, 3, 4, 5})
    assert lists.maybe == (2, 4, 5) and lists.going == (1,) and lists.cant == (3,)


@given(
    st.dictionaries(st.integers(1, 30), st.sampled_from(d.ANSWERS), max_size=20),
    st.sets(st.integers(1, 40), max_size=20),
)
def test_every_member_counted_once(answers: dict[int, str], interested: set[int]) -> None:
    counts = d.count_rsvps(answers, interested)
    assert counts.total == len(set(answers) | interested)
    assert counts.interested == len(interested - set(answers))


def test_check_answer() -> None:
    assert d.check_answer("cant") == "cant"
    with pytest.raises(UserError):
        d.check_answer("yes")


def test_reminder_times_skip_past_and_sort() -> None:
    now = START - timedelta(hours=3)
    got = d.reminder_times(START, [timedelta(days=1), timedelta(hours=1), timedelta(minutes=10)], now)
    assert got == [(timedelta(hours=1), START - timedelta(hours=1)),
                   (timedelta(minutes=10), START - timedelta(minutes=10))]
    assert d.reminder_times(START, [timedelta(hours=3)], now) == []  # exactly now: not ahead


def test_end_and_discussion_times() -> None:
    assert d.end_time(START, 126) == START + timedelta(minutes=126)
    starts = int(START.timestamp())
    s = d.Screening(
        id=1, guild_id=2, film_key="her-2013", title="Her", year=2013, runtime=126, starts_at=starts,
        ends_at=starts + 126 * 60, channel_id=3, created_by=4, created_at=0, updated_at=0,
    )
    assert s.end == START + timedelta(minutes=126)
    assert s.discussion_at == starts + 126 * 60 + 12 * 3600  # the next day by default
    assert s.label == "Her (2013)" and s.is_upcoming and not s.is_finished and s.jump_url is None


def test_runtime_bounds() -> None:
    assert d.check_runtime(126) == 126
    for bad in (0, -5, 24 * 60 + 1):
        with pytest.raises(UserError):
            d.check_runtime(bad)


def test_title_delay_and_free_text_checks() -> None:
    assert d.check_title("Her (2013)") == "Her (2013)"
    for bad in ("", "   ", "x" * (d.MAX_TITLE + 1)):
        with pytest.raises(UserError):
            d.check_title(bad)
    assert d.check_discussion_delay(None) == timedelta(hours=12)
    assert d.check_discussion_delay([timedelta(days=1)]) == timedelta(days=1)
    assert d.check_discussion_delay([timedelta(days=7)]) == timedelta(days=7)
    for bad_delay in ([], [timedelta(hours=1), timedelta(hours=2)], [timedelta(days=8)]):
        with pytest.raises(UserError):
            d.check_discussion_delay(bad_delay)
    assert d.clean_text(None) is None and d.clean_text(" \n ") is None
    assert d.clean_text("  Den  ") == "Den"


def test_validate_rating() -> None:
    assert d.validate_rating(5, "  Loved it  ") == (5, "Loved it")
    assert d.validate_rating(1, "   ") == (1, None)
    assert d.validate_rating(3, None) == (3, None)
    for bad in (0, 6, -1):
        with pytest.raises(UserError, match="1 to 5"):
            d.validate_rating(bad, None)
    with pytest.raises(UserError, match="under 1000"):
        d.validate_rating(3, "x" * 1001)


def test_summarize() -> None:
    summary = d.summarize([5, 4, 4, 1])
    assert summary.count == 4 and summary.average == pytest.approx(3.5)
    assert summary.distribution == (1, 0, 0, 2, 1)
    assert summary.average_text == "3.5"
    empty = d.summarize([])
    assert empty.count == 0 and empty.average_text == "–"
    assert d.distribution_bar(summary).startswith("1👍×1 · 2👍×0")


def test_ics_is_valid_calendar() -> None:
    raw = build_ics(
        uid="screening-12@filmclub", title="Her (2013)", start=START, end=START + timedelta(minutes=126),
        stamp=START - timedelta(days=2), description="Watch party", location="The den",
    )
    cal = Calendar.from_ical(raw)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Her (2013)"
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(minutes=126)
    assert str(event["location"]) == "The den"
    assert str(event["uid"]) == "screening-12@filmclub"
    assert b"BEGIN:VCALENDAR" in raw and b"VERSION:2.0" in raw
