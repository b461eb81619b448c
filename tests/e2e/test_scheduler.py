"""The durable scheduler end to end: on time, exactly once, across restarts and failures."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db import scheduled_posts as posts_repo
from db.migrate import migrate
from db.store import Store
from tests.e2e.conftest import BACKENDS, Club, read_post
from tests.fakediscord.server import FakeDiscord

HOUR = 3600


def texts(club: Club, channel: object) -> list[str]:
    return [m.content for m in club.fake.messages_in(channel) if m.author.id == club.fake.bot_user.id]  # type: ignore[arg-type]


async def queue(club: Club, key: str, seconds: float, content: str, channel: object | None = None) -> int:
    channel = channel or club.g.general
    post = await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind="message", key=key,
        due=club.clock.now() + timedelta(seconds=seconds),
        channel_id=channel.id, payload={"content": content},  # type: ignore[attr-defined]
    )
    assert post is not None
    return post.id


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_post_fires_once_at_its_time(club: Club) -> None:
    post_id = await queue(club, "t:1", 600, "Now showing: Her")
    assert await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind="message", key="t:1", due=club.clock.now(), channel_id=club.g.general.id
    ) is None  # the same occurrence cannot be queued twice
    await club.clock.advance(599)
    assert "Now showing: Her" not in texts(club, club.g.general)
    await club.clock.advance(1)
    assert texts(club, club.g.general).count("Now showing: Her") == 1
    await club.clock.advance(3600)
    assert texts(club, club.g.general).count("Now showing: Her") == 1
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "sent" and post.message_id is not None
    sent = club.fake.last_message(club.g.general)
    assert sent.id == post.message_id and not sent.pings_anyone


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_pending_post_survives_restart(club: Club) -> None:
    await queue(club, "t:restart", 300, "after the restart")
    await club.stop()
    await club.clock.advance(120)  # the bot is down for two minutes, not yet due
    await club.start()
    await club.clock.advance(200)
    assert texts(club, club.g.general).count("after the restart") == 1
    await club.restart()
    await club.clock.advance(600)
    assert texts(club, club.g.general).count("after the restart") == 1


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_post_due_during_short_downtime_is_sent_late_once(club: Club) -> None:
    await queue(club, "t:late", 60, "a little late")
    await club.stop()
    await club.clock.advance(5 * 60)  # 4 minutes past due: inside the 15-minute grace window
    await club.start()
    await club.clock.advance(1)
    assert texts(club, club.g.general).count("a little late") == 1


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_post_due_long_ago_is_missed_and_moderators_told(club: Club) -> None:
    post_id = await queue(club, "t:missed", 60, "days late")
    await club.stop()
    await club.clock.advance(2 * 86400)
    await club.start()
    await club.clock.advance(1)
    assert "days late" not in texts(club, club.g.general)
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "missed"
    notices = [t for t in texts(club, club.g.announcements) if f"#{post_id}" in t]
    assert len(notices) == 1 and "missed" in notices[0]
    listing = await (await club.slash(club.g.admin, club.g.general, "schedule list")).reply()
    assert f"`#{post_id}`" in listing.text() and "missed" in listing.text()


async def test_crash_between_send_and_mark_does_not_post_twice(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_id = await queue(club, "t:crash", 30, "exactly once please")

    async def die(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut between send and mark")

    monkeypatch.setattr(posts_repo, "mark_sent", die)
    await club.clock.advance(30)
    assert texts(club, club.g.general).count("exactly once please") == 1
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "sending"  # as a crash would leave it
    await club.stop()  # the mark still cannot be written: the row stays "sending", like after a SIGKILL
    monkeypatch.undo()
    await club.start()
    await club.clock.advance(5)
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "sent"
    assert texts(club, club.g.general).count("exactly once please") == 1
    assert post.message_id == club.fake.last_message(club.g.general).id


async def test_deleted_channel_fails_post_and_tells_moderators_once(club: Club) -> None:
    doomed = club.fake.create_channel(club.g.guild, "doomed")
    first = await queue(club, "t:gone:1", 60, "into the void", doomed)
    second = await queue(club, "t:gone:2", 61, "into the void again", doomed)
    club.fake.delete_channel(doomed)
    await club.clock.advance(120)
    for post_id in (first, second):
        post = await posts_repo.get(club.bot.store, post_id)
        assert post is not None and post.status == "failed"
        assert "not found" in (post.last_error or "")
    notices = [t for t in texts(club, club.g.announcements) if "could not be sent" in t]
    assert len([t for t in notices if f"#{first}" in t]) == 1
    await club.restart()
    await club.clock.advance(600)
    notices_after = [t for t in texts(club, club.g.announcements) if "could not be sent" in t]
    assert notices_after == notices  # told once, not again after a restart


async def test_rate_limited_send_is_waited_out_and_sent_once(club: Club) -> None:
    club.fake.inject("POST", rf"/channels/{club.g.general.id}/messages$", 429, count=2, retry_after=0.05)
    post_id = await queue(club, "t:429", 10, "patience")
    await club.clock.advance(10)
    await club.fake.wait_until(
        lambda: "patience" in texts(club, club.g.general), timeout=5, what="post after 429s"
    )
    await club.clock.advance(60)
    assert texts(club, club.g.general).count("patience") == 1
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "sent"


async def test_cancelled_post_is_not_sent(club: Club) -> None:
    post_id = await queue(club, "t:cancel", 100, "never")
    await (await club.slash(club.g.admin, club.g.general, "schedule cancel", id=post_id)).reply()
    await club.clock.advance(200)
    assert "never" not in texts(club, club.g.general)
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "cancelled"


async def test_schedule_cancel_refuses_other_servers_posts(club: Club) -> None:
    other = club.fake.create_guild("Other Club")
    post = await club.bot.scheduler.schedule(
        guild_id=int(other.id), kind="message", key="o:1", due=club.clock.now() + timedelta(hours=1),
        channel_id=club.g.general.id, payload={"content": "x"},
    )
    assert post is not None
    reply = await (await club.slash(club.g.admin, club.g.general, "schedule cancel", id=post.id)).reply()
    assert reply.ephemeral and "no scheduled post" in reply.content
    reply = await (await club.slash(club.g.alice, club.g.general, "schedule list")).reply()
    assert "Only moderators" in reply.content


async def test_weekly_recurrence_keeps_wall_clock_across_dst(club: Club) -> None:
    # Every Friday 20:00 London, across the late-March change to BST.
    from bot.domain.recurrence import next_occurrence, parse_recurrence

    rule = parse_recurrence("weekly fri 20:00", "Europe/London")
    club.clock.set(club.clock.now().replace(month=3, day=23))
    first = next_occurrence(rule, club.clock.now())
    await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind="message", key="club-night", due=first, channel_id=club.g.general.id,
        payload={"content": "Film night!"}, recurrence={"rule": rule.canonical(), "tz": "Europe/London"},
    )
    await club.clock.advance(15 * 86400)
    sent = [m for m in club.fake.messages_in(club.g.general) if m.content == "Film night!"]
    assert len(sent) == 2  # Fri 27 March (GMT, 20:00 UTC) and Fri 3 April (BST, 19:00 UTC)
    assert [m.timestamp.hour for m in sent] == [20, 19]


async def started_once(fake: FakeDiscord, bot_process: Any, db_path: Path, guild_id: int) -> Any:
    """A bot process that has run once (database migrated, commands synced) and is stopped again."""
    proc = bot_process("bot", env={"FILMCLUB_DB": str(db_path), "FILMCLUB_DEV_GUILD": str(guild_id)}, commands=True)
    await proc.start()
    await proc.stop()
    return proc


async def insert_post(db_path: Path, guild_id: int, channel_id: int, key: str, content: str, in_s: int) -> None:
    store = Store(db_path)
    await store.open()
    await migrate(store)
    await posts_repo.insert(
        store, guild_id=guild_id, kind="message", key=key, due_at=int(time.time()) + in_s, now=int(time.time()),
        channel_id=channel_id, payload={"content": content},
    )
    await store.close()


@pytest.mark.process
async def test_sigkill_before_due_posts_once_after_restart(
    fake: FakeDiscord, bot_process: object, tmp_path: Path
) -> None:
    g = fake.standard_guild()
    db_path = tmp_path / "club.db"
    proc = await started_once(fake, bot_process, db_path, int(g.guild.id))
    # Due well after the bot is killed, however slow the machine is to start it; then, while it is down, the
    # post falls due (the row is moved to now), so the restart finds it pending and due.
    await insert_post(db_path, int(g.guild.id), int(g.general.id), "crash:1", "survived a SIGKILL", 600)
    await proc.start(commands=False)
    await proc.stop(kill=True)  # dies before the post is due
    assert not [m for m in fake.messages_in(g.general) if m.content == "survived a SIGKILL"]
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE scheduled_posts SET due_at = ? WHERE key = 'crash:1'", (int(time.time()),))
    await proc.start(commands=False)
    await fake.wait_for_message(g.general, lambda m: m.content == "survived a SIGKILL", timeout=15)
    await asyncio.sleep(1.5)
    await proc.stop()
    assert len([m for m in fake.messages_in(g.general) if m.content == "survived a SIGKILL"]) == 1
    post = await read_post(db_path, "crash:1")
    assert post is not None and post.status == "sent"


@pytest.mark.process
async def test_sigkill_after_send_before_mark_does_not_post_twice(
    fake: FakeDiscord, bot_process: object, tmp_path: Path
) -> None:
    """A real SIGKILL while Discord is answering the send: the message exists, the bot never marked it."""
    g = fake.standard_guild()
    db_path = tmp_path / "club.db"
    proc = await started_once(fake, bot_process, db_path, int(g.guild.id))
    await insert_post(db_path, int(g.guild.id), int(g.general.id), "crash:2", "sent just before dying", 3)
    fake.after_request("POST", rf"/channels/{g.general.id}/messages$", lambda call: proc.kill())
    await proc.start(commands=False)
    await fake.wait_until(lambda: not proc.running, timeout=15, what="the bot to be killed mid-send")
    assert len([m for m in fake.messages_in(g.general) if m.content == "sent just before dying"]) == 1
    post = await read_post(db_path, "crash:2")
    assert post is not None and post.status == "sending"  # sent, but never marked
    await proc.start(commands=False)
    await fake.wait_until(
        lambda: len([c for c in fake.calls("POST", rf"/channels/{g.general.id}/messages$")]) >= 2,
        timeout=15, what="the resend after restart",
    )
    await asyncio.sleep(1.0)
    await proc.stop()
    assert len([m for m in fake.messages_in(g.general) if m.content == "sent just before dying"]) == 1
    post = await read_post(db_path, "crash:2")
    assert post is not None and post.status == "sent"


async def test_post_to_a_category_fails_cleanly(club: Club) -> None:
    # A channel id that is not a text channel (e.g. a category): failed with a reason, moderators told.
    category = club.fake.create_channel(club.g.guild, "Film Nights", "category")
    post_id = await queue(club, "t:category", 5, "nowhere to go", category)
    await club.clock.advance(10)
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "failed" and "Not a text channel" in (post.last_error or "")
    assert any(f"#{post_id}" in t for t in texts(club, club.g.announcements))


async def test_another_servers_backlog_does_not_hold_up_this_servers_post(club: Club) -> None:
    """Server B queues 2,000 posts for the same second into a channel Discord is slowing down (every send there
    gets a 429 first); server A's one post due that second still goes out at once."""
    b = club.fake.standard_guild("Someone Else's Server")
    await club.restart()  # the bot now has both servers
    club.fake.inject("POST", rf"/channels/{b.general.id}/messages$", 429, count=1_000_000, retry_after=0.2)
    due = club.clock.now() + timedelta(seconds=60)
    for n in range(2000):
        await posts_repo.insert(
            club.bot.store, guild_id=int(b.guild.id), kind="message", key=f"b:{n}", due_at=int(due.timestamp()),
            now=club.bot.now_ts(), channel_id=int(b.general.id), payload={"content": f"B {n}"},
        )
    await club.restart()  # rebuilt from the table, B's rows first in id order
    await queue(club, "a:1", 60, "A's teaser")
    await club.clock.advance(60)
    started = time.monotonic()
    while "A's teaser" not in texts(club, club.g.general) and time.monotonic() - started < 5:
        await asyncio.sleep(0.02)
    assert texts(club, club.g.general).count("A's teaser") == 1  # within the same fake second, not behind B
    assert not [m for m in club.fake.messages_in(b.general) if m.author.id == club.fake.bot_user.id]
    club.fake.injections.clear()


