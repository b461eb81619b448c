"""Letterboxd CSV files: reading a member's export, matching it to the catalogue, writing an import file.

No Discord, no database.

Reading (:func:`parse_export`): the files of Letterboxd's data export. Every one starts with the
columns ``Date, Name, Year, Letterboxd URI``; ``ratings.csv`` adds ``Rating``; ``diary.csv`` adds
``Rating, Rewatch, Tags, Watched Date``; ``watched.csv`` has only the four. Files over 2 MB,
not UTF-8, without those columns, or with a row that cannot be read are refused with a
:class:`LetterboxdError` naming the problem and the row (row 1 is the header; rows are the
file's lines). ``watchlist.csv`` has the same columns as ``watched.csv`` but lists films *not*
seen yet, so it is refused by name.

Matching (:func:`match_entries`): by title and year through :meth:`Catalogue.find`, which
ignores case, accents and punctuation and forgives a year one off. Several rows of one film (a
diary with rewatches) merge: the rating of the most recent rated entry, the earliest watched date.

Writing (:func:`export_csv`): Letterboxd's importer reads ``Title``, ``Year``, ``Rating`` (0.5-5),
``WatchedDate`` (YYYY-MM-DD) and ``Review`` columns; one thumb is written as one star.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.domain.csvsafe import safe_cell
from bot.domain.films import Catalogue, Film
from bot.domain.spreadsheet import stars_to_thumbs, thumbs_to_stars
from bot.errors import UserError

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ClubRating",
    "Entry",
    "ExportFile",
    "ImportPlan",
    "LetterboxdError",
    "Match",
    "MatchResult",
    "PriorImport",
    "RatingOut",
    "export_csv",
    "match_entries",
    "parse_export",
    "plan_import",
]

MAX_BYTES = 2 * 1024 * 1024
#: Films one import reads at most. A heavy Letterboxd user's export has a few thousand; a file of hundreds of
#: thousands of one-character rows is not an export, only seconds of work for the bot.
MAX_ROWS = 10_000
REQUIRED = ("Date", "Name", "Year", "Letterboxd URI")
HINT = "Attach `ratings.csv`, `diary.csv` or `watched.csv` from the ZIP Letterboxd sends (Settings → Data → Export)."
STAR_STEPS = frozenset(x / 2 for x in range(1, 11))  # 0.5, 1.0 ... 5.0

Kind = Literal["ratings", "diary", "watched"]


class LetterboxdError(UserError):
    """The file is not a Letterboxd export this bot can read; the message names the problem and row."""


@dataclass(frozen=True)
class Entry:
    """One row of a Letterboxd file."""

    row: int  # line number in the file (the header is row 1)
    name: str
    year: int | None
    stars: float | None = None
    watched_on: date | None = None
    uri: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.year})" if self.year else self.name


@dataclass(frozen=True)
class ExportFile:
    kind: Kind
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Match:
    film: Film
    stars: float | None
    watched_on: date | None
    rows: tuple[int, ...]

    @property
    def thumbs(self) -> int | None:
        return None if self.stars is None else stars_to_thumbs(self.stars)


@dataclass(frozen=True)
class MatchResult:
    matched: tuple[Match, ...]
    unmatched: tuple[Entry, ...]


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise LetterboxdError(
            f"That file is not UTF-8 text (row {row} has a byte I can't read). Letterboxd writes UTF-8: "
            f"attach the file as it came out of the export, not one re-saved by a spreadsheet program. {HINT}"
        ) from None
    return text.removeprefix("\ufeff")


def _cell(row: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _parse_date(text: str, column: str, line: int, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LetterboxdError(
            f"Row {line} (`{_shown(name)}`): the {column} `{_shown(text)}` is not a date like `2024-05-01`."
        ) from None


def _shown(text: str, limit: int = 60) -> str:
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_export(data: bytes, filename: str | None = None) -> ExportFile:
    """Read a Letterboxd export file; raise :class:`LetterboxdError` naming the problem and row."""
    if filename and "watchlist" in filename.casefold():
        raise LetterboxdError(
            "That's your watchlist: films you haven't seen yet, so there is nothing to import from it. " + HINT
        )
    if filename and not filename.casefold().endswith(".csv"):
        raise LetterboxdError(f"`{_shown(filename)}` is not a CSV file. {HINT}")
    if len(data) > MAX_BYTES:
        raise LetterboxdError(
            f"That file is {len(data) / 1024 / 1024:.1f} MB; I read files up to 2 MB. "
            "A Letterboxd export is much smaller: " + HINT
        )
    text = _decode(data)
    if not text.strip():
        raise LetterboxdError("That file is empty. " + HINT)
    if "\x00" in text:
        bad = text[: text.index("\x00")].count("\n") + 1
        raise LetterboxdError(f"That file is not CSV text (row {bad} holds binary data). {HINT}")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
    except csv.Error as exc:
        raise LetterboxdError(f"Row 1 of that file can't be read as CSV ({exc}). {HINT}") from None
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise LetterboxdError(
            f"That doesn't look like a Letterboxd export: row 1 (the header) has no {names} column"
            f"{'s' if len(missing) > 1 else ''}. {HINT}"
        )
    col = {name: header.index(name) for name in header if name}
    rating_i, watched_i = col.get("Rating"), col.get("Watched Date")
    kind: Kind = "diary" if watched_i is not None else "ratings" if rating_i is not None else "watched"

    entries: list[Entry] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(entries) >= MAX_ROWS:
                raise LetterboxdError(
                    f"That file has more than {MAX_ROWS:,} films; I read up to {MAX_ROWS:,} at a time. Split it "
                    "into smaller files (keep the header row in each) and import them one after another."
                )
            if len(row) > len(header):
                raise LetterboxdError(
                    f"Row {line} has {len(row)} values but the header has {len(header)} columns: "
                    "is a title with a comma missing its quotes? " + HINT
                )
            name = _cell(row, col["Name"])
            if not name:
                raise LetterboxdError(f"Row {line} has no film name in the `Name` column. {HINT}")
            year_text = _cell(row, col["Year"])
            year: int | None = None
            if year_text:
                if not year_text.isdigit() or not 1870 <= int(year_text) <= 2100:
                    raise LetterboxdError(
                        f"Row {line} (`{_shown(name)}`): the Year `{_shown(year_text)}` is not a year."
                    )
                year = int(year_text)
            logged = _cell(row, col["Date"])
            if logged:
                _parse_date(logged, "Date", line, name)
            stars: float | None = None
            rating_text = _cell(row, rating_i)
            if rating_text:
                try:
                    stars = float(rating_text)
                except ValueError:
                    stars = None
                if stars not in STAR_STEPS:
                    raise LetterboxdError(
                        f"Row {line} (`{_shown(name)}`): the Rating `{_shown(rating_text)}` is not a star rating "
                        "from 0.5 to 5 in half stars."
                    )
            watched_text = _cell(row, watched_i)
            watched_on = _parse_date(watched_text, "Watched Date", line, name) if watched_text else None
            entries.append(Entry(line, name, year, stars, watched_on, _cell(row, col["Letterboxd URI"])))
    except csv.Error as exc:
        raise LetterboxdError(f"Row {reader.line_num} can't be read as CSV ({exc}). {HINT}") from None
    return ExportFile(kind, tuple(entries))


# --------------------------------------------------------------------------- matching


def match_entries(entries: Iterable[Entry], catalogue: Catalogue) -> MatchResult:
    """Match rows to catalogue films by title and year; merge rows of the same film.

    The merged rating is that of the most recently watched rated row (rows without a watched
    date count by their order in the file); the watched date is the earliest one given.
    """
    grouped: dict[str, list[Entry]] = {}
    films: dict[str, Film] = {}
    unmatched: list[Entry] = []
    for entry in entries:
        film = catalogue.find(entry.name, entry.year)
        if film is None:
            unmatched.append(entry)
            continue
        films[film.key] = film
        grouped.setdefault(film.key, []).append(entry)
    matched: list[Match] = []
    for key, rows in grouped.items():
        rated = [e for e in rows if e.stars is not None]
        rated.sort(key=lambda e: (e.watched_on or date.min, e.row))
        dates = [e.watched_on for e in rows if e.watched_on is not None]
        matched.append(
            Match(
                film=films[key],
                stars=rated[-1].stars if rated else None,
                watched_on=min(dates) if dates else None,
                rows=tuple(e.row for e in rows),
            )
        )
    matched.sort(key=lambda m: m.rows[0])
    return MatchResult(tuple(matched), tuple(unmatched))


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class RatingOut:
    """One of a member's club ratings, to write for Letterboxd."""

    title: str
    year: int | None
    thumbs: int
    watched_on: date | None = None
    review: str | None = None


