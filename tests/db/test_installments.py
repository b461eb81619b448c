"""Installments repository: queue order, linking, watching, teaser settings."""

from __future__ import annotations

from db import installments as repo
from db import screenings as screenings_repo
from db.store import Store

G1, G2 = 111, 222




async def _add(store: Store, guild: int, key: str, title: str, position: int, now: int = 100) -> repo.Installment:
    return await repo.add(
        store, guild_id=guild, film_key=key, title=title, year=1976, runtime=120, note=None,
        position=position, added_by=1, now=now,
    )


async def test_queue_is_per_server_and_ordered_by_position(store: Store) -> None:
    rocky = await _add(store, G1, "rocky-1976", "Rocky", 1)
    her = await _add(store, G1, "her-2013", "Her", 2)
    other = await _add(store, G2, "her-2013", "Her", 1)
    assert [i.id for i in await repo.queue(store, G1)] == [rocky.id, her.id]
    await repo.set_order(store, G1, [(1, her.id), (2, rocky.id)], now=200)
    assert [(i.position, i.id) for i in await repo.queue(store, G1)] == [(1, her.id), (2, rocky.id)]
    # set_order for G1 never touches G2's rows.
    await repo.set_order(store, G1, [(5, other.id)], now=200)
    fetched = await repo.get(store, other.id)
    assert fetched is not None and fetched.position == 1
    assert [i.id for i in await repo.queue(store, G2)] == [other.id]


async def test_get_with_guild_hides_other_servers(store: Store) -> None:
    inst = await _add(store, G1, "rocky-1976", "Rocky", 1)
    assert await repo.get(store, inst.id, G1) is not None
    assert await repo.get(store, inst.id, G2) is None
    assert await repo.delete(store, inst.id, G2) is False
    assert await repo.get(store, inst.id) is not None
    assert await repo.delete(store, inst.id, G1) is True
    assert await repo.get(store, inst.id) is None


async def test_watch_once_and_history(store: Store) -> None:
    her = await _add(store, G1, "her-2013", "Her", 1)
    rocky = await _add(store, G1, "rocky-1976", "Rocky", 2)
    assert await repo.mark_watched(store, her.id, now=500) is True
    assert await repo.mark_watched(store, her.id, now=600) is False
    assert [i.id for i in await repo.queue(store, G1)] == [rocky.id]
    hist = await repo.watched(store, G1)
    assert [i.id for i in hist] == [her.id] and hist[0].watched_at == 500 and not hist[0].is_queued
    assert await repo.count_watched(store, G1) == 1
    assert await repo.count_watched(store, G2) == 0


async def test_link_and_find_by_screening_and_film(store: Store) -> None:
    screening = await screenings_repo.create_screening(
        store, guild_id=G1, film_key="rocky-1976", title="Rocky", year=1976, runtime=120, starts_at=10_000,
        channel_id=5, created_by=1, now=100,
    )
    first = await _add(store, G1, "rocky-1976", "Rocky", 1)
    second = await _add(store, G1, "rocky-1976", "Rocky", 2)
    found = await repo.first_unlinked_for_film(store, G1, "rocky-1976")
    assert found is not None and found.id == first.id
    await repo.link_screening(store, first.id, screening.id, now=200)
    linked = await repo.by_screening(store, screening.id)
    assert linked is not None and linked.id == first.id
    found = await repo.first_unlinked_for_film(store, G1, "rocky-1976")
    assert found is not None and found.id == second.id
    assert await repo.first_unlinked_for_film(store, G2, "rocky-1976") is None
    queued = await repo.first_queued_for_film(store, G1, "rocky-1976")
    assert queued is not None and queued.id == first.id
    # Deleting the screening unlinks it (ON DELETE SET NULL).
    await screenings_repo.delete_screening(store, screening.id)
    again = await repo.get(store, first.id)
    assert again is not None and again.screening_id is None


async def test_teaser_settings_default_and_saved(store: Store) -> None:
    settings = await repo.get_settings(store, G1)
    assert settings == repo.TeaserSettings(G1, "7d,1d", True)
    assert settings.before_enabled
    await repo.save_settings(store, repo.TeaserSettings(G1, "off", False), now=100)
    saved = await repo.get_settings(store, G1)
    assert saved.offsets == "off" and not saved.post_credits and not saved.before_enabled
    assert (await repo.get_settings(store, G2)).offsets == "7d,1d"
    await repo.save_settings(store, repo.TeaserSettings(G1, "2d", True), now=200)
    assert (await repo.get_settings(store, G1)).offsets == "2d"


async def test_finished_screenings_are_handled_once(store: Store) -> None:
    async def finished(guild: int, finished_at: int) -> int:
        s = await screenings_repo.create_screening(
            store, guild_id=guild, film_key="her-2013", title="Her", year=2013, runtime=126, starts_at=1_000,
            channel_id=5, created_by=1, now=100,
        )
        assert await screenings_repo.mark_finished(store, s.id, finished_at)
        return s.id

    old = await finished(G1, 5_000)
    recent = await finished(G1, 20_000)
    other = await finished(G2, 21_000)
    upcoming = await screenings_repo.create_screening(
        store, guild_id=G1, film_key="rocky-1976", title="Rocky", year=1976, runtime=120, starts_at=90_000,
        channel_id=5, created_by=1, now=100,
    )
    assert await repo.unhandled_finishes(store, since=10_000) == [recent, other]
    assert await repo.claim_finish(store, recent, G1, now=20_100)
    assert not await repo.claim_finish(store, recent, G1, now=20_200)
    assert await repo.unhandled_finishes(store, since=10_000) == [other]
    assert old in await repo.unhandled_finishes(store, since=0)
    assert upcoming.id not in await repo.unhandled_finishes(store, since=0)


async def test_first_queued_for_film_can_ignore_later_additions(store: Store) -> None:
    early = await _add(store, G1, "rocky-1976", "Rocky", 1, now=100)
    await repo.mark_watched(store, early.id, now=150)
    await _add(store, G1, "rocky-1976", "Rocky", 1, now=300)
    assert await repo.first_queued_for_film(store, G1, "rocky-1976", added_by_time=200) is None
    late = await repo.first_queued_for_film(store, G1, "rocky-1976", added_by_time=300)
    assert late is not None and late.created_at == 300
