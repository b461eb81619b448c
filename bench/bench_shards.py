"""Shards (issue 20): the real FilmClubBot starting against the in-process fake Discord with N servers, as one
shard, as two shards in one process (``FILMCLUB_SHARDS`` unset, Discord recommending 2), and as two clusters
(``0-0/2`` and ``1-1/2``, started one after the other) in one process sharing one SQLite file.

For each: seconds from ``start()`` until ready (every shard's READY and GUILD_CREATEs, startup work settled),
the REST calls made during the start, the IDENTIFYs sent, and whether Discord (the fake, enforcing the
``max_concurrency`` limit) refused any. Two shards are started with ``max_concurrency`` 16 (what big bots get)
and with 1 (most bots: the second shard waits out Discord's 5 s window).

Each mode runs ``--repeat`` times after one warm-up start; the figures are those of the median run.

Run:  .venv/bin/python -m bench.bench_shards [--guilds 300] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import FilmClubBot
from bot.config import Config
from bot.domain.shards import ShardRange
from tests.fakediscord.server import FakeDiscord

MODES: tuple[tuple[str, int, int, tuple[ShardRange | None, ...]], ...] = (
    # name, recommended shards, max_concurrency, one bot per entry (None: FILMCLUB_SHARDS unset)
    ("1 shard", 1, 1, (None,)),
    ("2 shards, one process, max_concurrency 16", 2, 16, (None,)),
    ("2 shards, one process, max_concurrency 1", 2, 1, (None,)),
    ("2 clusters (0-0/2, 1-1/2), one database", 2, 16, (ShardRange(0, 0, 2), ShardRange(1, 1, 2))),
)


async def start(guilds: int, recommended: int, concurrency: int, clusters: tuple[ShardRange | None, ...],
                tmp: Path) -> dict[str, Any]:
    fake = FakeDiscord()
    await fake.start()
    try:
        fake.recommended_shards, fake.max_concurrency, fake.enforce_identify_limit = recommended, concurrency, True
        for i in range(guilds):
            fake.create_guild(f"Club {i}", shard=(i % 2, 2))
        tmp.mkdir(exist_ok=True)
        db = tmp / "club.db"
        calls = len(fake.rest_log)
        t0 = time.perf_counter()
        bots = [FilmClubBot(Config(token=fake.token, db_path=db, shards=shards)) for shards in clusters]
        for bot in bots:  # one after the other: two processes must not migrate a fresh database at once
            await fake.run_bot(bot, timeout=120)
        ready = time.perf_counter() - t0
        result = {
            "ready_s": ready, "rest_calls": len(fake.rest_log) - calls, "identifies": len(fake.identifies),
            "refused": fake.identify_refusals, "servers": [len(bot.guilds) for bot in bots],
            "gateway_bot_calls": len(fake.calls("GET", r"/gateway/bot$")),
        }
        for bot in bots:
            await fake.stop_bot(bot)
        return result
    finally:
        await fake.stop()


async def run(guilds: int, repeat: int = 3) -> dict[str, dict[str, Any]]:
    """Each mode ``repeat`` times (after one warm-up start); the run with the median ready time."""
    logging.basicConfig(level=logging.ERROR)
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        await start(guilds, 1, 1, (None,), Path(tmp) / "warm-up")
        for n, (name, recommended, concurrency, clusters) in enumerate(MODES):
            runs = []
            for i in range(repeat):
                folder = Path(tmp) / f"{n}-{i}"
                folder.mkdir()
                runs.append(await start(guilds, recommended, concurrency, clusters, folder))
            out[name] = sorted(runs, key=lambda r: r["ready_s"])[len(runs) // 2]
    return out


def rows(r: dict[str, dict[str, Any]], guilds: int) -> list[dict[str, Any]]:
    return [
        {"bench": "shards", "measure": f"{name}, {guilds:,} servers: ready / REST calls / IDENTIFYs",
         "figure": f"{m['ready_s']:.2f} s / {m['rest_calls']} / {m['identifies']} (servers per bot "
                   f"{'+'.join(str(s) for s in m['servers'])}, {m['refused']} refused)",
         "target": "no IDENTIFY refused", "met": m["refused"] == 0 and sum(m["servers"]) == guilds}
        for name, m in r.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = asyncio.run(run(args.guilds, args.repeat))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    for row in rows(r, args.guilds):
        print(f"{row['measure']}: {row['figure']}")


if __name__ == "__main__":
    main()
