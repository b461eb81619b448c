"""bot/pacing.py: a sliding window under Discord's global limit, bulk work yielding to the rest."""

from __future__ import annotations

import asyncio

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
    pacer = Pacer(rate=6, bulk_rate=3, per=0.2)
    with bulk():
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
    assert loop.time() - start >= 0.15


def test_interaction_answers_and_gateway_are_exempt() -> None:
    assert exempt(URL("https://discord.com/api/v10/interactions/1/tok/callback"))
    assert exempt(URL("https://discord.com/api/v10/webhooks/1/tok/messages/@original"))
    assert exempt(URL("wss://gateway.discord.gg/?v=10"))
    assert not exempt(URL("https://discord.com/api/v10/channels/1/messages"))
    assert not exempt(URL("https://discord.com/api/v10/users/@me/channels"))
