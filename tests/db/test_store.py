"""The store: pragmas, units of work, migrations, backups, newer-schema refusal; the same on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from db import make_store
from db.migrate import Migration, current_version, load_migrations, migrate
from db.pgstore import PgStore
from db.settings import SettingsRepo
from db.store import Store, StoreError, Tx
from tests import pg


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


# --------------------------------------------------------------------------- PostgreSQL


async def open_pg(url: str, **kwargs: Any) -> PgStore:
    store = PgStore(url, **kwargs)
    await store.open()
    return store


async def test_pg_fresh_database_gets_every_migration_without_asking() -> None:
    url = await pg.empty_database()
    store = await open_pg(url)
    try:
        version = await migrate(store)
        shipped = load_migrations()
        assert version == shipped[-1].version == await current_version(store)
        rows = await store.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [m.version for m in shipped]
        assert await migrate(store) == version  # idempotent, and nothing pending needs no backup
    finally:
        await store.close()
        await pg.drop_database(url)


async def test_pg_statements_report_lastrowid_rowcount_and_python_types() -> None:
    url = await pg.fresh_database()
    store = await open_pg(url)
    try:
        made = await store.execute(
            "INSERT INTO basil_memorials (guild_id, name, name_key, author_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (2**62, "Basil", "basil", 7, 1, 1),
        )
        assert made.lastrowid == 1 and made.rowcount == 1
        again = await store.execute(
            "INSERT INTO basil_memorials (guild_id, name, name_key, author_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (2**62, "Olive", "olive", 7, 1, 1),
        )
        assert again.lastrowid == 2
        await store.execute(
            "INSERT INTO basil_photos (memorial_id, filename, content_type, data) VALUES (?, ?, ?, ?)",
            (1, "b.png", "image/png", b"\x00\x89PNG\xff"),
        )
        row = await store.fetchone("SELECT data FROM basil_photos WHERE memorial_id = ?", (1,))
        assert row is not None and row["data"] == b"\x00\x89PNG\xff" and isinstance(row[0], bytes)
        changed = await store.execute("UPDATE basil_memorials SET story = 'x' WHERE guild_id = ?", (2**62,))
        assert changed.rowcount == 2
        ignored = await store.execute(
            "INSERT INTO meta (key, value) VALUES ('k', 'v') ON CONFLICT (key) DO NOTHING"
        )
        assert ignored.rowcount == 1
        assert (await store.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('k', 'w')")).rowcount == 0
        sums = await store.fetchone(
            "SELECT SUM(author_id) AS total, AVG(author_id) AS mean, COUNT(*) AS n, MAX(guild_id) AS big "
            "FROM basil_memorials"
        )
        assert sums is not None
        assert (sums["total"], sums["mean"], sums["n"], sums["big"]) == (14, 7.0, 2, 2**62)
        assert type(sums["total"]) is int and type(sums["mean"]) is float
        named = await store.fetchone("SELECT value FROM meta WHERE key = :key", {"key": "k"})
        assert named is not None and named[0] == "v"
        with pytest.raises(sqlite3.IntegrityError):  # the one exception repositories catch, on both backends
            await store.execute(
                "INSERT INTO basil_memorials (guild_id, name, name_key, author_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (2**62, "Basil", "basil", 7, 1, 1),
            )
    finally:
        await store.close()


async def test_pg_transaction_rolls_back_as_a_unit_and_runs_undos() -> None:
    url = await pg.fresh_database()
    store = await open_pg(url)
    undone: list[str] = []
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                assert isinstance(tx, Tx)  # what the scheduler checks to join a unit of work
                tx.on_rollback(lambda: undone.append("job"))
                await tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
                raise RuntimeError("boom")
        assert undone == ["job"]
        assert await store.fetchall("SELECT * FROM meta") == []
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
            await tx.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [("b", "2"), ("c", "3")])
        assert len(await store.fetchall("SELECT * FROM meta")) == 3
    finally:
        await store.close()


async def test_pg_newer_database_is_refused() -> None:
    url = await pg.empty_database()
    store = await open_pg(url)
    shipped = load_migrations()
    future = [*shipped, Migration(shipped[-1].version + 1, "future", "CREATE TABLE future_thing (x INTEGER);")]
    try:
        await migrate(store, future)
        with pytest.raises(StoreError, match="newer than this filmclub") as info:
            await migrate(store, shipped)
        assert pg.PASSWORD not in str(info.value) and "***" in str(info.value)
    finally:
        await store.close()


async def test_pg_existing_schema_is_migrated_only_after_the_operator_confirms_a_dump() -> None:
    url = await pg.empty_database()
    shipped = load_migrations()
    store = await open_pg(url)
    try:
        await migrate(store, shipped[:1])  # a database from the first version
        await SettingsRepo(store).update(7, 100, timezone="Europe/London")
    finally:
        await store.close()

    refused = await open_pg(url)
    try:
        with pytest.raises(StoreError) as info:
            await migrate(refused, shipped)
        text = str(info.value)
        assert "pg_dump --dbname='postgresql://filmclub@127.0.0.1:" in text
        assert f"--file=filmclub-before-v{shipped[-1].version:03d}.sql" in text
        assert "FILMCLUB_PG_BACKUP_DONE=1" in text and pg.PASSWORD not in text
        assert await current_version(refused) == 1  # nothing changed
    finally:
        await refused.close()

    stale = await open_pg(url, backup_done="0")  # a confirmation for another version does not count
    try:
        with pytest.raises(StoreError, match="FILMCLUB_PG_BACKUP_DONE=1"):
            await migrate(stale, shipped)
    finally:
        await stale.close()

    store = make_store(url, pg_backup_done="1")
    await store.open()
    try:
        assert await migrate(store, shipped) == shipped[-1].version
        assert (await SettingsRepo(store).get(7)).timezone == "Europe/London"
    finally:
        await store.close()


async def test_pg_failed_migration_changes_nothing() -> None:
    url = await pg.fresh_database()
    shipped = load_migrations()
    store = await open_pg(url, backup_done=str(shipped[-1].version))
    broken = [*shipped, Migration(999, "broken", "CREATE TABLE ok_table (x INTEGER); THIS IS NOT SQL;")]
    try:
        with pytest.raises(StoreError, match="999-broken"):
            await migrate(store, broken)
        assert await current_version(store) == shipped[-1].version
        assert await store.fetchone("SELECT to_regclass('ok_table') AS t") == (None,)
    finally:
        await store.close()


async def test_pg_dialect_file_is_what_postgres_runs() -> None:
    url = await pg.fresh_database()
    store = await open_pg(url, backup_done=str(load_migrations()[-1].version))
    shipped = load_migrations()
    extra = Migration(900, "json", "CREATE TABLE docs (body TEXT);", "CREATE TABLE docs (body JSONB);")
    try:
        await migrate(store, [*shipped, extra])
        row = await store.fetchone(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'docs' AND column_name = 'body'"
        )
        assert row is not None and row[0] == "jsonb"
    finally:
        await store.close()


async def test_pg_password_never_shows() -> None:
    srv = pg.server()
    store = PgStore(srv.url("postgres", password="wrong-pw-1234"))
    assert "wrong-pw-1234" not in repr(store) and "wrong-pw-1234" not in store.label
    with pytest.raises(StoreError) as info:
        await store.open()
    assert "wrong-pw-1234" not in str(info.value) and "refused the login" in str(info.value)
    unreachable = PgStore("postgresql://club:hunter2-pw@127.0.0.1:1/filmclub")
    with pytest.raises(StoreError) as info:
        await unreachable.open()
    assert "hunter2-pw" not in str(info.value) and "Cannot open the database postgresql://club:***@" in str(info.value)
    config = load_config({"DISCORD_TOKEN": "t", "FILMCLUB_DB": srv.url("filmclub")}, env_file=None)
    assert pg.PASSWORD not in repr(config) and pg.PASSWORD not in config.db_label
    assert config.db_target == srv.url("filmclub") and config.web_key_path == Path("./data/filmclub.webkey")
