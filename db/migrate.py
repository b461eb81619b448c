"""Numbered SQL migrations: ``db/migrations/NNN-name.sql``, each in one transaction, on SQLite and PostgreSQL.

One file serves both: PostgreSQL runs it through :func:`db.dialect.schema_to_postgres`, unless a dialect file
``NNN-name.postgres.sql`` sits next to it, which then replaces it there. Before changing an existing schema,
SQLite copies the file beside itself; PostgreSQL cannot be copied from here, so it refuses until the operator
confirms a dump of that schema version was taken (``FILMCLUB_PG_BACKUP_DONE=<version>``, the refusal says
exactly what to run). A fresh database migrates without asking.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from db.dialect import schema_to_postgres, url_without_password
from db.store import Store, StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})-([a-z0-9_-]+)\.sql$")
_PG_NAME = re.compile(r"^(\d{3})-([a-z0-9_-]+)\.postgres\.sql$")
#: Held (pg_advisory_lock) while one process migrates a PostgreSQL database, so clusters starting together
#: apply each migration once.
PG_MIGRATION_LOCK = 0x46494C4D  # "FILM"
PG_BACKUP_VARIABLE = "FILMCLUB_PG_BACKUP_DONE"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    postgres: str | None = None  # the NNN-name.postgres.sql dialect file, when there is one

    def sql_for_postgres(self) -> str:
        return self.postgres if self.postgres is not None else schema_to_postgres(self.sql)


#: Versions that were never used and must stay unused, so old and new databases share one history.
SKIPPED = frozenset({14})


def new_migration(name: str, folder: Path | None = None) -> Path:
    """Create the next numbered migration file (``python -m db new NAME``); refuses a bad name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise StoreError("Give the migration a name of letters and digits, e.g. `awards-anonymous`.")
    folder = folder or Path(__file__).resolve().parent / "migrations"
    taken = [int(m.group(1)) for f in folder.iterdir() if (m := _NAME.match(f.name))]
    version = max([*taken, *SKIPPED], default=0) + 1
    path = folder / f"{version:03d}-{slug}.sql"
    path.write_text(f"-- {name}: what changes and why.\n", encoding="utf-8")
    return path


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """All migrations shipped in the package (or in ``folder``), in version order, with their dialect files."""
    found: dict[int, Migration] = {}
    dialect_files: dict[int, tuple[str, str]] = {}
    entries = folder.iterdir() if folder is not None else resources.files("db.migrations").iterdir()
    for entry in entries:
        if pg := _PG_NAME.match(entry.name):
            dialect_files[int(pg.group(1))] = (pg.group(2), entry.read_text(encoding="utf-8"))
            continue
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise StoreError(f"Two migrations share version {version:03d}.")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    for version, (name, sql) in dialect_files.items():
        base = found.get(version)
        if base is None or base.name != name:
            raise StoreError(f"{version:03d}-{name}.postgres.sql has no {version:03d}-{name}.sql beside it.")
        found[version] = Migration(version, name, base.sql, sql)
    return [found[v] for v in sorted(found)]


async def current_version(store: Store) -> int:
    """The highest applied migration, 0 for a fresh database."""
    if _is_pg(store):
        row = await store.fetchone("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        if row is None or not row["present"]:
            return 0
        row = await store.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return int(row["v"]) if row else 0
    row = await store.fetchone(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
    )
    if row is None:
        return 0
    row = await store.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
    return int(row["v"]) if row else 0


async def backup(store: Store, version: int) -> Path:
    """Copy the database with SQLite's backup API before changing its schema."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = store.path.with_name(f"{store.path.name}.bak-v{version:03d}-{stamp}")
    async with aiosqlite.connect(str(target)) as dest:
        await store.conn.backup(dest)
    log.info("backed up the database to %s before migrating", target)
    return target


async def migrate(store: Store, migrations: list[Migration] | None = None) -> int:
    """Apply pending migrations; return the schema version now in force."""
    migrations = load_migrations() if migrations is None else migrations
    if _is_pg(store):
        return await _migrate_pg(store, migrations)
    latest = migrations[-1].version if migrations else 0
    await store.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    version = await current_version(store)
    applied = {int(r["version"]) for r in await store.fetchall("SELECT version FROM schema_migrations")}
    if version > latest:
        raise StoreError(
            f"The database {store.path} has schema version {version}, newer than this filmclub "
            f"knows ({latest}). Upgrade the bot, or point FILMCLUB_DB at another file."
        )
    # Any shipped migration not applied yet, in order (also one numbered below the newest applied).
    pending = [m for m in migrations if m.version not in applied]
    if not pending:
        return version
    if version > 0 and str(store.path) != ":memory:":
        await backup(store, version)
    conn = store.conn
    for migration in pending:
        script = (
            "BEGIN IMMEDIATE;\n"
            + migration.sql
            + f"\n;INSERT INTO schema_migrations(version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', {int(time.time())});\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except sqlite3.Error as exc:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise StoreError(
                f"Migration {migration.version:03d}-{migration.name} failed: {exc}"
            ) from exc
        log.info("applied migration %03d-%s", migration.version, migration.name)
    return max(version, pending[-1].version)


def _is_pg(store: Store) -> bool:
    from db.pgstore import PgStore

    return isinstance(store, PgStore)


def backup_refusal(label: str, url: str, version: int, target: int) -> str:
    """What the operator reads when a PostgreSQL schema would change without a dump: the exact commands."""
    return (
        f"The database {label} has schema version {version}; this filmclub would migrate it to {target}. "
        f"Take a dump first: pg_dump --dbname='{url_without_password(url)}' --file=filmclub-before-v{target:03d}.sql "
        f"(restore with psql), then start again with {PG_BACKUP_VARIABLE}={version}."
    )


async def _migrate_pg(store: Store, migrations: list[Migration]) -> int:
    from db.pgstore import PgStore

    assert isinstance(store, PgStore)
    import asyncpg

    latest = migrations[-1].version if migrations else 0
    async with store.pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", PG_MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            applied = {int(r[0]) for r in await conn.fetch("SELECT version FROM schema_migrations")}
            version = max(applied, default=0)
            if version > latest:
                raise StoreError(
                    f"The database {store.label} has schema version {version}, newer than this filmclub "
                    f"knows ({latest}). Upgrade the bot, or point FILMCLUB_DB at another database."
                )
            pending = [m for m in migrations if m.version not in applied]
            if not pending:
                return version
            if version > 0 and (store.backup_done or "").strip() != str(version):
                raise StoreError(backup_refusal(store.label, store.url, version, max(version, pending[-1].version)))
            for migration in pending:
                try:
                    async with conn.transaction():
                        await conn.execute(migration.sql_for_postgres())
                        await conn.execute(
                            "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                            migration.version, migration.name, int(time.time()),
                        )
                except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    raise StoreError(f"Migration {migration.version:03d}-{migration.name} failed: {exc}") from exc
                log.info("applied migration %03d-%s", migration.version, migration.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", PG_MIGRATION_LOCK)
    store.learn_identity_tables(m.sql for m in migrations)
    return max(version, pending[-1].version)
