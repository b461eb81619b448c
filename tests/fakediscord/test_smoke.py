from __future__ import annotations

import time
from pathlib import Path

from tests.fakediscord.server import FakeDiscord
from tests.fakediscord.testbot import TestBot


async def test_handshake_and_ping(fake: FakeDiscord, tmp_path: Path) -> None:
    g = fake.standard_guild()
    bot = TestBot(str(tmp_path / "t.db"), g.guild.id)
    t0 = time.monotonic()
    await fake.run_bot(bot, wait_commands=True)
    assert time.monotonic() - t0 < 1.0
    assert bot.get_guild(g.guild.id) is not None
    h = await fake.slash(g.alice, g.general, "ping")
    msg = await h.reply()
    assert msg.content == "pong"
