"""The real FilmClubBot, in-process, against the fake Discord, with a fake clock.

``club`` gives a configured server (channels, moderator role, time zone) with the bot running;
``make_club(...)`` builds one with other options (e.g. ``message_content=True``).
``make_club(shards="1-1/2")`` runs the bot as a cluster (``FILMCLUB_SHARDS``) with the club's server on its first
shard; ``make_club(guild_shard=(0, 2))`` only places the server on a shard.
``await club.restart()`` closes the bot and starts a new one on the same database file (a restart);
crash tests that need a real SIGKILL use the ``bot_process`` fixture instead.

The database is SQLite unless a test asks for PostgreSQL: ``@pytest.mark.parametrize("db_backend", BACKENDS)``
runs it on both (ids ``[sqlite]`` and ``[postgres]``; a fresh database on the session's server, ``tests/pg.py``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import FilmClubBot
from bot.config import Config
from bot.domain.shards import parse_shards
from db import scheduled_posts as posts_repo
from db.scheduled_posts import ScheduledPost
from db.store import Store
from tests import pg
from tests.fakediscord.clock import FakeClock
from tests.fakediscord.models import Channel, Member, Role
from tests.fakediscord.server import FakeDiscord, StandardGuild

TIMEZONE = "Europe/London"
BACKENDS = ["sqlite", "postgres"]


@dataclass
class Club:
    fake: FakeDiscord
    clock: FakeClock
    bot: FilmClubBot
    g: StandardGuild
    config: Config
    polls: Channel
    trivia: Channel
    basil: Channel
    mod_role: Role
    mod: Member  # a moderator by the configured role (no Manage Server)
    bots: list[FilmClubBot] = field(default_factory=list)

    @property
    def guild_id(self) -> int:
        return int(self.g.guild.id)

    async def stop(self) -> None:
        await self.fake.stop_bot(self.bot)

    async def start(self, **config_changes: Any) -> FilmClubBot:
        if config_changes:
            self.config = Config(**{**self.config.__dict__, **config_changes})
        self.bot = FilmClubBot(self.config, clock=self.clock)
        self.bots.append(self.bot)
        await self.fake.run_bot(self.bot)
        return self.bot

    async def restart(self, **config_changes: Any) -> FilmClubBot:
        """Close the bot cleanly and start a new process-like instance on the same database."""
        await self.stop()
        return await self.start(**config_changes)

    async def slash(self, member: Member, channel: Channel, command: str, /, **options: Any) -> Any:
        return await self.fake.slash(member, channel, command, **options)


async def _build(
    fake: FakeDiscord, clock: FakeClock, tmp_path: Path, *, message_content: bool = False, setup: bool = True,
    shards: str | None = None, guild_shard: tuple[int, int] | None = None,
    db_url: str | None = None,
) -> Club:
    cluster = parse_shards(shards) if shards is not None else None
    if cluster is not None and guild_shard is None:
        guild_shard = (cluster.first, cluster.count)
    g = fake.standard_guild(shard=guild_shard)
    polls = fake.create_channel(g.guild, "polls", topic="Snack awards")
    trivia = fake.create_channel(g.guild, "trivia")
    basil = fake.create_channel(g.guild, "basils-corner", topic="Remembering the club's pets")
    mod_role = fake.create_role(g.guild, "Projectionist", 0)
    mod = fake.add_member(g.guild, "morgan", [g.member_role, mod_role], global_name="Morgan Mod")
    if message_content:
        from tests.fakediscord.core import Intents

        fake.privileged_intents = fake.privileged_intents | Intents.MESSAGE_CONTENT
    config = Config(
        token=fake.token,
        db_path=tmp_path / "club.db",
        dev_guild=int(g.guild.id),
        log_level="INFO",
        message_content=message_content,
        shards=cluster,
        db_url=db_url,
    )
    if db_url is not None:
        # The fake sees REST calls, not database round trips: on a networked database a service may read for
        # longer than the default 20 ms of quiet between two calls, so settling waits for a longer quiet.
        fake.settle_idle = max(fake.settle_idle, 0.06)
    syncs = cluster is None or cluster.runs_shard_zero
    if not syncs:
        # Only the cluster with shard 0 syncs commands: one did before this one started, as in a deployment.
        first = FilmClubBot(Config(**{**config.__dict__, "shards": None}), clock=clock)
        await fake.run_bot(first, wait_commands=True)
        await fake.stop_bot(first)
    bot = FilmClubBot(config, clock=clock)
    await fake.run_bot(bot, wait_commands=syncs)
    club = Club(fake, clock, bot, g, config, polls, trivia, basil, mod_role, mod, [bot])

    async def workers_idle() -> None:
        """Charts, parsing and game setup run in the bot's worker (real threads): wait for them, then for the
        REST calls their results make."""
        for _ in range(500):
            if not any(b.worker.busy for b in club.bots):
                break
            await asyncio.sleep(0.005)
        await fake.settle()

    clock.settle_hooks.append(workers_idle)
    if setup:
        await bot.settings.update(
            int(g.guild.id),
            bot.now_ts(),
            announcements_channel_id=int(g.announcements.id),
            screenings_channel_id=int(g.screenings.id),
            polls_channel_id=int(polls.id),
            trivia_channel_id=int(trivia.id),
            basil_channel_id=int(basil.id),
            moderator_role_id=int(mod_role.id),
            timezone=TIMEZONE,
        )
    return club


@pytest.fixture
def db_backend() -> str:
    """``sqlite`` unless the test parametrizes it (``@pytest.mark.parametrize("db_backend", BACKENDS)``) or
    ``FILMCLUB_TEST_BACKEND=postgres`` runs every end-to-end test on PostgreSQL (a check by hand: tests that
    open the SQLite file themselves fail then)."""
    return os.environ.get("FILMCLUB_TEST_BACKEND", "sqlite")


@pytest.fixture
async def db_url(db_backend: str) -> AsyncIterator[str | None]:
    """A fresh PostgreSQL database's URL for ``[postgres]`` tests, else None (SQLite under ``tmp_path``)."""
    if db_backend != "postgres":
        yield None
        return
    url = await pg.fresh_database()
    try:
        yield url
    finally:
        await pg.drop_database(url)


@pytest.fixture
async def make_club(
    fake: FakeDiscord, fake_clock: FakeClock, tmp_path: Path, db_url: str | None
) -> AsyncIterator[Callable[..., Awaitable[Club]]]:
    async def _make(**kwargs: Any) -> Club:
        return await _build(fake, fake_clock, tmp_path, db_url=db_url, **kwargs)

    yield _make
    if db_url is not None:
        # Work a handler still does after its reply (database reads, then an edit) ends before the bot stops.
        await fake.settle()


@pytest.fixture
async def club(make_club: Callable[..., Awaitable[Club]]) -> Club:
    return await make_club()


async def read_post(db_path: Path, key: str) -> ScheduledPost | None:
    """A scheduled post as stored in a bot process's database file (for the crash tests)."""
    store = Store(db_path)
    await store.open()
    try:
        return await posts_repo.get_by_key(store, key)
    finally:
        await store.close()
