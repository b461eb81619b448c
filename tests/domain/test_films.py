"""The shipped film catalogue and the lookup logic in ``bot.domain.films``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from bot.domain.films import (
    CHOICE_LIMIT,
    AmbiguousFilmError,
    Catalogue,
    Film,
    FilmError,
    UnknownFilmError,
    format_choice,
    load_catalogue,
    normalize_title,
    parse_title_year,
    resolve_film,
    title_slug,
)
from bot.errors import UserError

CATALOGUE = load_catalogue()

# Ceremony year -> number of Best Picture nominees that year (winner included).
NOMINEE_COUNTS = {
    2011: 10, 2012: 9, 2013: 9, 2014: 9, 2015: 8, 2016: 8, 2017: 9, 2018: 9,
    2019: 8, 2020: 9, 2021: 8, 2022: 10, 2023: 10, 2024: 10, 2025: 10, 2026: 10,
}  # fmt: skip

WINNERS = {
    2011: "The King's Speech",
    2012: "The Artist",
    2013: "Argo",
    2014: "12 Years a Slave",
    2015: "Birdman or (The Unexpected Virtue of Ignorance)",
    2016: "Spotlight",
    2017: "Moonlight",
    2018: "The Shape of Water",
    2019: "Green Book",
    2020: "Parasite",
    2021: "Nomadland",
    2022: "CODA",
    2023: "Everything Everywhere All at Once",
    2024: "Oppenheimer",
    2025: "Anora",
    2026: "One Battle After Another",
}

# Best Picture entries whose ceremony is not the year after their listed year. The 93rd
# ceremony (2021) took films released up to February 2021, and Sound of Metal is listed with
# its 2019 festival year (as Letterboxd and IMDb do) although it was released in 2020.
CEREMONY_EXCEPTIONS = {"judas-and-the-black-messiah-2021": 2021, "sound-of-metal-2019": 2021}


def _raw_records() -> list[dict[str, Any]]:
    text = resources.files("bot").joinpath("data", "films.json").read_text(encoding="utf-8")
    records = json.loads(text)
    assert isinstance(records, list)
    return records


def _film(title: str, year: Any, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "title": title,
        "year": year,
        "runtime": 100,
        "director": "Someone",
        "best_picture": None,
        "ceremony": None,
        "premise": "A film.",
    }
    record.update(extra)
    return record


def _catalogue_film(title: str, year: int) -> Film:
    film = CATALOGUE.find(title, year)
    assert film is not None, f"{title} ({year}) missing from the catalogue"
    return film


# --------------------------------------------------------------------------- the data


def test_catalogue_loads_once_and_is_sizeable() -> None:
    assert load_catalogue() is CATALOGUE
    assert len(CATALOGUE) >= sum(NOMINEE_COUNTS.values())
    assert all(isinstance(film, Film) for film in CATALOGUE)


def test_raw_records_use_only_known_fields() -> None:
    allowed = {"title", "year", "runtime", "director", "best_picture", "ceremony", "premise", "aliases"}
    required = allowed - {"aliases"}
    for record in _raw_records():
        assert required <= set(record) <= allowed, record.get("title")
        assert record["best_picture"] in (None, "nominee", "winner")


@pytest.mark.parametrize("film", CATALOGUE.films, ids=lambda f: f.key)
def test_every_film_is_complete(film: Film) -> None:
    assert film.title == film.title.strip() and film.title
    assert isinstance(film.year, int) and 1900 <= film.year <= 2025
    assert isinstance(film.runtime, int) and 60 <= film.runtime <= 300
    assert film.director and film.director == film.director.strip()
    assert " and " not in film.director, "co-directors are joined with ' & '"
    assert film.premise and film.premise == film.premise.strip()
    assert len(film.premise) <= 200
    assert "\n" not in film.premise
    assert (film.best_picture is None) == (film.ceremony is None)
    assert film.key == f"{title_slug(film.title)}-{film.year}"
    assert not film.is_custom


def test_keys_and_title_year_pairs_are_unique() -> None:
    keys = [film.key for film in CATALOGUE]
    assert len(keys) == len(set(keys))
    pairs = [(normalize_title(film.title), film.year) for film in CATALOGUE]
    assert len(pairs) == len(set(pairs))


def test_ceremony_is_the_year_after_release_for_best_picture_entries() -> None:
    off = {f.key: f.ceremony for f in CATALOGUE if f.is_nominee and f.ceremony != f.year + 1}
    assert off == CEREMONY_EXCEPTIONS


def test_nominee_counts_per_ceremony() -> None:
    by_ceremony = CATALOGUE.best_picture_by_ceremony()
    for ceremony, count in NOMINEE_COUNTS.items():
        assert len(by_ceremony[ceremony]) == count, ceremony
    for ceremony in range(2011, 2026):
        assert len(by_ceremony[ceremony]) >= 8


def test_exactly_one_winner_per_ceremony() -> None:
    for ceremony, films in CATALOGUE.best_picture_by_ceremony().items():
        winners = [f.title for f in films if f.is_winner]
        if 2011 <= ceremony <= 2026:
            assert len(winners) == 1, (ceremony, winners)
        else:
            assert len(winners) <= 1, (ceremony, winners)
    assert {c: f.title for c, f in CATALOGUE.winners().items() if c >= 2011} == WINNERS


def test_seed_facts() -> None:
    her = _catalogue_film("Her", 2013)
    assert (her.key, her.director, her.runtime) == ("her-2013", "Spike Jonze", 126)
    assert (her.best_picture, her.ceremony) == ("nominee", 2014)

    rocky = _catalogue_film("Rocky", 1976)
    assert (rocky.director, rocky.runtime) == ("John G. Avildsen", 120)
    assert (rocky.best_picture, rocky.ceremony) == ("winner", 1977)

    coda = _catalogue_film("CODA", 2021)
    assert (coda.best_picture, coda.ceremony) == ("winner", 2022)

    silver = _catalogue_film("Silver Linings Playbook", 2012)
    assert silver.ceremony == 2013 and silver.best_picture == "nominee"


def test_theme_classics_are_included() -> None:
    for title, year in [
        ("A.I. Artificial Intelligence", 2001),
        ("2001: A Space Odyssey", 1968),
        ("Rocky II", 1979),
        ("Creed", 2015),
    ]:
        assert not _catalogue_film(title, year).is_nominee


def test_titles_keep_their_official_accents() -> None:
    titles = {film.title for film in CATALOGUE}
    assert {"Les Misérables", "Emilia Pérez", "Tár", "Roma"} <= titles
    assert "Les Miserables" not in titles
    assert _catalogue_film("Triangle of Sadness", 2022).director == "Ruben Östlund"


def test_co_directors_are_joined_with_ampersand() -> None:
    assert _catalogue_film("True Grit", 2010).director == "Joel Coen & Ethan Coen"
    assert _catalogue_film("Everything Everywhere All at Once", 2022).director == ("Daniel Kwan & Daniel Scheinert")


# --------------------------------------------------------------------------- normalizing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Les Misérables", "les miserables"),
        ("The King’s Speech", "kings speech"),
        ("The King's Speech", "kings speech"),
        ("A Star Is Born", "star is born"),
        ("An  Education", "education"),
        ("The", "the"),
        ("A.I. Artificial Intelligence", "ai artificial intelligence"),
        ("Extremely Loud & Incredibly Close", "extremely loud and incredibly close"),
        ("Once Upon a Time… in Hollywood", "once upon a time in hollywood"),
        ("Dune: Part Two", "dune part two"),
        ("  TÁR  ", "tar"),
        ("Triangle of Sadness — Östlund", "triangle of sadness ostlund"),
        ("WALL·E", "wall e"),
        ("“Birdman”", "birdman"),
        ("", ""),
    ],
)
def test_normalize_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


def test_normalize_is_idempotent_on_the_catalogue() -> None:
    for film in CATALOGUE:
        once = normalize_title(film.title)
        assert normalize_title(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Her (2013)", ("Her", 2013)),
        ("  Dune   [1984] ", ("Dune", 1984)),
        ("1917", ("1917", None)),
        ("Blade Runner 2049", ("Blade Runner 2049", None)),
        ("(2013)", ("(2013)", None)),
        ("Birdman or (The Unexpected Virtue of Ignorance)", ("Birdman or (The Unexpected Virtue of Ignorance)", None)),
    ],
)
def test_parse_title_year(raw: str, expected: tuple[str, int | None]) -> None:
    assert parse_title_year(raw) == expected


# --------------------------------------------------------------------------- find / matches


def test_find_ignores_accents_case_quotes_and_articles() -> None:
    les_mis = _catalogue_film("Les Misérables", 2012)
    assert CATALOGUE.find("Les Miserables") is les_mis
    assert CATALOGUE.find("les misérables") is les_mis
    kings = _catalogue_film("The King's Speech", 2010)
    assert CATALOGUE.find("Kings Speech") is kings
    assert CATALOGUE.find("the king’s speech") is kings
    assert CATALOGUE.find("TAR") is _catalogue_film("Tár", 2022)
    assert CATALOGUE.find("walle") is _catalogue_film("WALL·E", 2008)


def test_find_accepts_aliases() -> None:
    birdman = _catalogue_film("Birdman or (The Unexpected Virtue of Ignorance)", 2014)
    assert CATALOGUE.find("Birdman") is birdman
    assert CATALOGUE.find("Ainda Estou Aqui") is _catalogue_film("I'm Still Here", 2024)


def test_find_with_year_in_title_or_argument() -> None:
    her = _catalogue_film("Her", 2013)
    assert CATALOGUE.find("Her (2013)") is her
    assert CATALOGUE.find("Her", 2013) is her
    assert CATALOGUE.find("Her", 1990) is None
    assert CATALOGUE.find("Her (1990)") is None
    # An explicit year wins over one in the title.
    assert CATALOGUE.find("Dune (2021)", 1984) is _catalogue_film("Dune", 1984)


def test_find_forgives_a_year_one_off_when_it_is_unambiguous() -> None:
    sound = CATALOGUE.find("Sound of Metal", 2020)
    assert sound is not None and sound.year == 2019
    dune = CATALOGUE.find("Dune", 2022)
    assert dune is not None and dune.year == 2021


def test_find_remakes_need_a_year() -> None:
    assert CATALOGUE.find("A Star Is Born") is None
    assert [f.year for f in CATALOGUE.matches("A Star Is Born")] == [2018, 1976, 1937]
    star_1976 = CATALOGUE.find("A Star Is Born", 1976)
    assert star_1976 is not None and star_1976.director == "Frank Pierson"
    assert CATALOGUE.find("Little Women (1994)") is not None
    assert CATALOGUE.find("West Side Story", 1961) is not None
    assert CATALOGUE.find("Dune") is None


def test_find_unknown_and_blank_titles() -> None:
    assert CATALOGUE.find("Xyzzy") is None
    assert CATALOGUE.find("") is None
    assert CATALOGUE.find("   ") is None
    assert CATALOGUE.matches("") == []


def test_find_in_a_test_only_catalogue_with_remakes() -> None:
    catalogue = Catalogue.from_records(
        [_film("The Thing", 1982), _film("The Thing", 2011), _film("The Thing from Another World", 1951)]
    )
    assert catalogue.find("Thing") is None
    assert [f.year for f in catalogue.matches("the thing")] == [2011, 1982]
    found = catalogue.find("The Thing (1982)")
    assert found is not None and found.key == "thing-1982"
    assert catalogue.find("The Thing from Another World") is not None


# --------------------------------------------------------------------------- search


def test_empty_search_lists_recent_nominees_winner_first() -> None:
    results = CATALOGUE.search("")
    assert len(results) == CHOICE_LIMIT
    assert results[0].title == "One Battle After Another"
    assert all(f.is_nominee for f in results)
    ceremonies = [f.ceremony or 0 for f in results]
    assert ceremonies == sorted(ceremonies, reverse=True)
    assert ceremonies[:10] == [2026] * 10
    assert results[10].title == "Anora"  # the 2025 winner leads its ceremony


def test_search_respects_limit() -> None:
    assert len(CATALOGUE.search("", limit=3)) == 3
    assert len(CATALOGUE.search("e", limit=100)) == CHOICE_LIMIT
    assert CATALOGUE.search("her", limit=0) == []


def test_search_puts_exact_then_prefix_then_substring() -> None:
    titles = [f.title for f in CATALOGUE.search("her")]
    assert titles[0] == "Her"
    # "Here" starts a word; "Father" only contains the letters.
    assert titles.index("I'm Still Here") < titles.index("The Father")

    rocky = [f.title for f in CATALOGUE.search("rocky")]
    assert rocky[0] == "Rocky"
    assert set(rocky) == {"Rocky", "Rocky II", "Rocky III", "Rocky IV", "Rocky Balboa"}


def test_search_prefix_works_with_and_without_the_article() -> None:
    assert CATALOGUE.search("the grand")[0].title == "The Grand Budapest Hotel"
    assert CATALOGUE.search("grand bud")[0].title == "The Grand Budapest Hotel"
    assert [f.year for f in CATALOGUE.search("a star")] == [2018, 1976, 1937]


def test_search_handles_accents_and_typos() -> None:
    assert CATALOGUE.search("les mis")[0].title == "Les Misérables"
    assert CATALOGUE.search("emilia perez")[0].title == "Emilia Pérez"
    assert CATALOGUE.search("oppenhiemer")[0].title == "Oppenheimer"
    assert CATALOGUE.search("grand budapset")[0].title == "The Grand Budapest Hotel"
    assert CATALOGUE.search("qwxzv") == []


def test_search_aliases_count_only_as_whole_title_or_prefix() -> None:
    assert CATALOGUE.search("anatomie")[0].title == "Anatomy of a Fall"
    # "Anatomie d'une chute" folds to "... dune ...", which must not surface for Dune.
    assert [f.title for f in CATALOGUE.search("dune")] == ["Dune", "Dune", "Dune: Part Two"]


def test_search_with_a_year_keeps_that_year() -> None:
    assert [f.key for f in CATALOGUE.search("Dune (1984)")] == ["dune-1984"]
    assert all(f.year == 2013 for f in CATALOGUE.search("(2013)"))


def test_every_choice_label_round_trips() -> None:
    for film in CATALOGUE:
        label = format_choice(film)
        assert len(label) <= 100
        assert label == film.label
        assert CATALOGUE.find(label) is film, label
        assert film in CATALOGUE.search(label)


def test_format_choice_shortens_long_titles() -> None:
    film = Film.custom("x" * 150, 1999)
    label = format_choice(film)
    assert len(label) == 100
    assert label.endswith("… (1999)")
    assert format_choice(_catalogue_film("Her", 2013)) == "Her (2013)"


# --------------------------------------------------------------------------- best picture


def test_best_picture_by_ceremony_is_ordered() -> None:
    groups = CATALOGUE.best_picture_by_ceremony()
    assert list(groups) == sorted(groups)
    for films in groups.values():
        assert films[0].is_winner or not any(f.is_winner for f in films)
        rest = [normalize_title(f.title) for f in films if not f.is_winner]
        assert rest == sorted(rest)
    assert [f.title for f in groups[2014]][:2] == ["12 Years a Slave", "American Hustle"]


# --------------------------------------------------------------------------- resolve_film


def test_resolve_known_films() -> None:
    assert resolve_film("Her", None, None) is _catalogue_film("Her", 2013)
    assert resolve_film("les miserables", 2012, 999).runtime == 158  # catalogue wins
    assert resolve_film("Dune (1984)", None, None).director == "David Lynch"


def test_resolve_custom_film_with_year() -> None:
    film = resolve_film("  Paddington   2 ", 2017, 103)
    assert film.key == "custom:paddington-2-2017"
    assert (film.title, film.year, film.runtime) == ("Paddington 2", 2017, 103)
    assert film.is_custom and not film.is_nominee
    assert film.director is None and film.premise is None
    # A catalogue title with a year far from any version becomes a custom film too.
    assert resolve_film("A Star Is Born", 1954, None).key == "custom:star-is-born-1954"
    assert resolve_film("The Matrix (1999)", None, 136).key == "custom:matrix-1999"


def test_resolve_unknown_without_year() -> None:
    with pytest.raises(UnknownFilmError) as caught:
        resolve_film("Xyz", None, None)
    assert caught.value.message == (
        "I don't know `Xyz`. Pick one from the list, or give its year (e.g. `year: 1999`) to add it anyway."
    )
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, UserError)


def test_resolve_ambiguous_lists_years() -> None:
    with pytest.raises(AmbiguousFilmError) as caught:
        resolve_film("a star is born", None, None)
    assert "2018, 1976, 1937" in caught.value.message
    assert [f.year for f in caught.value.candidates] == [2018, 1976, 1937]
    assert isinstance(caught.value, UnknownFilmError)


def test_resolve_rejects_blank_titles_and_impossible_numbers() -> None:
    with pytest.raises(FilmError):
        resolve_film("   ", 2000, None)
    with pytest.raises(FilmError, match="year"):
        resolve_film("Some Film", 20, None)
    with pytest.raises(FilmError, match="runtime"):
        resolve_film("Some Film", 2000, 0)


def test_resolve_uses_the_given_catalogue() -> None:
    catalogue = Catalogue.from_records([_film("Solaris", 1972), _film("Solaris", 2002)])
    with pytest.raises(AmbiguousFilmError, match="2002, 1972"):
        resolve_film("Solaris", None, None, catalogue=catalogue)
    assert resolve_film("Solaris", 1972, None, catalogue=catalogue).key == "solaris-1972"
    with pytest.raises(UnknownFilmError):
        resolve_film("Her", None, None, catalogue=catalogue)


def test_resolve_escapes_backticks_in_messages() -> None:
    with pytest.raises(UnknownFilmError) as caught:
        resolve_film("Bad`Title", None, None)
    assert "`Bad'Title`" in caught.value.message


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "record",
    [
        _film("No Ceremony", 2000, best_picture="nominee"),
        _film("No Status", 2000, ceremony=2001),
        _film("Bad Status", 2000, best_picture="loser", ceremony=2001),
        _film("", 2000),
        _film("Year Text", "2000"),
        _film("Year Bool", True),
        _film("Extra", 2000, rating=5),
        _film("Bad Aliases", 2000, aliases="Nope"),
    ],
)
def test_bad_records_are_rejected(record: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Catalogue.from_records([record])


def test_duplicate_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Catalogue.from_records([_film("The Thing", 1982), _film("Thing", 1982)])


def test_from_json_needs_a_list() -> None:
    with pytest.raises(ValueError):
        Catalogue.from_json('{"title": "Her"}')
    assert len(Catalogue.from_json(json.dumps([_film("Her", 2013)]))) == 1


def test_unknown_film_error_stays_short_for_huge_titles() -> None:
    import pytest

    from bot.domain.films import UnknownFilmError, resolve_film

    with pytest.raises(UnknownFilmError) as info:
        resolve_film("x" * 6000 + "`@everyone`")
    assert len(info.value.message) < 400
    assert "`" not in info.value.message.split("`")[1]
