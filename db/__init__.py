"""Storage: the SQLite or PostgreSQL store, the repositories (one module per feature) and the migrations."""

from __future__ import annotations

from pathlib import Path

from db.dialect import is_postgres_url
from db.store import Store


def make_store(target: str | Path, *, pg_backup_done: str | None = None) -> Store:
    """The store ``FILMCLUB_DB`` names: a ``postgresql://`` (or ``postgres://``) URL, else an SQLite file path.

    ``pg_backup_done`` (``FILMCLUB_PG_BACKUP_DONE``) is the schema version a PostgreSQL dump was taken of,
    which lets the migrations change that schema (see ``db.migrate``).
    """
    if isinstance(target, str) and is_postgres_url(target):
        from db.pgstore import PgStore

        return PgStore(target, backup_done=pg_backup_done)
    return Store(target)
