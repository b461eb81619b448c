"""Two clusters of the real `python -m bot` (shards 0-0/2 and 1-1/2) on one PostgreSQL database.

One fake Discord with servers on both shards; each cluster's gateway session hears only its own servers. What
Discord received shows the ownership rule end to end: every scheduled post is sent once, by the cluster of its
server (``RestCall.process`` names the process that made each call), votes in both clusters' servers are
counted, a SIGKILL of one cluster in the middle of votes and a post loses nothing and sends nothing twice while
the other cluster keeps working, and only cluster 0 syncs the commands.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from bot.domain.awards import KEYCAPS as K
from db import scheduled_posts as posts_repo
from db.migrate import migrate
from db.pgstore import PgStore
from tests import pg
from tests.fakediscord.core import RestCall
from tests.fakediscord.server import FakeDiscord, StandardGuild

pytestmark = pytest.mark.process

SHARDS = {"cluster0": "0-0/2", "cluster1": "1-1/2"}
POSTS_PER_SERVER = 4
VOTERS = 12


def _owner(fake: FakeDiscord, call: RestCall) -> int | None:
    """The server a REST call acts on (a channel's, or a /guilds/ID call's), None for calls about no server."""
    if m := re.match(r"^/channels/(\d+)", call.path):
        channel = fake.channels.get(int(m.group(1)))
        return channel.guild_id if channel is not None else None
    if m := re.match(r"^/guilds/(\d+)", call.path):
        return int(m.group(1))
    return None


def _texts(fake: FakeDiscord, channel: Any, prefix: str) -> list[str]:
    return [m.content for m in fake.bot_messages(channel) if (m.content or "").startswith(prefix)]


async def _wait_posts(fake: FakeDiscord, guilds: list[StandardGuild], batch: str) -> None:
    """Until every post of ``batch`` in these servers is in their #general."""
    await fake.wait_until(
        lambda: all(len(_texts(fake, g.general, batch)) >= POSTS_PER_SERVER for g in guilds), 15,
        f"the {batch} posts in {[g.guild.name for g in guilds]}",
    )


async def _insert_posts(store: PgStore, g: StandardGuild, batch: str, due_at: int) -> None:
    for n in range(POSTS_PER_SERVER):
        await posts_repo.insert(
            store, guild_id=int(g.guild.id), kind="message", key=f"{batch}:{g.guild.id}:{n}", due_at=due_at,
            now=int(time.time()), channel_id=int(g.general.id), payload={"content": f"{batch} {g.guild.name} #{n}"},
        )


async def _open_poll(fake: FakeDiscord, g: StandardGuild, polls: Any) -> tuple[Any, int]:
    await (await fake.slash(g.admin, g.general, "filmclub setup", polls=polls, announcements=g.announcements)).reply()
    reply = await (await fake.slash(g.admin, g.general, "award open", category=f"Snack of {g.guild.name}",
                                    nominees="Popcorn; Nachos; Pretzels", closes="in 1 day")).reply()
    found = re.search(r"Poll #(\d+) is open", reply.content)
    assert found, reply.content
    msg = await fake.wait_for_message(polls, lambda m: bool(m.embeds))
    await fake.wait_until(lambda: len(msg.reactions) == 3, 10, "the number reactions")
    return msg, int(found.group(1))


async def _results(fake: FakeDiscord, g: StandardGuild, polls: Any, poll_id: int) -> str:
    closed = await (await fake.slash(g.admin, g.general, "award close", id=poll_id)).reply()
    assert closed.ephemeral and "Closed poll" in closed.content, closed.content
    result = await fake.wait_for_message(
        polls, lambda m: bool(m.embeds) and str(m.embeds[0].get("title", "")).startswith("🏆 Results")
    )
    return str(next(f["value"] for f in result.embeds[0]["fields"] if f["name"] == "Votes"))


