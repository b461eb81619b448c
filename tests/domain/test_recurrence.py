"""Repeating rules: parsing, next occurrence across DST in both zones, month ends, anniversaries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.recurrence import Recurrence, next_occurrence, parse_recurrence, yearly_anniversary
from bot.domain.timeparse import TimeParseError

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def walk(rule: Recurrence, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = next_occurrence(rule, after)
        out.append(after)
    return out


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("weekly fri 20:00", "weekly fri 20:00"),
        ("every friday 8pm", "weekly fri 20:00"),
        ("Every Friday at 8 PM", "weekly fri 20:00"),
        ("every week on fri at 8pm", "weekly fri 20:00"),
        ("fridays 8pm", "weekly fri 20:00"),
        ("weekly on wednesday 7:30pm", "weekly wed 19:30"),
        ("weekly sun noon", "weekly sun 12:00"),
        ("weekly fri midnight", "weekly sat 00:00"),  # the night from Friday into Saturday
        ("weekly sun midnight", "weekly mon 00:00"),
        ("monthly 1 20:00", "monthly 1 20:00"),
        ("monthly on the 1st 8pm", "monthly 1 20:00"),
        ("every month on the 31st 20:00", "monthly 31 20:00"),
        ("every 15th 8pm", "monthly 15 20:00"),
        ("monthly 1 20:00:30", "monthly 1 20:00:30"),
    ],
)
def test_parse_recurrence(text: str, canonical: str) -> None:
    rule = parse_recurrence(text, LONDON)
    assert rule.canonical() == canonical
    assert rule.tz == LONDON
    assert parse_recurrence(canonical, LONDON) == rule


def test_parsed_fields() -> None:
    assert parse_recurrence("every friday 8pm", ZoneInfo(NEW_YORK)) == Recurrence(
        "weekly", time(20, 0), NEW_YORK, weekday=4
    )
    assert parse_recurrence("monthly 31 7:15am", NEW_YORK) == Recurrence.monthly(31, time(7, 15), NEW_YORK)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("blah", "couldn't read `blah` as a repeating time"),
        ("", "how often"),
        ("fri 8pm", "couldn't read"),  # one-off, not a rule
        ("weekly 1 8pm", "couldn't read"),
        ("monthly fri 8pm", "couldn't read"),
        ("weekly monthly fri 8pm", "couldn't read"),
        ("weekly fri", "needs a time of day"),
        ("monthly 1", "needs a time of day"),
        ("every fri", "needs a time of day"),
        ("weekly fri 8", "could be morning or evening"),
        ("monthly 1 8", "could be morning or evening"),
        ("monthly 32 8pm", "no 32nd"),
        ("monthly 0 8pm", "no 0th"),
        ("monthly 1 midnight", "midnight"),
        ("weekly fri 8pm 9pm", "two times"),
    ],
)
def test_parse_recurrence_errors_offer_working_examples(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_recurrence(text, LONDON)
    message = info.value.message
    assert fragment in message
    m = re.search(r"[Tt]ry (.*)$", message)
    assert m, message
    examples = re.findall(r"`([^`]+)`", m.group(1))
    assert len(examples) == 2
    for example in examples:
        parse_recurrence(example, LONDON)


def test_parse_recurrence_bad_time_and_zone() -> None:
    with pytest.raises(TimeParseError, match="1 to 12"):
        parse_recurrence("weekly fri 13pm", LONDON)
    with pytest.raises(TimeParseError, match="time zone"):
        parse_recurrence("weekly fri 8pm", "Nowhere/Special")


@pytest.mark.parametrize(
    ("kwargs", "ok"),
    [
        ({"frequency": "weekly", "weekday": 4}, True),
        ({"frequency": "weekly", "weekday": 7}, False),
        ({"frequency": "weekly"}, False),
        ({"frequency": "weekly", "weekday": 4, "day": 3}, False),
        ({"frequency": "monthly", "day": 31}, True),
        ({"frequency": "monthly", "day": 0}, False),
        ({"frequency": "monthly", "weekday": 1}, False),
        ({"frequency": "daily", "day": 1}, False),
    ],
)
def test_recurrence_validates(kwargs: dict[str, object], ok: bool) -> None:
    def build() -> Recurrence:
        return Recurrence(local_time=time(20), tz=LONDON, **kwargs)  # type: ignore[arg-type]

    if ok:
        build()
    else:
        with pytest.raises(ValueError):
            build()


def test_recurrence_rejects_aware_time_and_bad_zone() -> None:
    with pytest.raises(ValueError):
        Recurrence.weekly(4, time(20, tzinfo=UTC), LONDON)
    with pytest.raises(TimeParseError):
        Recurrence.weekly(4, time(20), "Atlantis/Capital")


def test_describe() -> None:
    assert parse_recurrence("every friday 8pm", LONDON).describe() == "every Friday at 20:00 (Europe/London)"
    assert parse_recurrence("monthly 2 20:00", LONDON).describe() == "monthly on the 2nd at 20:00 (Europe/London)"
    text = parse_recurrence("monthly 31 20:00", LONDON).describe()
    assert text.startswith("monthly on the 31st at 20:00") and "last day" in text


@given(
    weekday=st.integers(0, 6),
    day=st.integers(1, 31),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weekly=st.booleans(),
)
def test_canonical_round_trips(weekday: int, day: int, hour: int, minute: int, weekly: bool) -> None:
    at = time(hour, minute)
    rule = Recurrence.weekly(weekday, at, LONDON) if weekly else Recurrence.monthly(day, at, LONDON)
    assert parse_recurrence(rule.canonical(), LONDON) == rule


# --------------------------------------------------------------------------- next occurrence


def test_weekly_keeps_wall_clock_across_london_autumn_change() -> None:
    rule = parse_recurrence("weekly fri 20:00", LONDON)
    got = walk(rule, utc("2026-10-10 00:00"), 4)
    # BST (UTC+1) until Sunday 25 October, GMT after: the UTC instant moves, the wall clock does not.
    assert got == [utc("2026-10-16 19:00"), utc("2026-10-23 19:00"), utc("2026-10-30 20:00"), utc("2026-11-06 20:00")]
    assert {dt.astimezone(ZoneInfo(LONDON)).strftime("%a %H:%M") for dt in got} == {"Fri 20:00"}


def test_weekly_keeps_wall_clock_across_london_spring_change() -> None:
    rule = parse_recurrence("weekly fri 20:00", LONDON)
    assert walk(rule, utc("2026-03-21 00:00"), 2) == [utc("2026-03-27 20:00"), utc("2026-04-03 19:00")]


def test_weekly_keeps_wall_clock_across_new_york_changes() -> None:
    rule = parse_recurrence("every friday 8pm", NEW_YORK)
    # Spring forward Sunday 8 March: EST (UTC-5) then EDT (UTC-4).
    assert walk(rule, utc("2026-03-01 00:00"), 2) == [utc("2026-03-07 01:00"), utc("2026-03-14 00:00")]
    # Fall back Sunday 1 November: EDT then EST.
    assert walk(rule, utc("2026-10-25 00:00"), 2) == [utc("2026-10-31 00:00"), utc("2026-11-07 01:00")]


def test_weekly_rule_inside_the_gap_shifts_forward() -> None:
    rule = parse_recurrence("weekly sun 2:30am", NEW_YORK)
    got = walk(rule, utc("2026-03-01 12:00"), 2)
    # 8 March 02:30 does not exist: 03:30 EDT (07:30 UTC). The week after is 02:30 EDT again.
    assert got == [utc("2026-03-08 07:30"), utc("2026-03-15 06:30")]


def test_weekly_rule_at_the_repeated_hour_takes_the_first_once() -> None:
    rule = parse_recurrence("weekly sun 1:30am", NEW_YORK)
    got = walk(rule, utc("2026-10-26 00:00"), 2)
    # 1 November 01:30 happens twice; the first (EDT, 05:30 UTC) only, then 8 November in EST.
    assert got == [utc("2026-11-01 05:30"), utc("2026-11-08 06:30")]
    london = parse_recurrence("weekly sun 1:30am", LONDON)
    assert walk(london, utc("2026-10-19 00:00"), 2) == [utc("2026-10-25 00:30"), utc("2026-11-01 01:30")]


def test_next_occurrence_is_strictly_after() -> None:
    rule = parse_recurrence("weekly fri 20:00", LONDON)
    at = utc("2026-11-27 20:00")
    assert next_occurrence(rule, at) == utc("2026-12-04 20:00")
    assert next_occurrence(rule, utc("2026-11-27 19:59")) == at  # same day, still ahead
    # a non-UTC aware "after" is fine
    assert next_occurrence(rule, at.astimezone(ZoneInfo("Asia/Tokyo"))) == utc("2026-12-04 20:00")


def test_next_occurrence_uses_the_local_date() -> None:
    # 23:30 UTC Thursday is already Friday 08:30 in Tokyo: Friday 20:00 Tokyo is the same day.
    rule = parse_recurrence("weekly fri 20:00", "Asia/Tokyo")
    assert next_occurrence(rule, utc("2026-11-26 23:30")) == utc("2026-11-27 11:00")


def test_monthly_31_falls_on_last_day_of_short_months() -> None:
    rule = parse_recurrence("monthly 31 20:00", NEW_YORK)
    local = [dt.astimezone(ZoneInfo(NEW_YORK)) for dt in walk(rule, utc("2026-01-10 00:00"), 13)]
    assert [d.date().isoformat() for d in local] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
        "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31",
    ]  # fmt: skip
    assert {d.strftime("%H:%M") for d in local} == {"20:00"}
    leap = parse_recurrence("monthly 30 8pm", LONDON)
    assert next_occurrence(leap, utc("2028-02-01 00:00")) == utc("2028-02-29 20:00")


def test_monthly_across_dst() -> None:
    rule = parse_recurrence("monthly 1 20:00", LONDON)
    assert walk(rule, utc("2026-09-15 00:00"), 3) == [
        utc("2026-10-01 19:00"),
        utc("2026-11-01 20:00"),
        utc("2026-12-01 20:00"),
    ]


def test_next_occurrence_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_occurrence(parse_recurrence("weekly fri 8pm", LONDON), datetime(2026, 1, 1))


@given(
    minutes=st.integers(min_value=0, max_value=3 * 366 * 24 * 60),
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    tz=st.sampled_from([LONDON, NEW_YORK]),
)
def test_weekly_property(minutes: int, weekday: int, hour: int, minute: int, tz: str) -> None:
    after = utc("2026-01-01 00:00") + timedelta(minutes=minutes)
    rule = Recurrence.weekly(weekday, time(hour, minute), tz)
    got = next_occurrence(rule, after)
    assert after < got
    assert (got - after).total_seconds() <= 7 * 24 * 3600 + 3600
    local = got.astimezone(ZoneInfo(tz))
    assert local.weekday() == weekday
    # The wall clock matches, except inside a spring-forward gap where it is one hour later.
    assert (local.hour, local.minute) in {(hour, minute), (hour + 1, minute)}


# --------------------------------------------------------------------------- anniversaries


@pytest.mark.parametrize(
    ("month", "day", "after", "tz", "expected_utc"),
    [
        (5, 1, "2026-01-01 00:00", LONDON, "2026-05-01 09:00"),  # 10:00 BST
        (12, 1, "2026-01-01 00:00", LONDON, "2026-12-01 10:00"),  # 10:00 GMT
        (5, 1, "2026-05-01 09:00", LONDON, "2027-05-01 09:00"),  # strictly after
        (5, 1, "2026-05-01 08:59", LONDON, "2026-05-01 09:00"),
        (3, 8, "2026-01-01 00:00", NEW_YORK, "2026-03-08 14:00"),  # DST day, 10:00 EDT
        (2, 29, "2026-01-01 00:00", LONDON, "2026-02-28 10:00"),  # not a leap year
        (2, 29, "2027-03-01 00:00", LONDON, "2028-02-29 10:00"),  # leap year
        (2, 29, "2028-02-29 10:00", LONDON, "2029-02-28 10:00"),
        # New Year's Day 10:00 in Auckland is 21:00 UTC the day before; by 23:30 UTC it has passed.
        (1, 1, "2026-12-31 23:30", "Pacific/Auckland", "2027-12-31 21:00"),
        (1, 1, "2026-12-31 20:00", "Pacific/Auckland", "2026-12-31 21:00"),
    ],
)
def test_yearly_anniversary(month: int, day: int, after: str, tz: str, expected_utc: str) -> None:
    assert yearly_anniversary(month, day, utc(after), tz) == utc(expected_utc)


def test_yearly_anniversary_hour_and_validation() -> None:
    assert yearly_anniversary(6, 1, utc("2026-01-01 00:00"), LONDON, hour=0) == utc("2026-05-31 23:00")
    for bad in [(2, 30), (13, 1), (4, 31), (0, 1)]:
        with pytest.raises(ValueError):
            yearly_anniversary(*bad, utc("2026-01-01 00:00"), LONDON)
    with pytest.raises(ValueError):
        yearly_anniversary(1, 1, utc("2026-01-01 00:00"), LONDON, hour=24)
    with pytest.raises(ValueError):
        yearly_anniversary(1, 1, datetime(2026, 1, 1), LONDON)


# --------------------------------------------------------------------------- the rules against APScheduler's triggers


def test_rules_are_apscheduler_triggers() -> None:
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    from bot.domain.recurrence import anniversary_trigger, trigger

    assert isinstance(trigger(parse_recurrence("weekly fri 20:00", LONDON)), CronTrigger)
    assert isinstance(trigger(parse_recurrence("monthly 15 20:00", LONDON)), CronTrigger)
    assert isinstance(trigger(parse_recurrence("monthly 31 20:00", LONDON)), OrTrigger)
    assert isinstance(anniversary_trigger(2, 29), CronTrigger)


def test_weekly_next_to_the_spring_change_skips_no_week() -> None:
    # APScheduler 3.11's CronTrigger in Europe/London answers 6 April here (a week skipped); the bot must not.
    rule = Recurrence.weekly(0, time(0, 0), LONDON)
    assert walk(rule, utc("2026-03-23 00:00"), 3) == [
        utc("2026-03-29 23:00"),  # Monday 30 March 00:00 BST
        utc("2026-04-05 23:00"),
        utc("2026-04-12 23:00"),
    ]


def test_where_cron_differs_the_member_rule_wins() -> None:
    from apscheduler.triggers.cron import CronTrigger

    # Cron's own rule: the 31st skips April, February 29 skips three years in four.
    cron_31 = CronTrigger(day=31, hour=20, timezone=UTC).get_next_fire_time(None, utc("2026-04-01 00:00"))
    assert cron_31 == utc("2026-05-31 20:00")
    cron_29 = CronTrigger(month=2, day=29, hour=10, timezone=UTC).get_next_fire_time(None, utc("2026-01-01 00:00"))
    assert cron_29 == utc("2028-02-29 10:00")
    # The bot's: the last day of the short month; February 28 in other years.
    assert next_occurrence(parse_recurrence("monthly 31 20:00", "UTC"), utc("2026-04-01 00:00")) == utc(
        "2026-04-30 20:00"
    )
    assert yearly_anniversary(2, 29, utc("2026-01-01 00:00"), "UTC") == utc("2026-02-28 10:00")


# ------------------------------------------------------------------ series forms: every other week, nth weekday


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("every other fri 20:00", "every other fri 20:00"),
        ("every other friday at 8pm", "every other fri 20:00"),
        ("fortnightly fri 8pm", "every other fri 20:00"),
        ("biweekly fridays 8pm", "every other fri 20:00"),
        ("every other fri 20:00 from 2026-01-09", "every other fri 20:00 from 2026-01-09"),
        ("monthly first sat 7pm", "monthly first sat 19:00"),
        ("every month on the last fri 8pm", "monthly last fri 20:00"),
        ("monthly 2nd tue 19:30", "monthly second tue 19:30"),
        ("monthly fifth sun noon", "monthly fifth sun 12:00"),
    ],
)
def test_parse_series_forms(text: str, canonical: str) -> None:
    rule = parse_recurrence(text, LONDON)
    assert rule.canonical() == canonical
    assert parse_recurrence(canonical, LONDON) == rule


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("other fri 8pm", "couldn't read"),
        ("every other 15th 8pm", "couldn't read"),
        ("monthly first 8pm", "couldn't read"),
        ("weekly first sat 8pm", "couldn't read"),
        ("monthly first sat second sun 8pm", "couldn't read"),
        ("weekly fri 8pm from 2026-01-09", "Only an every-other-week"),
        ("every other fri 8pm from 2026-01-10", "not a Friday"),
        ("every other fri 8pm from soon", "year-month-day"),
    ],
)
def test_series_form_errors(text: str, fragment: str) -> None:
    with pytest.raises(TimeParseError, match=fragment):
        parse_recurrence(text, LONDON)


def test_every_other_week_follows_its_anchor_and_keeps_local_time_over_dst() -> None:
    rule = parse_recurrence("every other fri 20:00", LONDON)
    first = next_occurrence(rule, utc("2026-03-16 12:00"))  # a Monday: the first Friday after is the 20th
    assert first == utc("2026-03-20 20:00")
    pinned = rule.anchored(first)
    assert pinned.canonical() == "every other fri 20:00 from 2026-03-20"
    # London moves to BST on 29 March: 20:00 local is 19:00 UTC from then on.
    assert walk(pinned, utc("2026-03-16 12:00"), 3) == [
        utc("2026-03-20 20:00"), utc("2026-04-03 19:00"), utc("2026-04-17 19:00")
    ]
    # Asked from inside the off week, the anchor still decides.
    assert next_occurrence(pinned, utc("2026-03-21 00:00")) == utc("2026-04-03 19:00")
    assert next_occurrence(pinned, utc("2026-03-28 00:00")) == utc("2026-04-03 19:00")


def test_nth_weekday_of_the_month() -> None:
    first_sat = parse_recurrence("monthly first sat 7pm", LONDON)
    assert walk(first_sat, utc("2026-01-01 00:00"), 4) == [
        utc("2026-01-03 19:00"), utc("2026-02-07 19:00"), utc("2026-03-07 19:00"), utc("2026-04-04 18:00")
    ]
    last_fri = parse_recurrence("monthly last fri 8pm", LONDON)
    assert walk(last_fri, utc("2026-01-01 00:00"), 2) == [utc("2026-01-30 20:00"), utc("2026-02-27 20:00")]
    fifth_sun = parse_recurrence("monthly fifth sun 12:00", LONDON)
    # 2026: Sundays fall five times in March (1, 8, 15, 22, 29), May and August; not in April.
    assert walk(fifth_sun, utc("2026-03-01 00:00"), 2) == [utc("2026-03-29 11:00"), utc("2026-05-31 11:00")]
    assert first_sat.describe() == "the first Saturday of each month at 19:00 (Europe/London)"
    assert parse_recurrence("every other fri 8pm", LONDON).describe() == "every other Friday at 20:00 (Europe/London)"
