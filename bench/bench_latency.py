"""Interaction latency (issue 11): the real FilmClubBot against a bare discord.py "pong" bot, same fake Discord.

The fake runs in a child process (``bench.remote_fake``), both bots in this one, as two shards of one
application (see ``run``). Latency is what the fake sees: from dispatching INTERACTION_CREATE to the bot's
initial callback (``responded_after``), and to the final message the member sees (the same for a direct reply;
for a deferred one, when the placeholder is filled in).

Measured, ``--count`` interactions each (default 500, after 20 warm-up ones), taking turns with the baseline:

* ``/ping`` on a bare ``commands.Bot`` that answers "pong" (the baseline, interleaved with each command);
* ``/filmclub about``;
* ``/screening list`` with 500 screenings stored (8 RSVPs each);
* ``/award status`` on an open poll with 10,000 ballots (live counts on);
* ``/ratings board`` (chart included) over 300 films with 20 ratings each;
* the last three again with their read models (db/cache.py) switched off, so every answer is recomputed as it
  is right after any write to the database.

The database is seeded through the repositories before the bot starts.

Run:  .venv/bin/python -m bench.bench_latency [--count 500] [--gap 0.001] [--json] [--profile ratings_board]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from discord.ext import commands

from bench.remote_fake import RemoteFake
from bot.domain.awards import KEYCAPS, Ballot
from db import awards as awards_repo
from db import screenings as screenings_repo
from db.migrate import migrate
from db.store import Store

SCREENINGS = 500
BALLOTS = 10_000
FILMS = 300
RATERS = 20
WARMUP = 20
GAP = 0.001  # seconds between an answer and the next interaction (see run())
BLOCK = 25  # interactions in a row before the other bot takes its turn (each turn starts with one unmeasured)
UNCACHED = ("screening_list", "award_status", "ratings_board")  # commands served from a read model
DEADLINE = 3.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def seed(db_path: Path, guild_id: int, channel_id: int, message_ids: list[int], voters: list[int], *,
               screenings: int, ballots: int, films: int, raters: int) -> int:
    """Seed screenings, one open poll with ``ballots`` ballots, and ratings; return the poll id."""
    store = Store(db_path)
    await store.open()
    try:
        return await _seed(store, guild_id, channel_id, message_ids, voters, screenings=screenings, ballots=ballots,
                           films=films, raters=raters)
    finally:
        await store.close()


async def _seed(store: Store, guild_id: int, channel_id: int, message_ids: list[int], voters: list[int], *,
                screenings: int, ballots: int, films: int, raters: int) -> int:
    await migrate(store)
    now = int(time.time())
    async with store.transaction() as tx:
        for i in range(screenings):
            s = await screenings_repo.create_screening(
                tx, guild_id=guild_id, film_key=f"film-{i % films}", title=f"Film number {i % films}",
                year=1990 + i % 35, runtime=100 + i % 60, starts_at=now + 3600 * (i + 1), channel_id=channel_id,
                created_by=1, now=now, location="Screening Room", notes="Bring snacks.",
            )
            await screenings_repo.set_message(tx, s.id, message_ids[i], now)
            for u in range(8):
                await screenings_repo.set_rsvp(tx, s.id, 500 + u, ("going", "maybe", "cant")[u % 3], now)
        poll = await awards_repo.create_poll(
            tx, guild_id=guild_id, channel_id=channel_id, category="Best Popcorn",
            nominees=("Salted", "Sweet", "Caramel", "Cheese", "Mixed"), film_title=None, film_key=None,
            show_counts=True, opened_by=1, now=now, closes_at=now + 7 * 86400,
        )
        await awards_repo.set_message(tx, poll.id, message_ids[-1])
        await awards_repo.save_ballots(
            tx, {(poll.id, uid): (Ballot(u % 5, 1 << (u % 5)), now) for u, uid in enumerate(voters[:ballots])}
        )
        for f in range(films):
            for u in range(raters):
                await screenings_repo.set_rating(
                    tx, guild_id, f"film-{f}", 500 + u, 1 + (f * 7 + u) % 5, None if u % 4 else "Loved the score.",
                    now, title=f"Film number {f}", year=1990 + f % 35,
                )
    return poll.id


class BareBot(commands.Bot):
    """The baseline: discord.py's own overhead for a slash command that answers "pong"."""

    def __init__(self, guild_id: int, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(command_prefix="!", intents=intents, help_command=None, **options)
        self.guild_id = guild_id
        self.synced = False

        @self.tree.command(name="ping", description="pong")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

    async def setup_hook(self) -> None:
        guild = discord.Object(id=self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)
        self.synced = True


async def start(bot: commands.Bot, token: str, ready: Any) -> asyncio.Task[None]:
    bot._connection.guild_ready_timeout = 0.1  # type: ignore[attr-defined]
    runner = asyncio.create_task(bot.start(token))
    deadline = time.perf_counter() + 120
    try:
        while not (bot.is_ready() and ready()):
            if runner.done():
                runner.result()
            if time.perf_counter() > deadline:
                raise TimeoutError("bot not ready")
            await asyncio.sleep(0.01)
    except BaseException:
        await bot.close()
        raise
    return runner


async def stop(bot: commands.Bot, runner: asyncio.Task[None]) -> None:
    await bot.close()
    try:
        await runner
    except asyncio.CancelledError:
        pass


async def measure(fake: RemoteFake, bare: dict[str, Any], plan: dict[str, Any], count: int,
                  gap: float = GAP) -> list[dict[str, Any]]:
    """``count`` of each, taking turns in blocks of ``BLOCK``: the bare bot's ``/ping`` in its guild, then
    ``plan`` in the club's."""
    request = {"op": "slash_interleaved", "plans": [bare, plan], "block": BLOCK, "discard": 1, "gap": gap}
    await fake.request({**request, "count": WARMUP})
    r: list[dict[str, Any]] = await fake.request({**request, "count": count})
    return r


def summary(command: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    after = [x for p in parts for x in p["after"]]
    final = [x for p in parts for x in p["final"]]
    types: dict[str, int] = {}
    for p in parts:
        for k, v in p["types"].items():
            types[k] = types.get(k, 0) + v
    return {
        "command": command, "count": len(after), "types": types, "failed": sum(p["failed"] for p in parts),
        "failures": [f for p in parts for f in p["failures"]][:5], "sample": parts[-1]["sample"],
        "p50_ms": statistics.median(after) * 1000, "p99_ms": pct(after, 0.99) * 1000,
        "max_ms": max(after) * 1000,
        "final_p50_ms": statistics.median(final) * 1000, "final_p99_ms": pct(final, 0.99) * 1000,
        "final_max_ms": max(final) * 1000,
    }


async def run(count: int = 500, *, screenings: int = SCREENINGS, ballots: int = BALLOTS, films: int = FILMS,
              raters: int = RATERS, profile: str | None = None, gap: float = GAP) -> dict[str, Any]:
    """Both bots run at once, as two shards of one application (Discord sends each guild's events to one
    shard): the FilmClubBot on shard 0 with the club's guild, the bare bot on shard 1 with a guild of its own.
    Their interactions take turns in short blocks (25 pings, 25 of the command, ...), so a change in the
    machine's load during the run weighs on both alike; each command is compared with the pings interleaved
    with it. The first interaction of each turn is not measured: it would pay for whatever the other bot left
    running.

    Each interaction arrives ``gap`` (1 ms) after the previous answer, as members' interactions arrive at a
    bot that has finished with the last one. Back to back (``gap=0``), a command that posts a public message
    is also charged for digesting Discord's events about that message (MESSAGE_CREATE, MESSAGE_UPDATE) while
    the next interaction waits: the bare bot, with the GUILDS intent only, gets none of them."""
    from bot.app import FilmClubBot
    from bot.config import Config

    logging.getLogger("discord").setLevel(logging.ERROR)
    logging.getLogger("cogs").setLevel(logging.ERROR)
    parts: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        async with RemoteFake(guilds=2, channels=2, members=5, shards=2) as fake:
            club, other = fake.info["guilds"]
            gid = int(club["id"])
            channel = int(club["channels"][0])
            t0 = time.perf_counter()
            message_ids = await fake.request({"op": "create_messages", "channel": channel, "count": screenings + 1})
            # The poll post carries one number reaction per ballot (the bot reconciles them when it connects).
            voters = await fake.request({"op": "seed_voters", "channel": channel, "message": message_ids[-1],
                                         "emojis": list(KEYCAPS[:5]), "count": ballots})
            poll_id = await seed(Path(tmp) / "club.db", gid, channel, message_ids, voters, screenings=screenings,
                                 ballots=ballots, films=films, raters=raters)
            seed_s = time.perf_counter() - t0
            plan = [
                ("about", "filmclub about", int(club["alice"]), {}, "filmclub"),
                ("screening_list", "screening list", int(club["alice"]), {}, "Film number"),
                ("award_status", "award status", int(club["admin"]), {"id": poll_id}, str(ballots)),
                ("ratings_board", "ratings board", int(club["alice"]), {}, "Film number"),
            ]
            bare_plan = {"guild": 1, "member": int(other["alice"]), "channel": int(other["general"]),
                         "command": "ping", "options": {}, "expect": "pong"}
            bare = BareBot(int(other["id"]), shard_id=1, shard_count=2)
            bare_runner = await start(bare, fake.info["token"], lambda: bare.synced)
            config = Config(token=fake.info["token"], db_path=Path(tmp) / "club.db", dev_guild=gid,
                            log_level="WARNING")
            bot = FilmClubBot(config, shard_id=0, shard_count=2)
            t0 = time.perf_counter()
            runner = await start(bot, fake.info["token"], lambda: bot.commands_synced)
            startup_s = time.perf_counter() - t0
            try:
                # Let startup work finish first (the screenings cog brings announcements up to date once).
                for cog in bot.cogs.values():
                    catch_up = getattr(cog, "_catch_up", None)
                    if isinstance(catch_up, asyncio.Task):
                        await asyncio.wait([catch_up], timeout=120)
                await asyncio.sleep(0.3)
                everything = tuple(name for name, *_ in plan)
                passes: list[tuple[str, tuple[str, ...]]] = [("", everything), ("_uncached", UNCACHED)]
                for suffix, names in passes:
                    if suffix:
                        # The same commands with every answer recomputed, as right after any write to the
                        # database (the read models in db/cache.py are then of no help).
                        bot.store.version = lambda: None  # type: ignore[method-assign]
                    for name, command, member, options, expect in plan:
                        if name not in names:
                            continue
                        profiler: Any = None
                        if profile == name and not suffix:
                            import cProfile

                            profiler = cProfile.Profile()
                            profiler.enable()
                        pinged, answered = await measure(fake, bare_plan, {
                            "guild": 0, "member": member, "channel": int(club["general"]), "command": command,
                            "options": options, "expect": expect,
                        }, count, gap)
                        parts.setdefault("bare", []).append(pinged)
                        parts[f"bare:{name}{suffix}"] = [pinged]
                        parts[f"{name}{suffix}"] = [answered]
                        if profiler is not None:
                            profiler.disable()
                            import pstats

                            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
            finally:
                await stop(bot, runner)
                await stop(bare, bare_runner)
            bad = await fake.request({"op": "bad_requests"})
    results = {name: summary(name, p) for name, p in parts.items()}
    return {"count": count, "seed_s": seed_s, "startup_s": startup_s, "results": results, "bad_requests": bad}


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Table rows: figure, target, met."""
    bare = r["results"]["bare"]
    out = [{
        "bench": "latency",
        "measure": f"bare bot `/ping` p50 / p99 ({bare['count']} interactions, taking turns with each command)",
        "figure": f"{bare['p50_ms']:.1f} / {bare['p99_ms']:.1f} ms", "target": "baseline", "met": None,
    }]
    labels = {
        "about": "`/filmclub about`",
        "screening_list": f"`/screening list` ({SCREENINGS} screenings stored)",
        "award_status": f"`/award status` ({BALLOTS:,} ballots)",
        "ratings_board": "`/ratings board` (chart)",
    }
    for key, label in labels.items():
        m = r["results"][key]
        paired = r["results"][f"bare:{key}"]
        p50x, p99x = m["p50_ms"] / paired["p50_ms"], m["p99_ms"] / paired["p99_ms"]
        met = p50x <= 1.5 and p99x <= 2.0 and m["final_max_ms"] < DEADLINE * 1000 and m["failed"] == 0
        deferred = m["types"].get("5", 0) > 0
        figure = f"{m['p50_ms']:.1f} / {m['p99_ms']:.1f} ms ({p50x:.2f}× / {p99x:.2f}×)"
        if deferred:
            figure += f"; final message {m['final_p50_ms']:.1f} / {m['final_p99_ms']:.1f} ms"
        figure += f"; max {m['final_max_ms']:.0f} ms"
        if m["failed"]:
            figure += f"; {m['failed']} failed"
        out.append({"bench": "latency", "measure": f"{label} p50 / p99 (vs bare)", "figure": figure,
                    "target": "p50 ≤ 1.5×, p99 ≤ 2× bare; all < 3 s", "met": met})
    for key in UNCACHED:
        m = r["results"].get(f"{key}_uncached")
        if m is None:
            continue
        paired = r["results"][f"bare:{key}_uncached"]
        p50x, p99x = m["p50_ms"] / paired["p50_ms"], m["p99_ms"] / paired["p99_ms"]
        figure = f"{m['p50_ms']:.1f} / {m['p99_ms']:.1f} ms ({p50x:.2f}× / {p99x:.2f}×)"
        if m["types"].get("5", 0) > 0:
            figure += f"; final message {m['final_p50_ms']:.1f} / {m['final_p99_ms']:.1f} ms"
        figure += f"; max {m['final_max_ms']:.0f} ms"
        if m["failed"]:
            figure += f"; {m['failed']} failed"
        out.append({"bench": "latency", "measure": f"{labels[key]} recomputed every time (as after a write)",
                    "figure": figure, "target": "all < 3 s (ratios for information)",
                    "met": m["final_max_ms"] < DEADLINE * 1000 and m["failed"] == 0})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--gap", type=float, default=GAP,
                        help="seconds between an answer and the next interaction (0 = back to back)")
    parser.add_argument("--profile", choices=["about", "screening_list", "award_status", "ratings_board"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(run(args.count, profile=args.profile, gap=args.gap))
    if args.json:
        print(json.dumps({"raw": r, "rows": rows(r)}))
        return
    print(f"seeded in {r['seed_s']:.1f} s; 4xx answers from the fake: {len(r['bad_requests'])}")
    print("| command | types | p50 | p99 | max | final p50 | final p99 | failed |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in r["results"].items():
        print(f"| {name} | {m['types']} | {m['p50_ms']:.1f} ms | {m['p99_ms']:.1f} ms | {m['max_ms']:.1f} ms | "
              f"{m['final_p50_ms']:.1f} ms | {m['final_p99_ms']:.1f} ms | {m['failed']} |")
    for row in rows(r):
        print(row)


if __name__ == "__main__":
    main()
