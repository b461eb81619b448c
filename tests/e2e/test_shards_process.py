"""Two clusters as real processes (`python -m bot` with FILMCLUB_SHARDS=0-0/2 and 1-1/2) on one SQLite file:
every scheduled post sent once by its server's cluster, votes in both servers counted, and a SIGKILL of one
cluster loses nothing (its posts wait for it; the other cluster never takes them)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bot.domain.awards import KEYCAPS
from db import awards as awards_repo
from db import scheduled_posts as posts_repo
from db.migrate import migrate
from db.settings import SettingsRepo
from db.store import Store
from tests.fakediscord.models import Channel
from tests.fakediscord.server import FakeDiscord, StandardGuild

pytestmark = pytest.mark.process


async def seed(db: Path, guilds: list[StandardGuild], batches: dict[str, int]) -> None:
    """Migrate, configure both servers and queue ``batch -> seconds from now`` posts: 3 per server per batch."""
    store = Store(db)
    await store.open()
    try:
        await migrate(store)
        now = int(time.time())
        for g in guilds:
            await SettingsRepo(store).update(int(g.guild.id), now, announcements_channel_id=int(g.announcements.id),
                                             polls_channel_id=int(g.general.id))
            async with store.transaction() as tx:
                for batch, seconds in batches.items():
                    for i in range(3):
                        await posts_repo.insert(
                            tx, guild_id=int(g.guild.id), kind="message", key=f"{g.guild.id}:{batch}:{i}",
                            due_at=now + seconds, now=now, channel_id=int(g.general.id),
                            payload={"content": f"{g.guild.name} {batch}{i}"},
                        )
    finally:
        await store.close()


def sent(fake: FakeDiscord, channel: Channel, prefix: str) -> list[str]:
    return sorted(m.content for m in fake.bot_messages(channel) if m.content.startswith(prefix))


async def statuses(db: Path) -> dict[str, str]:
    store = Store(db)
    await store.open()
    try:
        rows = await store.fetchall("SELECT key, status FROM scheduled_posts WHERE kind = 'message'")
        return {str(r["key"]): str(r["status"]) for r in rows}
    finally:
        await store.close()


async def open_poll(fake: FakeDiscord, g: StandardGuild) -> tuple[Any, int]:
    reply = await (await fake.slash(g.admin, g.general, "award open", category="Best Crunch",
                                    nominees="Popcorn; Nachos; Churros", closes="in 2 hours")).reply()
    match = re.search(r"Poll #(\d+) is open", reply.content)
    assert reply.ephemeral and match, reply.content
    await fake.settle(idle=0.2)
    [msg] = [m for m in fake.bot_messages(g.general) if m.embeds and "Award poll #" in m.text()]
    return msg, int(match.group(1))


async def test_two_cluster_processes_share_one_sqlite_file(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    zero = fake.standard_guild("Zero Club", shard=(0, 2))
    one = fake.standard_guild("One Club", shard=(1, 2))
    db = tmp_path / "club.db"
    await seed(db, [zero, one], {"A": 4, "B": 14})
    c0 = bot_process("bot", env={"FILMCLUB_DB": str(db), "FILMCLUB_SHARDS": "0-0/2"}, commands=True)
    c1 = bot_process("bot", env={"FILMCLUB_DB": str(db), "FILMCLUB_SHARDS": "1-1/2"}, commands=False)
    await c0.start()  # syncs the global commands
    syncs = len(fake.command_syncs)
    await c1.start()
    assert "running shards 0/2 (FILMCLUB_SHARDS)" in c0.output()
    assert "running shards 1/2 (FILMCLUB_SHARDS)" in c1.output()
    assert "command sync is left to the cluster that runs shard 0" in c1.output()
    assert "scheduler rebuilt: 6 pending posts (servers of shards 0/2)" in c0.output()
    assert "scheduler rebuilt: 6 pending posts (servers of shards 1/2)" in c1.output()

    # Votes in both servers, each heard by its own cluster.
    zero_msg, zero_poll = await open_poll(fake, zero)
    one_msg, one_poll = await open_poll(fake, one)
    for who, choice in ((zero.alice, 0), (zero.bob, 0), (zero.carol, 1)):
        await fake.react(who, zero_msg, KEYCAPS[choice])
    for who, choice in ((one.alice, 2), (one.bob, 2), (one.carol, 1)):
        await fake.react(who, one_msg, KEYCAPS[choice])

    # Batch A falls due in both servers: each post once.
    await fake.wait_until(lambda: len(sent(fake, zero.general, "Zero Club A")) + len(sent(fake, one.general,
                          "One Club A")) >= 6, 20, "batch A")
    await fake.settle(idle=0.3)
    assert sent(fake, zero.general, "Zero Club A") == ["Zero Club A0", "Zero Club A1", "Zero Club A2"]
    assert sent(fake, one.general, "One Club A") == ["One Club A0", "One Club A1", "One Club A2"]

    # Cluster 1 is SIGKILLed; batch B falls due meanwhile. Cluster 0 sends its own and leaves cluster 1's.
    assert await c1.stop(kill=True) != 0
    await fake.wait_until(lambda: len(sent(fake, zero.general, "Zero Club B")) >= 3, 30, "batch B in Zero Club")
    await asyncio.sleep(1.0)
    assert sent(fake, one.general, "One Club B") == []
    assert {k: v for k, v in (await statuses(db)).items() if ":B:" in k and k.startswith(str(one.guild.id))} == {
        f"{one.guild.id}:B:{i}": "pending" for i in range(3)}
    await c1.start()  # back: it takes its pending posts (late, within their grace window) and its open poll
    await fake.wait_until(lambda: len(sent(fake, one.general, "One Club B")) >= 3, 20, "batch B in One Club")
    await fake.settle(idle=0.3)
    assert sent(fake, one.general, "One Club B") == ["One Club B0", "One Club B1", "One Club B2"]
    assert sent(fake, zero.general, "Zero Club B") == ["Zero Club B0", "Zero Club B1", "Zero Club B2"]
    assert set((await statuses(db)).values()) == {"sent"}
    assert len(fake.command_syncs) == syncs  # cluster 1 never synced, not even after its restart

    # Closing both polls: every vote counted, the killed cluster's server's too.
    for g, poll_id in ((zero, zero_poll), (one, one_poll)):
        reply = await (await fake.slash(g.admin, g.general, "award close", id=poll_id)).reply()
        assert reply.ephemeral and f"Closed poll #{poll_id}" in reply.content, reply.content
    await fake.settle(idle=0.3)
    store = Store(db)
    await store.open()
    try:
        for poll_id, counts in ((zero_poll, (2, 1, 0)), (one_poll, (0, 1, 2))):
            poll = await awards_repo.get(store, poll_id)
            assert poll is not None and poll.status == "closed" and poll.counts == counts and poll.ballots == 3
    finally:
        await store.close()
    await c0.stop()
    await c1.stop()
    assert "Traceback" not in c0.output() + c1.output()
