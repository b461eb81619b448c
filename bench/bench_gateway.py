"""Gateway throughput of the fake Discord into a real discord.py client.

Dispatches N MESSAGE_REACTION_ADD events (each with a ``member`` object, as Discord sends them) through the
fake's gateway websocket and counts them in an ``on_raw_reaction_add`` listener of a real ``discord.Client``.
The figure is events/s from the first dispatch until the listener has seen all N (JSON encoding, websocket,
discord.py parsing and dispatch included).

Run:  .venv/bin/python bench/bench_gateway.py [--events 20000] [--driver]
``--driver`` goes through ``fake.react`` (fake state updates too) instead of raw dispatches.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord

from bench.machine import cpu_model
from tests.fakediscord.core import Intents
from tests.fakediscord.server import FakeDiscord


class Counter(discord.Client):
    def __init__(self, target: int) -> None:
        intents = discord.Intents.default()
        super().__init__(intents=intents)
        self.count = 0
        self.target = target
        self.done = asyncio.Event()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()


async def run(events: int, use_driver: bool) -> float:
    fake = FakeDiscord()
    await fake.start()
    try:
        g = fake.standard_guild()
        members = [fake.add_member(g.guild, f"fan{i}") for i in range(200)]
        client = Counter(events)
        await fake.run_bot(client)
        target = fake.create_message(g.general, g.alice.user, {"content": "react here"})
        await fake.settle()
        emojis = ["🍿", "🎬", "🎞️", "⭐", "👍"]
        t0 = time.perf_counter()
        if use_driver:
            # Distinct (member, custom emoji) pairs so every call really adds a reaction and emits an event.
            for i in range(events):
                m = members[i % len(members)]
                emoji_id = i // len(members) + 1
                fake.add_reaction_state(g.general, target, m.user.id, f"film{emoji_id}", emoji_id)
                if i % 500 == 0:
                    await asyncio.sleep(0)
        else:
            for i in range(events):
                m = members[i % len(members)]
                payload = {
                    "user_id": str(m.user.id),
                    "channel_id": str(g.general.id),
                    "message_id": str(target.id),
                    "guild_id": str(g.guild.id),
                    "member": m.to_dict(),
                    "emoji": {"id": None, "name": emojis[i % len(emojis)]},
                    "message_author_id": str(g.alice.user.id),
                    "burst": False,
                    "burst_colors": [],
                    "type": 0,
                }
                fake.dispatch(
                    "MESSAGE_REACTION_ADD", payload, intent=Intents.GUILD_MESSAGE_REACTIONS, channel=g.general
                )
                if i % 500 == 0:
                    await asyncio.sleep(0)
        await asyncio.wait_for(client.done.wait(), timeout=600)
        elapsed = time.perf_counter() - t0
        await client.close()
        return events / elapsed
    finally:
        await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--driver", action="store_true", help="go through fake.react-style state updates")
    args = parser.parse_args()
    rate = asyncio.run(run(args.events, args.driver))
    cpu = cpu_model()
    import os

    print(f"events: {args.events} ({'driver' if args.driver else 'raw dispatch'})")
    print(f"throughput: {rate:,.0f} events/s")
    print(f"machine: nproc={os.cpu_count()} cpu={cpu} python={platform.python_version()}")
    print(f"discord.py: {discord.__version__}")


if __name__ == "__main__":
    main()
