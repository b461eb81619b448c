"""Shared fixture: a migrated store in a real SQLite file under ``tmp_path``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.migrate import migrate
from db.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "club.db")
    await s.open()
    await migrate(s)
    try:
        yield s
    finally:
        await s.close()
