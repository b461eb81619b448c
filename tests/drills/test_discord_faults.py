"""Discord faults drill: bursts of 429s and 500s on message, reaction and interaction routes.

Every command still gets an answer (or a clear error, never "Something went wrong"), and nothing is left
half-written: a poll is either open with its post and all its number reactions, or not there at all.

discord.py waits out 429s (``retry_after``) and retries 5xx answers itself after 1 s, 3 s, 5 s, 7 s; the 5xx
tests compress those waits (``fast_retries``) so a burst that outlasts every retry takes milliseconds.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import discord.http
import discord.webhook.async_
import pytest

from bot.domain.awards import KEYCAPS
from db import awards as awards_repo
from db import scheduled_posts as posts_repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Message
from tests.fakediscord.server import FakeDiscord

MESSAGES = r"/channels/\d+/messages$"
REACTIONS = r"/channels/\d+/messages/\d+/reactions/"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
WEBHOOK = r"/webhooks/\d+/[^/]+"


class _FastRetries:
    """``asyncio`` as discord.py's HTTP modules see it, with every sleep cut to at most 10 ms."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, 0.01), result)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    # discord.py's sleeps are compressed too, including its waits for rate-limit buckets: with them, the
    # fake's real-time windows cannot hold, so these tests ask for leniency on rate limits by name.
    fake.rate_limits = False
    monkeypatch.setattr(discord.http, "asyncio", _FastRetries())
    monkeypatch.setattr(discord.webhook.async_, "asyncio", _FastRetries())


def no_failure(message: Message) -> None:
    assert "Something went wrong" not in message.text(), message.text()


async def open_poll(club: Club, category: str = "Best Fault-Tolerant Snack") -> Message:
    h = await club.fake.slash(club.mod, club.g.general, "award open", category=category,
                              nominees="Popcorn; Nachos; Pretzels", closes="in 2 hours")
    return await h.reply(timeout=15)


def poll_posts(fake: FakeDiscord, club: Club) -> list[Message]:
    return [m for m in fake.bot_messages(club.polls) if m.embeds and "Award poll #" in m.text()]


def numbers_on(fake: FakeDiscord, message: Message) -> list[int]:
    return [i for i in range(3) if fake.bot_user.id in message.reaction_users(KEYCAPS[i])]


async def test_429_bursts_every_command_answers_and_polls_are_whole(club: Club) -> None:
    fake = club.fake
    fake.inject("POST", CALLBACK, 429, count=3, retry_after=0.05)
    fake.inject("POST", MESSAGES, 429, count=3, retry_after=0.05)
    fake.inject("PUT", REACTIONS, 429, count=4, retry_after=0.05)  # discord.py rides out up to 4 in a row
    fake.inject("POST", WEBHOOK, 429, count=2, retry_after=0.05)

    reply = await open_poll(club)
    no_failure(reply)
    assert re.search(r"Poll #\d+ is open", reply.content)
    about = await (await fake.slash(club.g.alice, club.g.general, "filmclub about")).reply(timeout=10)
    assert about.embeds and about.embeds[0]["title"] == "filmclub"
    listing = await (await fake.slash(club.g.alice, club.g.general, "award list")).reply(timeout=10)
    no_failure(listing)
    [post] = poll_posts(fake, club)  # posted once, despite the retried create
    await fake.wait_until(lambda: numbers_on(fake, post) == [0, 1, 2], 10, "the number reactions")
    [poll] = await awards_repo.list_open(club.bot.store)
    assert poll.message_id == post.id
    assert [(i.method, i.pattern.pattern) for i in fake.injections if i.remaining] == [], "a burst was not used up"


async def test_500_bursts_are_retried_and_nothing_is_sent_twice(club: Club, fast_retries: None) -> None:
    fake = club.fake
    fake.inject("POST", MESSAGES, 500, count=2)
    fake.inject("PUT", REACTIONS, 500, count=2)
    fake.inject("POST", CALLBACK, 500, count=1)
    fake.inject("POST", WEBHOOK, 502, count=1)
    reply = await open_poll(club)
    no_failure(reply)
    assert "is open" in reply.content
    about = await (await fake.slash(club.g.alice, club.g.general, "filmclub about")).reply(timeout=10)
    assert about.embeds
    [post] = poll_posts(fake, club)
    await fake.wait_until(lambda: numbers_on(fake, post) == [0, 1, 2], 10, "the number reactions")
    assert [(i.method, i.pattern.pattern) for i in fake.injections if i.remaining] == []


async def test_a_500_outage_on_posting_gives_a_clear_error_and_leaves_nothing(club: Club, fast_retries: None) -> None:
    fake = club.fake
    fake.inject("POST", MESSAGES, 500, count=10)  # outlasts discord.py's five tries
    reply = await open_poll(club)
    assert reply.ephemeral
    assert "Something went wrong" not in reply.content
    assert "Discord" in reply.content and "try again" in reply.content
    assert poll_posts(fake, club) == []
    assert await awards_repo.list_open(club.bot.store) == []
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, "award") == []
    # The outage ends: the same command works, once.
    for inj in fake.injections:
        inj.remaining = 0
    reply = await open_poll(club)
    assert "is open" in reply.content
    await fake.settle()
    assert len(poll_posts(fake, club)) == 1


async def test_a_500_outage_on_reactions_is_reported_and_repaired(club: Club, fast_retries: None) -> None:
    """The post went out but Discord failed to add its number reactions: the moderator is told in plain
    words, and the bot adds the missing numbers a minute later, once Discord recovered."""
    fake = club.fake
    fake.inject("PUT", REACTIONS, 500, count=15)  # five tries for each of the three numbers
    h = await fake.slash(club.mod, club.g.general, "award open", category="Best Fault-Tolerant Snack",
                         nominees="Popcorn; Nachos; Pretzels", closes="in 2 hours")
    opened = await h.reply(timeout=15)
    assert "is open" in opened.content
    warning = await h.followup(1, timeout=15)
    assert warning.ephemeral and "Discord is having trouble" in warning.content and "try again" in warning.content
    assert not any("Something went wrong" in m.text() for m in h.messages)
    [post] = poll_posts(fake, club)
    [poll] = await awards_repo.list_open(club.bot.store)
    assert poll.message_id == post.id  # the poll itself is whole: row, post, close queued
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, poll.close_key_prefix)
    assert numbers_on(fake, post) == []
    for inj in fake.injections:
        inj.remaining = 0
    await club.clock.advance(61)
    await fake.wait_until(lambda: numbers_on(fake, post) == [0, 1, 2], 10, "the number reactions")


async def test_scheduled_post_survives_a_500_burst(club: Club, fast_retries: None) -> None:
    fake = club.fake
    due = club.clock.now().timestamp() + 60
    await club.bot.scheduler.schedule(
        guild_id=club.guild_id, kind="message", key="fault:1", due=datetime.fromtimestamp(due, UTC),
        channel_id=int(club.g.announcements.id), payload={"content": "the show must go on"},
    )
    fake.inject("POST", MESSAGES, 500, count=12)  # the first attempt fails after discord.py's own retries
    await club.clock.advance(61)
    assert [m for m in fake.bot_messages(club.g.announcements) if m.content == "the show must go on"] == []
    for inj in fake.injections:
        inj.remaining = 0
    await club.clock.advance(600)  # the scheduler's backoff retry
    sent = [m for m in fake.bot_messages(club.g.announcements) if m.content == "the show must go on"]
    assert len(sent) == 1
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, "fault:") == []
