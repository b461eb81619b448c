"""Vote ingest benchmark (not a test): 10,000 members react to one award poll through the fake Discord.

Run from the repository root::

    .venv/bin/python -m bench.bench_votes            # 10,000 voters
    .venv/bin/python -m bench.bench_votes --voters 2000 --changes 500

What it measures, with the real FilmClubBot (discord.py client, gateway, cog, SQLite store on disk):

* ``ingest``: every voter adds one number reaction, as fast as the fake Discord pushes the
  MESSAGE_REACTION_ADD events down the gateway; the clock stops when the last ballot is in the
  database. Votes stored per second = voters / elapsed. Votes lost = voters - ballots in the DB.
* ``changes``: some voters then change their mind (a second reaction: one upsert, plus the bot's
  DELETE of the old reaction and the REMOVE event that comes back, which must not withdraw anything).
* ``reconnect``: the bot restarts; before taking new events it reads every reaction back
  (paginated) and reconciles; nothing may change (every ballot is already stored).
* ``close``: the poll closes; the bot reads every reaction back (paginated, 100 users a page),
  reconciles, tallies and posts the results. The tally must equal the voters.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app import FilmClubBot  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.domain.awards import KEYCAPS  # noqa: E402
from db import awards as repo  # noqa: E402
from tests.fakediscord.clock import FakeClock  # noqa: E402
from tests.fakediscord.server import FakeDiscord  # noqa: E402


async def wait_for(predicate: Any, timeout: float, step: float = 0.02) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise TimeoutError("benchmark condition not reached")


async def run(voters: int, changes: int, nominees: int, db: str | None = None) -> dict[str, float]:
    """``db``: an empty PostgreSQL database's URL (the bot migrates it); None: an SQLite file in a temp folder."""
    clock = FakeClock()
    fake = FakeDiscord()
    fake.clock = clock
    clock.settle_hooks.append(fake.settle)
    await fake.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-votes-")
    try:
        g = fake.standard_guild()
        polls = fake.create_channel(g.guild, "polls")
        config = Config(token=fake.token, db_path=Path(tmp.name) / "club.db", dev_guild=int(g.guild.id),
                        log_level="WARNING", db_url=db)
        # Only the cogs the poll needs, so other features' startup does not blur the figures.
        bot = FilmClubBot(config, clock=clock, extensions=("cogs.admin", "cogs.schedule", "cogs.awards"))
        await fake.run_bot(bot, wait_commands=True, timeout=30)
        await bot.settings.update(int(g.guild.id), bot.now_ts(), polls_channel_id=int(polls.id), timezone="UTC")
        names = "; ".join(f"Snack {i + 1}" for i in range(nominees))
        handle = await fake.slash(g.admin, g.general, "award open", category="Benchmark Bites", nominees=names,
                                  closes="in 1 hour")
        reply = await handle.reply()
        await fake.settle()
        poll_id = int(reply.content.split("#", 1)[1].split(" ", 1)[0])
        message = fake.bot_messages(polls)[-1]
        members = [fake.add_member(g.guild, f"voter{i}", [g.member_role]) for i in range(voters)]
        store = bot.store

        async def stored() -> int:
            return await repo.count_ballots(store, poll_id)

        # ---- ingest: one reaction per voter, pushed as fast as the fake delivers
        start = time.perf_counter()
        for i, member in enumerate(members):
            await fake.react(member, message, KEYCAPS[i % nominees], settle=False)
        pushed = time.perf_counter() - start

        async def all_in() -> bool:
            return await stored() >= voters

        await wait_for(all_in, timeout=600)
        ingest = time.perf_counter() - start
        await fake.settle()
        in_db = await stored()

        # ---- changes of mind: the bot removes each old reaction; its REMOVE event must not withdraw
        change_rate = 0.0
        if changes:
            start = time.perf_counter()
            for i, member in enumerate(members[:changes]):
                await fake.react(member, message, KEYCAPS[(i + 1) % nominees], settle=False)

            async def changed() -> bool:
                rows = await repo.ballots(store, poll_id)
                return all(rows[m.id].choice == (i + 1) % nominees and rows[m.id].seen == 1 << ((i + 1) % nominees)
                           for i, m in enumerate(members[:changes]))

            await wait_for(changed, timeout=600, step=0.1)
            change_rate = changes / (time.perf_counter() - start)
            await fake.settle(timeout=60)
        after_changes = await stored()

        writer_commits = bot.awards.writer.commits
        # ---- reconnect: a restart reconciles the open poll with every reaction before taking new events
        await fake.stop_bot(bot)
        start = time.perf_counter()
        bot = FilmClubBot(config, clock=clock, extensions=("cogs.admin", "cogs.schedule", "cogs.awards"))
        await fake.run_bot(bot, timeout=30)
        cog: Any = bot.awards

        async def caught_up() -> bool:
            task = cog._catchup_task
            return task is not None and task.done() and not cog._gates

        await wait_for(caught_up, timeout=600)
        reconnect_time = time.perf_counter() - start
        store = bot.store
        after_reconnect = await stored()

        # ---- close: reconcile against every reaction, tally, post
        start = time.perf_counter()
        await clock.advance(3600 + 1)

        async def closed() -> bool:
            poll = await repo.get(store, poll_id)
            return poll is not None and poll.results_message_id is not None

        await wait_for(closed, timeout=600)
        close_time = time.perf_counter() - start
        poll = await repo.get(store, poll_id)
        assert poll is not None and poll.counts is not None
        commits = writer_commits + cog.writer.commits
        await fake.stop_bot(bot)
        return {
            "commits": commits,
            "voters": voters,
            "pushed_s": pushed,
            "ingest_s": ingest,
            "votes_per_s": voters / ingest,
            "ballots_in_db": in_db,
            "lost": voters - in_db,
            "changes": changes,
            "changes_per_s": change_rate,
            "ballots_after_changes": after_changes,
            "reconnect_s": reconnect_time,
            "ballots_after_reconnect": after_reconnect,
            "close_s": close_time,
            "tally_ballots": float(poll.ballots or 0),
        }
    finally:
        await fake.stop()
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--nominees", type=int, default=5)
    parser.add_argument("--db", help="an empty PostgreSQL database's URL (default: an SQLite file)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(run(args.voters, args.changes, args.nominees, args.db))
    print(f"voters                 {r['voters']:.0f}")
    print(f"events pushed in       {r['pushed_s']:.2f} s")
    print(f"all ballots stored in  {r['ingest_s']:.2f} s  ->  {r['votes_per_s']:.0f} votes/s")
    print(f"ballots in DB          {r['ballots_in_db']:.0f}  (lost: {r['lost']:.0f})")
    print(f"ballot commits         {r['commits']:.0f} (group commit; whole run)")
    if r["changes"]:
        print(f"changes of mind        {r['changes']:.0f} at {r['changes_per_s']:.0f}/s "
              f"(ballots after: {r['ballots_after_changes']:.0f})")
    print(f"restart + catch-up     {r['reconnect_s']:.2f} s (ballots after: {r['ballots_after_reconnect']:.0f})")
    print(f"close (reconcile+post) {r['close_s']:.2f} s; tally counted {r['tally_ballots']:.0f} ballots")
    ok = (
        r["lost"] == 0 and r["tally_ballots"] == r["voters"] and r["ballots_after_changes"] == r["voters"]
        and r["ballots_after_reconnect"] == r["voters"]
    )
    print("OK" if ok else "VOTES LOST")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
