"""The subscribable calendar feeds (RFC 5545, built with the icalendar library).

One VEVENT per screening with a stable UID (the same one `/screening ics` gives, so a file added earlier is
updated by the feed), ``SEQUENCE`` and ``LAST-MODIFIED`` that move on every change of the screening (a
reschedule, a cancellation), and ``STATUS:CANCELLED`` for cancelled ones, kept in the feed so calendar apps
strike them out instead of silently keeping the old time. Nothing in the output depends on the time of the
request, so the same data gives the same bytes and the same ETag: a calendar app polling an unchanged feed
gets 304 Not Modified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from icalendar.prop import vDuration

from bot.domain.films import load_catalogue
from db.screenings import Screening

PRODID = "-//filmclub//screenings feed//EN"
REFRESH = timedelta(hours=1)  # what we suggest to calendar apps (RFC 7986 REFRESH-INTERVAL)
DESCRIPTION_LIMIT = 2000


def screening_uid(s: Screening) -> str:
    """The same UID as the single-screening file from `/screening ics`."""
    return f"screening-{s.id}-{s.guild_id}@filmclub"


def screening_sequence(s: Screening) -> int:
    """Grows with every change of the screening (the same rule as `/screening ics`)."""
    return max(0, s.updated_at - s.created_at)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def build_feed(
    name: str,
    screenings: Sequence[Screening],
    *,
    where: Callable[[Screening], str | None],
    page_url: str | None = None,
) -> bytes:
    """The VCALENDAR of ``screenings``; ``where`` names the place (a voice channel or the location text)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    catalogue = load_catalogue()
    for s in screenings:
        event = Event()
        event.add("uid", screening_uid(s))
        event.add("summary", f"Watch party: {s.label}")
        event.add("dtstart", _utc(s.starts_at))
        event.add("dtend", _utc(s.ends_at))
        # DTSTAMP is when this version of the event was made, not when the feed was read: stable bytes.
        event.add("dtstamp", _utc(s.updated_at))
        event.add("created", _utc(s.created_at))
        event.add("last-modified", _utc(s.updated_at))
        event.add("sequence", screening_sequence(s))
        event.add("status", "CANCELLED" if s.is_cancelled else "CONFIRMED")
        event.add("transp", "OPAQUE")
        place = where(s)
        if place:
            event.add("location", place)
        film = catalogue.get(s.film_key)
        parts = []
        if s.is_cancelled:
            parts.append("Cancelled" + (f": {s.cancel_reason}" if s.cancel_reason else "."))
        if film is not None and film.premise:
            parts.append(film.premise)
        if s.notes:
            parts.append(s.notes)
        if s.jump_url:
            parts.append(f"Announcement and RSVP: {s.jump_url}")
        elif page_url:
            parts.append(f"The club's page: {page_url}")
        if parts:
            event.add("description", "\n\n".join(parts)[:DESCRIPTION_LIMIT])
        if s.jump_url:
            event.add("url", s.jump_url)
        cal.add_component(event)
    return cal.to_ical()  # type: ignore[no-any-return]