EXPORT_COLUMNS = ("Title", "Year", "Rating", "WatchedDate", "Review")


def export_csv(ratings: Iterable[RatingOut]) -> str:
    """A CSV Letterboxd's importer accepts: ``Title, Year, Rating, WatchedDate, Review``; text cells go through
    :func:`~bot.domain.csvsafe.safe_cell` so no title or review runs as a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for item in ratings:
        writer.writerow(
            [
                safe_cell(item.title),
                "" if item.year is None else item.year,
                f"{thumbs_to_stars(item.thumbs):g}",
                item.watched_on.isoformat() if item.watched_on else "",
                safe_cell(item.review or ""),
            ]
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- deciding what an import writes


@dataclass(frozen=True)
class ClubRating:
    """A member's rating in the club's ratings table, as an import sees it."""

    thumbs: int
    updated_at: int


@dataclass(frozen=True)
class PriorImport:
    """A rating an earlier import wrote."""

    thumbs: int
    imported_at: int


@dataclass(frozen=True)
class ImportPlan:
    """What an import does. ``add``: ratings to create; ``update``: ratings an earlier import wrote
    that change; ``kept``: films whose club rating the member gave themselves (left alone);
    ``new``: films that were not on the member's journey before (no rating, no watched mark)."""

    matched: tuple[Match, ...]
    unmatched: tuple[Entry, ...]
    add: tuple[Match, ...]
    update: tuple[Match, ...]
    kept: tuple[Match, ...]
    new: tuple[Match, ...]

    @property
    def changes_anything(self) -> bool:
        return bool(self.add or self.update or self.new)


