"""Bulk jobs under Discord's rate limits (issue 17): REST calls and 429s, exact counts, against the strict fake.

The fake Discord enforces per-route buckets and the global limit of 50 requests per second by default
(tests/fakediscord/README.md); the bot paces itself (bot/pacing.py). Each job runs the real FilmClubBot
in-process on a fake clock and counts every REST call it made and every 429 it got:

* **poll numbers**: ``/award open`` with 10 nominees (the post and its 10 number reactions, 1 per 0.25 s);
* **reminder to N Going** (default 500, 5 % with closed DMs), by DM, two rounds (1 h and 10 min before): no
  user fetch, each DM opened once from the member's id, closed DMs tried once in all;
* **newsletter publishing**: the Publish button of a drafted newsletter;
* **anniversaries**: 10 memorials whose anniversaries fall on the same day, in one channel;
* **theme repost**: ``/theme repost`` (post and pin the shelf again);
* **restart at S servers with open polls** (default 1,000 servers, 5 open polls each): ``bench_scale``'s
  seeded world and a real ``python -m bot`` process, restarted; the catch-up's REST calls and 429s.

Run:  .venv/bin/python -m bench.bench_bulk [--going 500] [--servers 1000] [--json]
(or ``python -m bench --only bulk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.conftest import Club, _build
from tests.fakediscord.clock import FakeClock
from tests.fakediscord.core import RestCall
from tests.fakediscord.server import FakeDiscord

Row = dict[str, Any]
SCREENING = datetime(2026, 1, 6, 20, 0, tzinfo=UTC)  # "tomorrow 8pm" from the fake clock's start


def summary(job: str, calls: list[RestCall], seconds: float, **extra: Any) -> Row:
    return {
        "job": job,
        "rest_calls": len(calls),
        "rate_limited": sum(1 for c in calls if c.status == 429),
        "interaction_calls": sum(1 for c in calls if not c.authorized or "/interactions/" in c.path
                                 or c.path.startswith("/webhooks/")),
        "seconds": round(seconds, 2),
        **extra,
    }


async def measure(fake: FakeDiscord, job: Callable[[], Awaitable[None]]) -> tuple[list[RestCall], float]:
    before, start = len(fake.rest_log), time.perf_counter()
    await job()
    await fake.settle()
    return fake.rest_log[before:], time.perf_counter() - start


async def with_club(work: Callable[[Club], Awaitable[list[Row]]]) -> list[Row]:
    clock = FakeClock()
    fake = FakeDiscord(clock=clock)
    await fake.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
            club = await _build(fake, clock, Path(tmp))
            try:
                return await work(club)
            finally:
                for bot in club.bots:
                    await fake.stop_bot(bot)
    finally:
        await fake.stop()


async def poll_numbers(club: Club) -> list[Row]:
    fake = club.fake
    nominees = "; ".join(f"Snack {i + 1}" for i in range(10))

    async def job() -> None:
        h = await fake.slash(club.mod, club.g.general, "award open", category="Bench Bites", nominees=nominees,
                             closes="in 2 hours")
        await h.reply(timeout=30)

    calls, seconds = await measure(fake, job)
    reactions = sum(1 for c in calls if c.method == "PUT" and "/reactions/" in c.path and c.status == 204)
    return [summary("number reactions on a 10-nominee poll", calls, seconds, reactions=reactions)]


async def reminder(club: Club, going: int) -> list[Row]:
    fake, g = club.fake, club.g
    await club.bot.settings.update(club.guild_id, club.bot.now_ts(), reminder_offsets="1d,1h")
    h = await fake.slash(g.admin, g.general, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    await h.reply(timeout=60)
    [ann] = [m for m in fake.bot_messages(g.screenings) if m.embeds]
    members = [fake.add_member(g.guild, f"fan{i}", [g.member_role], dms_closed=i % 20 == 0) for i in range(going)]
    closed = {m.user.id for m in members if m.user.dms_closed}
    for member in members:
        await (await fake.slash(member, g.general, "remind me", offsets="1h,10m", via="dm")).reply(timeout=60)
        await (await fake.click(member, ann, "Going")).reply(timeout=60)
    open_dms = [m for m in members if m.user.id not in closed]

    def reminded(times: int) -> bool:
        return all(len(fake.bot_messages(fake.dm_channel(m))) >= times for m in open_dms)

    rows = []
    for times, when in ((1, SCREENING - timedelta(minutes=30)), (2, SCREENING - timedelta(minutes=5))):
        async def job(when: datetime = when, times: int = times) -> None:
            await club.clock.advance_to(when)
            await fake.wait_until(lambda: reminded(times), 600, "every DM reminder")

        calls, seconds = await measure(fake, job)
        dm_ids = {fake.dm_channel(m).id for m in members}
        rows.append(summary(
            f"reminder to {going} Going by DM ({len(closed)} closed), round {times}", calls, seconds,
            user_fetches=sum(1 for c in calls if c.method == "GET" and c.path.startswith("/users/")
                             and c.path != "/users/@me"),
            dm_opens=sum(1 for c in calls if c.method == "POST" and c.path == "/users/@me/channels"),
            dm_sends=sum(1 for c in calls if c.method == "POST" and c.path.startswith("/channels/")
                         and c.path.endswith("/messages") and int(c.path.split("/")[2]) in dm_ids),
            closed_dm_attempts=sum(1 for c in calls if c.status == 403),
        ))
    return rows


async def newsletter(club: Club) -> list[Row]:
    from tests.e2e import test_newsletter as nl

    await nl.her_club(club)
    await club.clock.advance_to(nl.HER_END + timedelta(seconds=5))
    for who, thumbs in ((club.g.alice, 5), (club.g.bob, 4), (club.g.carol, 3)):
        h = await club.fake.slash(who, club.g.general, "verdict", film="her-2013")
        await h.wait_modal(timeout=60)
        done = await club.fake.submit_modal(who, h, {"Thumbs (1 to 5)": [str(thumbs)], "Your take": "A take."})
        await done.reply(timeout=60)
    preview = await (await club.fake.slash(club.mod, club.g.general, "newsletter draft")).reply(timeout=120)

    async def job() -> None:
        await (await club.fake.click(club.mod, preview, "Publish")).reply(timeout=60)

    calls, seconds = await measure(club.fake, job)
    return [summary("newsletter publishing (Publish button)", calls, seconds)]


async def anniversaries(club: Club, count: int = 10) -> list[Row]:
    fake = club.fake
    for i in range(count):
        author = fake.add_member(club.g.guild, f"owner{i}", [club.g.member_role])
        h = await fake.slash(author, club.g.general, "basil memorial", name=f"Pet {i}", passed="6 January 2025")
        await h.wait_modal()
        await (await fake.submit_modal(author, h, {"Their story": "Sat on every remote."})).reply(timeout=30)

    async def job() -> None:
        await club.clock.advance_to(datetime(2026, 1, 7, tzinfo=UTC))
        await fake.wait_until(lambda: sum("crossed" in m.content for m in fake.messages_in(club.basil)) >= count,
                              120, "every anniversary")

    calls, seconds = await measure(fake, job)
    return [summary(f"anniversaries: {count} on one day in one channel", calls, seconds)]


async def theme(club: Club) -> list[Row]:
    fake, g = club.fake, club.g
    await (await fake.slash(g.admin, g.general, "theme set", title="Robots with feelings",
                            films="Her (2013); Ex Machina; WALL·E")).reply(timeout=60)

    async def job() -> None:
        await (await fake.slash(g.admin, g.general, "theme repost")).reply(timeout=30)

    calls, seconds = await measure(fake, job)
    return [summary("theme repost", calls, seconds)]


async def restart(servers: int) -> Row:
    from bench import bench_scale

    r = await bench_scale.run(servers)
    again = r["restart"]
    limited = sum(count for key, count in again["rest"].items() if key.endswith(" 429"))
    polls = r["rows"]["polls"]
    return {
        "job": f"restart at {servers:,} servers with {polls:,} open polls (catch-up)",
        "rest_calls": again["rest_calls"], "rate_limited": limited, "interaction_calls": 0,
        "seconds": round(again["settled_s"], 1), "open_polls": polls,
    }


async def run(going: int = 500, servers: int = 1000) -> list[Row]:
    rows: list[Row] = []
    rows += await with_club(poll_numbers)
    rows += await with_club(lambda club: reminder(club, going))
    rows += await with_club(newsletter)
    rows += await with_club(anniversaries)
    rows += await with_club(theme)
    if servers:
        rows.append(await restart(servers))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| job | REST calls | 429s | seconds | details |", "|---|---|---|---|---|"]
    for r in rows:
        details = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r.items()
                            if k not in ("job", "rest_calls", "rate_limited", "seconds"))
        lines.append(f"| {r['job']} | {r['rest_calls']:,} | {r['rate_limited']} | {r['seconds']} | {details} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--going", type=int, default=500)
    parser.add_argument("--servers", type=int, default=1000, help="0 skips the restart job")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows = asyncio.run(run(args.going, args.servers))
    print(json.dumps(rows) if args.json else table(rows))


if __name__ == "__main__":
    main()
