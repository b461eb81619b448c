"""Screenings: the pure rules (no discord, no database).

- RSVP counting: one answer per member (going / maybe / cant); members who marked
  "Interested" on the native Discord event count as Maybe unless they answered with a button.
- Times: when a screening ends (start + runtime), when reminders are due, when the
  next-day discussion opens.
- Ratings: 1 to 5 thumbs plus an optional short review; summaries for the board.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.errors import UserError

Answer = Literal["going", "maybe", "cant"]
ANSWERS: tuple[Answer, ...] = ("going", "maybe", "cant")
ANSWER_LABELS: dict[str, str] = {"going": "Going", "maybe": "Maybe", "cant": "Can't"}

# Screening states. "live" = the Now showing post went out; "finished" = start + runtime passed.
SCHEDULED, LIVE, FINISHED, CANCELLED = "scheduled", "live", "finished", "cancelled"

MIN_RUNTIME = 1
MAX_RUNTIME = 24 * 60
DEFAULT_RUNTIME = 120  # minutes, for films outside the catalogue given without one
DEFAULT_DISCUSSION_DELAY = timedelta(hours=12)
MAX_AHEAD = timedelta(days=366)
MAX_DISCUSSION_DELAY = timedelta(days=7)
MAX_TITLE = 200
MAX_REVIEW = 1000
MAX_NOTES = 1000
MAX_WHERE = 100  # Discord's limit for an external event's location
MIN_THUMBS, MAX_THUMBS = 1, 5
# Discord allows this many scheduled/active events per server.
MAX_ACTIVE_EVENTS = 100


def check_answer(answer: str) -> Answer:
    if answer not in ANSWERS:
        raise UserError("That answer isn't one I know: pick Going, Maybe or Can't.")
    return answer  # type: ignore[return-value]


@dataclass(frozen=True)
class RsvpCounts:
    going: int = 0
    maybe: int = 0
    cant: int = 0
    interested: int = 0  # of ``maybe``: members counted through the native event only

    @property
    def total(self) -> int:
        return self.going + self.maybe + self.cant


@dataclass(frozen=True)
class RsvpLists:
    going: tuple[int, ...]
    maybe: tuple[int, ...]
    cant: tuple[int, ...]

    @property
    def counts(self) -> RsvpCounts:
        return RsvpCounts(len(self.going), len(self.maybe), len(self.cant))


def rsvp_lists(answers: Mapping[int, str], interested: Iterable[int]) -> RsvpLists:
    """Who is Going / Maybe / Can't: a button answer wins over "Interested" on the event."""
    going = sorted(uid for uid, a in answers.items() if a == "going")
    maybe = {uid for uid, a in answers.items() if a == "maybe"}
    cant = sorted(uid for uid, a in answers.items() if a == "cant")
    maybe |= {uid for uid in interested if uid not in answers}
    return RsvpLists(tuple(going), tuple(sorted(maybe)), tuple(cant))


def count_rsvps(answers: Mapping[int, str], interested: Iterable[int]) -> RsvpCounts:
    lists = rsvp_lists(answers, interested)
    only_interested = sum(1 for uid in set(interested) if uid not in answers)
    return RsvpCounts(len(lists.going), len(lists.maybe), len(lists.cant), only_interested)


# --------------------------------------------------------------------------- the screening


@dataclass(frozen=True)
class Screening:
    """A watch party: one film at one time, announced in one channel (a row of ``screenings``)."""

    id: int
    guild_id: int
    film_key: str
    title: str
    year: int | None
    runtime: int
    starts_at: int
    ends_at: int
    channel_id: int
    created_by: int
    created_at: int
    updated_at: int
    location: str | None = None
    voice_channel_id: int | None = None
    notes: str | None = None
    discussion_delay: int = 12 * 3600  # seconds after the end
    message_id: int | None = None
    thread_id: int | None = None
    event_id: int | None = None
    status: str = SCHEDULED
    cancel_reason: str | None = None
    finished_at: int | None = None
    cancelled_at: int | None = None

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.starts_at, UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.ends_at, UTC)

    @property
    def discussion_at(self) -> int:
        return self.ends_at + self.discussion_delay

    @property
    def is_upcoming(self) -> bool:
        return self.status in (SCHEDULED, LIVE)

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def is_finished(self) -> bool:
        return self.status == FINISHED

    @property
    def label(self) -> str:
        return film_label(self.title, self.year)

    @property
    def jump_url(self) -> str | None:
        if self.message_id is None:
            return None
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_id}"


