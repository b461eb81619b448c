"""Repeating events (weekly / monthly screenings) and yearly anniversaries.

Pure domain code. Rules are kept in the server's local wall-clock time and turned into UTC
instants one occurrence at a time, so "every Friday 20:00" in Europe/London stays at 20:00 on the
wall clock when the clocks change in late October (the UTC instant moves by an hour instead).

Rules
-----
* ``next_occurrence`` and ``yearly_anniversary`` return the first instant *strictly after*
  ``after``; feeding the result back in gives the one after that.
* Monthly on a day the month lacks (31 in April, 30 or 31 in February) falls on the last day of
  that month; the rule itself keeps its day, so May is back on the 31st.
* Yearly on February 29 falls on February 28 in non-leap years.
* A wall time inside a spring-forward gap (e.g. 02:30 on 2026-03-08 in America/New_York) is
  moved forward by the gap (03:30 local). A wall time that happens twice on a fall-back day
  means the first one (``fold=0``). (A one-off time typed by a member is refused instead; see
  :mod:`bot.domain.timeparse`. A repeating rule cannot ask, so it shifts.)

Text form (``parse_recurrence``), case-insensitive, ``at``/``on``/``the`` ignored::

    weekly fri 20:00        every friday 8pm        every week on fri at 8pm     fridays 8pm
    monthly 1 20:00         monthly on the 1st 8pm  every month on the 31st 20:00

``Recurrence.canonical()`` gives the short form back (``weekly fri 20:00``) for storage.
``weekly fri midnight`` means the night from Friday to Saturday, stored as ``weekly sat 00:00``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

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
    to_zone,
)

__all__ = [
    "Frequency",
    "Recurrence",
    "next_occurrence",
    "parse_recurrence",
    "yearly_anniversary",
]

Frequency = Literal["weekly", "monthly"]

_EXAMPLES = "Try `weekly fri 20:00` or `monthly 1 8pm`."


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _hhmm(at: time) -> str:
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A repeating local wall time: weekly on ``weekday`` (0=Monday) or monthly on ``day`` (1-31).

    ``tz`` is an IANA zone name; ``local_time`` is naive (wall clock in ``tz``). Build with
    :meth:`weekly` / :meth:`monthly` or :func:`parse_recurrence`.
    """

    frequency: Frequency
    local_time: time
    tz: str
    weekday: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.local_time.tzinfo is not None:
            raise ValueError("local_time must be a naive wall-clock time")
        to_zone(self.tz)  # validates the name
        if self.frequency == "weekly":
            if self.weekday is None or not 0 <= self.weekday <= 6 or self.day is not None:
                raise ValueError("a weekly rule needs weekday 0-6 and no day")
        elif self.frequency == "monthly":
            if self.day is None or not 1 <= self.day <= 31 or self.weekday is not None:
                raise ValueError("a monthly rule needs day 1-31 and no weekday")
        else:
            raise ValueError(f"unknown frequency {self.frequency!r}")

    @classmethod
    def weekly(cls, weekday: int, local_time: time, tz: ZoneInfo | str) -> Recurrence:
        return cls("weekly", local_time, to_zone(tz).key, weekday=weekday)

    @classmethod
    def monthly(cls, day: int, local_time: time, tz: ZoneInfo | str) -> Recurrence:
        return cls("monthly", local_time, to_zone(tz).key, day=day)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def canonical(self) -> str:
        """Short text that :func:`parse_recurrence` reads back: ``weekly fri 20:00``."""
        if self.weekday is not None:
            return f"weekly {WEEKDAY_ABBR[self.weekday]} {_hhmm(self.local_time)}"
        return f"monthly {self.day} {_hhmm(self.local_time)}"

    def describe(self) -> str:
        """For people: ``every Friday at 20:00 (Europe/London)``."""
        at = _hhmm(self.local_time)
        if self.weekday is not None:
            return f"every {WEEKDAY_NAMES[self.weekday]} at {at} ({self.tz})"
        assert self.day is not None
        text = f"monthly on the {_ordinal(self.day)} at {at} ({self.tz})"
        if self.day > 28:
            text += "; in shorter months on the last day"
        return text


def _check_after(after: datetime) -> datetime:
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError(f"after must be timezone-aware (got naive {after!r})")
    return after.astimezone(UTC)


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_occurrence(rule: Recurrence, after: datetime) -> datetime:
    """The first occurrence of ``rule`` strictly after ``after`` (aware), as aware UTC."""
    after = _check_after(after)
    zone = rule.zone
    start = after.astimezone(zone).date()
    if rule.weekday is not None:
        day = start + timedelta(days=(rule.weekday - start.weekday()) % 7)
        # At most two candidates: this week's (if still ahead) or next week's.
        for _ in range(3):
            instant, _exists = localize(day, rule.local_time, zone)
            if instant > after:
                return instant
            day += timedelta(days=7)
    else:
        assert rule.day is not None
        year, month = start.year, start.month
        for _ in range(3):
            instant, _exists = localize(_month_day(year, month, rule.day), rule.local_time, zone)
            if instant > after:
                return instant
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: a weekly/monthly rule recurs within three periods")


def yearly_anniversary(month: int, day: int, after: datetime, tz: ZoneInfo | str, hour: int = 10) -> datetime:
    """Next return of ``month``/``day`` at ``hour``:00 local time, strictly after ``after``.

    February 29 is kept on February 28 in non-leap years. Returns aware UTC.
    """
    after = _check_after(after)
    zone = to_zone(tz)
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f"no such day: month={month} day={day}")
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    year = after.astimezone(zone).year
    for candidate_year in range(year, year + 3):
        instant, _exists = localize(_month_day(candidate_year, month, day), time(hour), zone)
        if instant > after:
            return instant
    raise AssertionError("unreachable: an anniversary recurs within two years")


def parse_recurrence(text: str, tz: ZoneInfo | str) -> Recurrence:
    """Read ``weekly fri 20:00`` / ``every friday 8pm`` / ``monthly 1 20:00`` into a rule.

    Raises :class:`TimeParseError` (with examples) for anything else.
    """
    zone = to_zone(tz)
    tokens = normalize(text)
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
    frequency, number = shape
    if frequency == "weekly":
        weekday = number
        if clock.next_day:  # "fri midnight" = the night into Saturday
            weekday = (weekday + 1) % 7
        return Recurrence.weekly(weekday, clock.at, zone)
    if clock.next_day:
        raise TimeParseError(
            f"For a monthly time, write midnight as `00:00` on the following day: try "
            f"`monthly {number % 31 + 1} 00:00` or `monthly {number} 23:59`."
        )
    return Recurrence.monthly(number, clock.at, zone)


def _rule_shape(tokens: list[str]) -> tuple[Frequency, int] | None:
    """The day part of a rule -> ("weekly", weekday) or ("monthly", day); None if not a rule.

    Raises for a recognised but impossible day (``monthly 32``).
    """
    toks = list(tokens)
    every = "every" in toks
    if every:
        toks.remove("every")
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
        return "weekly", WEEKDAYS[tok[:-1] if plural else tok]
    number = parse_day_number(tok)
    if number is None or freq == "weekly" or (freq is None and not every):
        return None
    if not 1 <= number <= 31:
        raise TimeParseError(f"A month has days 1 to 31, so there's no {_ordinal(number)}. {_EXAMPLES}")
    return "monthly", number
