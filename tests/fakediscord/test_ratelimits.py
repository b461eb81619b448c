"""Rate limits of the fake (docs: Topics -> Rate Limits): per-route buckets split by top-level resource, headers on
every answer, the global limit of 50/s with interaction endpoints exempt, 429 bodies, the invalid-request count."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import discord

from tests.fakediscord.ratelimits import GLOBAL_LIMIT
from tests.fakediscord.server import FakeDiscord

BUCKET_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Reset-After",
                  "X-RateLimit-Bucket")


def _auth(fake: FakeDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {fake.token}"}


async def test_every_answer_carries_bucket_headers(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    async with aiohttp.ClientSession(headers=_auth(fake)) as s:
        async with s.get(f"{fake.api_url}/users/@me") as r:
            assert r.status == 200 and all(h in r.headers for h in BUCKET_HEADERS)
            assert float(r.headers["X-RateLimit-Reset"]) > time.time() - 1
        async with s.get(f"{fake.api_url}/channels/{g.general.id}/messages/1") as r:
            assert r.status == 404 and all(h in r.headers for h in BUCKET_HEADERS)  # errors carry them too
        buckets = []
        for ch in (g.general, g.screenings):
            async with s.post(f"{fake.api_url}/channels/{ch.id}/messages", json={"content": "hi"}) as r:
                assert r.status == 200
                assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("5", "4")
                assert 4.9 < float(r.headers["X-RateLimit-Reset-After"]) <= 5.0
                buckets.append(r.headers["X-RateLimit-Bucket"])
                assert "X-RateLimit-Scope" not in r.headers and "X-RateLimit-Global" not in r.headers
    # One bucket per route; the channel id is not part of its name, but each channel has its own count.
    assert buckets[0] == buckets[1] and str(g.general.id) not in buckets[0]


async def test_route_bucket_refuses_with_429_per_channel(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    before = fake.invalid_requests
    async with aiohttp.ClientSession(headers=_auth(fake)) as s:
        statuses = []
        for _ in range(6):
            async with s.post(f"{fake.api_url}/channels/{g.general.id}/messages", json={"content": "hi"}) as r:
                statuses.append(r.status)
                body: Any = await r.json()
        assert statuses == [200] * 5 + [429]
        assert body["global"] is False and body["code"] == 0 and 0 < body["retry_after"] <= 5.0
        assert r.headers["X-RateLimit-Scope"] == "user" and r.headers["X-RateLimit-Remaining"] == "0"
        assert "X-RateLimit-Global" not in r.headers and r.headers["Retry-After"] and r.headers["Via"]
        # Another channel is another bucket (top-level resource).
        async with s.post(f"{fake.api_url}/channels/{g.screenings.id}/messages", json={"content": "hi"}) as r:
            assert r.status == 200
    assert len(fake.bot_messages(g.general)) == 5
    assert fake.invalid_requests - before == 1 and len(fake.rate_limited) == 1


async def test_global_limit_with_interaction_callbacks_exempt(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    channels = [fake.create_channel(g.guild, f"c{i}") for i in range(6)]
    h = fake._interaction(2, g.alice, g.general, {"id": "1", "name": "x", "type": 1})
    async with aiohttp.ClientSession(headers=_auth(fake)) as s:
        statuses = []
        for i in range(GLOBAL_LIMIT + 1):  # 10 per channel fits each channel's bucket; 51 in a second do not
            async with s.get(f"{fake.api_url}/channels/{channels[i % 6].id}") as r:
                statuses.append(r.status)
                body: Any = await r.json()
        assert statuses == [200] * GLOBAL_LIMIT + [429]
        assert body["global"] is True and 0 < body["retry_after"] <= 1.0 and body["code"] == 0
        assert r.headers["X-RateLimit-Global"] == "true" and r.headers["X-RateLimit-Scope"] == "global"
        # Interaction callbacks do not count toward (nor wait for) the global limit.
        url = f"{fake.api_url}/interactions/{h.id}/{h.payload['token']}/callback"
        async with s.post(url, json={"type": 4, "data": {"content": "answered"}}) as r:
            assert r.status in (200, 204)
    assert (await h.reply()).content == "answered"
    assert fake.invalid_requests == 1


async def test_discord_py_waits_out_the_buckets(fake: FakeDiscord) -> None:
    """discord.py reads the headers and sleeps: three reactions (1 per 0.25 s) take a half second, no 429."""
    g = fake.standard_guild()
    client = discord.Client(intents=discord.Intents.default())
    await fake.run_bot(client)
    channel = client.get_channel(g.general.id)
    assert isinstance(channel, discord.TextChannel)
    msg = await channel.send("poll")
    start = time.monotonic()
    for emoji in ("1️⃣", "2️⃣", "3️⃣"):
        await msg.add_reaction(emoji)
    assert time.monotonic() - start >= 0.45
    assert fake.rate_limited == [] and fake.invalid_requests == 0


async def test_leniency_is_asked_for_by_name(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    fake.rate_limits = False
    async with aiohttp.ClientSession(headers=_auth(fake)) as s:
        for _ in range(8):
            async with s.post(f"{fake.api_url}/channels/{g.general.id}/messages", json={"content": "hi"}) as r:
                assert r.status == 200 and "X-RateLimit-Bucket" in r.headers
    assert fake.rate_limited == []
