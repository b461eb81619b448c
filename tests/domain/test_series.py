"""Series rules: which nights are created when, the Discord recurrence payload, the calendar's RRULE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from bot.domain import series as dom
from bot.domain.ics import NightOverride, build_series_ics
from bot.domain.recurrence import next_occurrence, parse_recurrence
from bot.errors import UserError

LONDON = "Europe/London"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stepper(text: str, tz: str = LONDON) -> dom.NextNight:
    rule = parse_recurrence(text, tz)
    return lambda after: next_occurrence(rule, after)


THU = stepper("every thu 8pm")
MON_NOON = utc("2026-01-05 12:00")


def test_next_night_only_waits_for_the_night_to_start() -> None:
    first = dom.plan(THU, now=MON_NOON, cursor=MON_NOON, days_ahead=None, waiting_start=None)
    assert first == dom.Plan((utc("2026-01-08 20:00"),), utc("2026-01-08 20:00"))
    # Night 1 is waiting: nothing new, look again when it starts.
    waiting = dom.plan(THU, now=MON_NOON, cursor=utc("2026-01-08 20:00"), days_ahead=None,
                       waiting_start=utc("2026-01-08 20:00"))
    assert waiting == dom.Plan((), utc("2026-01-08 20:00"))
    # It started: the next one is created.
    started = utc("2026-01-08 20:00")
    assert dom.plan(THU, now=started, cursor=started, days_ahead=None, waiting_start=None).create == (
        utc("2026-01-15 20:00"),
    )


def test_skipped_nights_and_the_end_are_respected() -> None:
    start = utc("2026-01-08 20:00")
    got = dom.plan(THU, now=start, cursor=start, days_ahead=None, waiting_start=None,
                   skipped=[utc("2026-01-15 20:00")])
    assert got.create == (utc("2026-01-22 20:00"),)
    ended = dom.plan(THU, now=start, cursor=start, days_ahead=None, waiting_start=None,
                     ends_after=utc("2026-01-14 23:59"))
    assert ended == dom.Plan((), None)


def test_days_ahead_creates_every_night_within_reach_and_wakes_for_the_next() -> None:
    got = dom.plan(THU, now=MON_NOON, cursor=MON_NOON, days_ahead=11, waiting_start=None)
    assert got.create == (utc("2026-01-08 20:00"), utc("2026-01-15 20:00"))
    assert got.next_check == utc("2026-01-22 20:00") - timedelta(days=11)
    # After downtime a night already past is not created.
    late = utc("2026-01-08 21:00")
    assert dom.plan(THU, now=late, cursor=MON_NOON, days_ahead=3, waiting_start=None).create == ()


def test_discord_recurrence_follows_the_documented_limits() -> None:
    start = utc("2026-01-08 20:00")
    assert dom.discord_recurrence(parse_recurrence("every thu 8pm", LONDON), start) == {
        "start": "2026-01-08T20:00:00+00:00", "frequency": 2, "interval": 1, "by_weekday": [3],
    }
    assert dom.discord_recurrence(parse_recurrence("every other thu 8pm", LONDON), start)["interval"] == 2
    first_sat = dom.discord_recurrence(parse_recurrence("monthly first sat 7pm", LONDON), utc("2026-01-03 19:00"))
    assert first_sat is not None and first_sat["by_n_weekday"] == [{"n": 1, "day": 5}]
    assert first_sat["frequency"] == 1
    assert dom.discord_recurrence(parse_recurrence("monthly 15 8pm", LONDON), utc("2026-01-15 20:00")) is None
    assert dom.discord_recurrence(parse_recurrence("monthly last fri 8pm", LONDON), utc("2026-01-30 20:00")) is None
    # 00:30 on Friday in Berlin is still Thursday in UTC: Discord would put it on the wrong day.
    berlin = parse_recurrence("every fri 00:30", "Europe/Berlin")
    assert dom.discord_recurrence(berlin, next_occurrence(berlin, MON_NOON)) is None
    assert "UTC" in dom.why_not_recurring(berlin)


def test_check_days_ahead() -> None:
    assert dom.check_days_ahead(None) is None and dom.check_days_ahead(7) == 7
    with pytest.raises(UserError, match="1 to 60"):
        dom.check_days_ahead(0)


@pytest.mark.parametrize(
    "text", ["every thu 8pm", "every other fri 20:00", "monthly first sat 7pm", "monthly last fri 8pm",
             "monthly 31 20:00", "monthly 15 19:30"],
)
def test_the_calendar_shows_the_same_nights_as_the_bot(text: str) -> None:
    """Expanded by dateutil (as calendar apps do), the .ics gives exactly the bot's nights, across the March and
    October clock changes, minus the skipped ones."""
    rule = parse_recurrence(text, LONDON)
    step = stepper(text)
    first = step(MON_NOON)
    assert first is not None
    rule = rule.anchored(first)
    nights = dom.upcoming(lambda a: next_occurrence(rule, a), MON_NOON, count=24)
    skipped = nights[3]
    data = build_series_ics(
        uid="series-1@filmclub", title="Club night", first=first, duration=timedelta(hours=2), tz=LONDON,
        rrule=dom.ical_rrule(rule), stamp=MON_NOON, exdates=[skipped],
        overrides=[NightOverride(first, first, first + timedelta(hours=2), "Watch party: Her (2013)")],
    )
    cal = Calendar.from_ical(data)
    assert cal.walk("VTIMEZONE")
    master, override = cal.walk("VEVENT")
    dtstart = master["DTSTART"].dt
    assert dtstart.tzinfo is not None and str(dtstart.tzinfo) == LONDON
    expanded = rrulestr(master["RRULE"].to_ical().decode(), dtstart=dtstart)
    exdates = {d.dt for ex in ([master["EXDATE"]] if not isinstance(master["EXDATE"], list) else master["EXDATE"])
               for d in ex.dts}
    got = [d.astimezone(UTC) for d in expanded[:24] if d not in exdates]
    assert got == [n for n in nights if n != skipped][: len(got)]
    assert len(got) == 23
    assert override["RECURRENCE-ID"].dt.astimezone(UTC) == first
    assert str(override["SUMMARY"]) == "Watch party: Her (2013)"
    assert str(override["UID"]) == str(master["UID"])


def test_twenty_hundred_stays_local_over_the_clock_change() -> None:
    nights = dom.upcoming(THU, utc("2026-03-20 00:00"), count=3)
    assert [n.astimezone(ZoneInfo(LONDON)).hour for n in nights] == [20, 20, 20]
    assert [n.hour for n in nights] == [20, 19, 19]
