"""The store: pragmas, units of work, migrations, backups, newer-schema refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.migrate import Migration, current_version, load_migrations, migrate
from db.settings import SettingsRepo
from db.store import Store, StoreError


async def open_store(path: Path) -> Store:
    store = Store(path)
    await store.open()
    return store


async def test_pragmas(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "sub" / "club.db")
    try:
        assert (tmp_path / "sub").is_dir()
        mode = await store.fetchone("PRAGMA journal_mode")
        fks = await store.fetchone("PRAGMA foreign_keys")
        assert mode is not None and mode[0] == "wal"
        assert fks is not None and fks[0] == 1
    finally:
        await store.close()


async def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "club.db")
    try:
        version = await migrate(store)
        shipped = load_migrations()
        assert version == shipped[-1].version
        rows = await store.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [m.version for m in shipped]
        assert not list(tmp_path.glob("club.db.bak-*"))  # nothing to back up on a fresh file
        assert await migrate(store) == version  # idempotent
    finally:
        await store.close()


async def test_transaction_rolls_back_as_a_unit(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "club.db")
    try:
        await migrate(store)
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
                await tx.execute("INSERT INTO meta(key, value) VALUES ('b', '2')")
                raise RuntimeError("boom")
        assert await store.fetchall("SELECT * FROM meta") == []
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
            await tx.execute("INSERT INTO meta(key, value) VALUES ('b', '2')")
        assert len(await store.fetchall("SELECT * FROM meta")) == 2
    finally:
        await store.close()


async def test_upgrade_keeps_data_and_takes_a_backup(tmp_path: Path) -> None:
    shipped = load_migrations()
    path = tmp_path / "club.db"
    store = await open_store(path)
    await migrate(store, shipped[:1])  # a database from the first version
    await SettingsRepo(store).update(7, 100, timezone="Europe/London")
    await store.close()

    store = await open_store(path)
    try:
        version = await migrate(store, shipped)
        assert version == shipped[-1].version
        settings = await SettingsRepo(store).get(7)
        assert settings.timezone == "Europe/London"
        backups = list(tmp_path.glob("club.db.bak-v001-*"))
        assert len(backups) == 1
        old = await open_store(backups[0])
        try:
            assert await current_version(old) == 1
            row = await old.fetchone("SELECT timezone FROM guild_settings WHERE guild_id = 7")
            assert row is not None and row[0] == "Europe/London"
        finally:
            await old.close()
    finally:
        await store.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "club.db"
    store = await open_store(path)
    shipped = load_migrations()
    future = [*shipped, Migration(shipped[-1].version + 1, "future", "CREATE TABLE future_thing (x INTEGER);")]
    await migrate(store, future)
    try:
        with pytest.raises(StoreError, match="newer than this filmclub"):
            await migrate(store, shipped)
    finally:
        await store.close()


async def test_failed_migration_changes_nothing(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "club.db")
    shipped = load_migrations()
    broken = [*shipped, Migration(999, "broken", "CREATE TABLE ok_table (x INTEGER); THIS IS NOT SQL;")]
    try:
        with pytest.raises(StoreError, match="999-broken"):
            await migrate(store, broken)
        assert await current_version(store) == shipped[-1].version
        row = await store.fetchone("SELECT name FROM sqlite_master WHERE name = 'ok_table'")
        assert row is None
    finally:
        await store.close()


async def test_a_missing_lower_migration_is_still_applied(tmp_path: Path) -> None:
    shipped = load_migrations()
    store = await open_store(tmp_path / "club.db")
    try:
        lower = Migration(900, "lower", "CREATE TABLE lower_thing (x INTEGER);")
        upper = Migration(901, "upper", "CREATE TABLE upper_thing (x INTEGER);")
        await migrate(store, [*shipped, upper])  # e.g. a branch that numbered its migration higher
        version = await migrate(store, [*shipped, lower, upper])
        assert version == 901
        rows = await store.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows][-2:] == [900, 901]
        assert await store.fetchone("SELECT name FROM sqlite_master WHERE name = 'lower_thing'") is not None
    finally:
        await store.close()


async def test_a_foreign_file_is_refused_and_leaves_no_thread(tmp_path: Path) -> None:
    import threading

    from db.store import DatabaseDamaged

    path = tmp_path / "club.db"
    path.write_bytes(b"this is a text file, not a database\n" * 500)
    before = threading.active_count()
    store = Store(path)
    with pytest.raises(DatabaseDamaged) as info:
        await store.open()
    assert str(path) in str(info.value) and "move it away" in str(info.value)
    assert not store.is_open
    for _ in range(100):  # aiosqlite's worker thread ends once the connection is closed
        if threading.active_count() <= before:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() <= before
