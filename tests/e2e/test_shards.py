"""Shards and clusters (issue 20): one process with every shard Discord recommends, and clusters
(``FILMCLUB_SHARDS``) that each look after their own shards' servers while sharing one database."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from bot import app
from bot.app import FilmClubBot
from bot.config import Config
from bot.domain.awards import KEYCAPS
from bot.domain.shards import ShardRange, shard_of
from db import awards as awards_repo
from db import installments as installments_repo
from db import newsletter as newsletter_repo
from db import scheduled_posts as posts_repo
from db import screenings as screenings_repo
from db import series as series_repo
from tests.e2e.conftest import TIMEZONE, Club
from tests.fakediscord.models import Channel, Message
from tests.fakediscord.server import FakeDiscord, StandardGuild

MakeClub = Callable[..., Awaitable[Club]]


def texts(fake: FakeDiscord, channel: Channel) -> list[str]:
    return [m.content for m in fake.bot_messages(channel)]


async def configure(bot: FilmClubBot, g: StandardGuild, polls: Channel | None = None) -> None:
    await bot.settings.update(
        int(g.guild.id), bot.now_ts(), announcements_channel_id=int(g.announcements.id),
        screenings_channel_id=int(g.screenings.id), polls_channel_id=int((polls or g.general).id),
        timezone=TIMEZONE,
    )


async def queue(bot: FilmClubBot, g: StandardGuild, key: str, content: str, in_seconds: int) -> int:
    """A plain scheduled post in the server's #general, queued through this bot's scheduler."""
    post = await bot.scheduler.schedule(
        guild_id=int(g.guild.id), kind="message", key=key, due=bot.clock.now() + timedelta(seconds=in_seconds),
        channel_id=int(g.general.id), payload={"content": content},
    )
    assert post is not None
    return post.id


async def status_of(bot: FilmClubBot, post_id: int) -> str:
    post = await posts_repo.get(bot.store, post_id)
    assert post is not None
    return post.status


async def test_one_process_runs_every_shard_discord_recommends(
    make_club: MakeClub, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """FILMCLUB_SHARDS unset: the bot asks Discord how many shards (GET /gateway/bot), connects them all, starts
    them together as max_concurrency allows, and serves servers on both shards: commands and scheduled posts."""
    fake.recommended_shards, fake.max_concurrency, fake.enforce_identify_limit = 2, 2, True
    caplog.set_level(logging.INFO, logger="bot.app")
    club = await make_club(guild_shard=(0, 2))
    assert club.bot.shard_count == 2 and sorted(club.bot.shards) == [0, 1]
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert fake.identify_refusals == 0
    assert "running shards 0-1/2 (every shard, as Discord recommends)" in caplog.text

    second = fake.standard_guild("Second Club", shard=(1, 2))
    fake.enforce_identify_limit = False  # the restart below identifies again within 5 s
    await club.restart(dev_guild=None)  # global commands, for both servers
    assert {g.id for g in club.bot.guilds} == {club.guild_id, second.guild.id}
    await configure(club.bot, second)
    for g in (club.g, second):
        reply = await (await club.fake.slash(g.admin, g.general, "schedule list")).reply()
        assert reply.ephemeral and "Scheduled posts" in reply.text(), reply.text()
    first_post = await queue(club.bot, club.g, "one:1", "Shard zero's post", 60)
    second_post = await queue(club.bot, second, "two:1", "Shard one's post", 60)
    await club.clock.advance(61)
    assert texts(fake, club.g.general).count("Shard zero's post") == 1
    assert texts(fake, second.general).count("Shard one's post") == 1
    assert {await status_of(club.bot, first_post), await status_of(club.bot, second_post)} == {"sent"}


async def test_shards_start_no_faster_than_max_concurrency(
    make_club: MakeClub, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With max_concurrency 1 every shard is in one bucket: the second IDENTIFY waits out Discord's window
    (5 s, shortened here on both sides), so Discord never refuses it."""
    monkeypatch.setattr(app, "IDENTIFY_WINDOW", 0.5)
    fake.identify_window = 0.5
    fake.recommended_shards, fake.max_concurrency, fake.enforce_identify_limit = 2, 1, True
    club = await make_club(guild_shard=(1, 2))
    assert club.bot.shard_count == 2 and fake.identify_refusals == 0
    first, second = (s for s in fake.sessions.values() if s.ready_sent.is_set())
    assert second.identified_at - first.identified_at >= 0.5
    assert len(fake.calls("GET", r"/gateway/bot$")) == 2  # the shard count, then the limits for the second


