"""Series: a club night on a repeating rule ("every thu 8pm"), each night a normal screening.

Pure rules (no discord, aiosqlite or db): which nights to create now, how the rule maps onto Discord's
recurring scheduled events and onto an iCalendar ``RRULE``, and the checks on a series' options.

Nights
------
The rule's occurrences (from the one "next occurrence" seam, ``next_night(after)``) are the series' nights.
A night is *created* (announced as a screening) ahead of time:

* ``days_ahead`` unset (the default): the next night only. It is created as soon as the series has no night
  waiting to start, i.e. when the series is made and whenever the previous night starts ("Now showing");
* ``days_ahead`` N: every night starting within N days is created.

Nights already past are never created (after downtime the series carries on with the next one), nights a
moderator skipped are passed over, and nothing after the series' end. :func:`plan` says which nights to create
now and when to look again.

Discord's recurring events (Guild Scheduled Event docs, "Recurrence Rule Object", "System limitations"):
weekly on one day, every week or every other week (``interval`` 2), and monthly on the nth (1-5) weekday map
onto one recurring event; "monthly on the 15th" (``by_month_day`` is for yearly events only) and "the last
Friday" (``n`` is 1-5) do not, and get one event per night instead. Weekdays in Discord's rule are read from
the UTC start, so a rule whose local day is not its UTC day (a night just after midnight) is also one event
per night.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.recurrence import Recurrence
from bot.errors import UserError

NextNight = Callable[[datetime], "datetime | None"]

FILM_QUEUE = "queue"
TBA_KEY = "tba"
TBA_TITLE = "Film to be announced"
MAX_DAYS_AHEAD = 60
MAX_NIGHTS_AT_ONCE = 10  # created in one go; Discord allows 100 active events per server
MAX_SERIES_PER_GUILD = 10
NAME_LIMIT = 100

# Discord's recurrence rule enums (Guild Scheduled Event docs, "Recurrence Rule - Frequency").
DISCORD_MONTHLY = 1
DISCORD_WEEKLY = 2
_ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` decided: the nights (start instants, UTC) to create now, and when to plan again
    (None: nothing left to wait for, the series has ended)."""

    create: tuple[datetime, ...]
    next_check: datetime | None


def upcoming(
    next_night: NextNight, after: datetime, *, count: int, ends_after: datetime | None = None,
    skipped: Iterable[datetime] = (),
) -> list[datetime]:
    """Up to ``count`` nights strictly after ``after``, skipped ones left out, none after ``ends_after``."""
    out: list[datetime] = []
    passed = set(skipped)
    cursor = after
    for _ in range(count * 4 + len(passed) + 4):
        night = next_night(cursor)
        if night is None or (ends_after is not None and night > ends_after):
            break
        cursor = night
        if night in passed:
            continue
        out.append(night)
        if len(out) >= count:
            break
    return out


def plan(
    next_night: NextNight,
    *,
    now: datetime,
    cursor: datetime,
    days_ahead: int | None,
    waiting_start: datetime | None,
    skipped: Iterable[datetime] = (),
    ends_after: datetime | None = None,
) -> Plan:
    """Which nights to create now.

    ``cursor``: the latest night already created (or the series' creation time); ``waiting_start``: the start
    of the earliest created night that has not started yet (None when there is none).
    """
    after = max(cursor, now)
    if days_ahead is None:
        if waiting_start is not None:
            return Plan((), waiting_start)
        nights = upcoming(next_night, after, count=1, ends_after=ends_after, skipped=skipped)
        return Plan(tuple(nights), nights[0] if nights else None)
    horizon = now + timedelta(days=days_ahead)
    nights = upcoming(next_night, after, count=MAX_NIGHTS_AT_ONCE + 1, ends_after=ends_after, skipped=skipped)
    create = tuple(n for n in nights if n <= horizon)[:MAX_NIGHTS_AT_ONCE]
    later = [n for n in nights if n not in create]
    if later:
        return Plan(create, max(now, later[0] - timedelta(days=days_ahead)))
    if create:  # everything up to the end is created: look again when the last one starts (then it ends)
        return Plan(create, create[-1])
    return Plan((), waiting_start)


def check_days_ahead(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_DAYS_AHEAD:
        raise UserError(
            f"`days_ahead` goes from 1 to {MAX_DAYS_AHEAD} days (leave it out to announce only the next night)."
        )
    return days


def check_name(name: str | None, fallback: str) -> str:
    text = " ".join((name or "").split()) or fallback
    return text[:NAME_LIMIT]


def local_day_is_utc_day(rule: Recurrence, nights: Iterable[datetime]) -> bool:
    """True when every night falls on the same calendar day in UTC as on the rule's wall clock."""
    zone = rule.zone
    return all(n.astimezone(UTC).date() == n.astimezone(zone).date() for n in nights)


def discord_recurrence(rule: Recurrence, start: datetime, sample: Iterable[datetime] = ()) -> dict[str, Any] | None:
    """The ``recurrence_rule`` of Discord's scheduled event for ``rule`` starting at ``start``, or None when
    Discord's limits cannot express it (then each night gets its own event).

    ``sample``: a few later nights, to check their UTC day matches their local one (Discord reads weekdays
    from the UTC start).
    """
    if not local_day_is_utc_day(rule, [start, *sample]):
        return None
    iso = start.astimezone(UTC).isoformat()
    if rule.frequency == "weekly" and rule.weekday is not None:
        return {"start": iso, "frequency": DISCORD_WEEKLY, "interval": rule.interval, "by_weekday": [rule.weekday]}
    if rule.nth is not None and 1 <= rule.nth <= 5 and rule.weekday is not None:
        return {
            "start": iso, "frequency": DISCORD_MONTHLY, "interval": 1,
            "by_n_weekday": [{"n": rule.nth, "day": rule.weekday}],
        }
    return None


def why_not_recurring(rule: Recurrence) -> str:
    """For the moderator: why this rule gets one Discord event per night."""
    if rule.frequency == "monthly" and rule.nth is None:
        return "Discord's repeating events can't fall on a day of the month"
    if rule.nth == -1:
        return "Discord's repeating events can't fall on the last weekday of a month"
    return "the night falls on another day in UTC, which Discord's repeating events go by"


def ical_rrule(rule: Recurrence, until: datetime | None = None) -> dict[str, Any]:
    """The iCalendar ``RRULE`` (as icalendar's ``vRecur`` mapping) giving the same nights as ``rule`` when
    ``DTSTART`` is in the rule's zone. A monthly day past the 28th falls on the last day of shorter months,
    as the bot does (``BYMONTHDAY`` 28-31 with ``BYSETPOS=-1``)."""
    out: dict[str, Any]
    if rule.frequency == "weekly":
        assert rule.weekday is not None
        out = {"FREQ": "WEEKLY", "BYDAY": [_ICAL_DAYS[rule.weekday]]}
        if rule.interval != 1:
            out["INTERVAL"] = rule.interval
    elif rule.nth is not None:
        assert rule.weekday is not None
        out = {"FREQ": "MONTHLY", "BYDAY": [f"{rule.nth}{_ICAL_DAYS[rule.weekday]}"]}
    else:
        assert rule.day is not None
        if rule.day <= 28:
            out = {"FREQ": "MONTHLY", "BYMONTHDAY": [rule.day]}
        else:
            out = {"FREQ": "MONTHLY", "BYMONTHDAY": list(range(28, rule.day + 1)), "BYSETPOS": [-1]}
    if until is not None:
        out["UNTIL"] = until.astimezone(UTC)
    return out
