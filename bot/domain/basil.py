"""Basil's Corner: remembering the club's pets who crossed the rainbow bridge.

Pure domain code (no discord, no database): validation of what members type, the words on a
memorial card, and the yearly anniversaries. Every error is a :class:`BasilError` (a
``UserError``) whose message says how to fix the input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.domain.dates import parse_date
from bot.domain.recurrence import yearly_anniversary
from bot.errors import UserError

__all__ = [
    "ANNIVERSARY_HOUR",
    "IMAGE_EXTENSIONS",
    "MAX_NAME",
    "MAX_PHOTO_BYTES",
    "MAX_SPECIES",
    "MAX_STORY",
    "MAX_TRIBUTE",
    "BasilError",
    "PetDates",
    "PetDetails",
    "anniversary_key",
    "anniversary_prefix",
    "anniversary_text",
    "card_description",
    "check_dates",
    "check_photo",
    "clean_name",
    "clean_species",
    "clean_story",
    "clean_tribute",
    "clears",
    "dates_line",
    "duplicate_name_message",
    "format_date",
    "name_key",
    "next_anniversary",
    "pages_of",
    "parse_optional_date",
    "photo_filename",
    "rainbow_line",
    "read_details",
    "thread_name",
    "years_phrase",
]

MAX_NAME = 80
MAX_SPECIES = 40
MAX_STORY = 4000
MAX_TRIBUTE = 1000
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MIN_YEAR = 1900  # dates before this are surely a typo in the year
DESCRIPTION_LIMIT = 4096  # Discord's limits for an embed description and a field value
FIELD_LIMIT = 1024
ANNIVERSARY_HOUR = 10  # local time of the server
IMAGE_EXTENSIONS = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "gif": "gif", "webp": "webp"}
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

_SPACES = re.compile(r"\s+")
T = TypeVar("T")


class BasilError(UserError):
    """Input for Basil's Corner that cannot be used; the message says how to fix it."""


# ----------------------------------------------------------------------------- names, text
def _one_line(text: str) -> str:
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\n\t ")
    return _SPACES.sub(" ", text).strip()


def clean_name(name: str) -> str:
    """The pet's name, tidied (one line, single spaces); 1 to 80 characters."""
    cleaned = _one_line(name)
    if not cleaned:
        raise BasilError("Please give your pet's name.")
    if len(cleaned) > MAX_NAME:
        raise BasilError(f"That name is {len(cleaned)} characters long; please keep it to {MAX_NAME} or fewer.")
    return cleaned


def name_key(name: str) -> str:
    """What two names in one server must not share (case, character width and spacing are ignored)."""
    return unicodedata.normalize("NFKC", _one_line(name)).casefold()


def duplicate_name_message(name: str, *, waiting: bool = False) -> str:
    """Two pets of one server may not share a name; ``name`` must already be escaped for Discord."""
    where = "a memorial waiting for approval" if waiting else "a memorial in Basil's Corner"
    return (
        f"There is already {where} for a pet called **{name}** (names count as the same whatever their "
        f"capitals or spaces). Please add a word that tells them apart, for example **{name} the cat** "
        f"or **{name} (Sam's)**."
    )


def clean_species(species: str | None) -> str | None:
    """Optional species/kind of animal, one line, up to 40 characters; empty means none."""
    if species is None:
        return None
    cleaned = _one_line(species)
    if not cleaned:
        return None
    if len(cleaned) > MAX_SPECIES:
        raise BasilError(f"Please describe the species in {MAX_SPECIES} characters or fewer (e.g. `dog`, `tabby cat`).")
    return cleaned


def clean_story(story: str | None) -> str:
    text = (story or "").strip()
    if len(text) > MAX_STORY:
        raise BasilError(f"The story is {len(text)} characters long; please keep it to {MAX_STORY} or fewer.")
    return text


