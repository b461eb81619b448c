"""Basil's Corner: remembering the club's pets who crossed the rainbow bridge.

Pure domain code (no discord, no database): validation of what members type, the words on a
memorial card, and the yearly anniversaries. Every error is a :class:`BasilError` (a
``UserError``) whose message says how to fix the input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
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
    "anniversary_key",
    "anniversary_prefix",
    "anniversary_text",
    "check_dates",
    "check_photo",
    "clean_name",
    "clean_species",
    "clean_story",
    "clean_tribute",
    "dates_line",
    "duplicate_name_message",
    "format_date",
    "name_key",
    "next_anniversary",
    "parse_optional_date",
    "photo_filename",
    "rainbow_line",
    "thread_name",
    "years_phrase",
]

MAX_NAME = 80
MAX_SPECIES = 40
MAX_STORY = 4000
MAX_TRIBUTE = 1000
MAX_PHOTO_BYTES = 8 * 1024 * 1024
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


def duplicate_name_message(name: str) -> str:
    return (
        f"Basil's Corner already remembers a pet called {name}. Please add a word that tells them "
        f"apart, for example `{name} the cat` or `{name} (Sam's)`."
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


def parse_optional_date(text: str | None, what: str) -> date | None:
    """Parse a date option (``2024-05-01``, ``May 1 2024``, ``1 May 2024``); empty means none."""
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except UserError as exc:
        raise BasilError(f"The {what} date: {exc.message}") from exc


def check_dates(born: date | None, passed: date | None, today: date) -> PetDates:
    """Refuse a passing date in the future or before the birth date, and a birth date in the future."""
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
