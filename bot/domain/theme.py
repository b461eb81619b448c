"""The theme shelf: a titled list of films a moderator sets for a while (pure logic).

``/theme set title films``: ``films`` is a list separated by ``;`` (``Rocky (1976); Creed;
Rocky Balboa``). Each entry goes through :func:`bot.domain.films.resolve_film`, so catalogue
titles match loosely, remakes need their year, and a film outside the catalogue can be shelved
with its year. At most 25 films (one select menu of cards), no film twice.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.films import CHOICE_LIMIT, Catalogue, Film, FilmError, format_choice, resolve_film
from bot.errors import UserError

MAX_TITLE = 100
MAX_FILMS = 25
MAX_ENTRY = 200  # one film of the list: longer than any real title with its year
CHOICE_MAX = 100


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise UserError("Give the theme a title, e.g. `Robots with feelings`.")
    if len(title) > MAX_TITLE:
        raise UserError(f"That title is {len(title)} characters long; keep it to {MAX_TITLE}.")
    return title


def split_films(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def parse_shelf(text: str, resolve: Callable[[str], Film] | None = None) -> list[Film]:
    """The films of a ``;``-separated list, in order; a UserError names the entry that failed."""
    resolver = resolve or (lambda entry: resolve_film(entry))
    entries = split_films(text)
    if not entries:
        raise UserError("Put at least one film on the shelf, separated by `;` (e.g. `Her (2013); Ex Machina`).")
    if len(entries) > MAX_FILMS:
        raise UserError(f"That's {len(entries)} films; a shelf holds at most {MAX_FILMS}.")
    films: list[Film] = []
    for number, entry in enumerate(entries, start=1):
        if len(entry) > MAX_ENTRY:
            raise UserError(
                f"Film {number} of the list is {len(entry)} characters long; give a title (and year) of at most "
                f"{MAX_ENTRY}, and separate the films with `;`."
            )
        try:
            film = resolver(entry)
        except FilmError as exc:
            raise UserError(f"Film {number} of the list: {exc.message}") from None
        if any(f.key == film.key for f in films):
            raise UserError(f"{format_choice(film)} is on the list twice; shelve each film once.")
        films.append(film)
    return films


def complete_shelf(current: str, catalogue: Catalogue) -> list[str]:
    """Autocomplete for the films option: completes the entry being typed (after the last ``;``),
    keeping the entries before it. Choices longer than Discord allows are left out."""
    head, sep, last = current.rpartition(";")
    prefix = f"{head.strip()}; " if sep and head.strip() else ""
    choices: list[str] = []
    for film in catalogue.search(last.strip(), limit=CHOICE_LIMIT):
        choice = prefix + format_choice(film)
        if len(choice) <= CHOICE_MAX:
            choices.append(choice)
    return choices
