"""bot/pacing.py: a sliding window under Discord's global limit, bulk work yielding to the rest."""

from __future__ import annotations

import asyncio
import itertools

from yarl import URL

from bot.pacing import Pacer, bulk, exempt


async def test_window_caps_requests_per_period() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(rate=5, bulk_rate=5, per=0.1)
    start = loop.time()
    times = []
    for _ in range(12):
        await pacer.acquire()
        times.append(loop.time() - start)
    # Any 0.1 s window holds at most 5 requests.
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 0.1
    assert times[4] < 0.05 and pacer.waited == 2 and pacer.sent == 12  # 6th and 11th waited


async def test_bulk_work_leaves_room_for_the_rest() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(rate=6, bulk_rate=3, per=0.6)
    with bulk():
        first = loop.time()
        for _ in range(3):
            await pacer.acquire()
        start = loop.time()
        waiting = asyncio.create_task(pacer.acquire())  # the task inherits the bulk mark
        await asyncio.sleep(0.01)
        assert not waiting.done()
    for _ in range(3):  # a command answered meanwhile does not wait for the bulk job
        await pacer.acquire()
    assert loop.time() - start < 0.05
    await waiting
    assert loop.time() - first >= 0.6  # the window: at most 3 bulk requests in any 0.6 s


async def test_bulk_slots_are_spread_evenly_not_clumped() -> None:
    """One bulk slot every per / bulk_rate seconds, so a delayed clump cannot meet the next window's clump at
    Discord (which counts arrivals); interactive slots are not spaced."""
    loop = asyncio.get_running_loop()
    pacer = Pacer(rate=10, bulk_rate=5, per=0.25)
    times = []
    with bulk():
        for _ in range(6):
            await pacer.acquire()
            times.append(loop.time())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.05 for gap in gaps), gaps
    start = loop.time()
    for _ in range(4):
        await pacer.acquire()
    assert loop.time() - start < 0.02


def test_interaction_answers_and_gateway_are_exempt() -> None:
    assert exempt(URL("https://discord.com/api/v10/interactions/1/tok/callback"))
    assert exempt(URL("https://discord.com/api/v10/webhooks/1/tok/messages/@original"))
    assert exempt(URL("wss://gateway.discord.gg/?v=10"))
    assert not exempt(URL("https://discord.com/api/v10/channels/1/messages"))
    assert not exempt(URL("https://discord.com/api/v10/users/@me/channels"))


def test_clusters_split_the_bots_global_limit_by_their_shards() -> None:
    """The global limit is the bot's, however many processes share its token: each cluster paces itself to
    its shards' part of it, so all clusters together stay under it."""
    from bot.domain.shards import parse_shards
    from bot.pacing import rates

    assert rates() == (45, 40)
    halves = [rates(share=parse_shards(s).share) for s in ("0-0/2", "1-1/2")]
    assert halves == [(22, 20), (22, 20)] and sum(r for r, _ in halves) < 50
    quarters = [rates(share=parse_shards(s).share) for s in ("0-2/8", "3-3/8", "4-7/8")]
    assert sum(r for r, _ in quarters) < 50 and all(b <= r for r, b in quarters)
    assert rates(limit=500, share=0.25) == (112, 100)  # a bot whose limit Discord raised
    assert rates(share=1 / 64) == (1, 1)  # never zero