async def test_a_cluster_sends_only_its_own_servers_posts(
    make_club: MakeClub, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """FILMCLUB_SHARDS=1-1/2: the bot connects shard 1 only, does not sync commands, answers commands in its own
    server and sends its own server's posts; a shard-0 server's post stays pending in the shared database (its
    cluster sends it), even across a restart and even when something here queues one."""
    caplog.set_level(logging.INFO)
    syncs_before = len(fake.command_syncs)
    club = await make_club(shards="1-1/2")
    bot = club.bot
    assert bot.shard_range == ShardRange(1, 1, 2) and sorted(bot.shards) == [1]
    assert [i["shard"] for i in fake.identifies][-1] == [1, 2]
    assert len(fake.command_syncs) == syncs_before + 1  # the shard-0 cluster's sync before this one started
    assert not bot.syncs_commands and not bot.commands_synced
    assert "running shards 1/2 (FILMCLUB_SHARDS)" in caplog.text
    assert "command sync is left to the cluster that runs shard 0" in caplog.text

    zero = fake.standard_guild("Shard Zero Club", shard=(0, 2))
    await club.restart()
    bot = club.bot
    assert [g.id for g in bot.guilds] == [club.guild_id]  # Discord sends shard 1 only its own servers
    # Another cluster's post, as that cluster queues it: a row in the shared database, no job here.
    now = bot.now_ts()
    async with bot.store.transaction() as tx:
        theirs = await posts_repo.insert(
            tx, guild_id=int(zero.guild.id), kind="message", key="zero:1", due_at=now + 60, now=now,
            channel_id=int(zero.general.id), payload={"content": "Not mine to send"},
        )
        in_flight = await posts_repo.insert(
            tx, guild_id=int(zero.guild.id), kind="message", key="zero:2", due_at=now + 30, now=now,
            channel_id=int(zero.general.id), payload={"content": "Being sent by shard 0"},
        )
    assert theirs is not None and in_flight is not None
    assert await posts_repo.claim(bot.store, in_flight.id, now)  # cluster 0 is sending it right now
    mine = await queue(bot, club.g, "mine:1", "Mine to send", 60)
    # Queued here by mistake for a shard-0 server: stored, but no job (a warning says why).
    stray = await queue(bot, zero, "zero:3", "Queued on the wrong cluster", 60)
    assert "not on shards 1/2" in caplog.text
    assert bot.scheduler.job_spec(stray) is None and bot.scheduler.job_spec(theirs.id) is None

    await club.restart()  # the rebuild takes only this cluster's rows, and leaves shard 0's claim alone
    bot = club.bot
    assert bot.scheduler.pending_count == 1 and bot.scheduler.job_spec(mine) is not None
    assert await status_of(bot, in_flight.id) == "sending"
    await club.clock.advance(3600)
    assert texts(fake, club.g.general).count("Mine to send") == 1
    assert texts(fake, zero.general) == []
    assert await status_of(bot, mine) == "sent"
    assert [await status_of(bot, p) for p in (theirs.id, stray)] == ["pending", "pending"]

    # Commands in its own server are answered (they arrive on shard 1).
    reply = await (await club.slash(club.g.admin, club.g.general, "schedule list")).reply()
    assert reply.ephemeral and "Scheduled posts" in reply.text(), reply.text()
    assert len(fake.command_syncs) == syncs_before + 1  # and it never synced


async def start_cluster(club: Club, shards: ShardRange) -> FilmClubBot:
    """Another cluster on the club's database file (another process in production)."""
    bot = FilmClubBot(Config(**{**club.config.__dict__, "shards": shards}), clock=club.clock)
    club.bots.append(bot)
    await club.fake.run_bot(bot)
    return bot


async def open_poll(fake: FakeDiscord, g: StandardGuild, polls: Channel, category: str) -> tuple[Message, int]:
    reply = await (await fake.slash(g.admin, g.general, "award open", category=category,
                                    nominees="Popcorn; Nachos; Churros", closes="in 2 hours")).reply()
    match = re.search(r"Poll #(\d+) is open", reply.content)
    assert reply.ephemeral and match, reply.content
    await fake.settle()
    msg = [m for m in fake.bot_messages(polls) if m.embeds and "Award poll #" in m.text()][-1]
    return msg, int(match.group(1))


def results(fake: FakeDiscord, polls: Channel) -> list[dict[str, Any]]:
    return [m.embeds[0] for m in fake.bot_messages(polls)
            if m.embeds and str(m.embeds[0].get("title", "")).startswith("🏆 Results")]


async def test_two_clusters_share_one_database(make_club: MakeClub, fake: FakeDiscord) -> None:
    """Clusters 0-0/2 and 1-1/2 on one SQLite file, posts due in both servers: every post is sent exactly once,
    by the cluster of its server; votes in both servers are counted; only cluster 0 synced commands."""
    club = await make_club(shards="0-0/2")
    one = fake.standard_guild("Shard One Club", shard=(1, 2))
    polls = {club.guild_id: club.polls, one.guild.id: fake.create_channel(one.guild, "polls")}
    await club.restart(dev_guild=None)  # cluster 0 syncs the global commands, for every server
    zero_bot = club.bot
    syncs = len(fake.command_syncs)
    one_bot = await start_cluster(club, ShardRange(1, 1, 2))
    assert len(fake.command_syncs) == syncs and not one_bot.syncs_commands
    assert [g.id for g in zero_bot.guilds] == [club.guild_id] and [g.id for g in one_bot.guilds] == [one.guild.id]
    await configure(one_bot, one, polls[one.guild.id])

    # Posts due in both servers, each queued by its own cluster, plus a burst due at the same second.
    posts = {club.guild_id: [], one.guild.id: []}
    for i in range(5):
        posts[club.guild_id].append(await queue(zero_bot, club.g, f"a:{i}", f"Zero {i}", 60 + i % 2))
        posts[one.guild.id].append(await queue(one_bot, one, f"b:{i}", f"One {i}", 60 + i % 2))
    # Both clusters restart (a deploy): each rebuilds its own servers' jobs from the shared table.
    await fake.stop_bot(one_bot)
    await club.restart()
    zero_bot = club.bot
    one_bot = await start_cluster(club, ShardRange(1, 1, 2))
    assert zero_bot.scheduler.pending_count == 5 and one_bot.scheduler.pending_count == 5
    # One token, one global limit: each cluster paces itself to its half of it.
    assert (zero_bot.pacer.rate, zero_bot.pacer.bulk_rate) == (one_bot.pacer.rate, one_bot.pacer.bulk_rate) == (22, 20)

    # Votes in both servers, each heard by its own cluster.
    zero_poll, zero_id = await open_poll(fake, club.g, polls[club.guild_id], "Best Crunch")
    one_poll, one_id = await open_poll(fake, one, polls[one.guild.id], "Best Fizz")
    for who, choice in ((club.g.alice, 0), (club.g.bob, 0), (club.g.carol, 1)):
        await fake.react(who, zero_poll, KEYCAPS[choice])
    for who, choice in ((one.alice, 2), (one.bob, 1), (one.carol, 2)):
        await fake.react(who, one_poll, KEYCAPS[choice])

    await club.clock.advance(2 * 3600 + 5)
    for g, prefix in ((club.g, "Zero"), (one, "One")):
        sent = [t for t in texts(fake, g.general) if t.startswith(prefix)]
        assert sorted(sent) == [f"{prefix} {i}" for i in range(5)], sent  # each exactly once
        assert not [t for t in texts(fake, g.general) if t.startswith("One" if prefix == "Zero" else "Zero")]
    assert zero_bot.scheduler.sent_count == 5 + 1 and one_bot.scheduler.sent_count == 5 + 1  # posts + a closing
    for ids in posts.values():
        assert {await status_of(zero_bot, p) for p in ids} == {"sent"}
    [zero_result] = results(fake, polls[club.guild_id])
    [one_result] = results(fake, polls[one.guild.id])
    assert "Winner: 1️⃣ Popcorn** with 2 votes" in zero_result["description"]
    assert "Winner: 3️⃣ Churros** with 2 votes" in one_result["description"]
    for poll_id, counts in ((zero_id, (2, 1, 0)), (one_id, (0, 1, 2))):
        poll = await awards_repo.get(zero_bot.store, poll_id)
        assert poll is not None and poll.status == "closed" and poll.counts == counts and poll.ballots == 3
    assert shard_of(club.guild_id, 2) == 0 and shard_of(one.guild.id, 2) == 1


async def test_a_cluster_starting_leaves_other_clusters_servers_alone(
    make_club: MakeClub, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything a start walks (scheduler rebuild, screening catch-up, series, open polls, anniversaries) is done
    only for the cluster's own servers: cluster 1 starting makes no REST call about a shard-0 server and queues
    nothing for it, however much that server has going on."""
    club = await make_club(shards="0-0/2")
    g = club.g
    for command, options in (
        ("screening schedule", {"film": "Her (2013)", "when": "tomorrow 8pm", "discord_event": True}),
        ("screening series create", {"when": "every thu 8pm", "film_source": "queue"}),
        ("award open", {"category": "Best Crunch", "nominees": "Popcorn; Nachos", "closes": "in 2 days"}),
    ):
        reply = await (await club.slash(g.admin, g.general, command, **options)).reply()
        assert reply.ephemeral, reply.content
    h = await club.slash(g.alice, g.general, "basil memorial", name="Pip", passed="10 January 2025")
    await h.wait_modal()
    await (await fake.submit_modal(g.alice, h, {"Their story": "She loved the sofa."})).reply()
    # Work a start would find: the anniversary's post is gone (as after an old bug), a series night's screening
    # was never announced and the one-off screening's announcement missed an edit (crashes).
    assert await club.bot.scheduler.cancel_prefix(club.guild_id, "basil:")
    store = club.bot.store
    [series] = await series_repo.list_for_guild(store, club.guild_id, active_only=True)
    night_ids = {n.screening_id for n in await series_repo.nights(store, series.id)}
    upcoming = await screenings_repo.list_upcoming(store, club.guild_id)
    assert len(upcoming) == 2 and len(night_ids & {s.id for s in upcoming}) == 1
    for s in upcoming:
        if s.id in night_ids:
            await store.execute("UPDATE screenings SET message_id = NULL WHERE id = ?", (s.id,))
        else:
            await screenings_repo.set_rendered_hash(store, s.id, "stale")
    # A screening that ended while its end never reached the bot, and a newsletter being published right now.
    now = club.bot.now_ts()
    ended = await screenings_repo.list_upcoming(store, club.guild_id)
    await store.execute("UPDATE screenings SET status = 'finished', finished_at = ? WHERE id = ?",
                        (now - 60, ended[0].id))
    assert await installments_repo.unhandled_finishes(store, now - 3600) == [ended[0].id]
    draft = await newsletter_repo.create_draft(
        store, guild_id=club.guild_id, film_key="her-2013", film_title="Her", film_year=2013, screening_id=None,
        title="Issue 1", intro="", sections="[]", covers_since=0, covers_until=now, created_by=g.admin.id, now=now,
    )
    assert await newsletter_repo.claim_publish(store, draft.id, channel_id=int(g.announcements.id),
                                               published_by=g.admin.id, now=now, lease=3600)
    zero_posts = await posts_repo.list_active(club.bot.store)
    assert {p.guild_id for p in zero_posts} == {club.guild_id} and len(zero_posts) >= 5
    await club.stop()

    one = fake.standard_guild("Shard One Club", shard=(1, 2))
    calls_before = len(fake.rest_log)
    caplog.clear()
    caplog.set_level(logging.INFO)
    one_bot = await start_cluster(club, ShardRange(1, 1, 2))
    await configure(one_bot, one)
    await club.clock.advance(60)
    await fake.settle()
    ids = {str(club.guild_id), *(str(c.id) for c in fake.channels.values() if c.guild_id == club.guild_id)}
    touched = [c for c in fake.rest_log[calls_before:] if ids & set(re.findall(r"\d+", c.path))]
    assert touched == [], [(c.method, c.path) for c in touched]
    assert await posts_repo.list_active(one_bot.store) == zero_posts  # nothing queued, released or moved
    assert one_bot.scheduler.pending_count == 0 and not one_bot.awards.open_polls
    assert one_bot.owns(one.guild.id) and not one_bot.owns(club.guild_id)
    assert f"series {series.id}" not in caplog.text  # not even looked at ("server not loaded; night waits")
    assert await installments_repo.unhandled_finishes(one_bot.store, now - 3600) == [ended[0].id]
    leased = await newsletter_repo.get(one_bot.store, draft.id)
    assert leased is not None and leased.publishing_until == now + 3600  # cluster 0 may still be publishing

    # The same start as cluster 0 does all of it (so the test can fail): the anniversary is queued again, the
    # night announced, the announcement edited, the poll caught up.
    await fake.stop_bot(one_bot)
    calls_before = len(fake.rest_log)
    await club.start()
    touched = [c for c in fake.rest_log[calls_before:] if ids & set(re.findall(r"\d+", c.path))]
    assert {c.method for c in touched} >= {"POST", "PATCH", "GET"}
    assert len(await posts_repo.list_active(club.bot.store)) > len(zero_posts)
    assert club.bot.awards.open_polls
    assert await installments_repo.unhandled_finishes(club.bot.store, now - 3600) == []
    cleared = await newsletter_repo.get(club.bot.store, draft.id)
    assert cleared is not None and cleared.publishing_until is None


async def test_one_shard_identifying_again_catches_up_its_polls(
    make_club: MakeClub, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two shards in one process; shard 1's session cannot resume (op 9) and a vote is cast while it is gone.
    discord.py then sends on_shard_ready but no on_ready: the polls are still reconciled, so the vote counts."""
    monkeypatch.setattr(app, "IDENTIFY_WINDOW", 0.05)
    monkeypatch.setattr(app, "IDENTIFY_SLACK", 0.0)
    fake.recommended_shards, fake.max_concurrency = 2, 2
    club = await make_club(guild_shard=(1, 2))
    reply = await (await club.slash(club.mod, club.g.general, "award open", category="Best Crunch",
                                    nominees="Popcorn; Nachos", closes="in 2 hours")).reply()
    poll_id = int(re.search(r"Poll #(\d+) is open", reply.content).group(1))  # type: ignore[union-attr]
    await fake.settle()
    [msg] = [m for m in fake.bot_messages(club.polls) if m.embeds and "Award poll #" in m.text()]
    [zero, one] = sorted((s for s in fake.live_sessions()), key=lambda s: s.shard)
    back = asyncio.ensure_future(club.bot.wait_for("shard_ready", check=lambda shard: shard == 1, timeout=10))
    one.invalidated = True
    assert one.ws is not None
    await one.ws.send_str('{"op":9,"d":false}')
    await fake.react(club.g.alice, msg, KEYCAPS[1], settle=False)  # shard 1 is away: the event never arrives
    await back  # shard 1 identified again and its servers are in (discord.py: on_shard_ready, no on_ready)
    await fake.settle()
    assert zero in fake.live_sessions()  # shard 0 carried on
    ballots = await awards_repo.ballots(club.bot.store, poll_id)
    assert ballots[club.g.alice.id].choice == 1


async def test_discord_unreachable_for_the_shard_count_is_retried(
    make_club: MakeClub, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Login works but GET /gateway/bot fails (an outage starting): the bot says so and asks again 5 s later
    (the bot's clock), instead of stopping."""
    club = await make_club()
    await club.stop()
    fake.inject("GET", r"/gateway/bot$", 503, count=1)
    caplog.set_level(logging.WARNING, logger="bot.app")
    starting = asyncio.ensure_future(club.start())
    await fake.wait_until(lambda: "cannot reach Discord" in caplog.text, 10, "the warning")
    assert "retrying in 5 s" in caplog.text and not club.bot.is_ready()
    await club.clock.advance(5)
    await starting
    assert club.bot.is_ready() and len(fake.calls("GET", r"/gateway/bot$")) >= 2


async def test_closing_while_waiting_to_retry_the_shard_count_stops_at_once(
    make_club: MakeClub, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    club = await make_club()
    await club.stop()
    fake.inject("GET", r"/gateway/bot$", 503, count=1)
    caplog.set_level(logging.WARNING, logger="bot.app")
    starting = asyncio.ensure_future(club.start())
    await fake.wait_until(lambda: "cannot reach Discord" in caplog.text, 10, "the warning")
    await club.bot.close()  # SIGTERM while waiting: no 5 s (or 5 minute) wait first
    with pytest.raises(RuntimeError, match="stopped before it was ready"):
        await asyncio.wait_for(starting, 2)
