"""ReadCache: answers are served again only while the database is unchanged."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.cache import ReadCache
from db.migrate import migrate
from db.pgstore import PgStore
from db.store import Store, StoreError
from tests import pg


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """SQLite only: the version these tests rely on is SQLite's (a PostgreSQL store never caches, below)."""
    s = Store(tmp_path / "club.db")
    await s.open()
    await migrate(s)
    try:
        yield s
    finally:
        await s.close()


async def test_postgres_store_never_serves_from_cache() -> None:
    """Another cluster may write to a shared PostgreSQL database at any time: nothing is served again."""
    url = await pg.fresh_database()
    s = PgStore(url)
    await s.open()
    try:
        assert s.version() is None
        cache: ReadCache[str, int] = ReadCache(s)
        before = await cache.get("n", lambda: count_meta(s))
        other = PgStore(url)  # another process's connection
        await other.open()
        try:
            await other.execute("INSERT INTO meta (key, value) VALUES ('elsewhere', '1')")
        finally:
            await other.close()
        assert await cache.get("n", lambda: count_meta(s)) == before + 1
        assert cache.hits == 0 and len(cache) == 0
    finally:
        await s.close()
        await pg.drop_database(url)


async def count_meta(store: Store) -> int:
    row = await store.fetchone("SELECT COUNT(*) AS n FROM meta")
    assert row is not None
    return int(row["n"])


async def test_served_again_while_nothing_changes(store: Store) -> None:
    cache: ReadCache[str, int] = ReadCache(store)
    calls = 0

    async def compute() -> int:
        nonlocal calls
        calls += 1
        return await count_meta(store)

    first = await cache.get("n", compute)
    assert await cache.get("n", compute) == first
    assert calls == 1
    assert (cache.hits, cache.misses) == (1, 1)


async def test_any_write_through_the_store_makes_it_recompute(store: Store) -> None:
    cache: ReadCache[str, int] = ReadCache(store)
    before = await cache.get("n", lambda: count_meta(store))
    await store.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
    assert await cache.get("n", lambda: count_meta(store)) == before + 1
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO meta (key, value) VALUES ('b', '1')")
    assert await cache.get("n", lambda: count_meta(store)) == before + 2
    await store.executemany("INSERT INTO meta (key, value) VALUES (?, '1')", [("c",), ("d",)])
    assert await cache.get("n", lambda: count_meta(store)) == before + 4


async def test_a_write_by_another_connection_makes_it_recompute(store: Store) -> None:
    cache: ReadCache[str, int] = ReadCache(store)
    before = await cache.get("n", lambda: count_meta(store))
    with sqlite3.connect(store.path) as other:
        other.execute("INSERT INTO meta (key, value) VALUES ('elsewhere', '1')")
    assert await cache.get("n", lambda: count_meta(store)) == before + 1


async def test_a_write_during_the_computation_is_not_hidden(store: Store) -> None:
    """The answer is tagged with the version from before it was computed, so a write that lands while it
    is being computed makes the next call compute again."""
    cache: ReadCache[str, int] = ReadCache(store)
    computing = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> int:
        n = await count_meta(store)
        computing.set()
        await release.wait()
        return n

    task = asyncio.create_task(cache.get("n", slow))
    await computing.wait()
    await store.execute("INSERT INTO meta (key, value) VALUES ('meanwhile', '1')")
    release.set()
    stale = await task
    assert await cache.get("n", lambda: count_meta(store)) == stale + 1


async def test_a_failed_transaction_also_moves_the_version(store: Store) -> None:
    cache: ReadCache[str, int] = ReadCache(store)
    await cache.get("n", lambda: count_meta(store))
    version = store.version()
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
            raise RuntimeError("boom")
    assert store.version() != version


async def test_errors_are_not_cached(store: Store) -> None:
    cache: ReadCache[str, int] = ReadCache(store)

    async def broken() -> int:
        raise StoreError("no")

    with pytest.raises(StoreError):
        await cache.get("n", broken)
    assert len(cache) == 0
    assert await cache.get("n", lambda: count_meta(store)) >= 0


async def test_least_recently_used_dropped_first(store: Store) -> None:
    cache: ReadCache[int, int] = ReadCache(store, size=2)

    async def value(n: int) -> int:
        return n

    await cache.get(1, lambda: value(1))
    await cache.get(2, lambda: value(2))
    await cache.get(1, lambda: value(1))  # 1 is now the most recent
    await cache.get(3, lambda: value(3))  # drops 2
    assert len(cache) == 2
    hits = cache.hits
    await cache.get(1, lambda: value(-1))
    assert cache.hits == hits + 1
    assert await cache.get(2, lambda: value(-2)) == -2  # recomputed


async def test_in_memory_store_never_serves_from_cache(tmp_path: Path) -> None:
    s = Store(":memory:")
    await s.open()
    try:
        assert s.version() is None
        cache: ReadCache[str, int] = ReadCache(s)
        calls = 0

        async def compute() -> int:
            nonlocal calls
            calls += 1
            return calls

        assert await cache.get("n", compute) == 1
        assert await cache.get("n", compute) == 2
        assert len(cache) == 0
    finally:
        await s.close()


def test_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ReadCache(Store(tmp_path / "x.db"), size=0)

