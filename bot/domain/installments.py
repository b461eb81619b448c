"""Installments and teasers: the pure rules (no discord, no database).

- The queue: the films the club works through in order. Positions are 1-based among the
  films not yet watched; adding, moving and removing keep them contiguous.
- "Current" is the first film of the queue (what the club is on now); "next" the one after.
- Teasers: post-credits (when a screening of an installment ends), before a screening (at the
  server's offsets, 7 and 1 days ahead by default) and custom ones a moderator schedules.
  The film a teaser is about is the first film of the queue when it goes out; with an empty
  queue the club has reached the end, and "that's a wrap" is posted instead.
- Scheduler keys: every teaser key of an installment starts with ``teaser:inst:<id>:`` so that
  removing the installment is one prefix cancel; teasers of one of its screenings start with
  ``teaser:inst:<id>:scr:<screening id>:`` so a reschedule or cancel is one prefix cancel too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import posts
from bot.domain.offsets import format_offset, format_offsets, parse_offsets
from bot.errors import UserError

QUEUED, WATCHED = "queued", "watched"

KIND_POSTCREDITS = posts.TEASER_POSTCREDITS
KIND_BEFORE = posts.TEASER_BEFORE
KIND_CUSTOM = posts.TEASER_CUSTOM
KIND_NOW = posts.TEASER_NOW
KINDS = (KIND_POSTCREDITS, KIND_BEFORE, KIND_CUSTOM, KIND_NOW)

DEFAULT_OFFSETS = "7d,1d"
MAX_QUEUE = 200
MAX_NOTE = 300
MAX_TEASER_TEXT = 2000
MAX_CUSTOM_AHEAD = timedelta(days=366)
#: Custom teasers a server may have waiting at once: a moderator's backlog stays reviewable in /schedule list,
#: and one server cannot fill the bot's queue.
MAX_PENDING_CUSTOM = 25
# After a restart, screenings that finished this recently but whose end was never handled (the bot
# died between Screenings marking them finished and the teaser being queued) are handled then.
RECONCILE_WINDOW = timedelta(hours=6)
MAX_KEY_VARIANTS = 1000
PAGE_CHARS = 3800  # one /installment list page (an embed description holds 4,096)


# --------------------------------------------------------------------------- the queue


def check_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise UserError(f"Keep the note under {MAX_NOTE} characters (yours has {len(text)}).")
    return text or None


def check_add_position(position: int | None, size: int) -> int:
    """Where a new film goes (1-based); None puts it at the end. Refuses positions out of range."""
    if size >= MAX_QUEUE:
        raise UserError(f"The queue already holds {MAX_QUEUE} films. Remove or finish some first.")
    if position is None:
        return size + 1
    if not 1 <= position <= size + 1:
        raise UserError(
            f"Position {position} is out of range: the queue has {size} film{'s' if size != 1 else ''}, "
            f"so pick 1 to {size + 1} (or leave it out to add at the end)."
        )
    return position


def check_move_position(position: int, size: int) -> int:
    if size == 0:
        raise UserError("The queue is empty: there is nothing to move.")
    if not 1 <= position <= size:
        raise UserError(
            f"Position {position} is out of range: the queue has {size} film{'s' if size != 1 else ''}, "
            f"so pick 1 to {size}."
        )
    return position


def insert_at(order: Sequence[int], new_id: int, position: int) -> list[int]:
    """The queue ``order`` (ids) with ``new_id`` placed at 1-based ``position``."""
    out = [i for i in order if i != new_id]
    index = max(0, min(position - 1, len(out)))
    out.insert(index, new_id)
    return out


def move_to(order: Sequence[int], item_id: int, position: int) -> list[int]:
    """The queue ``order`` with ``item_id`` moved to 1-based ``position``."""
    if item_id not in order:
        raise ValueError(f"{item_id} is not in the queue")
    check_move_position(position, len(order))
    return insert_at(order, item_id, position)


def remove_from(order: Sequence[int], item_id: int) -> list[int]:
    return [i for i in order if i != item_id]


def positions(order: Sequence[int]) -> list[tuple[int, int]]:
    """(position, id) pairs, 1-based, for storing an order."""
    return [(index + 1, item_id) for index, item_id in enumerate(order)]


def current_and_next(order: Sequence[int]) -> tuple[int | None, int | None]:
    """The installment the club is on now and the one after it (ids), either may be None."""
    first = order[0] if order else None
    second = order[1] if len(order) > 1 else None
    return first, second


def teaser_subject(order: Sequence[int]) -> int | None:
    """The installment a teaser is about: the first of the queue; None means "that's a wrap"."""
    return order[0] if order else None


# --------------------------------------------------------------------------- teaser times


def parse_teaser_offsets(text: str) -> list[timedelta]:
    """``"7d,1d"`` -> offsets, largest first; ``off`` -> none. Refuses unreadable input."""
    try:
        return parse_offsets(text)
    except UserError as exc:
        raise UserError(
            exc.message.replace("reminder offset", "teaser offset").replace("Reminder offset", "Teaser offset")
            .replace("reminder offsets", "teaser offsets").replace("`1d,1h,10m`", "`7d,1d`")
        ) from exc


def normalize_offsets(text: str) -> str:
    """The stored form of offsets text (``"1d, 7d"`` -> ``"1w,1d"``; off -> ``"off"``). Blank is refused."""
    if not text.strip():
        raise UserError("Give teaser offsets like `7d,1d`, or `off` to stop teasers before screenings.")
    return format_offsets(parse_teaser_offsets(text))


def same_offsets(a: str, b: str) -> bool:
    """True when two stored offsets texts mean the same teaser times (``7d,1d`` == ``1w,1d``)."""
    return parse_teaser_offsets(a) == parse_teaser_offsets(b)


def teaser_times(start: datetime, offsets: Sequence[timedelta], now: datetime) -> list[tuple[timedelta, datetime]]:
    """(offset, due) of every teaser before a screening at ``start`` still ahead of ``now``, earliest first."""
    out = {(o, start - o) for o in offsets if o > timedelta(0) and start - o > now}
    return sorted(out, key=lambda pair: pair[1])


def describe_offset(offset: timedelta) -> str:
    """``7 days``, ``1 day``, ``2 hours``: how far ahead a teaser goes out."""
    seconds = int(offset.total_seconds())
    for size, unit in ((7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            if unit == "week":
                n, unit = n * 7, "day"
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return format_offset(offset)


# --------------------------------------------------------------------------- scheduler keys


def installment_prefix(installment_id: int) -> str:
    return f"teaser:inst:{installment_id}:"


def screenings_prefix(installment_id: int) -> str:
    """The teasers of all the installment's screenings (what watching it makes pointless)."""
    return f"{installment_prefix(installment_id)}scr:"


