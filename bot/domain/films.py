"""The film catalogue shipped with the bot, and pure lookup logic over it.

No Discord here. The catalogue lives in ``bot/data/films.json``: every Best Picture nominee of
the ceremonies held 2011-2026 (films of 2010-2025), plus a handful of older films the club likes
to theme on (*Rocky* and its sequels, *A.I. Artificial Intelligence*, *2001: A Space Odyssey*...).

Record format (one JSON object per film)::

    {"title": "Her", "year": 2013, "runtime": 126, "director": "Spike Jonze",
     "best_picture": "nominee", "ceremony": 2014, "premise": "...",
     "aliases": ["..."]}                       # aliases: optional, other titles to match

``best_picture`` is ``"winner"``, ``"nominee"`` or ``null``; ``ceremony`` is the *year the
Academy Awards ceremony was held* (Her, 2013 -> 2014) and is ``null`` exactly when
``best_picture`` is. Co-directors are joined with ``" & "``.

Matching goes through :func:`normalize_title`: case, accents, curly quotes, punctuation,
``&``/``and`` and a leading "The/A/An" do not matter, so ``les miserables`` finds
*Les Misérables* and ``Kings Speech`` finds *The King's Speech*. A title may carry its year in
parentheses (``Her (2013)``), which is also what :func:`format_choice` produces for
autocomplete, so a picked choice always resolves back to its film.

Keys: a catalogue film's key is ``<slug>-<year>`` (``her-2013``, ``kings-speech-2010``); a film
added by hand gets ``custom:<slug>-<year>``. Keys are stored by the database, so the slug rules
(:func:`title_slug`) must not change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

from rapidfuzz import fuzz

from bot.errors import UserError

__all__ = [
    "CHOICE_LIMIT",
    "CUSTOM_PREFIX",
    "AmbiguousFilmError",
    "BestPicture",
    "Catalogue",
    "Film",
    "FilmError",
    "UnknownFilmError",
    "format_choice",
    "load_catalogue",
    "normalize_title",
    "parse_title_year",
    "resolve_film",
    "title_slug",
]

BestPicture = Literal["nominee", "winner"]

#: Discord allows at most 25 autocomplete choices, each label at most 100 characters.
CHOICE_LIMIT = 25
CHOICE_LABEL_MAX = 100
CUSTOM_PREFIX = "custom:"

#: Years a hand-added film may have (the first films date from the late 1880s).
MIN_YEAR = 1870
MAX_YEAR = 2100
#: Runtimes a hand-added film may have, in minutes.
MIN_RUNTIME = 1
MAX_RUNTIME = 1000

#: Fuzzy matching only kicks in for queries at least this long, and only above this score.
FUZZY_MIN_QUERY = 5
FUZZY_CUTOFF = 80.0


class FilmError(UserError, ValueError):
    """A film could not be found or accepted; ``message`` is fit to show a member."""


class UnknownFilmError(FilmError):
    """No film matches the title (and there is no year to add it as a custom film)."""


class AmbiguousFilmError(UnknownFilmError):
    """Several films share the title (remakes); ``candidates`` lists them, newest first."""

    def __init__(self, message: str, candidates: Sequence[Film]) -> None:
        super().__init__(message)
        self.candidates: tuple[Film, ...] = tuple(candidates)


# --------------------------------------------------------------------------- normalizing

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
        "\u0060": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
    }
)  # fmt: skip
# Letters NFKD does not split into a base letter plus accent.
_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
     "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"}
)  # fmt: skip
_JOINERS = re.compile(r"['.]")  # dropped without a gap: "A.I." -> "ai", "King's" -> "kings"
_NON_WORD = re.compile(r"[^\w]+|_+")
_ARTICLES = frozenset({"the", "a", "an"})
_TRAILING_YEAR = re.compile(r"^(?P<title>.*?)\s*[\(\[]\s*(?P<year>\d{4})\s*[\)\]]\s*$")


def _fold(text: str) -> str:
    """Everything :func:`normalize_title` does except dropping a leading article."""
    text = text.translate(_QUOTES).translate(_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ")
    text = _JOINERS.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def _drop_article(folded: str) -> str:
    first, _, rest = folded.partition(" ")
    return rest if first in _ARTICLES and rest else folded


def normalize_title(text: str) -> str:
    """Fold a title for matching.

    Casefolds, strips accents (NFKD), turns curly quotes straight, drops apostrophes and dots
    (``A.I.`` -> ``ai``), turns ``&`` into ``and`` and any other punctuation into spaces,
    removes a leading "the", "a" or "an" (unless that is the whole title) and collapses
    whitespace. ``normalize_title("The King’s Speech") == "kings speech"``.
    """
    return _drop_article(_fold(text))


def title_slug(title: str) -> str:
    """The key stem of a title: its normalized form with spaces as hyphens. Do not change."""
    return normalize_title(title).replace(" ", "-") or "untitled"


def parse_title_year(text: str) -> tuple[str, int | None]:
    """Split a trailing year in parentheses off a title: ``"Her (2013)"`` -> ``("Her", 2013)``.

    Only a bracketed year counts, so titles that are or end in numbers (*1917*, *Blade
    Runner 2049*) are left alone. Surrounding whitespace is trimmed.
    """
    text = " ".join(text.split())
    found = _TRAILING_YEAR.match(text)
    if found and found.group("title"):
        return found.group("title"), int(found.group("year"))
    return text, None


def _compact(normalized: str) -> str:
    return normalized.replace(" ", "")


# --------------------------------------------------------------------------- films


@dataclass(frozen=True)
class Film:
    """One film. Catalogue films have every field; custom (hand-added) films may lack some."""

    key: str
    title: str
    year: int
    runtime: int | None = None
    director: str | None = None
    best_picture: BestPicture | None = None
    ceremony: int | None = None
    premise: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def is_custom(self) -> bool:
        """True for a film added by hand rather than taken from the catalogue."""
        return self.key.startswith(CUSTOM_PREFIX)

    @property
    def is_nominee(self) -> bool:
        """True for every Best Picture nominee, winners included."""
        return self.best_picture is not None

    @property
    def is_winner(self) -> bool:
        return self.best_picture == "winner"

    @property
    def label(self) -> str:
        """``Title (Year)``, at most 100 characters (see :func:`format_choice`)."""
        return format_choice(self)

    @classmethod
    def custom(cls, title: str, year: int, runtime: int | None = None) -> Film:
        """A film that is not in the catalogue, keyed ``custom:<slug>-<year>``."""
        title = " ".join(title.split())
        return cls(key=f"{CUSTOM_PREFIX}{title_slug(title)}-{year}", title=title, year=year, runtime=runtime)


CHOICE_VALUE_MAX = 100  # Discord's limit for an autocomplete choice's value (one longer value fails the list)


def choice_value(key: str) -> str:
    """An autocomplete value naming the film ``key``: the key itself when it fits Discord's 100 characters, else
    ``key#`` and a hash of it (a custom film's key grows with its title). :func:`is_choice_for` reads it back."""
    if len(key) <= CHOICE_VALUE_MAX:
        return key
    return "key#" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def is_choice_for(key: str, value: str) -> bool:
    """True when ``value`` (what a member picked) is :func:`choice_value` of ``key``."""
    return value == key or (value.startswith("key#") and choice_value(key) == value)


