"""Command sync: every command exists only in servers; a refused sync never takes the bot down; the tree fits
Discord's documented limits (so a bad command fails CI instead of a server)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import FilmClubBot
from bot.config import Config
from tests.e2e.conftest import Club
from tests.fakediscord.clock import FakeClock
from tests.fakediscord.server import FakeDiscord

NAME = re.compile(r"^[-_\w]{1,32}$")


def test_every_command_is_guild_only_and_within_discords_limits(club: Club) -> None:
    """Docs: Interactions > Application Commands ("Application Command Structure", "Application Command Option
    Structure", "Option Choice Structure", "Registering a Command": 4,000 characters per command)."""
    tree = club.bot.tree
    commands = tree.get_commands()
    assert len(commands) <= 100
    for command in commands:
        payload: dict[str, Any] = command.to_dict(tree)
        assert payload["contexts"] == [0], payload["name"]  # GUILD only: no DM, no group DM
        assert payload["integration_types"] == [0], payload["name"]  # guild install only, no user install
        total = 0

        def walk(node: dict[str, Any], depth: int) -> None:
            nonlocal total
            name, description = node["name"], node.get("description", "")
            assert NAME.match(name) and name == name.lower(), name
            assert 1 <= len(description) <= 100, (name, description)
            total += len(name) + len(description)
            options = node.get("options") or []
            assert len(options) <= 25, name
            for choice in node.get("choices") or []:
                assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100, choice
                total += len(choice["name"]) + len(str(choice["value"]))
            assert len(node.get("choices") or []) <= 25, name
            for option in options:
                assert depth < 3
                walk(option, depth + 1)

        walk(payload, 0)
        assert total <= 4000, payload["name"]


async def start_refused(
    fake: FakeDiscord, clock: FakeClock, tmp_path: Path, status: int, code: int
) -> tuple[FilmClubBot, Any]:
    g = fake.standard_guild()
    fake.inject("PUT", r"/applications/\d+/guilds/\d+/commands$", status, count=10, code=code)
    bot = FilmClubBot(Config(token=fake.token, db_path=tmp_path / "club.db", dev_guild=int(g.guild.id)), clock=clock)
    await fake.run_bot(bot)
    return bot, g


@pytest.mark.parametrize(
    ("status", "code", "says"),
    [(403, 50001, "lacks the applications.commands scope"), (400, 50035, "Discord refused the command tree")],
)
async def test_a_refused_sync_is_one_line_and_the_bot_keeps_working(
    fake: FakeDiscord, fake_clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    status: int, code: int, says: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    bot, g = await start_refused(fake, fake_clock, tmp_path, status, code)
    assert bot.is_ready()
    await fake.settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app" and r.levelno >= logging.ERROR]
    assert len(lines) == 1 and says in lines[0], lines
    assert "Traceback" not in caplog.text
    # Scheduled posts still go out.
    post = await bot.scheduler.schedule(
        guild_id=int(g.guild.id), kind="message", key="still:1", due=fake_clock.now() + timedelta(seconds=30),
        channel_id=int(g.general.id), payload={"content": "still here"},
    )
    assert post is not None
    await fake_clock.advance(31)
    assert [m.content for m in fake.bot_messages(g.general)] == ["still here"]


async def test_the_daily_command_create_limit_is_one_warning_and_a_retry_later(
    fake: FakeDiscord, fake_clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The fake's own count (200 new commands a day per scope, 400 30034) refuses the sync: one warning saying
    so, no error, and the bot serves anyway (the sync is tried again in the background)."""
    caplog.set_level(logging.INFO, logger="bot")
    g = fake.standard_guild()
    fake._command_creates[g.guild.id] = [fake_clock.now()] * 200  # today's creates used up by earlier syncs
    bot = FilmClubBot(Config(token=fake.token, db_path=tmp_path / "club.db", dev_guild=int(g.guild.id)),
                      clock=fake_clock)
    await fake.run_bot(bot)
    await fake.settle()
    [refused] = [c for c in fake.calls("PUT", r"/commands$")]
    assert refused.status == 400 and refused.response["code"] == 30034
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.app" and r.levelno == logging.WARNING]
    assert any("200 new slash commands a day" in w for w in warnings), warnings
    assert not [r for r in caplog.records if r.name == "bot.app" and r.levelno >= logging.ERROR]
    assert bot.is_ready() and fake.command_names(g.guild) == []
