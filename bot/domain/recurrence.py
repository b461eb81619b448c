"""Repeating events (weekly / monthly screenings) and yearly anniversaries.

The text grammar of a rule is ours (``parse_recurrence``: what members type and what is stored); the calendar
arithmetic is APScheduler's. :func:`trigger` turns a rule into an APScheduler trigger (``CronTrigger``, or an
``OrTrigger`` of two), :func:`anniversary_trigger` does the same for a yearly date, and :func:`next_wall_time`
asks the trigger for the next wall-clock date and time and places it in the server's zone. Only the trigger
classes are used here (pure date arithmetic on the ``now`` they are given): nothing reads the clock.

Rules (tested against the triggers in ``tests/domain/test_recurrence.py``)
-------------------------------------------------------------------------
* ``next_occurrence`` and ``yearly_anniversary`` return the first instant *strictly after*
  ``after``; feeding the result back in gives the one after that.
* A wall-clock time stays put across daylight-saving changes: "every Friday 20:00" in Europe/London is
  20:00 local before and after the late-October change (the UTC instant moves by an hour).
  *Where the trigger differs*: given the server's zone, APScheduler 3.11's ``CronTrigger`` skips a whole week
  next to a change (weekly Monday 00:00 in Europe/London, asked during the week of 23 March 2026, answers
  6 April and never 30 March; agronholm/apscheduler#606 is the same bug for a daily job), and fires a repeated
  fall-back time twice. So the trigger counts wall-clock time in UTC, which has no changes, and the zone
  (``zoneinfo``) maps each wall time to an instant, with the two rules below.
* Monthly on a day the month lacks (31 in April, 30 or 31 in February) falls on the last day of
  that month; the rule itself keeps its day, so May is back on the 31st. *Cron differs*: ``day=31`` skips
  the short months. The bot follows the member rule (a club night announced for "the 31st" should not vanish
  for two months), so :func:`trigger` adds ``day="last"`` for the months that can be shorter.
* Yearly on February 29 falls on February 28 in non-leap years. *Cron differs*: ``month=2, day=29`` fires
  only in leap years; the bot uses ``day="last"`` of February (a pet remembered every year, not every four).
* A wall time inside a spring-forward gap (e.g. 02:30 on 2026-03-08 in America/New_York) is
  moved forward by the gap (03:30 local). A wall time that happens twice on a fall-back day
  means the first one (``fold=0``), once. (A one-off time typed by a member is refused instead; see
  :mod:`bot.domain.timeparse`. A repeating rule cannot ask, so it shifts.)

Text form (``parse_recurrence``), case-insensitive, ``at``/``on``/``the`` ignored::

    weekly fri 20:00        every friday 8pm        every week on fri at 8pm     fridays 8pm
    monthly 1 20:00         monthly on the 1st 8pm  every month on the 31st 20:00
    every other fri 20:00   fortnightly fri 8pm     biweekly fri 8pm
    monthly first sat 7pm   every month on the last fri 8pm   monthly 2nd tue 19:30

``Recurrence.canonical()`` gives the short form back (``weekly fri 20:00``) for storage.
Every other week needs to know which weeks: :meth:`Recurrence.anchored` pins it to a night, and
the canonical form carries it (``every other fri 20:00 from 2026-01-09``). Without an anchor the first
occurrence after ``after`` starts the fortnight (so store it anchored).
"Monthly first sat" is the first Saturday of each month; ``fifth`` skips months without one, ``last`` is
the last one of each month.
``weekly fri midnight`` means the night from Friday to Saturday, stored as ``weekly sat 00:00``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain.timeparse import (
    WEEKDAY_ABBR,
    WEEKDAY_NAMES,
    WEEKDAYS,
    TimeParseError,
    ambiguous_hour_error,
    echo,
    find_time_of_day,
    localize,
    normalize,
    parse_day_number,
    parse_iso_date,
    to_zone,
)

__all__ = [
    "Frequency",
    "Recurrence",
    "anniversary_trigger",
    "next_occurrence",
    "next_wall_time",
    "parse_recurrence",
    "trigger",
    "yearly_anniversary",
]

Frequency = Literal["weekly", "monthly"]

_EXAMPLES = "Try `weekly fri 20:00` or `monthly 1 8pm`."
#: ``monthly first sat``: the word -> n (-1 = the last one of the month).
NTH_WORDS: dict[str, int] = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "last": -1,
}  # fmt: skip
NTH_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_CRON_NTH = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}
_OTHER_WORDS = frozenset({"other", "biweekly", "fortnightly", "alternate"})


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _hhmm(at: time) -> str:
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A repeating local wall time: weekly on ``weekday`` (0=Monday), monthly on ``day`` (1-31), or monthly on
    the ``nth`` (1-5, -1 = last) ``weekday`` of the month. Weekly rules may have ``interval`` 2 (every other
    week), pinned to the week of ``anchor`` (a local date).

    ``tz`` is an IANA zone name; ``local_time`` is naive (wall clock in ``tz``). Build with
    :meth:`weekly` / :meth:`monthly` or :func:`parse_recurrence`.
    """

    frequency: Frequency
    local_time: time
    tz: str
    weekday: int | None = None
    day: int | None = None
    interval: int = 1
    nth: int | None = None
    anchor: date | None = None

    def __post_init__(self) -> None:
        if self.local_time.tzinfo is not None:
            raise ValueError("local_time must be a naive wall-clock time")
        to_zone(self.tz)  # validates the name
        if self.frequency == "weekly":
            if self.weekday is None or not 0 <= self.weekday <= 6 or self.day is not None or self.nth is not None:
                raise ValueError("a weekly rule needs weekday 0-6 and no day")
            if self.interval not in (1, 2):
                raise ValueError("a weekly rule repeats every week or every other week")
        elif self.frequency == "monthly":
            if self.nth is not None:
                if self.weekday is None or not 0 <= self.weekday <= 6 or self.day is not None:
                    raise ValueError("a monthly rule on the nth weekday needs weekday 0-6 and no day")
                if self.nth not in NTH_NAMES:
                    raise ValueError("nth must be 1-5 or -1 (last)")
            elif self.day is None or not 1 <= self.day <= 31 or self.weekday is not None:
                raise ValueError("a monthly rule needs day 1-31 and no weekday")
            if self.interval != 1:
                raise ValueError("a monthly rule repeats every month")
        else:
            raise ValueError(f"unknown frequency {self.frequency!r}")
        if self.anchor is not None and self.interval == 1:
            raise ValueError("only an every-other-week rule has an anchor")

    @classmethod
    def weekly(cls, weekday: int, local_time: time, tz: ZoneInfo | str) -> Recurrence:
        return cls("weekly", local_time, to_zone(tz).key, weekday=weekday)

    @classmethod
    def monthly(cls, day: int, local_time: time, tz: ZoneInfo | str) -> Recurrence:
        return cls("monthly", local_time, to_zone(tz).key, day=day)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def anchored(self, night: datetime) -> Recurrence:
        """An every-other-week rule pinned to the fortnight of ``night`` (an occurrence); others unchanged."""
        if self.interval == 1:
            return self
        return replace(self, anchor=night.astimezone(self.zone).date())

    def canonical(self) -> str:
        """Short text that :func:`parse_recurrence` reads back: ``weekly fri 20:00``."""
        at = _hhmm(self.local_time)
        if self.nth is not None:
            assert self.weekday is not None
            return f"monthly {NTH_NAMES[self.nth]} {WEEKDAY_ABBR[self.weekday]} {at}"
        if self.weekday is not None:
            if self.interval == 2:
                pinned = f" from {self.anchor.isoformat()}" if self.anchor is not None else ""
                return f"every other {WEEKDAY_ABBR[self.weekday]} {at}{pinned}"
            return f"weekly {WEEKDAY_ABBR[self.weekday]} {at}"
        return f"monthly {self.day} {at}"

    def describe(self) -> str:
        """For people: ``every Friday at 20:00 (Europe/London)``."""
        at = _hhmm(self.local_time)
        if self.nth is not None:
            assert self.weekday is not None
            return f"the {NTH_NAMES[self.nth]} {WEEKDAY_NAMES[self.weekday]} of each month at {at} ({self.tz})"
        if self.weekday is not None:
            every = "every other" if self.interval == 2 else "every"
            return f"{every} {WEEKDAY_NAMES[self.weekday]} at {at} ({self.tz})"
        assert self.day is not None
        text = f"monthly on the {_ordinal(self.day)} at {at} ({self.tz})"
        if self.day > 28:
            text += "; in shorter months on the last day"
        return text