def format_choice(film: Film) -> str:
    """The autocomplete label of a film: ``Her (2013)``, shortened with "…" to 100 characters.

    The label parses back to the film with :meth:`Catalogue.find` (unless it had to be cut).
    """
    suffix = f" ({film.year})"
    room = CHOICE_LABEL_MAX - len(suffix)
    title = film.title if len(film.title) <= room else film.title[: room - 1].rstrip() + "…"
    return title + suffix


# --------------------------------------------------------------------------- parsing the JSON

_FIELDS = frozenset({"title", "year", "runtime", "director", "best_picture", "ceremony", "premise", "aliases"})


def _film_from_record(record: Mapping[str, Any], index: int) -> Film:
    where = f"film #{index} ({record.get('title')!r})"
    unknown = set(record) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")

    def need(name: str, kind: type, optional: bool = False) -> Any:
        value = record.get(name)
        if value is None and optional:
            return None
        # bool is an int subclass; a year of True is still wrong.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{where}: {name!r} must be {kind.__name__}, not {value!r}")
        return value

    title = need("title", str).strip()
    if not title:
        raise ValueError(f"{where}: empty title")
    year = need("year", int)
    runtime = need("runtime", int)
    director = need("director", str).strip()
    premise = need("premise", str).strip()
    best_picture = record.get("best_picture")
    if best_picture not in (None, "nominee", "winner"):
        raise ValueError(f"{where}: best_picture must be 'nominee', 'winner' or null")
    ceremony = need("ceremony", int, optional=True)
    if (best_picture is None) != (ceremony is None):
        raise ValueError(f"{where}: best_picture and ceremony must be both set or both null")
    aliases = record.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ValueError(f"{where}: aliases must be a list of non-empty strings")
    return Film(
        key=f"{title_slug(title)}-{year}",
        title=title,
        year=year,
        runtime=runtime,
        director=director,
        best_picture=cast("BestPicture | None", best_picture),
        ceremony=ceremony,
        premise=premise,
        aliases=tuple(a.strip() for a in aliases),
    )


