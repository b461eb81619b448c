"""Scheduler benchmark (issues 5 and 19): startup rebuild of 10,000 pending posts (one APScheduler job each), and
1,000 posts due in the same second sent through the real bot (discord.py, APScheduler's AsyncIOScheduler) to the
fake Discord: p50/p99 lateness and duplicates.

Run:  .venv/bin/python bench/bench_scheduler.py [--pending 10000] [--burst 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.remote_fake import RemoteFake
from bot.app import FilmClubBot
from bot.clock import SystemClock
from bot.config import Config
from bot.scheduler import SchedulerService
from db.migrate import migrate
from db.store import Store


async def bench_rebuild(pending: int, folder: Path) -> dict[str, float]:
    store = Store(folder / "rebuild.db")
    await store.open()
    await migrate(store)
    now = int(time.time())
    await store.executemany(
        "INSERT INTO scheduled_posts (guild_id, kind, key, channel_id, payload, due_at, created_at) "
        "VALUES (?, 'message', ?, ?, ?, ?, ?)",
        [(i % 1000, f"bench:{i}", 42, '{"content": "teaser"}', now + 3600 + i, now) for i in range(pending)],
    )
    never = asyncio.Event()  # the bot never gets READY here: the timer stays paused, so this is the rebuild alone
    service = SchedulerService(store, SystemClock(), wait_ready=never.wait)
    service.register("message", lambda post: asyncio.sleep(0))  # type: ignore[arg-type,return-value]
    t0 = time.perf_counter()
    await service.start()  # APScheduler started paused, one job per pending row added to its job store
    elapsed = time.perf_counter() - t0
    rebuilt = service.pending_count
    await service.stop()
    await store.close()
    assert rebuilt == pending
    return {"pending": pending, "rebuild_s": elapsed}


async def bench_burst(burst: int, folder: Path) -> dict[str, float]:
    """The fake runs in a child process (its own core), as Discord would not share the bot's CPU."""
    async with RemoteFake(channels=10) as fake:
        guild = fake.info["guilds"][0]
        channels = guild["channels"]
        config = Config(token=fake.info["token"], db_path=folder / "burst.db", dev_guild=int(guild["id"]),
                        log_level="WARNING")
        bot = FilmClubBot(config)
        bot._connection.guild_ready_timeout = 0.1  # type: ignore[attr-defined]
        runner = asyncio.create_task(bot.start(config.token))
        while not bot.is_ready():
            if runner.done():
                runner.result()
            await asyncio.sleep(0.01)
        due = math.ceil(time.time()) + 3
        for i in range(burst):
            await bot.scheduler.schedule(
                guild_id=int(guild["id"]), kind="message", key=f"burst:{i}", due=datetime.fromtimestamp(due, UTC),
                channel_id=int(channels[i % len(channels)]), payload={"content": f"teaser {i}"},
            )
        assert time.time() < due, "scheduling took longer than the lead time"
        deadline = time.time() + 120
        while time.time() < deadline and bot.scheduler.sent_count < burst:
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)  # anything extra would show up as a duplicate
        contents: list[str] = []
        for channel in channels:
            contents += [m["content"] for m in await fake.request({"op": "messages", "channel": channel})]
        # Snowflake ids carry the fake's creation time in ms: lateness = creation - due.
        lateness = sorted(max(0.0, ((int(mid) >> 22) + 1420070400000) / 1000 - due) for mid in [
            m["id"] for channel in channels for m in await fake.request({"op": "messages", "channel": channel})
        ])
        await bot.close()
        await runner
    contents = [c for c in contents if c.startswith("teaser ")]
    return {
        "burst": burst,
        "sent": len(set(contents)),
        "duplicates": len(contents) - len(set(contents)),
        "p50_s": statistics.median(lateness) if lateness else float("nan"),
        "p99_s": lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))] if lateness else float("nan"),
        "max_s": lateness[-1] if lateness else float("nan"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rebuild = await bench_rebuild(args.pending, Path(tmp))
        burst = await bench_burst(args.burst, Path(tmp))
    print("| scheduler measure | figure | target |")
    print("|---|---|---|")
    print(f"| rebuild {rebuild['pending']:.0f} pending posts at startup | {rebuild['rebuild_s']:.3f} s | < 2 s |")
    print(f"| {burst['burst']:.0f} posts due in one second: sent | {burst['sent']:.0f} | all |")
    print(f"| lateness p50 | {burst['p50_s'] * 1000:.0f} ms | |")
    print(f"| lateness p99 | {burst['p99_s'] * 1000:.0f} ms | < 1 s |")
    print(f"| lateness max | {burst['max_s'] * 1000:.0f} ms | |")
    print(f"| duplicates | {burst['duplicates']:.0f} | 0 |")


if __name__ == "__main__":
    asyncio.run(main())