def screening_prefix(installment_id: int, screening_id: int) -> str:
    return f"{screenings_prefix(installment_id)}{screening_id}:"


def before_key(installment_id: int, screening_id: int, offset: timedelta, due: datetime) -> str:
    seconds = int(offset.total_seconds())
    return f"{screening_prefix(installment_id, screening_id)}before:{seconds}@{int(due.timestamp())}"


def key_variant(key: str, n: int) -> str:
    """The ``n``-th use of an occurrence key (``key``, ``key#2``, ``key#3``...).

    Keys are unique forever, cancelled posts included; when a teaser is cancelled and later wanted
    again at the same time (a screening moved away and back, offsets turned off and on), the next
    variant is used. Variants keep the key's prefix, so prefix cancels still reach them.
    """
    return key if n <= 1 else f"{key}#{n}"


def postcredits_key(screening_id: int) -> str:
    """One post-credits teaser per finished screening, whatever it teases."""
    return f"teaser:postcredits:scr:{screening_id}"


def custom_key(installment_id: int | None, token: int, due: datetime) -> str:
    base = installment_prefix(installment_id) if installment_id is not None else "teaser:guild:"
    return f"{base}custom:{token}@{int(due.timestamp())}"


def now_key(installment_id: int | None, token: int) -> str:
    base = installment_prefix(installment_id) if installment_id is not None else "teaser:guild:"
    return f"{base}now:{token}"


# --------------------------------------------------------------------------- texts


def check_custom_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise UserError("Write something for the teaser to say.")
    if len(cleaned) > MAX_TEASER_TEXT:
        raise UserError(
            f"A teaser can be at most {MAX_TEASER_TEXT:,} characters (Discord's limit); yours has "
            f"{len(cleaned):,}. Shorten it and try again."
        )
    return cleaned


def paginate(lines: Sequence[str], limit: int = PAGE_CHARS) -> list[str]:
    """Join ``lines`` into pages of at most ``limit`` characters, never splitting a line (long ones are cut)."""
    pages: list[str] = []
    current = ""
    for raw in lines:
        line = raw if len(raw) <= limit else raw[: limit - 1] + "…"
        if current and len(current) + 1 + len(line) > limit:
            pages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current or not pages:
        pages.append(current)
    return pages


def film_label(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


def headline(title: str, year: int | None) -> str:
    """``Next time: *Rocky* (1976)`` (the title is expected markdown-escaped)."""
    return f"Next time: *{title}*" + (f" ({year})" if year else "")


WRAP_TEXT = (
    "🎞️ That's a wrap! The club has watched every installment in the queue. "
    "Moderators can line up the next run with `/installment add`."
)


@dataclass(frozen=True)
class RuntimeText:
    minutes: int | None

    def __str__(self) -> str:
        if not self.minutes:
            return "unknown"
        hours, minutes = divmod(self.minutes, 60)
        if hours and minutes:
            return f"{hours} h {minutes} min"
        return f"{hours} h" if hours else f"{minutes} min"
