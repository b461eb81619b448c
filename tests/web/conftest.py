"""The web pages over a real store, driven with aiohttp's test client (no Discord needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.worker import Worker
from cogs.web.server import RateLimiter, WebApp
from cogs.web.service import WebKeys, WebService
from db.migrate import migrate
from db.settings import SettingsRepo
from db.store import Store
from tests.fakediscord.clock import FakeClock
from tests.web.seed import ALICE, BOB, CAROL, MOD, Seeded, seed

GUILD = 4242
OTHER_GUILD = 4343
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class StubDirectory:
    """What Discord's cache would know: the server's name and some members' display names."""

    guilds: dict[int, str] = field(
        default_factory=lambda: {GUILD: "Kim's Film Club", OTHER_GUILD: "Thursday Film Club"}
    )
    members: dict[tuple[int, int], str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)

    def guild_name(self, guild_id: int) -> str | None:
        return self.guilds.get(guild_id)

    def member_name(self, guild_id: int, user_id: int) -> str | None:
        return self.members.get((guild_id, user_id))

    def channel_name(self, channel_id: int) -> str | None:
        return self.channels.get(channel_id)


@dataclass
class Web:
    store: Store
    clock: FakeClock
    service: WebService
    client: TestClient  # type: ignore[type-arg]
    directory: StubDirectory
    seeded: Seeded
    token: str

    @property
    def base(self) -> str:
        return f"/c/{self.token}/"

    async def personal(self, user_id: int, guild_id: int = GUILD) -> str:
        site = await self.service.site(guild_id)
        assert site is not None
        return f"/m/{await self.service.member_token(site, user_id)}.ics"


async def make_service(store: Store, clock: FakeClock, tmp_path: Path, directory: StubDirectory) -> WebService:
    service = WebService(
        store, SettingsRepo(store), clock, Worker(), WebKeys.load_or_create(tmp_path / "club.db.webkey"), directory,
        "https://club.example",
    )
    await service.load()
    return service


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    store = Store(tmp_path / "club.db")
    await store.open()
    await migrate(store)
    clock = FakeClock(START)
    now = int(START.timestamp())
    seeded = await seed(store, GUILD, now)
    await seed(store, OTHER_GUILD, now, hostile=False)
    directory = StubDirectory(members={(GUILD, ALICE): "Alice A.", (GUILD, BOB): "Bob <b>B</b>",
                                       (OTHER_GUILD, ALICE): "Alice", (OTHER_GUILD, BOB): "Bob"})
    service = await make_service(store, clock, tmp_path, directory)
    await service.note_member(GUILD, CAROL, "Carol")  # not enabled yet: not written
    site = await service.switch(GUILD, True, MOD)
    await service.switch(OTHER_GUILD, True, MOD)
    app = WebApp(service, RateLimiter(rate=1000, burst=1000))
    client = TestClient(TestServer(app.app))
    await client.start_server()
    try:
        yield Web(store, clock, service, client, directory, seeded, service.site_token(site))
    finally:
        await client.close()
        await store.close()
