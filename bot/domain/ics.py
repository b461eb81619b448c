"""An .ics calendar file for one screening or a series of nights (RFC 5545, built with the icalendar library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODID = "-//filmclub//screenings//EN"



def _calendar(cancelled: bool) -> Calendar:
    """An empty VCALENDAR with the bot's product id; ``METHOD:CANCEL`` when the event it will hold is called off."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    return cal

def build_ics(
    *,
    uid: str,
    title: str,
    start: datetime,
    end: datetime,
    stamp: datetime,
    description: str | None = None,
    location: str | None = None,
    url: str | None = None,
    cancelled: bool = False,
    sequence: int = 0,
) -> bytes:
    """One VEVENT in a VCALENDAR; all times in UTC."""
    cal = _calendar(cancelled)
    event = Event()
    event.add("uid", uid)
    event.add("summary", title)
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    cal.add_component(event)
    return cal.to_ical()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class NightOverride:
    """One night of a series that differs from the rule's plain occurrence: its film, or a moved start."""

    occurrence: datetime  # the rule's start for that night (RECURRENCE-ID)
    start: datetime
    end: datetime
    title: str
    url: str | None = None


def build_series_ics(
    *,
    uid: str,
    title: str,
    first: datetime,
    duration: timedelta,
    tz: str,
    rrule: dict[str, Any],
    stamp: datetime,
    exdates: Sequence[datetime] = (),
    overrides: Sequence[NightOverride] = (),
    description: str | None = None,
    location: str | None = None,
    cancelled: bool = False,
    sequence: int = 0,
) -> bytes:
    """A repeating VEVENT (``RRULE``, with ``EXDATE`` for skipped nights) whose ``DTSTART`` is in the series'
    zone, so a calendar app keeps the local time across daylight-saving changes as the bot does; nights already
    announced are overrides of the same ``UID`` (``RECURRENCE-ID``) carrying their film. A ``VTIMEZONE`` for
    ``tz`` is included."""
    zone = ZoneInfo(tz)
    cal = _calendar(cancelled)
    master = Event()
    master.add("uid", uid)
    master.add("summary", title)
    master.add("dtstart", first.astimezone(zone))
    master.add("dtend", (first + duration).astimezone(zone))
    master.add("dtstamp", stamp.astimezone(UTC))
    master.add("sequence", sequence)
    master.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    master.add("rrule", rrule)
    if exdates:
        master.add("exdate", [d.astimezone(zone) for d in sorted(exdates)])
    if description:
        master.add("description", description)
    if location:
        master.add("location", location)
    cal.add_component(master)
    for night in overrides:
        event = Event()
        event.add("uid", uid)
        event.add("recurrence-id", night.occurrence.astimezone(zone))
        event.add("summary", night.title)
        event.add("dtstart", night.start.astimezone(zone))
        event.add("dtend", night.end.astimezone(zone))
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("sequence", sequence)
        event.add("status", "CONFIRMED")
        if location:
            event.add("location", location)
        if night.url:
            event.add("url", night.url)
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()  # type: ignore[no-any-return]