# --------------------------------------------------------------------------- the catalogue


def _typo_score(query: str, title: str) -> float:
    """How well ``query`` matches ``title`` allowing typos, 0-100: the better of the whole
    title and the title's beginning (so a half-typed title with a slip still scores)."""
    score = fuzz.ratio(query, title)
    if len(title) > len(query):
        score = max(score, fuzz.ratio(query, title[: len(query)]))
    return score


def _recency(film: Film) -> tuple[int, int, int]:
    """Sort key: most recent ceremony (or year) first, the winner before its fellow nominees."""
    return (-(film.ceremony or film.year + 1), 0 if film.is_winner else 1, -film.year)


class Catalogue:
    """An immutable, indexed collection of films."""

    def __init__(self, films: Iterable[Film]) -> None:
        self._films: tuple[Film, ...] = tuple(films)
        self._by_key: dict[str, Film] = {}
        self._by_name: dict[str, list[Film]] = {}
        self._by_compact: dict[str, list[Film]] = {}
        # Per film: the forms a query is compared with, with and without a leading article.
        # Aliases (original-language titles...) count for whole-title and prefix matches only:
        # "Anatomie d'une chute" should not come up for "dune".
        self._forms: dict[str, tuple[str, ...]] = {}
        self._title_forms: dict[str, tuple[str, ...]] = {}
        for film in self._films:
            if film.key in self._by_key:
                raise ValueError(f"duplicate film key {film.key!r}")
            self._by_key[film.key] = film
            forms: list[str] = []
            for name in (film.title, *film.aliases):
                folded = _fold(name)
                for form in (folded, _drop_article(folded)):
                    if form and form not in forms:
                        forms.append(form)
                normalized = _drop_article(folded)
                bucket = self._by_name.setdefault(normalized, [])
                if film not in bucket:
                    bucket.append(film)
                compact_bucket = self._by_compact.setdefault(_compact(normalized), [])
                if film not in compact_bucket:
                    compact_bucket.append(film)
            self._forms[film.key] = tuple(forms)
            folded_title = _fold(film.title)
            self._title_forms[film.key] = tuple(dict.fromkeys((folded_title, _drop_article(folded_title))))
        # What ties are broken on and fuzzy matching compares with: the title's normalized form.
        self._choices = {film.key: normalize_title(film.title) for film in self._films}

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Catalogue:
        """Build a catalogue from JSON-style records (see the module docstring)."""
        return cls(_film_from_record(record, i) for i, record in enumerate(records))

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        records = json.loads(text)
        if not isinstance(records, list):
            raise ValueError("the film catalogue must be a JSON list")
        return cls.from_records(records)

    # -- collection protocol

    def __len__(self) -> int:
        return len(self._films)

    def __iter__(self) -> Iterator[Film]:
        return iter(self._films)

    def __contains__(self, film: object) -> bool:
        return isinstance(film, Film) and self._by_key.get(film.key) == film

    @property
    def films(self) -> tuple[Film, ...]:
        return self._films

    def get(self, key: str) -> Film | None:
        """The catalogue film with this key, or None."""
        return self._by_key.get(key)

    # -- lookups

    def matches(self, title: str) -> list[Film]:
        """Every film whose title (or an alias) normalizes to the same text, newest first.

        A trailing ``(year)`` in ``title`` is ignored here. Falls back to comparing without
        spaces, so ``walle`` still finds *WALL·E*.
        """
        bare, _ = parse_title_year(title)
        normalized = normalize_title(bare)
        if not normalized:
            return []
        found = self._by_name.get(normalized) or self._by_compact.get(_compact(normalized)) or []
        return sorted(found, key=lambda f: -f.year)

    def find(self, title: str, year: int | None = None) -> Film | None:
        """The one film called ``title``, or None when there is none or several.

        ``year`` (or a trailing ``(year)`` in the title; an explicit ``year`` wins) picks
        among remakes. A year one off is forgiven when it singles out one film, since festival
        and release years differ (Letterboxd lists *Sound of Metal* as 2019, it competed
        with 2020's films). Without a year, a title shared by several films gives None: ask
        :meth:`matches` for the candidates.
        """
        bare, parsed_year = parse_title_year(title)
        if year is None:
            year = parsed_year
        candidates = self.matches(bare)
        if year is None:
            return candidates[0] if len(candidates) == 1 else None
        for distance in (0, 1):
            near = [f for f in candidates if abs(f.year - year) == distance]
            if len(near) == 1:
                return near[0]
            if near:
                return None
        return None

    def search(self, query: str, limit: int = CHOICE_LIMIT) -> list[Film]:
        """Films for an autocomplete box, best first, at most ``min(limit, 25)``.

        Order: exact title matches, then titles starting with the query (with or without
        their leading article), then titles with a word starting with it, then titles
        containing it anywhere, then (for queries of 5+ characters) fuzzy matches that forgive
        typos (best score first). Ties go alphabetically, newer first. A trailing ``(year)`` keeps only films
        of that year. An empty query lists the most recent Best Picture nominees, each
        ceremony's winner first.
        """
        limit = max(0, min(limit, CHOICE_LIMIT))
        if limit == 0:
            return []
        bare, year = parse_title_year(query)
        q = _fold(bare)
        pool = [f for f in self._films if year is None or f.year == year]
        if not q:
            ordered = sorted(pool, key=lambda f: (not f.is_nominee, *_recency(f), _fold(f.title)))
            return ordered[:limit]

        q_bare = _drop_article(q)
        queries = (q, q_bare) if q_bare != q else (q,)
        ranked: list[tuple[int, str, int, Film]] = []
        for film in pool:
            pairs = [(x, form) for x in queries for form in self._forms[film.key]]
            title_pairs = [(x, form) for x in queries for form in self._title_forms[film.key]]
            if any(x == form for x, form in pairs):
                tier = 0
            elif any(form.startswith(x) for x, form in pairs):
                tier = 1
            elif any(f" {x}" in f" {form}" for x, form in title_pairs):
                tier = 2
            elif any(x in form for x, form in title_pairs):
                tier = 3
            else:
                continue
            ranked.append((tier, self._choices[film.key], -film.year, film))
        ranked.sort(key=lambda item: item[:3])
        results = [item[3] for item in ranked[:limit]]

        if len(results) < limit and len(q_bare) >= FUZZY_MIN_QUERY:
            seen = {f.key for f in results}
            scored = [
                (score, self._choices[f.key], -f.year, f)
                for f in pool
                if f.key not in seen and (score := _typo_score(q_bare, self._choices[f.key])) >= FUZZY_CUTOFF
            ]
            scored.sort(key=lambda item: (-item[0], item[1], item[2]))
            results.extend(item[3] for item in scored[: limit - len(results)])
        return results

    def best_picture_by_ceremony(self) -> dict[int, list[Film]]:
        """Best Picture entries grouped by ceremony year, oldest ceremony first.

        Within a ceremony the winner comes first, then the nominees alphabetically (ignoring a
        leading article).
        """
        groups: dict[int, list[Film]] = {}
        for film in self._films:
            if film.ceremony is not None and film.best_picture is not None:
                groups.setdefault(film.ceremony, []).append(film)
        return {
            ceremony: sorted(groups[ceremony], key=lambda f: (not f.is_winner, normalize_title(f.title)))
            for ceremony in sorted(groups)
        }

    def winners(self) -> dict[int, Film]:
        """The Best Picture winner of each ceremony the catalogue covers."""
        return {ceremony: films[0] for ceremony, films in self.best_picture_by_ceremony().items() if films[0].is_winner}


