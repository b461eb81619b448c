"""Who a message pings (allowed_mentions rules) and the fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest

from tests.fakediscord.clock import DEFAULT_START, FakeClock
from tests.fakediscord.models import snowflake_time
from tests.fakediscord.server import FakeDiscord


async def test_pings_follow_allowed_mentions(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = discord.Client(intents=discord.Intents.default())
    await fake.run_bot(client)
    ch = client.get_channel(g.general.id)
    assert isinstance(ch, discord.TextChannel)
    text = f"{g.alice.mention} {g.member_role.mention} @everyone"

    m = fake.messages_by_id[(await ch.send(text)).id]
    assert m.pinged_user_ids == {g.alice.id}
    assert m.pinged_role_ids == {g.member_role.id}  # the bot may Mention Everyone, so any role pings
    assert m.pings_everyone and m.allowed_mentions is None

    m = fake.messages_by_id[(await ch.send(text, allowed_mentions=discord.AllowedMentions.none())).id]
    assert not m.pings_anyone

    only_alice = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(id=g.alice.id)])
    m = fake.messages_by_id[(await ch.send(f"{text} {g.bob.mention}", allowed_mentions=only_alice)).id]
    assert m.pinged_user_ids == {g.alice.id} and not m.pinged_role_ids and not m.pings_everyone

    m = fake.messages_by_id[(await ch.send(embed=discord.Embed(description=text))).id]
    assert not m.pings_anyone

    alice_msg = await fake.say(g.alice, g.general, "question")
    original = await ch.fetch_message(alice_msg.id)
    m = fake.messages_by_id[(await original.reply("answer")).id]
    assert m.pinged_user_ids == {g.alice.id}
    m = fake.messages_by_id[(await original.reply("answer", mention_author=False)).id]
    assert not m.pings_anyone

    quiet = await ch.send("nothing yet")
    await quiet.edit(content=text)
    assert not fake.messages_by_id[quiet.id].pings_anyone  # edits never notify

    bad = {"content": "x", "allowed_mentions": {"parse": ["users"], "users": [str(g.alice.id)]}}
    with pytest.raises(discord.HTTPException) as exc:
        await client.http.request(
            discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=ch.id), json=bad
        )
    assert exc.value.code == 50035


async def test_user_without_mention_everyone_does_not_ping_everyone(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    m = await fake.say(g.alice, g.general, f"@everyone look {g.bob.mention} {g.member_role.mention}")
    assert not m.pings_everyone and m.pinged_user_ids == {g.bob.id} and not m.pinged_role_ids
    m2 = await fake.say(g.admin, g.general, "@here meeting")
    assert m2.pings_everyone


async def test_clock_wakes_sleepers_in_order() -> None:
    clock = FakeClock()
    assert clock.now() == DEFAULT_START and clock.now().tzinfo is not None
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, (clock.now() - DEFAULT_START).total_seconds()))
        if name == "a":
            # work triggered by a wake-up completes before later sleepers wake
            await clock.sleep(5)
            woke.append(("a-again", (clock.now() - DEFAULT_START).total_seconds()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("c", 30), ("a", 10), ("b", 20))]
    await asyncio.sleep(0)
    assert clock.pending == 3 and clock.next_wakeup() == DEFAULT_START + timedelta(seconds=10)
    await clock.advance(12)
    assert woke == [("a", 10.0)]
    await clock.advance(60)
    assert woke == [("a", 10.0), ("a-again", 15.0), ("b", 20.0), ("c", 30.0)]
    assert clock.now() == DEFAULT_START + timedelta(seconds=72)
    await asyncio.gather(*tasks)
    with pytest.raises(ValueError):
        await clock.advance_to(DEFAULT_START)


async def test_clock_sleep_until_and_past() -> None:
    clock = FakeClock()
    target = DEFAULT_START + timedelta(hours=3)
    done = asyncio.Event()

    async def waiter() -> None:
        await clock.sleep_until(target)
        done.set()

    task = asyncio.create_task(waiter())
    await clock.advance(3 * 3600 - 1)
    assert not done.is_set()
    await clock.advance(1)
    assert done.is_set()
    await clock.sleep_until(DEFAULT_START)  # already past: returns at once
    await task


async def test_clock_holds_the_wall_clock_for_a_tracked_timer_and_wakes_it() -> None:
    """What APScheduler needs: ``datetime.now`` and ``time.time`` read the fake time while a timer is tracked, and
    the timer is woken at each of its due times, in order with the sleepers; the real clock comes back after."""
    import time
    from datetime import UTC, datetime

    class Timer:
        def __init__(self) -> None:
            self.due = [DEFAULT_START + timedelta(seconds=s) for s in (5, 40)]
            self.woken: list[datetime] = []

        def next_wakeup(self) -> datetime | None:
            return self.due[0] if self.due else None

        def wakeup(self) -> None:
            self.woken.append(datetime.now(UTC))  # read as APScheduler does
            self.due = [d for d in self.due if d > datetime.now(UTC)]

    clock, timer = FakeClock(), Timer()
    clock.track(timer)
    try:
        assert datetime.now(UTC) == DEFAULT_START and int(time.time()) == int(DEFAULT_START.timestamp())
        slept = asyncio.create_task(clock.sleep(20))
        await clock.advance(60)
        assert timer.woken == [DEFAULT_START + timedelta(seconds=5), DEFAULT_START + timedelta(seconds=40)]
        assert slept.done() and datetime.now(UTC) == clock.now() == DEFAULT_START + timedelta(seconds=60)
    finally:
        clock.untrack(timer)
    assert datetime.now(UTC).year >= 2026 and datetime.now(UTC) != clock.now()  # the real clock again


async def test_clock_drives_fake_timestamps(fake: FakeDiscord, fake_clock: FakeClock) -> None:
    g = fake.standard_guild()
    m1 = await fake.say(g.alice, g.general, "before")
    await fake_clock.advance(3600)
    m2 = await fake.say(g.alice, g.general, "after")
    assert m1.timestamp == DEFAULT_START
    assert m2.timestamp == DEFAULT_START + timedelta(hours=1)
    assert m2.id > m1.id
    # snowflakes follow the fake clock too, so discord.py's Message.created_at agrees
    assert snowflake_time(m1.id) == DEFAULT_START
    assert discord.utils.snowflake_time(m2.id) == DEFAULT_START + timedelta(hours=1)