def _check_after(after: datetime) -> datetime:
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"after must be timezone-aware (got naive {after!r})")
    return after.astimezone(UTC)


def _months_shorter_than(day: int) -> str:
    """Months that can lack ``day`` (February always, for 29-31), as a cron month list."""
    return ",".join(str(m) for m in range(1, 13) if m == 2 or calendar.monthrange(2001, m)[1] < day)


def trigger(rule: Recurrence) -> BaseTrigger:
    """The APScheduler trigger that fires on ``rule``'s wall-clock dates and times.

    It counts wall-clock time in UTC, a zone without daylight-saving changes: :func:`next_occurrence` then places
    each wall time in the rule's zone (see the module notes for why the trigger is not given the zone itself).
    Weekly: ``CronTrigger(day_of_week=...)``; every other week from its anchored night: ``IntervalTrigger(weeks=2)``.
    Monthly on the nth weekday: ``CronTrigger(day="1st sat")`` (or ``"last sat"``).
    Monthly on a day every month has (1-28): ``CronTrigger(day=...)``.
    Monthly on the 29th-31st: cron alone would skip the months without that day; members expect the last day of
    such a month instead, so the rule is the cron day *or* ``day="last"`` in the months that can be shorter
    (an ``OrTrigger``; where both fire, on the same day, it is one occurrence).
    """
    at = rule.local_time
    fields: dict[str, Any] = {"hour": at.hour, "minute": at.minute, "second": at.second, "timezone": UTC}
    if rule.nth is not None:  # cron's own "1st sat" ... "5th sat" (months without one are passed over), "last sat"
        assert rule.weekday is not None
        which = "last" if rule.nth == -1 else _CRON_NTH[rule.nth]
        return CronTrigger(day=f"{which} {WEEKDAY_ABBR[rule.weekday]}", **fields)
    if rule.weekday is not None and rule.interval == 2 and rule.anchor is not None:
        # Every other week from the anchored night: a fixed 14-day step in wall-clock time (counted in UTC).
        first = datetime.combine(rule.anchor, at, tzinfo=UTC)
        return IntervalTrigger(weeks=2, start_date=first, timezone=UTC)
    if rule.weekday is not None:  # weekly (and every other week not anchored yet: its first night is the next)
        return CronTrigger(day_of_week=rule.weekday, **fields)
    assert rule.day is not None
    if rule.day <= 28:
        return CronTrigger(day=rule.day, **fields)
    return OrTrigger(
        [CronTrigger(day=rule.day, **fields), CronTrigger(month=_months_shorter_than(rule.day), day="last", **fields)]
    )


