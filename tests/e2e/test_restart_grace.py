"""Restarts keep their promises: every post kind's grace window, and posts due while the servers load.

The fake clock starts on Monday 2026-01-05 12:00 UTC. "While the bot is down" means the bot is stopped and the
clock moved on; the next start rebuilds the queue from the database as a real restart would.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.domain import posts
from db import scheduled_posts as posts_repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Message

HOUR = 3600


def bot_texts(club: Club) -> list[Message]:
    return [m for m in club.fake.all_messages() if m.author.id == club.fake.bot_user.id and not m.ephemeral]


def notices(club: Club, post_id: int) -> list[str]:
    return [m.content for m in club.fake.bot_messages(club.g.announcements) if f"#{post_id} " in m.content]


async def queue_raw(club: Club, kind: str, due_in: int, label: str) -> int:
    """A pending row of ``kind`` written straight to the table, as if queued long ago (its subject does not
    exist, so a handler that runs gives up on it)."""
    post = await posts_repo.insert(
        club.bot.store, guild_id=club.guild_id, kind=kind, key=f"grace-test:{kind}:{label}",
        due_at=club.bot.now_ts() + due_in, now=club.bot.now_ts(), channel_id=club.g.general.id,
        payload={"content": f"{kind} {label}", "screening_id": 999_999, "installment_id": 999_999},
    )
    assert post is not None
    return post.id


@pytest.mark.usefixtures("short_rate_windows")  # a notice per missed kind, in one channel
async def test_every_kind_has_one_grace_window_and_the_bot_follows_it(club: Club) -> None:
    # The table is the whole truth: every kind the bot registers is in it, and nothing else is.
    assert set(club.bot.scheduler._kinds) == set(posts.GRACE)
    within: dict[str, int] = {}
    past: dict[str, int] = {}
    for kind, grace in sorted(posts.GRACE.items(), key=lambda kv: kv[0]):
        within[kind] = await queue_raw(club, kind, 60, "within")
        if grace is not None:
            past[kind] = await queue_raw(club, kind, 60 - int(grace.total_seconds()) - 60, "past")
    await club.stop()
    # Down for 2 minutes past the first posts' due time: each is 1 minute late, inside every window, and the
    # second post of each kind is now its grace + 1 minute late.
    await club.clock.advance(120)
    await club.start()
    await club.clock.advance(10)
    for kind, post_id in within.items():
        post = await posts_repo.get(club.bot.store, post_id)
        assert post is not None and post.status != posts_repo.MISSED, (kind, post.status)
        assert post.status in (posts_repo.SENT, posts_repo.CANCELLED, posts_repo.FAILED), (kind, post.status)
    for kind, post_id in past.items():
        post = await posts_repo.get(club.bot.store, post_id)
        assert post is not None and post.status == posts_repo.MISSED, (kind, post.status)
        assert len(notices(club, post_id)) == 1, kind
    await club.restart()
    await club.clock.advance(60)
    for post_id in past.values():  # told once, not at every start
        assert len(notices(club, post_id)) == 1
    # "Always" kinds are never missed, however late.
    always = [kind for kind, grace in posts.GRACE.items() if grace is None]
    assert set(always) == {posts.AWARD_CLOSE, posts.SCREENING_FINISH, posts.SERIES_PLAN}


async def schedule_with_alice_going(club: Club) -> tuple[int, int]:
    """A screening 3 hours ahead with the server's reminder 1 hour before it; Alice is Going."""
    await club.bot.settings.update(club.guild_id, club.bot.now_ts(), reminder_offsets="1h")
    handle = await club.fake.slash(club.g.admin, club.g.general, "screening schedule", film="Her (2013)",
                                   when="in 3 hours")
    reply = await handle.reply()
    assert reply.ephemeral and "Scheduled" in reply.content, reply.content
    [ann] = [m for m in club.fake.bot_messages(club.g.screenings) if m.embeds]
    going = await (await club.fake.click(club.g.alice, ann, "Going")).reply()
    assert going.ephemeral
    rows = await club.bot.store.fetchall(
        "SELECT id FROM scheduled_posts WHERE kind = ? AND status = 'pending'", (posts.SCREENING_REMINDER,)
    )
    [reminder_id] = [int(r["id"]) for r in rows]
    return ann.id, reminder_id


async def test_a_reminder_past_its_grace_is_missed_not_posted(club: Club) -> None:
    _, reminder_id = await schedule_with_alice_going(club)
    await club.stop()
    await club.clock.advance(2 * HOUR + 20 * 60)  # back 20 minutes after the reminder was due
    await club.start()
    await club.clock.advance(30)
    assert not [m for m in bot_texts(club) if m.content.startswith("⏰")]
    assert not [m for m in bot_texts(club) if m.pings_anyone]
    post = await posts_repo.get(club.bot.store, reminder_id)
    assert post is not None and post.status == posts_repo.MISSED
    [notice] = notices(club, reminder_id)
    assert "missed" in notice and not club.fake.last_message(club.g.announcements).pings_anyone


async def test_posts_due_while_the_servers_load_are_sent_once_and_never_fail(club: Club) -> None:
    """Discord sends the servers seconds after READY on big bots: due posts wait for theirs, then go out."""
    ann_id, reminder_id = await schedule_with_alice_going(club)
    ping = await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind=posts.MESSAGE, key="loading:1", due=club.clock.now() + timedelta(hours=2),
        channel_id=club.g.general.id, payload={"content": "queued while loading"},
    )
    assert ping is not None
    await club.stop()
    await club.clock.advance(2 * HOUR + 7 * 60)  # back 7 minutes after both were due: inside their windows
    club.fake.guild_create_delay = 1.5
    await club.start()
    guild = club.bot.get_guild(club.guild_id)
    assert guild is not None and guild.unavailable  # ready, but the server has not arrived yet
    await club.clock.advance(6)  # the scheduler looks, the server is not there: the posts wait
    for post_id in (reminder_id, ping.id):
        post = await posts_repo.get(club.bot.store, post_id)
        assert post is not None and post.status == posts_repo.PENDING, post
    for _ in range(100):  # real time: the fake sends GUILD_CREATE 1.5 s after READY
        if not guild.unavailable:
            break
        await asyncio.sleep(0.05)
    assert not guild.unavailable
    await club.clock.advance(6)
    reminders = [m for m in bot_texts(club) if m.content.startswith("⏰")]
    assert len(reminders) == 1 and reminders[0].channel_id == ann_id  # in the announcement's thread
    assert reminders[0].pinged_user_ids == {club.g.alice.user.id}
    assert [m.content for m in bot_texts(club)].count("queued while loading") == 1
    for post_id in (reminder_id, ping.id):
        post = await posts_repo.get(club.bot.store, post_id)
        assert post is not None and post.status == posts_repo.SENT and post.attempts == 1, post
    assert not [m for m in club.fake.bot_messages(club.g.announcements) if "⚠️" in m.content]
    rows = await club.bot.store.fetchall("SELECT status, payload FROM scheduled_posts WHERE status = 'failed'")
    assert not rows, [json.loads(r["payload"] or "{}") for r in rows]
