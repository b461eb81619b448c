"""An .ics calendar file for one screening (RFC 5545, built with the icalendar library)."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODID = "-//filmclub//screenings//EN"


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
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
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