def anniversary_trigger(month: int, day: int, hour: int = 10) -> CronTrigger:
    """Every year on ``month``/``day`` at ``hour``:00 wall-clock time (counted in UTC, like :func:`trigger`).
    February 29 is ``day="last"`` of February: the 29th in leap years, the 28th in the others (cron's
    ``day=29`` would skip three years in four)."""
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f"no such day: month={month} day={day}")
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    cron_day: int | str = "last" if (month, day) == (2, 29) else day
    return CronTrigger(month=month, day=cron_day, hour=hour, minute=0, second=0, timezone=UTC)


def next_wall_time(trig: BaseTrigger, after: datetime, tz: ZoneInfo | str) -> datetime | None:
    """The first instant strictly after ``after`` (aware) at which ``trig``'s wall-clock time comes round in the
    zone ``tz``, as aware UTC; None if the trigger never fires again.

    The trigger gives the wall-clock date and time (its calendar: weekdays, month ends, leap years); the zone
    turns it into an instant: a time in the spring-forward gap moves forward by the gap, a time that happens
    twice on a fall-back day means the first one, once.
    """
    after = _check_after(after)
    zone = to_zone(tz)
    # The wall clock a day before ``after``, as a UTC stand-in: no occurrence after ``after`` comes earlier.
    cursor = (after.astimezone(zone) - timedelta(days=1)).replace(tzinfo=UTC, fold=0)
    for _ in range(400):  # a few steps; bounded in case a trigger only fires around the asked instant
        wall = trig.get_next_fire_time(None, cursor + timedelta(microseconds=1))
        if wall is None:
            return None
        wall = wall.astimezone(UTC)
        instant, _exists = localize(wall.date(), wall.time(), zone)
        if instant > after:
            return instant
        cursor = wall
    raise AssertionError(f"no occurrence of {trig} after {after}")  # pragma: no cover