async def test_two_clusters_share_one_database_send_each_post_once_and_survive_a_sigkill(
    fake: FakeDiscord, bot_process: Any
) -> None:
    url = await pg.empty_database()
    store = PgStore(url)
    await store.open()
    try:
        await _run(fake, bot_process, url, store)
    finally:
        await store.close()
        await pg.drop_database(url)


async def _run(fake: FakeDiscord, bot_process: Any, url: str, store: PgStore) -> None:
    zero = [fake.standard_guild(f"Zero {n}", shard=(0, 2)) for n in range(2)]
    one = [fake.standard_guild(f"One {n}", shard=(1, 2)) for n in range(2)]
    owner = {int(g.guild.id): "cluster0" for g in zero} | {int(g.guild.id): "cluster1" for g in one}
    await migrate(store)
    now = int(time.time())
    for g in zero + one:
        await _insert_posts(store, g, "early", now)  # due already: each cluster sends its own at start
    for g in one:
        await _insert_posts(store, g, "late", now + 3600)  # made due while cluster 1 is down (below)

    procs = {name: bot_process("bot", name=name, env={"FILMCLUB_DB": url, "FILMCLUB_SHARDS": shards})
             for name, shards in SHARDS.items()}
    c0, c1 = procs["cluster0"], procs["cluster1"]

    # Cluster 0 alone: it sends its own servers' due posts, never cluster 1's (due, but not its servers).
    await c0.start(commands=True)
    await _wait_posts(fake, zero, "early")
    await asyncio.sleep(1.0)
    for g in one:
        assert _texts(fake, g.general, "early") == []
    pending = await store.fetchall("SELECT key FROM scheduled_posts WHERE key LIKE 'early:%' AND status = 'pending'")
    assert sorted(r["key"] for r in pending) == sorted(f"early:{g.guild.id}:{n}" for g in one
                                                       for n in range(POSTS_PER_SERVER))

    # Cluster 1 joins: its servers' posts go out; it leaves the commands alone (cluster 0 synced them once).
    await c1.start(commands=False)
    await _wait_posts(fake, one, "early")
    assert len(fake.command_syncs) == 1
    assert "award" in fake.command_names()  # global commands: every server, both clusters
    assert "command sync is left to the cluster that runs shard 0" in c1.output()

    # A snack-award poll in a server of each cluster; first votes in both.
    (z, o) = (zero[0], one[0])
    z_polls, o_polls = fake.create_channel(z.guild, "polls"), fake.create_channel(o.guild, "polls")
    z_msg, z_poll = await _open_poll(fake, z, z_polls)
    o_msg, o_poll = await _open_poll(fake, o, o_polls)
    z_voters = [fake.add_member(z.guild, f"zvoter{i}", [z.member_role]) for i in range(VOTERS)]
    o_voters = [fake.add_member(o.guild, f"ovoter{i}", [o.member_role]) for i in range(VOTERS)]
    for zm, om in zip(z_voters, o_voters, strict=True):
        await fake.react(zm, z_msg, K[0], settle=False)
        await fake.react(om, o_msg, K[0], settle=False)

    async def ballots(poll_id: int) -> dict[int, int]:
        rows = await store.fetchall("SELECT user_id, choice FROM award_ballots WHERE poll_id = ?", (poll_id,))
        return {int(r["user_id"]): int(r["choice"]) for r in rows}

    async def wait_ballots(poll_id: int, expected: dict[int, int], what: str) -> None:
        for _ in range(300):
            if await ballots(poll_id) == expected:
                return
            await asyncio.sleep(0.05)
        assert await ballots(poll_id) == expected, what

    await wait_ballots(z_poll, {m.id: 0 for m in z_voters}, "first votes in cluster 0's server")
    await wait_ballots(o_poll, {m.id: 0 for m in o_voters}, "first votes in cluster 1's server")

    # SIGKILL cluster 1 right after Discord created its "/teaser now" post (sent, never marked), in the middle
    # of a wave of changes of mind in its server. A removed old reaction is the bot's acknowledgement: it
    # removes it only after the new ballot is committed.
    acks: list[int] = []
    fake.after_request("DELETE", rf"/messages/{o_msg.id}/reactions/", lambda call: acks.append(
        int(call.path.rsplit("/", 1)[1])), count=1000)
    fake.after_request("POST", rf"/channels/{o.announcements.id}/messages$",
                       lambda call: c1.kill() if call.process == "cluster1" else None)
    half = VOTERS // 2
    for m in o_voters[:half]:
        await fake.react(m, o_msg, K[1], settle=False)
    await fake.wait_until(lambda: len(acks) >= half, 15, "cluster 1 acknowledging the first changes of mind")
    teaser = await (await fake.slash(o.admin, o.general, "teaser now")).reply()
    assert teaser.ephemeral and "now" in teaser.content, teaser.content
    for m in o_voters[half:]:
        await fake.react(m, o_msg, K[1], settle=False)
    await fake.wait_until(lambda: not c1.running, 15, "the SIGKILL of cluster 1")
    assert c1.returncode == -9
    o_teasers = [m for m in fake.bot_messages(o.announcements)]
    assert len(o_teasers) == 1  # Discord has it; cluster 1 died before it could mark it sent
    stored = await ballots(o_poll)
    assert [uid for uid in acks if stored.get(uid) != 1] == []  # no acknowledged ballot lost
    o_late = [fake.add_member(o.guild, f"olate{i}", [o.member_role]) for i in range(4)]
    for m in o_late:  # votes while cluster 1 is down: only the message's reactions know them
        await fake.react(m, o_msg, K[2], settle=False)

    # Meanwhile cluster 0 keeps working: its votes are counted, its teaser goes out, its commands answer.
    for m in z_voters[:half]:
        await fake.react(m, z_msg, K[1], settle=False)
    await wait_ballots(z_poll, {m.id: 1 if i < half else 0 for i, m in enumerate(z_voters)},
                       "cluster 0's votes while cluster 1 is down")
    z_teaser = await (await fake.slash(z.admin, z.general, "teaser now")).reply()
    assert z_teaser.ephemeral, z_teaser.content
    await fake.wait_for_message(z.announcements, lambda m: True, timeout=15)
    # Cluster 1's "late" posts fall due while it is down: cluster 0 does not take them.
    await store.execute("UPDATE scheduled_posts SET due_at = ? WHERE key LIKE 'late:%'", (int(time.time()),))
    await asyncio.sleep(1.5)
    for g in one:
        assert _texts(fake, g.general, "late") == []

    # Cluster 1 again: the post it died sending is not sent twice (its nonce), the late posts go out, and the
    # reactions made while it was away are counted.
    await c1.start(commands=False)
    await _wait_posts(fake, one, "late")
    await wait_ballots(o_poll, {m.id: 1 for m in o_voters} | {m.id: 2 for m in o_late},
                       "cluster 1's votes after its restart")
    await fake.wait_until(
        lambda: len(fake.calls("POST", rf"/channels/{o.announcements.id}/messages$")) >= 2, 15,
        "cluster 1 resending the teaser it died on",
    )

    # Results in both clusters' servers count every vote.
    assert "2️⃣ Nachos: **6**" in await _results(fake, z, z_polls, z_poll)
    o_votes = await _results(fake, o, o_polls, o_poll)
    assert "1️⃣ Popcorn: **0**" in o_votes and f"2️⃣ Nachos: **{VOTERS}**" in o_votes
    assert "3️⃣ Pretzels: **4**" in o_votes
    await asyncio.sleep(0.5)
    assert await c0.stop() == 0 and await c1.stop() == 0

    # Exactly once: one message per scheduled post, every post marked sent, one teaser per server.
    for g in zero + one:
        for batch in ("early", "late") if g in one else ("early",):
            texts = _texts(fake, g.general, batch)
            assert sorted(texts) == [f"{batch} {g.guild.name} #{n}" for n in range(POSTS_PER_SERVER)]
    assert len(fake.bot_messages(o.announcements)) == 1 and len(fake.bot_messages(z.announcements)) == 1
    rows = await store.fetchall("SELECT key, status FROM scheduled_posts WHERE kind IN ('message', 'teaser.now')")
    assert len(rows) == 2 * 2 * POSTS_PER_SERVER + 2 * POSTS_PER_SERVER + 2
    assert {r["status"] for r in rows} == {"sent"}

    # Every REST call about a server came from the cluster owning it; scheduled posts cost one POST each, plus
    # the one resend Discord answered with the existing message (the nonce).
    strangers = [(c.process, c.method, c.path) for c in fake.calls() if c.process is not None
                 and (gid := _owner(fake, c)) in owner and owner[gid] != c.process]
    assert strangers == []
    general_posts = [c for g in zero + one for c in fake.calls("POST", rf"/channels/{g.general.id}/messages$")]
    assert len(general_posts) == 2 * 2 * POSTS_PER_SERVER + 2 * POSTS_PER_SERVER
    assert len(fake.calls("POST", rf"/channels/{o.announcements.id}/messages$")) == 2
    assert len(fake.calls("POST", rf"/channels/{z.announcements.id}/messages$")) == 1
    # Commands: one sync in all, by cluster 0.
    syncs = [c for c in fake.calls("PUT", r"/applications/\d+/commands$")]
    assert [c.process for c in syncs] == ["cluster0"]
    for c in (c0, c1):
        assert "Traceback" not in c.output()