async def test_weekly_rule_through_the_autumn_change_stays_at_8pm_and_its_job_follows(club: Club) -> None:
    """Every Friday 20:00 in New York across the 1 November change: each occurrence is the next row, with its
    own APScheduler job at 20:00 local (00:00 UTC in EDT, 01:00 UTC in EST)."""
    from datetime import UTC, datetime

    from bot.app import next_from_rule

    rule = {"rule": "weekly fri 20:00", "tz": "America/New_York"}
    club.clock.set(datetime(2026, 10, 26, 12, 0, tzinfo=UTC))
    first = next_from_rule(rule, club.clock.now())
    assert first == datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Friday 30 October, 20:00 EDT
    post = await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind="message", key="ny-night", due=first, channel_id=club.g.general.id,
        payload={"content": "NY film night"}, recurrence=rule,
    )
    assert post is not None
    job = club.bot.scheduler.job_spec(post.id)
    assert job is not None and job.run_at == int(first.timestamp())
    await club.clock.advance_to(first)
    second = datetime(2026, 11, 7, 1, 0, tzinfo=UTC)
    nxt = await posts_repo.get_by_key(club.bot.store, f"ny-night@{int(second.timestamp())}")
    assert nxt is not None and nxt.status == "pending"  # Friday 6 November, 20:00 EST
    job = club.bot.scheduler.job_spec(nxt.id)
    assert job is not None and job.run_at == nxt.due_at
    await club.clock.advance_to(second)
    sent = [m for m in club.fake.messages_in(club.g.general) if m.content == "NY film night"]
    assert [(m.timestamp.day, m.timestamp.hour) for m in sent] == [(31, 0), (7, 1)]


