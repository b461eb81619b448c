"""The club's Spreadsheet: the journey through the catalogue's Best Picture nominees (pure logic).

No Discord, no database. The cog gathers facts (finished screenings, moderators' check marks,
ratings, comments, members' own watched marks) and this module turns them into a :class:`Sheet`:
rows grouped by ceremony, progress counts and average thumbs.

Rules
- **The club watched a film** when it has a finished screening, or a moderator checked it with
  ``/spreadsheet check``. ``/spreadsheet uncheck`` takes the check off; if the film had a
  finished screening, it stays unchecked until a *newer* screening of it finishes.
  The watched date is the first finished screening's start (or the check's date).
- **A member watched a film** when they rated it, said they watched it (a Letterboxd import), or
  answered Going to a finished screening of it.
- **Average thumbs** is the mean of every member's rating of the film, one decimal.
- **Stars to thumbs** (Letterboxd imports): thumbs = the star rating rounded half up, kept
  between 1 and 5. Half stars round up: ½★ and 1★ give 1 thumb, 1½★ and 2★ give 2,
  … 4½★ and 5★ give 5. See :func:`stars_to_thumbs`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from bot.domain.csvsafe import safe_cell
from bot.domain.films import Catalogue, Film
from bot.errors import UserError

__all__ = [
    "MAX_COMMENT",
    "CeremonyGroup",
    "Check",
    "Sheet",
    "SheetRow",
    "average",
    "build_sheet",
    "ceremony_ordinal",
    "check_comment",
    "club_watched",
    "format_average",
    "sheet_csv",
    "stars_to_thumbs",
    "thumbs_to_stars",
]

MAX_COMMENT = 280
MIN_THUMBS, MAX_THUMBS = 1, 5
FIRST_CEREMONY_YEAR = 1929  # the 1st Academy Awards


# --------------------------------------------------------------------------- small rules


def stars_to_thumbs(stars: float) -> int:
    """Letterboxd stars (0.5 to 5, half steps) to club thumbs (1 to 5): round half up, clamp 1..5.

    ``0.5 -> 1, 1 -> 1, 1.5 -> 2, 2.5 -> 3, 3.5 -> 4, 4.5 -> 5, 5 -> 5``.
    """
    if not math.isfinite(stars):
        raise ValueError(f"not a star rating: {stars!r}")
    rounded = int(Decimal(str(stars)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(MIN_THUMBS, min(MAX_THUMBS, rounded))


def thumbs_to_stars(thumbs: int) -> float:
    """Club thumbs to Letterboxd stars for an export: one thumb is one star (1.0 to 5.0)."""
    if not MIN_THUMBS <= thumbs <= MAX_THUMBS:
        raise ValueError(f"thumbs must be 1 to 5, not {thumbs!r}")
    return float(thumbs)


def average(values: Iterable[int]) -> float | None:
    """The mean of the thumbs, rounded half up to one decimal; None when there are none."""
    items = list(values)
    if not items:
        return None
    mean = Decimal(sum(items)) / Decimal(len(items))
    return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def format_average(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def ceremony_ordinal(ceremony_year: int) -> str:
    """``2014 -> "86th"``: which Academy Awards ceremony was held that year."""
    number = ceremony_year - FIRST_CEREMONY_YEAR + 1
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def check_comment(text: str) -> str:
    """A comment as stored: trimmed, non-empty, at most :data:`MAX_COMMENT` characters."""
    text = " ".join(text.split())
    if not text:
        raise UserError("Write something in the comment (up to 280 characters).")
    if len(text) > MAX_COMMENT:
        raise UserError(
            f"That comment is {len(text)} characters long; the sheet keeps at most {MAX_COMMENT}. "
            "Trim it and try again."
        )
    return text


@dataclass(frozen=True)
class Check:
    """A moderator's mark on a film: ``watched`` True (checked) or False (unchecked), when."""

    watched: bool
    at: int  # unix seconds the mark was set
    watched_at: int | None = None  # the date the club watched it, for a check


def club_watched(screening_starts: Sequence[int], screening_ends: Sequence[int], check: Check | None) -> int | None:
    """When the club watched the film (unix seconds), or None if it did not.

    ``screening_starts``/``screening_ends``: the film's finished screenings (same order).
    A check counts as watched; an uncheck hides the screenings that ended before it.
    """
    if check is not None and not check.watched:
        later = [start for start, end in zip(screening_starts, screening_ends, strict=True) if end > check.at]
        return min(later) if later else None
    dates = list(screening_starts)
    if check is not None and check.watched:
        dates.append(check.watched_at if check.watched_at is not None else check.at)
    return min(dates) if dates else None


# --------------------------------------------------------------------------- the sheet


@dataclass(frozen=True)
class SheetRow:
    film: Film
    watched_at: int | None  # the club's (or, on a member's sheet, the member's) watched date
    watched: bool
    ratings: Mapping[int, int]  # user id -> thumbs
    comments: Mapping[int, str]  # user id -> comment

    @property
    def average(self) -> float | None:
        return average(self.ratings.values())


@dataclass(frozen=True)
class CeremonyGroup:
    ceremony: int
    rows: tuple[SheetRow, ...]

    @property
    def watched(self) -> int:
        return sum(1 for row in self.rows if row.watched)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def title(self) -> str:
        films_year = min((row.film.year for row in self.rows), default=self.ceremony - 1)
        return f"{ceremony_ordinal(self.ceremony)} Academy Awards ({self.ceremony}) · films of {films_year}"


