"""Worst inputs benchmark (not a test): the longest event-loop block each hostile command causes.

Run from the repository root::

    .venv/bin/python -m bench.bench_abuse

The real FilmClubBot runs in-process against the fake Discord. A ticker task sleeps 1 ms at a time and records
the longest gap between its wake-ups while each scenario runs to its answer: that gap is the longest time
nothing else (another server's interaction, a heartbeat) could run. The fake shares the loop, so its own work
(serving a 2 MB upload, say) counts too: the figures are an upper bound for the bot alone.

Scenarios (the inputs of issue 23):

* ``newsletter draft`` with a server pack of 1,920 questions shaped like ``How many … did did … Her!?``;
* ten ``letterboxd import`` at once of a 2 MB ``watched.csv`` of 419,000 one-letter rows;
* ``letterboxd import`` of a valid 10,000-film file where no film is in the catalogue (the longest reply);
* ``trivia start`` with a server pack of 2,000 look-alike questions;
* ``award close`` of a 10-nominee poll (the results chart), ``spreadsheet view`` (the picture),
  ``ratings board`` (the chart).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app import FilmClubBot  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.fakediscord.clock import FakeClock  # noqa: E402
from tests.fakediscord.server import FakeDiscord  # noqa: E402

TARGET_MS = 50.0


class Ticker:
    """Measures the longest gap between 1 ms sleeps while it runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.001)
            last = now

    async def measure(self, work: Callable[[], Awaitable[Any]]) -> float:
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.01)
        try:
            await work()
        finally:
            self._task.cancel()
        return self.worst * 1000


async def run() -> list[dict[str, Any]]:
    clock = FakeClock()
    fake = FakeDiscord()
    fake.clock = clock
    clock.settle_hooks.append(fake.settle)
    await fake.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-abuse-")
    results: list[dict[str, Any]] = []
    try:
        g = fake.standard_guild("Film Club")
        config = Config(token=fake.token, db_path=Path(tmp.name) / "club.db", dev_guild=int(g.guild.id),
                        log_level="WARNING")
        bot = FilmClubBot(config, clock=clock)
        await fake.run_bot(bot, wait_commands=True, timeout=30)
        polls = fake.create_channel(g.guild, "polls")
        await bot.settings.update(int(g.guild.id), bot.now_ts(), polls_channel_id=int(polls.id),
                                  screenings_channel_id=int(g.screenings.id),
                                  announcements_channel_id=int(g.announcements.id), timezone="UTC")
        ticker = Ticker()

        async def answer(member: Any, command: str, timeout: float = 60, **options: Any) -> Any:
            handle = await fake.slash(member, g.general, command, **options)
            return await handle.reply(timeout=timeout)

        async def record(name: str, work: Callable[[], Awaitable[Any]]) -> None:
            # Garbage left by the previous scenario is collected first, so its pause is not charged to this one.
            gc.collect()
            worst = await ticker.measure(work)
            results.append({"scenario": name, "worst_block_ms": round(worst, 1)})
            print(f"{name}: longest block {worst:.1f} ms", file=sys.stderr)

        # Her is screened, so there is an installment to write a newsletter about.
        await answer(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
        middle = " ".join(["did"] * 240)
        async with bot.store.transaction() as tx:
            await tx.executemany(
                "INSERT INTO trivia_questions (guild_id, question_key, question, answers, added_by, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)",
                [(int(g.guild.id), f"q{n}", f"How many {n} {middle} Her!?", json.dumps(["12"]), 1)
                 for n in range(1920)],
            )
        await record("newsletter draft, 1,920 hostile questions", lambda: answer(g.admin, "newsletter draft",
                                                                              film="her-2013"))

        hostile = ("Date,Name,Year,Letterboxd URI\n" + ",a,,\n" * 419_000).encode()
        importers = [fake.add_member(g.guild, f"importer{i}", [g.member_role]) for i in range(10)]

        async def ten_imports() -> None:
            handles = [
                await fake.slash(m, g.general, "letterboxd import", file=fake.attachment("watched.csv", hostile))
                for m in importers
            ]
            await asyncio.gather(*(h.reply(timeout=60) for h in handles))

        await record("10 x letterboxd import, 2 MB of 419,000 one-letter rows", ten_imports)

        unmatched = "Date,Name,Year,Letterboxd URI\n" + "".join(
            f"2024-01-01,Unknown Film {n} {'x' * 60},1999,\n" for n in range(10_000)
        )
        await record("letterboxd import, 10,000 films none in the catalogue",
                     lambda: answer(g.alice, "letterboxd import",
                                    file=fake.attachment("watched.csv", unmatched.encode())))

        async with bot.store.transaction() as tx:
            await tx.execute("DELETE FROM trivia_questions WHERE guild_id = ?", (int(g.guild.id),))
            await tx.executemany(
                "INSERT INTO trivia_questions (guild_id, question_key, question, answers, added_by, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)",
                [(int(g.guild.id), f"s{n}", f"Which film is number {n}?", json.dumps([f"Film number {n}"]), 1)
                 for n in range(2000)],
            )

        async def trivia() -> None:
            await answer(g.bob, "trivia start", pack="server", rounds=1)
            await answer(g.bob, "trivia stop")

        await record("trivia start, server pack of 2,000 look-alike questions", trivia)

        nominees = "; ".join(f"Snack number {i + 1} with a long name" for i in range(10))
        opened = await answer(g.admin, "award open", category="Best Snacktor", nominees=nominees, closes="in 1 hour")
        poll_id = int(opened.content.split("#", 1)[1].split(" ", 1)[0])
        await record("award close, 10 nominees (results chart)", lambda: answer(g.admin, "award close", id=poll_id))
        await record("spreadsheet view (progress picture)", lambda: answer(g.alice, "spreadsheet view"))
        await record("ratings board (chart)", lambda: answer(g.alice, "ratings board"))
        await fake.stop_bot(bot)
    finally:
        await fake.stop()
        tmp.cleanup()
    return results


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"bench": "abuse", "measure": f"longest event-loop block: {r['scenario']}",
         "figure": f"{r['worst_block_ms']:.1f} ms", "target": f"< {TARGET_MS:.0f} ms",
         "met": r["worst_block_ms"] < TARGET_MS}
        for r in results
    ]


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    for row in rows(asyncio.run(run())):
        print(f"{row['measure']}: {row['figure']} ({'met' if row['met'] else 'MISSED'})")


if __name__ == "__main__":
    main()