def clean_tribute(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise BasilError("Please write a few words for your tribute.")
    if len(cleaned) > MAX_TRIBUTE:
        raise BasilError(f"Please keep a tribute to {MAX_TRIBUTE} characters or fewer.")
    return cleaned


def thread_name(name: str) -> str:
    """Title of the tributes thread (Discord allows 100 characters)."""
    title = f"Memories of {name}"
    return title if len(title) <= 100 else title[:99].rstrip() + "…"


# ----------------------------------------------------------------------------- dates
@dataclass(frozen=True)
class PetDates:
    born: date | None
    passed: date | None


def parse_optional_date(text: str | None, what: str, today: date | None = None) -> date | None:
    """Parse a date option (see :mod:`bot.domain.dates`; ``today`` is the server's date); empty means none."""
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text, today)
    except UserError as exc:
        raise BasilError(f"The {what} date: {exc.message}") from exc


def check_dates(born: date | None, passed: date | None, today: date) -> PetDates:
    """Refuse a passing date in the future or before the birth date, and a birth date in the future."""
    for day, what in ((born, "birth"), (passed, "passing")):
        if day is not None and day.year < MIN_YEAR:
            raise BasilError(f"The {what} date {format_date(day)} is too long ago. Please check the year.")
    if born is not None and born > today:
        raise BasilError(f"The birth date {format_date(born)} is in the future. Please check it.")
    if passed is not None and passed > today:
        raise BasilError(
            f"The passing date {format_date(passed)} is in the future. Please give the day your pet crossed "
            "the rainbow bridge."
        )
    if born is not None and passed is not None and passed < born:
        raise BasilError(
            f"The passing date {format_date(passed)} is before the birth date {format_date(born)}. "
            "Please check both dates."
        )
    return PetDates(born, passed)


@dataclass(frozen=True)
class PetDetails:
    """Species and dates as typed in `/basil memorial` or `/basil edit`, checked."""

    species: str | None
    born: date | None
    passed: date | None


def clears(value: str) -> bool:
    """In `/basil edit`, ``none`` (or ``-``, ``clear``, ``remove``) removes a species or date."""
    return value.strip().casefold() in ("none", "-", "clear", "remove")


def read_details(
    species: str | None, born: str | None, passed: str | None, today: date, current: PetDetails | None = None
) -> PetDetails:
    """Check the species and date options together.

    ``current`` is what an edit starts from: an option left out keeps its value there, and
    ``none`` removes it. Without ``current`` (a new memorial) a left-out option means none.
    """

    editing = current is not None
    keep = current or PetDetails(None, None, None)
    dates = check_dates(
        _option(born, keep.born, lambda t: parse_optional_date(t, "birth", today), editing),
        _option(passed, keep.passed, lambda t: parse_optional_date(t, "passing", today), editing),
        today,
    )
    return PetDetails(_option(species, keep.species, clean_species, editing), dates.born, dates.passed)


def _option(text: str | None, kept: T | None, read: Callable[[str], T | None], editing: bool) -> T | None:
    if text is None:
        return kept
    if editing and clears(text):
        return None
    return read(text)