def next_occurrence(rule: Recurrence, after: datetime) -> datetime:
    """The first occurrence of ``rule`` strictly after ``after`` (aware), as aware UTC."""
    fire = next_wall_time(trigger(rule), after, rule.zone)
    if fire is None:  # pragma: no cover - a weekly/monthly cron rule has no end date
        raise AssertionError("a repeating rule always has a next occurrence")
    return fire


def yearly_anniversary(month: int, day: int, after: datetime, tz: ZoneInfo | str, hour: int = 10) -> datetime:
    """Next return of ``month``/``day`` at ``hour``:00 local time, strictly after ``after``.

    February 29 is kept on February 28 in non-leap years. Returns aware UTC.
    """
    zone = to_zone(tz)
    fire = next_wall_time(anniversary_trigger(month, day, hour), after, zone)
    if fire is None:  # pragma: no cover - a yearly cron rule has no end date
        raise AssertionError("an anniversary always returns")
    return fire


def parse_recurrence(text: str, tz: ZoneInfo | str) -> Recurrence:
    """Read ``weekly fri 20:00`` / ``every friday 8pm`` / ``monthly 1 20:00`` into a rule.

    Raises :class:`TimeParseError` (with examples) for anything else.
    """
    zone = to_zone(tz)
    tokens = normalize(text)
    anchor: date | None = None
    if len(tokens) >= 2 and tokens[-2] == "from":
        anchor = parse_iso_date(tokens[-1], _EXAMPLES)
        if anchor is None:
            raise TimeParseError(f"After `from`, give the date of one night as year-month-day. {_EXAMPLES}")
        tokens = tokens[:-2]
    unreadable = TimeParseError(f"I couldn't read `{echo(text)}` as a repeating time. {_EXAMPLES}")
    if not tokens:
        raise TimeParseError(f"Tell me how often, please. {_EXAMPLES}")
    clock, rest = find_time_of_day(tokens, _EXAMPLES)

    shape = _rule_shape(rest)
    if clock is None:
        if shape is not None:
            shown = " ".join(rest)
            raise TimeParseError(f"`{echo(shown)}` needs a time of day too. Try `{shown} 8pm` or `{shown} 20:00`.")
        for index in (len(rest) - 1, 0):
            if rest and rest[index].isdigit() and len(rest[index]) <= 2:
                if _rule_shape(rest[:index] + rest[index + 1 :]) is not None:
                    raise ambiguous_hour_error(int(rest[index]), rest, index)
        raise unreadable
    if shape is None:
        raise unreadable
    frequency, number, interval, nth = shape
    if anchor is not None and interval == 1:
        raise TimeParseError(f"Only an every-other-week rule takes `from`. {_EXAMPLES}")
    if nth is not None:
        if clock.next_day:
            raise TimeParseError(
                f"For a monthly time, write midnight as `00:00` on the following day: try "
                f"`monthly {NTH_NAMES[nth]} {WEEKDAY_ABBR[number]} 23:59` or `monthly {NTH_NAMES[nth]} "
                f"{WEEKDAY_ABBR[number]} 8pm`."
            )
        return Recurrence("monthly", clock.at, zone.key, weekday=number, nth=nth)
    if frequency == "weekly":
        weekday = number
        if clock.next_day:  # "fri midnight" = the night into Saturday
            weekday = (weekday + 1) % 7
            if anchor is not None:
                anchor += timedelta(days=1)
        if anchor is not None and anchor.weekday() != weekday:
            raise TimeParseError(
                f"{anchor.isoformat()} is a {WEEKDAY_NAMES[anchor.weekday()]}, not a {WEEKDAY_NAMES[weekday]}: "
                f"`from` names one night of the rule. {_EXAMPLES}"
            )
        return Recurrence("weekly", clock.at, zone.key, weekday=weekday, interval=interval, anchor=anchor)
    if clock.next_day:
        raise TimeParseError(
            f"For a monthly time, write midnight as `00:00` on the following day: try "
            f"`monthly {number % 31 + 1} 00:00` or `monthly {number} 23:59`."
        )
    return Recurrence.monthly(number, clock.at, zone)


