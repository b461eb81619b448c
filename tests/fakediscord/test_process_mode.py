"""Process mode: the test bot as a real subprocess, SIGKILL and restart on the same database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakediscord.process import BotProcess
from tests.fakediscord.server import FakeDiscord

pytestmark = pytest.mark.process


async def test_subprocess_bot_survives_sigkill(
    fake: FakeDiscord, bot_process: Callable[..., BotProcess], tmp_path: Path
) -> None:
    g = fake.standard_guild()
    db = tmp_path / "testbot.db"
    proc = bot_process(
        "tests.fakediscord.testbot",
        env={"TESTBOT_DB": str(db), "TESTBOT_GUILD": str(g.guild.id), "LOG_LEVEL": "WARNING"},
        commands=True,
    )
    await proc.start()
    assert fake.command_names(g.guild)[:2] == ["counter", "feedback"]
    assert (await (await fake.slash(g.alice, g.general, "ping")).reply()).content == "pong"
    # Its REST calls carry its name (the default: the module), for tests with several processes; interaction
    # callbacks go through discord.py's webhook adapter, which sends no User-Agent of the bot's.
    tags = {c.process for c in fake.calls() if not c.path.startswith(("/interactions/", "/webhooks/"))}
    assert tags == {"tests_fakediscord_testbot"}

    counter = await (await fake.slash(g.alice, g.general, "counter")).reply()
    assert (await (await fake.click(g.bob, counter, "Count")).reply()).content == "Count: 1"
    said = await fake.say(g.alice, g.general, "react to me")
    await fake.react(g.bob, said, "🎞️")
    await fake.wait_until(lambda: _rows(db, "SELECT user_id FROM reactions") == [(g.bob.id,)], 5, "reaction row")

    await proc.stop(kill=True)
    assert proc.returncode == -9
    # Something happens while the bot is down: it is not replayed to a new session.
    await fake.react(g.carol, said, "🎞️")

    await proc.start()
    assert proc.starts == 2 and len(fake.identifies) == 2
    # The persistent button still works after the restart and the count survived in sqlite.
    assert (await (await fake.click(g.carol, counter, "Count")).reply()).content == "Count: 2"
    h = await fake.slash(g.alice, g.general, "feedback")
    sub = await fake.submit_modal(g.alice, h, {"feedback:text": "after the crash"})
    assert (await sub.reply()).content == "Thanks: after the crash"

    await proc.stop()  # SIGTERM: the test bot closes cleanly
    assert proc.returncode == 0, proc.output()[-2000:]


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