def format_date(day: date) -> str:
    """``1 May 2024``."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def dates_line(born: date | None, passed: date | None) -> str | None:
    """``1 May 2010 – 3 June 2024`` or the half that is known; None when neither is."""
    if born and passed:
        return f"{format_date(born)} – {format_date(passed)}"
    if born:
        return f"Born {format_date(born)}"
    if passed:
        return f"Until {format_date(passed)}"
    return None


def rainbow_line(name: str, passed: date | None) -> str:
    """The line every card carries."""
    if passed is None:
        return f"🌈 {name} crossed the rainbow bridge."
    return f"🌈 {name} crossed the rainbow bridge on {format_date(passed)}."


def card_description(
    rainbow: str, story: str, room: int = 6000, limit: int = DESCRIPTION_LIMIT, field_limit: int = FIELD_LIMIT
) -> tuple[str, list[str]] | None:
    """(embed description, continuation field values) holding the rainbow line and the whole story.

    The rainbow line leads the description and the story follows; what does not fit the description
    goes on in fields of ``field_limit`` characters. None if it cannot all fit in ``room`` characters
    (what the embed has left of Discord's 6,000). Both texts must already be escaped for Discord.
    """
    if not story:
        return (rainbow, []) if len(rainbow) <= min(limit, room) else None
    head, rest = _split(f"{rainbow}\n\n{story}", limit)
    parts = [head]
    while rest:
        part, rest = _split(rest, field_limit)
        parts.append(part)
    if sum(len(part) for part in parts) > room:
        return None
    return parts[0], parts[1:]


def _split(text: str, limit: int) -> tuple[str, str]:
    """Cut ``text`` at ``limit`` characters at the latest, at a line break or space when there is one
    in the second half, never between an escaping backslash and the character it escapes."""
    if len(text) <= limit:
        return text, ""
    cut = max(text.rfind("\n", limit // 2, limit), text.rfind(" ", limit // 2, limit))
    if cut <= 0:
        cut = limit
        backslashes = len(text[:cut]) - len(text[:cut].rstrip("\\"))
        if backslashes % 2:
            cut -= 1
    return text[:cut].rstrip(), text[cut:].lstrip()


def pages_of(lines: list[str], per_page: int = 10, limit: int = DESCRIPTION_LIMIT - 96) -> list[list[str]]:
    """Split wall lines into pages of at most ``per_page`` lines and ``limit`` characters."""
    pages: list[list[str]] = []
    page: list[str] = []
    size = 0
    for line in lines:
        line = _clip(line, limit)
        if page and (len(page) >= per_page or size + 1 + len(line) > limit):
            pages.append(page)
            page, size = [], 0
        page.append(line)
        size += len(line) + 1
    if page:
        pages.append(page)
    return pages


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

# ----------------------------------------------------------------------------- photos
def check_photo(filename: str, content_type: str | None, size: int) -> str:
    """Refuse anything but a PNG/JPEG/GIF/WebP image (by both content type and extension).

    Returns the normalised extension (``png``, ``jpg``, ``gif``, ``webp``).
    """
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if not kind.startswith("image/") or ext not in IMAGE_EXTENSIONS:
        raise BasilError("The photo has to be an image file (PNG, JPEG, GIF or WebP). Please attach a picture instead.")
    if kind.removeprefix("image/") not in ("png", "jpeg", "jpg", "gif", "webp", "pjpeg"):
        raise BasilError("I can only show PNG, JPEG, GIF or WebP photos. Please attach one of those.")
    if size <= 0:
        raise BasilError("That photo file is empty. Please attach the picture again.")
    if size > MAX_PHOTO_BYTES:
        raise BasilError(
            f"That photo is {size / 1024 / 1024:.1f} MB; please attach one of at most "
            f"{MAX_PHOTO_BYTES // 1024 // 1024} MB."
        )
    return IMAGE_EXTENSIONS[ext]


def photo_filename(ext: str) -> str:
    """A safe file name for the re-uploaded photo, used in ``attachment://``."""
    return f"memorial.{ext}"


# ----------------------------------------------------------------------------- anniversaries
def anniversary_prefix(memorial_id: int) -> str:
    return f"basil:{memorial_id}:anniv:"


def anniversary_key(memorial_id: int, year: int) -> str:
    return f"{anniversary_prefix(memorial_id)}{year}"


def next_anniversary(passed: date, after: datetime, tz: ZoneInfo | str) -> tuple[datetime, int]:
    """(instant in UTC, year) of the first return of the passing date strictly after ``after``.

    The post goes out at 10:00 in the server's time zone; the passing day itself is not an
    anniversary (the first one is a year later). February 29 falls on February 28 in other years.
    """
    due = yearly_anniversary(passed.month, passed.day, after, tz, hour=ANNIVERSARY_HOUR)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    while due.astimezone(zone).year <= passed.year:
        due = yearly_anniversary(passed.month, passed.day, due, tz, hour=ANNIVERSARY_HOUR)
    return due, due.astimezone(zone).year


def years_phrase(years: int) -> str:
    """``one year``, ``two years`` ... ``12 years``."""
    word = NUMBER_WORDS[years] if 0 <= years < len(NUMBER_WORDS) else str(years)
    return f"{word} year" if years == 1 else f"{word} years"


def anniversary_text(name: str, years: int, card_url: str | None) -> str:
    """The gentle yearly post. ``name`` must already be escaped for Discord."""
    text = (
        f"🌈 Today it is {years_phrase(years)} since {name} crossed the rainbow bridge. "
        f"Basil's Corner remembers {name} with love. 🐾"
    )
    if card_url:
        text += f"\nRead {name}'s card again, or leave a tribute: {card_url}"
    return text