# --------------------------------------------------------------------------- times


def end_time(start: datetime, runtime_minutes: int) -> datetime:
    return start + timedelta(minutes=runtime_minutes)


def reminder_times(start: datetime, offsets: Sequence[timedelta], now: datetime) -> list[tuple[timedelta, datetime]]:
    """(offset, due) for every offset whose reminder is still ahead of ``now``, earliest first."""
    out = [(o, start - o) for o in offsets if start - o > now]
    return sorted(out, key=lambda pair: pair[1])


def check_runtime(runtime: int) -> int:
    if not MIN_RUNTIME <= runtime <= MAX_RUNTIME:
        raise UserError(f"Runtime is in minutes, between {MIN_RUNTIME} and {MAX_RUNTIME}. For example `118`.")
    return runtime


def check_title(text: str) -> str:
    """A film option as typed: not blank, not absurdly long (it ends up in messages and event names)."""
    if not text.strip():
        raise UserError("Give me a film title: pick one from the list, or type a title and its year.")
    if len(text) > MAX_TITLE:
        raise UserError(f"That film title is too long: keep it under {MAX_TITLE} characters.")
    return text


def check_discussion_delay(offsets: Sequence[timedelta] | None) -> timedelta:
    """The delay between the end and the discussion thread: one offset (default 12 hours), at most 7 days."""
    if offsets is None:
        return DEFAULT_DISCUSSION_DELAY
    if len(offsets) != 1:
        raise UserError("Give one delay for the discussion, like `12h` or `1d`.")
    if offsets[0] > MAX_DISCUSSION_DELAY:
        raise UserError("The discussion should open within 7 days of the end: try `12h` or `1d`.")
    return offsets[0]


def clean_text(text: str | None) -> str | None:
    """Optional free text as typed: trimmed, and None when only whitespace."""
    if text is None:
        return None
    return text.strip() or None


# --------------------------------------------------------------------------- films


def film_label(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


# --------------------------------------------------------------------------- ratings


def validate_rating(thumbs: int, review: str | None) -> tuple[int, str | None]:
    """Check a rating; returns (thumbs, review or None)."""
    if not isinstance(thumbs, int) or not MIN_THUMBS <= thumbs <= MAX_THUMBS:
        raise UserError(f"Ratings go from {MIN_THUMBS} to {MAX_THUMBS} thumbs. Pick a whole number in that range.")
    text = (review or "").strip()
    if len(text) > MAX_REVIEW:
        raise UserError(f"Keep the review under {MAX_REVIEW} characters (yours has {len(text)}).")
    return thumbs, text or None


def thumbs_text(thumbs: int) -> str:
    return "👍" * thumbs


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float
    distribution: tuple[int, ...]  # index 0 = one thumb ... index 4 = five thumbs

    @property
    def average_text(self) -> str:
        return f"{self.average:.1f}" if self.count else "–"


def summarize(thumbs: Iterable[int]) -> RatingSummary:
    dist = [0] * MAX_THUMBS
    values = list(thumbs)
    for value in values:
        if MIN_THUMBS <= value <= MAX_THUMBS:
            dist[value - 1] += 1
    count = sum(dist)
    total = sum((i + 1) * n for i, n in enumerate(dist))
    return RatingSummary(count, total / count if count else 0.0, tuple(dist))


def distribution_bar(summary: RatingSummary) -> str:
    """``1👍×0 · 2👍×1 · ...`` compact text form of a distribution."""
    return " · ".join(f"{i + 1}👍×{n}" for i, n in enumerate(summary.distribution))