@dataclass(frozen=True)
class Sheet:
    groups: tuple[CeremonyGroup, ...]
    member_id: int | None = None  # a member's own journey, or None for the club's
    members: tuple[int, ...] = field(default=())  # everyone with a rating or comment on the sheet

    @property
    def rows(self) -> list[SheetRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def watched(self) -> int:
        return sum(group.watched for group in self.groups)

    @property
    def total(self) -> int:
        return sum(group.total for group in self.groups)

    @property
    def progress_line(self) -> str:
        return f"{self.watched} of {self.total} watched"

    def ceremonies(self) -> list[int]:
        return [group.ceremony for group in self.groups]

    def index_of(self, ceremony: int) -> int:
        """The page (group index) of a ceremony year; a UserError naming the range if absent."""
        for i, group in enumerate(self.groups):
            if group.ceremony == ceremony:
                return i
        years = self.ceremonies()
        span = f"{years[0]}–{years[-1]}" if years else "none"
        raise UserError(
            f"The sheet has no {ceremony} ceremony. Give the year a ceremony was held "
            f"(the sheet covers {span}, e.g. `2014` for the films of 2013)."
        )

    def row(self, film_key: str) -> SheetRow | None:
        for row in self.rows:
            if row.film.key == film_key:
                return row
        return None


def build_sheet(
    catalogue: Catalogue,
    *,
    club_watched_at: Mapping[str, int],
    ratings: Iterable[tuple[str, int, int]],
    comments: Iterable[tuple[str, int, str]],
    member_id: int | None = None,
    member_watched_at: Mapping[str, int | None] | None = None,
) -> Sheet:
    """The sheet of every Best Picture nominee, grouped by ceremony (oldest first).

    ``club_watched_at``: film key -> when the club watched it (see :func:`club_watched`).
    ``ratings``: (film key, user id, thumbs); ``comments``: (film key, user id, text).
    With ``member_id`` the sheet is that member's journey: a film counts as watched when it is
    in ``member_watched_at`` (film key -> date or None) or the member rated it, and only their
    rating and comment are kept.
    """
    by_film_ratings: dict[str, dict[int, int]] = {}
    by_film_comments: dict[str, dict[int, str]] = {}
    people: set[int] = set()
    for key, user_id, thumbs in ratings:
        if member_id is None or user_id == member_id:
            by_film_ratings.setdefault(key, {})[user_id] = thumbs
    for key, user_id, text in comments:
        if member_id is None or user_id == member_id:
            by_film_comments.setdefault(key, {})[user_id] = text
    mine = member_watched_at or {}
    groups: list[CeremonyGroup] = []
    for ceremony, films in catalogue.best_picture_by_ceremony().items():
        rows: list[SheetRow] = []
        for film in films:
            film_ratings = by_film_ratings.get(film.key, {})
            film_comments = by_film_comments.get(film.key, {})
            people.update(film_ratings)
            people.update(film_comments)
            if member_id is None:
                when = club_watched_at.get(film.key)
                watched = when is not None
            else:
                watched = film.key in mine or member_id in film_ratings
                when = mine.get(film.key)
            rows.append(SheetRow(film, when, watched, dict(film_ratings), dict(film_comments)))
        groups.append(CeremonyGroup(ceremony, tuple(rows)))
    return Sheet(tuple(groups), member_id=member_id, members=tuple(sorted(people)))


# --------------------------------------------------------------------------- CSV export


def sheet_csv(sheet: Sheet, member_names: Mapping[int, str], tz: tzinfo) -> str:
    """The whole sheet as CSV text: one row per film, then each member's thumbs and comment.

    Columns: ``Film, Year, Ceremony, Best Picture, Watched, Watched date, Average thumbs, Ratings``
    and, for every member with a rating or comment (in ``sheet.members`` order),
    ``<name> thumbs`` and ``<name> comment``. Dates are calendar dates in ``tz``.
    Text members typed (names, comments) that a spreadsheet program would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["Film", "Year", "Ceremony", "Best Picture", "Watched", "Watched date", "Average thumbs", "Ratings"]
    names = _unique_names(sheet.members, member_names)
    for member in sheet.members:
        header += [safe_cell(f"{names[member]} thumbs"), safe_cell(f"{names[member]} comment")]
    writer.writerow(header)
    for group in sheet.groups:
        for row in group.rows:
            when = (
                datetime.fromtimestamp(row.watched_at, UTC).astimezone(tz).date().isoformat()
                if row.watched_at is not None
                else ""
            )
            line: list[object] = [
                row.film.title, row.film.year, group.ceremony, row.film.best_picture or "",
                "yes" if row.watched else "no", when,
                "" if row.average is None else format_average(row.average), len(row.ratings),
            ]  # fmt: skip
            for member in sheet.members:
                thumbs = row.ratings.get(member)
                line += ["" if thumbs is None else thumbs, safe_cell(row.comments.get(member, ""))]
            writer.writerow(line)
    return buffer.getvalue()


def _unique_names(members: Sequence[int], member_names: Mapping[int, str]) -> dict[int, str]:
    """Column names per member: their display name, with the id added when two names clash."""
    plain = {m: (member_names.get(m) or f"member {m}").replace("\n", " ").strip() or f"member {m}" for m in members}
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    return {m: name if counts[name.casefold()] == 1 else f"{name} ({m})" for m, name in plain.items()}