async def test_two_processes_that_both_run_every_shard_still_send_each_post_once(
    fake: FakeDiscord, bot_process: Any
) -> None:
    """A misconfiguration (both processes run every shard, so both have a job for every post): the claim of a due
    post is one conditional UPDATE, so each post still goes out once, by whichever process claimed it. The test
    holds the table locked until both processes are waiting to claim the same due posts, so they do race."""
    import asyncpg

    url = await pg.empty_database()
    store = PgStore(url)
    await store.open()
    lock = await asyncpg.connect(url)
    try:
        guilds = [fake.standard_guild(f"Club {n}") for n in range(3)]
        await migrate(store)
        for g in guilds:
            await _insert_posts(store, g, "race", int(time.time()))  # due at once
        held = lock.transaction()
        await held.start()
        await lock.execute("LOCK TABLE scheduled_posts IN EXCLUSIVE MODE")  # reads go on, claims wait
        both = [bot_process("bot", name=f"twin{n}", env={"FILMCLUB_DB": url}) for n in range(2)]
        for proc in both:
            await proc.start(commands=False)
            assert "scheduler rebuilt: 12 pending posts" in proc.output()

        async def claims_waiting() -> int:
            row = await store.fetchone(
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE scheduled_posts SET status = ''sending''%'"
            )
            return int(row["n"]) if row else 0

        for _ in range(300):
            if await claims_waiting() >= 2:
                break
            await asyncio.sleep(0.05)
        assert await claims_waiting() == 2  # both processes are claiming the same 12 posts
        assert not [m for g in guilds for m in fake.bot_messages(g.general)]
        await held.commit()
        await _wait_posts(fake, guilds, "race")
        await asyncio.sleep(1.0)
        for proc in both:
            assert await proc.stop() == 0
        for g in guilds:
            assert sorted(_texts(fake, g.general, "race")) == [f"race {g.guild.name} #{n}"
                                                               for n in range(POSTS_PER_SERVER)]
        posts = [c for g in guilds for c in fake.calls("POST", rf"/channels/{g.general.id}/messages$")]
        assert len(posts) == len(guilds) * POSTS_PER_SERVER  # no resend: a claimed post is the claimer's alone
        rows = await store.fetchall("SELECT status FROM scheduled_posts WHERE key LIKE 'race:%'")
        assert [r["status"] for r in rows] == ["sent"] * len(guilds) * POSTS_PER_SERVER
    finally:
        await lock.close()
        await store.close()
        await pg.drop_database(url)