async def test_missed_post_is_told_once_however_often_the_bot_restarts(club: Club) -> None:
    post_id = await queue(club, "t:missed-once", 60, "too late now")
    await club.stop()
    await club.clock.advance(16 * 60 + 60)  # 16 minutes past due: outside the 15-minute window
    await club.start()
    await club.clock.advance(1)
    post = await posts_repo.get(club.bot.store, post_id)
    assert post is not None and post.status == "missed"
    assert club.bot.scheduler.job_spec(post_id) is None and club.bot.scheduler.pending_count == 0
    for _ in range(2):
        await club.restart()
        await club.clock.advance(3600)
    assert "too late now" not in texts(club, club.g.general)
    notices = [t for t in texts(club, club.g.announcements) if f"#{post_id} " in t]
    assert len(notices) == 1 and "missed" in notices[0]


async def test_rescheduled_then_cancelled_screening_its_jobs_follow(club: Club) -> None:
    await club.bot.settings.update(club.guild_id, club.bot.now_ts(), reminder_offsets="1h")
    reply = await (await club.slash(club.g.admin, club.g.general, "screening schedule", film="Her (2013)",
                                    when="in 3 hours")).reply()
    assert "Scheduled" in reply.content, reply.content
    before = await club.bot.store.fetchall("SELECT id, due_at FROM scheduled_posts WHERE status = 'pending'")
    assert before and all(club.bot.scheduler.job_spec(r["id"]) is not None for r in before)
    reply = await (await club.slash(club.g.admin, club.g.general, "screening reschedule", id=1,
                                    when="in 5 hours")).reply()
    assert "Moved" in reply.content, reply.content
    # The old posts are cancelled and their jobs gone; the new ones have jobs at their new times.
    assert all(club.bot.scheduler.job_spec(r["id"]) is None for r in before)
    moved = await club.bot.store.fetchall("SELECT id, due_at FROM scheduled_posts WHERE status = 'pending'")
    assert moved and {r["id"] for r in moved}.isdisjoint({r["id"] for r in before})
    for r in moved:
        job = club.bot.scheduler.job_spec(r["id"])
        assert job is not None and job.run_at == r["due_at"]
    assert club.bot.scheduler.pending_count == len(moved)
    await club.clock.advance(2 * HOUR + 60)  # the old reminder time passes: nothing
    assert not [m for m in club.fake.bot_messages() if m.content.startswith("⏰")]
    reply = await (await club.slash(club.g.admin, club.g.general, "screening cancel", id=1)).reply()
    assert all(club.bot.scheduler.job_spec(r["id"]) is None for r in moved)
    assert club.bot.scheduler.pending_count == 0
    await club.clock.advance(4 * HOUR)
    assert not [m for m in club.fake.bot_messages() if m.content.startswith("⏰")]
