"""Numbered SQL migrations: ``db/migrations/NNN-name.sql``, each in one transaction."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from db.store import Store, StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})-([a-z0-9_-]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


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


def load_migrations() -> list[Migration]:
    """All migrations shipped in the package, in version order."""
    found: dict[int, Migration] = {}
    for entry in resources.files("db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise StoreError(f"Two migrations share version {version:03d}.")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def current_version(store: Store) -> int:
    """The highest applied migration, 0 for a fresh database."""
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