def _rule_shape(tokens: list[str]) -> tuple[Frequency, int, int, int | None] | None:
    """The day part of a rule -> (frequency, weekday or day, interval, nth); None if not a rule.

    ("weekly", weekday, 1 or 2, None), ("monthly", day, 1, None) or ("monthly", weekday, 1, nth).
    Raises for a recognised but impossible day (``monthly 32``).
    """
    toks = list(tokens)
    every = "every" in toks
    if every:
        toks.remove("every")
    others = [t for t in toks if t in _OTHER_WORDS]
    if others:  # every other fri / fortnightly fri / biweekly fri
        if len(others) != 1 or (others[0] in ("other", "alternate") and not every):
            return None
        toks.remove(others[0])
        for word in ("weekly", "week"):
            if word in toks:
                toks.remove(word)
        if len(toks) != 1:
            return None
        (tok,) = toks
        plural = tok.endswith("s") and tok[:-1] in WEEKDAYS
        if tok not in WEEKDAYS and not plural:
            return None
        return "weekly", WEEKDAYS[tok[:-1] if plural else tok], 2, None
    nths = [t for t in toks if t in NTH_WORDS]
    if nths and any(t in WEEKDAYS for t in toks):  # monthly first sat / every month on the last fri
        weekdays = [t for t in toks if t in WEEKDAYS]
        rest = [t for t in toks if t not in nths and t not in weekdays]
        if len(nths) != 1 or len(weekdays) != 1 or not (rest == ["monthly"] or (every and rest == ["month"])):
            return None
        return "monthly", WEEKDAYS[weekdays[0]], 1, NTH_WORDS[nths[0]]
    freq: Frequency | None = None
    if "weekly" in toks or (every and "week" in toks):
        freq = "weekly"
        toks.remove("weekly" if "weekly" in toks else "week")
    if "monthly" in toks or (every and "month" in toks):
        if freq is not None:
            return None
        freq = "monthly"
        toks.remove("monthly" if "monthly" in toks else "month")
    if len(toks) != 1:
        return None
    (tok,) = toks
    plural = tok.endswith("s") and tok[:-1] in WEEKDAYS
    if tok in WEEKDAYS or plural:
        if freq == "monthly" or (freq is None and not every and not plural):
            return None
        return "weekly", WEEKDAYS[tok[:-1] if plural else tok], 1, None
    number = parse_day_number(tok)
    if number is None or freq == "weekly" or (freq is None and not every):
        return None
    if not 1 <= number <= 31:
        raise TimeParseError(f"A month has days 1 to 31, so there's no {_ordinal(number)}. {_EXAMPLES}")
    return "monthly", number, 1, None
