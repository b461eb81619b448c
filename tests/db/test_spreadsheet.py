"""The Spreadsheet's repositories: checks, comments, watched marks, imported ratings, the theme shelf."""

from __future__ import annotations

import pytest

from db import spreadsheet as repo
from db import theme as theme_repo
from db.store import Store
from db.theme import ShelfFilm

G1, G2 = 1001, 2002




async def test_checks_replace_and_stay_per_server(store: Store) -> None:
    await repo.set_check(store, G1, "her-2013", watched=True, watched_at=500, set_by=7, now=600)
    mark = await repo.get_check(store, G1, "her-2013")
    assert mark is not None and mark.watched and mark.watched_at == 500 and mark.set_at == 600
    await repo.set_check(store, G1, "her-2013", watched=False, watched_at=None, set_by=8, now=700)
    marks = await repo.list_checks(store, G1)
    assert list(marks) == ["her-2013"] and not marks["her-2013"].watched and marks["her-2013"].set_by == 8
    assert await repo.list_checks(store, G2) == {}


async def test_one_comment_per_member_per_film(store: Store) -> None:
    assert await repo.set_comment(store, G1, "her-2013", 1, "first", 100) is False
    assert await repo.set_comment(store, G1, "her-2013", 1, "second", 200) is True
    await repo.set_comment(store, G1, "her-2013", 2, "other", 150)
    await repo.set_comment(store, G2, "her-2013", 1, "elsewhere", 150)
    comments = await repo.list_comments(store, G1)
    assert [(c.user_id, c.body, c.created_at, c.updated_at) for c in comments] == [
        (1, "second", 100, 200), (2, "other", 150, 150)
    ]
    assert await repo.delete_comment(store, G1, "her-2013", 2) is True
    assert await repo.delete_comment(store, G1, "her-2013", 2) is False


async def test_comment_length_is_enforced_by_the_schema(store: Store) -> None:
    with pytest.raises(Exception, match=r"(?i)check"):
        await repo.set_comment(store, G1, "her-2013", 1, "x" * 281, 100)


async def test_watched_marks_keep_the_earliest_date(store: Store) -> None:
    assert await repo.add_watched(store, G1, 1, "her-2013", None, 100) is True
    assert await repo.add_watched(store, G1, 1, "her-2013", None, 101) is False
    assert await repo.add_watched(store, G1, 1, "her-2013", "2024-03-01", 102) is True
    assert await repo.add_watched(store, G1, 1, "her-2013", "2024-05-01", 103) is False
    assert await repo.add_watched(store, G1, 1, "her-2013", "2024-01-01", 104) is True
    assert await repo.watched_marks(store, G1, 1) == {"her-2013": "2024-01-01"}
    assert await repo.watched_marks(store, G1, 2) == {}


async def test_imported_ratings(store: Store) -> None:
    await repo.record_imported_rating(store, G1, 1, "her-2013", 4.5, 5, 100)
    await repo.record_imported_rating(store, G1, 1, "her-2013", 3.0, 3, 200)
    got = await repo.imported_ratings(store, G1, 1)
    assert got["her-2013"].stars == 3.0 and got["her-2013"].thumbs == 3 and got["her-2013"].imported_at == 200
    assert await repo.imported_ratings(store, G2, 1) == {}


async def test_theme_set_replace_clear(store: Store) -> None:
    films = [ShelfFilm("her-2013", "Her", 2013), ShelfFilm("custom:robot-2030", "Robot", 2030)]
    theme = await theme_repo.set_theme(store, G1, "Robots", films, set_by=7, now=100)
    assert theme.films == tuple(films) and theme.message_id is None
    await theme_repo.set_message(store, G1, 55, 66, True)
    again = await theme_repo.get_theme(store, G1)
    assert again is not None and again.channel_id == 55 and again.message_id == 66 and again.pinned
    assert await theme_repo.themes_with_film(store, "her-2013") == [G1]
    replaced = await theme_repo.set_theme(store, G1, "Boxing", [ShelfFilm("rocky-1976", "Rocky", 1976)], set_by=7,
                                          now=200)  # fmt: skip
    assert [f.film_key for f in replaced.films] == ["rocky-1976"] and replaced.message_id is None
    assert await theme_repo.themes_with_film(store, "her-2013") == []
    cleared = await theme_repo.clear_theme(store, G1)
    assert cleared is not None and cleared.title == "Boxing"
    assert await theme_repo.get_theme(store, G1) is None and await theme_repo.clear_theme(store, G1) is None
    rows = await store.fetchall("SELECT * FROM theme_films")
    assert rows == []  # the films went with the theme


async def test_forget_a_deleted_shelf_message(store: Store) -> None:
    await theme_repo.set_theme(store, G1, "Robots", [ShelfFilm("her-2013", "Her", 2013)], set_by=7, now=100)
    await theme_repo.set_message(store, G1, 55, 66, True)
    assert await theme_repo.forget_message(store, G1, 65) is False  # some other message
    assert await theme_repo.forget_message(store, G2, 66) is False  # another server
    assert await theme_repo.forget_message(store, G1, 66) is True
    theme = await theme_repo.get_theme(store, G1)
    assert theme is not None and theme.title == "Robots" and theme.message_id is None and theme.channel_id is None
    assert not theme.pinned and len(theme.films) == 1
