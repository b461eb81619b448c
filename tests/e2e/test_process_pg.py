"""The real `python -m bot` process on PostgreSQL: it runs, stops cleanly, and never shows the password."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from db.migrate import load_migrations, migrate
from db.pgstore import PgStore
from tests import pg
from tests.fakediscord.server import FakeDiscord

pytestmark = pytest.mark.process


async def _exit_code_within(proc: Any, seconds: float) -> int | None:
    for _ in range(int(seconds / 0.05)):
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    return proc.returncode  # type: ignore[no-any-return]


async def test_the_bot_runs_on_postgres_and_never_logs_the_password(fake: FakeDiscord, bot_process: Any) -> None:
    url = await pg.empty_database()  # a fresh database: migrated without asking
    g = fake.standard_guild()
    proc = bot_process(
        "bot", env={"FILMCLUB_DB": url, "FILMCLUB_DEV_GUILD": str(g.guild.id), "LOG_LEVEL": "DEBUG"}, commands=True
    )
    await proc.start()
    handle = await fake.slash(g.alice, g.general, "filmclub about")
    reply = await handle.reply()
    assert reply.embeds and reply.embeds[0]["title"] == "filmclub"
    assert await proc.stop() == 0
    output = proc.output()
    assert "store open at postgresql://filmclub:***@127.0.0.1" in output
    assert pg.PASSWORD not in output and "Traceback" not in output
    store = PgStore(url)
    await store.open()
    try:
        row = await store.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        assert row is not None and row["v"] == load_migrations()[-1].version
    finally:
        await store.close()
        await pg.drop_database(url)


async def test_an_older_schema_without_a_dump_exits_2_with_the_command_to_run(
    fake: FakeDiscord, bot_process: Any
) -> None:
    fake.standard_guild()
    url = await pg.empty_database()
    store = PgStore(url)
    await store.open()
    try:
        await migrate(store, load_migrations()[:3])
    finally:
        await store.close()
    proc = bot_process("bot", env={"FILMCLUB_DB": url})
    await proc.start(wait=False)
    assert await _exit_code_within(proc, 20) == 2
    output = proc.output()
    lines = [line for line in output.splitlines() if line.startswith("filmclub:")]
    assert len(lines) == 1, output
    assert "pg_dump --dbname='postgresql://filmclub@127.0.0.1:" in lines[0]
    assert "FILMCLUB_PG_BACKUP_DONE=3" in lines[0]
    assert pg.PASSWORD not in output and "Traceback" not in output
    await pg.drop_database(url)


async def test_a_refused_login_exits_2_with_one_line(fake: FakeDiscord, bot_process: Any) -> None:
    fake.standard_guild()
    url = pg.server().url("postgres", password="not-the-password-42")
    proc = bot_process("bot", env={"FILMCLUB_DB": url})
    await proc.start(wait=False)
    assert await _exit_code_within(proc, 20) == 2
    output = proc.output()
    lines = [line for line in output.splitlines() if line.startswith("filmclub:")]
    assert len(lines) == 1 and "refused the login" in lines[0], output
    assert "not-the-password-42" not in output and "Traceback" not in output
