"""Shared fixture: a migrated store on each backend, ``[sqlite]`` (a real file under ``tmp_path``) and
``[postgres]`` (a fresh database on the session's throwaway server, see ``tests/pg.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.migrate import migrate
from db.pgstore import PgStore
from db.store import Store
from tests import pg


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        s: Store = Store(tmp_path / "club.db")
        await s.open()
        await migrate(s)
        try:
            yield s
        finally:
            await s.close()
        return
    url = await pg.fresh_database()
    s = PgStore(url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()
        await pg.drop_database(url)
