"""PostgreSQL for the benchmarks: the tests' throwaway server (``tests/pg.py``: ``initdb`` + ``pg_ctl`` in a
temporary folder, on a free localhost port, stopped at exit) and a fresh, empty database per benchmark.

The parent (``python -m bench``) starts one server with :func:`start` and hands its admin URL to each benchmark's
child process, which makes its own database with :func:`fresh_database` (the bot migrates it, as in production).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SQLITE, POSTGRES = "SQLite", "PostgreSQL"


def start() -> str:
    """Start a throwaway server; its admin URL (database ``postgres``). Raises RuntimeError when PostgreSQL is
    not installed (``./dev.sh test`` installs Debian's ``postgresql`` package as root)."""
    from tests.pg import start_server  # the tests' server, without pytest's session around it

    return start_server().url()


def database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def fresh_database(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Drop and create database ``name`` (a copy of ``template`` if given); its URL."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()
    return database_url(admin_url, name)


async def database_bytes(url: str) -> int:
    """The database's size on disk (``pg_database_size``)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


def backend_name(db: str | None) -> str:
    return POSTGRES if db else SQLITE
