"""The subscribable calendar feeds (RFC 5545, built with the icalendar library).

One VEVENT per screening with a stable UID (the same one `/screening ics` gives, so a file added earlier is
updated by the feed), ``SEQUENCE`` and ``LAST-MODIFIED`` that move on every change of the screening (a
reschedule, a cancellation), and ``STATUS:CANCELLED`` for cancelled ones, kept in the feed so calendar apps
strike them out instead of silently keeping the old time. Nothing in the output depends on the time of the
request, so the same data gives the same bytes and the same ETag: a calendar app polling an unchanged feed
gets 304 Not Modified.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from icalendar.prop import vDuration

from bot.domain.films import load_catalogue
from bot.domain.screenings import Screening

PRODID = "-//filmclub//screenings feed//EN"
REFRESH = timedelta(hours=1)  # what we suggest to calendar apps (RFC 7986 REFRESH-INTERVAL)
DESCRIPTION_LIMIT = 2000
INLINE_EVENTS = 8  # more new events than this in one feed are written in the worker thread


def screening_uid(s: Screening) -> str:
    """The same UID as the single-screening file from `/screening ics`."""
    return f"screening-{s.id}-{s.guild_id}@filmclub"


def screening_sequence(s: Screening) -> int:
    """Grows with every change of the screening (the same rule as `/screening ics`)."""
    return max(0, s.updated_at - s.created_at)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def event_ics(s: Screening, place: str | None, page_url: str | None) -> bytes:
    """One VEVENT (with its BEGIN/END lines) for a screening."""
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
    if place:
        event.add("location", place)
    film = load_catalogue().get(s.film_key)
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
    return event.to_ical()  # type: ignore[no-any-return]


def calendar_ics(name: str, events: Sequence[bytes]) -> bytes:
    """The VCALENDAR around already rendered VEVENTs."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + b"".join(events) + end  # type: ignore[no-any-return]


EventKey = tuple[int, int, str, str | None, str | None]


class FeedBuilder:
    """Builds feeds from VEVENTs rendered once per version of a screening.

    icalendar takes about 1.5 ms to write one event; a feed is mostly the same events as last time (any write
    anywhere in the database makes the read model compute the feed again), so each event is kept, keyed by
    everything it shows that can change (the screening's ``updated_at`` moves on every change of the row).
    Many new events at once (the first asks after a start) are written in the bot's worker thread, so a
    300-event feed never holds the event loop for long.
    """

    def __init__(self, worker: Callable[..., Awaitable[list[bytes]]] | None = None, size: int = 20_000) -> None:
        self._worker = worker
        self._events: OrderedDict[EventKey, bytes] = OrderedDict()
        self.size = size

    async def build(
        self, name: str, screenings: Sequence[Screening], *, where: Callable[[Screening], str | None],
        page_url: str | None = None,
    ) -> bytes:
        keys: list[EventKey] = [(s.id, s.updated_at, s.status, where(s), page_url) for s in screenings]
        missing = [(s, key) for s, key in zip(screenings, keys, strict=True) if key not in self._events]
        if missing:
            jobs = [(s, key[3], page_url) for s, key in missing]
            if self._worker is not None and len(missing) > INLINE_EVENTS:
                made = await self._worker(_render_all, jobs)
            else:
                made = _render_all(jobs)
            for (_, key), data in zip(missing, made, strict=True):
                self._events[key] = data
        events = []
        for key in keys:
            self._events.move_to_end(key)
            events.append(self._events[key])
        while len(self._events) > self.size:
            self._events.popitem(last=False)
        return calendar_ics(name, events)


def _render_all(jobs: Sequence[tuple[Screening, str | None, str | None]]) -> list[bytes]:
    return [event_ics(s, place, page_url) for s, place, page_url in jobs]


def build_feed(
    name: str, screenings: Sequence[Screening], *, where: Callable[[Screening], str | None],
    page_url: str | None = None,
) -> bytes:
    """The whole feed in one go (no cache)."""
    return calendar_ics(name, _render_all([(s, where(s), page_url) for s in screenings]))