def plan_import(
    result: MatchResult,
    club_ratings: Mapping[str, ClubRating],
    prior_imports: Mapping[str, PriorImport],
    watched: Collection[str],
) -> ImportPlan:
    """Apply the import rule to matched films (every key is a film key).

    - Every matched film gets the member's watched mark.
    - A star rating becomes the member's club rating when they have none for that film.
    - A rating an earlier import wrote is updated when the stars changed its thumbs, unless the
      member changed it since (with ``/rate``): a rating given in the club always wins.
    So importing the same file twice changes nothing.
    """
    add: list[Match] = []
    update: list[Match] = []
    kept: list[Match] = []
    new: list[Match] = []
    for match in result.matched:
        key = match.film.key
        existing = club_ratings.get(key)
        if existing is None and key not in watched:
            new.append(match)
        thumbs = match.thumbs
        if thumbs is None:
            continue
        if existing is None:
            add.append(match)
            continue
        prior = prior_imports.get(key)
        ours = prior is not None and prior.imported_at == existing.updated_at and prior.thumbs == existing.thumbs
        if ours:
            if thumbs != existing.thumbs:
                update.append(match)
        elif thumbs != existing.thumbs:
            kept.append(match)
    return ImportPlan(result.matched, result.unmatched, tuple(add), tuple(update), tuple(kept), tuple(new))