def _read_catalogue_text() -> str:
    try:
        return resources.files("bot.data").joinpath("films.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, TypeError, FileNotFoundError):
        # bot/data may not be an importable package; read it as data of the bot package.
        return resources.files("bot").joinpath("data", "films.json").read_text(encoding="utf-8")


@functools.cache
def load_catalogue() -> Catalogue:
    """The shipped catalogue (``bot/data/films.json``), parsed once and cached."""
    return Catalogue.from_json(_read_catalogue_text())


# --------------------------------------------------------------------------- commands


def _shown(title: str, limit: int = 120) -> str:
    """A title safe to put inside a Discord inline-code span, cut short so any reply fits Discord's limits."""
    title = " ".join(title.replace("`", "'").split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def resolve_film(
    title: str,
    year: int | None = None,
    runtime: int | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> Film:
    """The film a command means.

    A catalogue film when the title (with ``year``, or a trailing ``(year)``) names one;
    ``runtime`` is then ignored. Otherwise, if a year is known, a custom film with that title,
    year and runtime. Raises :class:`AmbiguousFilmError` when a title shared by several films
    comes without a year, :class:`UnknownFilmError` when an unknown title has no year, and
    :class:`FilmError` for a blank title or an impossible year or runtime.
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    bare, parsed_year = parse_title_year(title)
    if year is None:
        year = parsed_year
    if not normalize_title(bare):
        raise FilmError("Give me a film title.")

    film = catalogue.find(bare, year)
    if film is not None:
        return film

    if year is None:
        candidates = catalogue.matches(bare)
        if len(candidates) > 1:
            years = ", ".join(str(f.year) for f in candidates)
            name = candidates[0].title
            raise AmbiguousFilmError(
                f"There are several films called `{_shown(name)}` ({years}). "
                f"Pick one from the list, or add its year (e.g. `year: {candidates[0].year}`).",
                candidates,
            )
        raise UnknownFilmError(
            f"I don't know `{_shown(bare)}`. Pick one from the list, or give its year "
            "(e.g. `year: 1999`) to add it anyway."
        )

    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FilmError(f"`{year}` is not a film year I can use: give one between {MIN_YEAR} and {MAX_YEAR}.")
    if runtime is not None and not MIN_RUNTIME <= runtime <= MAX_RUNTIME:
        raise FilmError(f"A runtime of {runtime} minutes can't be right: give it in minutes, e.g. `runtime: 126`.")
    return Film.custom(bare, year, runtime)
