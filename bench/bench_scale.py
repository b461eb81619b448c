"""Scale (issue 11): 1,000 servers, each with 10 screenings, 5 open polls and 20 memorials.

The database is seeded through the repositories (settings, screenings with RSVPs, polls with ballots,
approved memorials with their cards, and the scheduled posts those features queue: poll closes, screening
reminders and starts, memorial anniversaries). The fake Discord runs in a child process with 1,000 servers
in READY, holding the messages the database points at. Then the real bot process (``python -m bot``) starts
twice against it:

* **first start** on the freshly seeded database (every announcement is rendered once and compared);
* **restart** (the usual case: SIGTERM, start again).

For each: time from spawn to ``on_ready`` (the "ready as ... in 1000 servers" log line), time until the
startup work after ready is done (no REST call for 2 s), resident memory (VmRSS from /proc) at ready and
once settled, the peak (VmHWM), and REST calls made. DB size = file + WAL after a clean shutdown.

Run:  .venv/bin/python -m bench.bench_scale [--guilds 1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pgserver import backend_name, database_bytes
from bench.remote_fake import RemoteFake
from bot.domain.awards import KEYCAPS, Ballot
from bot.domain.basil import anniversary_key
from db import awards as awards_repo
from db import basil as basil_repo
from db import make_store
from db import scheduled_posts as posts_repo
from db import screenings as screenings_repo
from db.migrate import migrate
from db.settings import SettingsRepo

ROOT = Path(__file__).resolve().parents[1]
SITECUSTOMIZE = ROOT / "tests" / "fakediscord" / "_sitecustomize"
VOTERS = 20  # ballots (and reactions) per poll


async def seed(db: str | Path, guilds: list[dict[str, Any]], messages: list[list[int]], voters: list[int], *,
               screenings: int, polls: int, memorials: int) -> dict[str, int]:
    """Seed ``db`` (an SQLite file or a PostgreSQL URL) through the repositories."""
    store = make_store(db)
    await store.open()
    try:
        await migrate(store)
        settings = SettingsRepo(store)
        now = int(time.time())
        rows = {"screenings": 0, "polls": 0, "memorials": 0, "posts": 0}
        for gi, g in enumerate(guilds):
            gid = int(g["id"])
            screening_ch, polls_ch, basil_ch = (int(c) for c in g["channels"][:3])
            screening_msgs, poll_msgs, card_msgs = messages[3 * gi: 3 * gi + 3]
            await settings.update(gid, now, announcements_channel_id=screening_ch, screenings_channel_id=screening_ch,
                                  polls_channel_id=polls_ch, basil_channel_id=basil_ch, timezone="Europe/London")
            async with store.transaction() as tx:
                for i in range(screenings):
                    starts = now + 86400 * (i + 1) + 3600 * (gi % 24)
                    s = await screenings_repo.create_screening(
                        tx, guild_id=gid, film_key=f"film-{i}", title=f"Film {i}", year=2000 + i, runtime=110,
                        starts_at=starts, channel_id=screening_ch, created_by=1, now=now, location="Screening Room",
                    )
                    await screenings_repo.set_message(tx, s.id, screening_msgs[i], now)
                    for u in range(5):
                        await screenings_repo.set_rsvp(tx, s.id, 700 + u, "going", now)
                    for kind, offset in (("screening.reminder", 3600), ("screening.start", 0)):
                        await posts_repo.insert(
                            tx, guild_id=gid, kind=kind, key=f"screening:{s.id}:{kind}@{starts - offset}",
                            due_at=starts - offset, now=now, channel_id=screening_ch,
                            payload={"screening_id": s.id, "offset": offset},
                        )
                        rows["posts"] += 1
                    rows["screenings"] += 1
                for i in range(polls):
                    poll = await awards_repo.create_poll(
                        tx, guild_id=gid, channel_id=polls_ch, category=f"Best Snack {i}",
                        nominees=("Popcorn", "Nachos", "Pretzels", "Licorice", "Chocolate"), film_title=None,
                        film_key=None, show_counts=False, opened_by=1, now=now, closes_at=now + 86400 * (i + 3),
                    )
                    await awards_repo.set_message(tx, poll.id, poll_msgs[i])
                    await awards_repo.save_ballots(
                        tx, {(poll.id, uid): (Ballot(u % 5, 1 << (u % 5)), now) for u, uid in enumerate(voters)}
                    )
                    await posts_repo.insert(
                        tx, guild_id=gid, kind="award.close", key=f"award:{poll.id}:close", due_at=poll.closes_at,
                        now=now, channel_id=polls_ch, payload={"poll_id": poll.id},
                    )
                    rows["polls"] += 1
                    rows["posts"] += 1
                for i in range(memorials):
                    m = await basil_repo.create(
                        tx, guild_id=gid, name=f"Pet {i}", name_key=f"pet {i}", species="cat",
                        born=date(2005, 1 + i % 12, 1 + i), passed=date(2020, 1 + i % 12, 1 + i),
                        story="Sat on every remote control in the house and purred through the credits.",
                        author_id=900 + i, status="approved", anniversaries=True, now=now,
                    )
                    assert m is not None
                    await basil_repo.set_card(tx, m.id, channel_id=basil_ch, message_id=card_msgs[i], thread_id=None)
                    day = date(2026, 1 + i % 12, 1 + i)
                    day = day if day > date.today() else day.replace(year=day.year + 1)
                    due = int(time.mktime(day.timetuple())) + 10 * 3600
                    await posts_repo.insert(
                        tx, guild_id=gid, kind="basil.anniversary", key=anniversary_key(m.id, day.year),
                        due_at=due, now=now, channel_id=basil_ch, payload={"memorial_id": m.id, "year": day.year},
                    )
                    rows["memorials"] += 1
                    rows["posts"] += 1
        return rows
    finally:
        await store.close()


def rss_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def spawn_bot(fake: RemoteFake, db: str | Path, log_path: Path, *, env: dict[str, str] | None = None,
              profile: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m bot`` against the fake on ``db`` (an SQLite file or a PostgreSQL URL), its output
    appended to ``log_path``; ``env`` adds variables (``FILMCLUB_SHARDS`` for a cluster)."""
    full = dict(os.environ)
    full.update({
        "PYTHONPATH": os.pathsep.join([str(SITECUSTOMIZE), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "FAKEDISCORD_API": fake.info["api"],
        "FAKEDISCORD_GATEWAY": fake.info["gateway"],
        "FAKEDISCORD_GUILD_READY_TIMEOUT": "0.1",
        "DISCORD_TOKEN": fake.info["token"],
        "FILMCLUB_DB": str(db),
        "LOG_LEVEL": "INFO",
    })
    full.pop("FILMCLUB_DEV_GUILD", None)
    full.pop("FILMCLUB_SHARDS", None)
    full.update(env or {})
    argv = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else []), "-m", "bot"]
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, cwd=str(ROOT), env=full, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


async def wait_ready(proc: subprocess.Popen[bytes], log_path: Path, since: int, deadline: float) -> None:
    """Wait for the bot's ``ready as`` log line (written after byte ``since`` of its log)."""
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"bot exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if time.perf_counter() > deadline:
            raise TimeoutError("bot not ready in time")
        with open(log_path, "rb") as log:
            log.seek(since)
            if b"ready as" in log.read():
                return
        await asyncio.sleep(0.05)


async def wait_quiet(fake: RemoteFake, deadline: float, quiet: float = 2.0) -> tuple[float, int]:
    """Startup work after ready (poll catch-up, announcement checks, posts due): wait for ``quiet`` seconds
    without a REST call at the fake; (perf_counter time of the last call seen, REST calls so far)."""
    last, quiet_since = -1, time.perf_counter()
    while time.perf_counter() - quiet_since < quiet and time.perf_counter() < deadline:
        count = await fake.request({"op": "rest_count"})
        if count != last:
            last, quiet_since = count, time.perf_counter()
        await asyncio.sleep(0.2)
    return quiet_since, last


def stop_bot(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL after 30 s; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return proc.returncode


async def start_bot(fake: RemoteFake, db: str | Path, log_path: Path, profile: Path | None = None
                    ) -> dict[str, Any]:
    """Spawn ``python -m bot``, time it to ready and to quiet, read its memory; SIGTERM it."""
    rest_before = await fake.request({"op": "rest_count"})
    since = log_path.stat().st_size if log_path.exists() else 0
    t0 = time.perf_counter()
    proc = spawn_bot(fake, db, log_path, profile=profile)
    try:
        deadline = t0 + 900
        await wait_ready(proc, log_path, since, deadline)
        ready_s = time.perf_counter() - t0
        at_ready = rss_kb(proc.pid)
        quiet_since, last = await wait_quiet(fake, deadline)
        settled_s = quiet_since - t0
        settled = rss_kb(proc.pid)
    finally:
        code = stop_bot(proc)
    return {
        "ready_s": ready_s, "settled_s": settled_s, "rss_ready_mb": at_ready.get("VmRSS", 0) / 1024,
        "rss_settled_mb": settled.get("VmRSS", 0) / 1024, "rss_peak_mb": settled.get("VmHWM", 0) / 1024,
        "rest_calls": last - rest_before, "exit": code,
        "rest": await fake.request({"op": "rest_summary", "since": rest_before}),
    }


async def build_world(fake: RemoteFake, *, screenings: int, polls: int, memorials: int) -> list[list[int]]:
    """The messages a seeded database points at, in the fake: per server, ``screenings`` announcements (first
    channel), ``polls`` poll posts with the bot's 5 number reactions and one per voter (second), ``memorials``
    cards (third). One list of message ids per (server, channel), in that order."""
    info = fake.info["guilds"]
    plan = []
    for g in info:
        plan += [[g["channels"][0], screenings], [g["channels"][1], polls], [g["channels"][2], memorials]]
    messages: list[list[int]] = await fake.request({"op": "create_messages_bulk", "plan": plan})
    voters = fake.info["voters"]
    items = []
    for gi, g in enumerate(info):
        for mid in messages[3 * gi + 1]:
            items += [[g["channels"][1], mid, KEYCAPS[i], ["bot"]] for i in range(5)]
            items += [[g["channels"][1], mid, KEYCAPS[u % 5], [uid]] for u, uid in enumerate(voters)]
    await fake.request({"op": "react_bulk", "items": items})
    return messages


async def db_megabytes(db: str | Path, folder: Path) -> float:
    """The database's size: the SQLite file plus its WAL, or PostgreSQL's ``pg_database_size``."""
    if isinstance(db, str):
        return await database_bytes(db) / 1024 / 1024
    return sum(p.stat().st_size for p in folder.glob(db.name + "*")) / 1024 / 1024


async def run(guilds: int = 1000, *, screenings: int = 10, polls: int = 5, memorials: int = 20,
              profile: Path | None = None, db: str | None = None) -> dict[str, Any]:
    """``db``: an empty PostgreSQL database's URL; None: an SQLite file in a temp folder."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        target: str | Path = db or Path(tmp) / "club.db"
        log_path = Path(tmp) / "bot.log"
        t0 = time.perf_counter()
        async with RemoteFake(guilds=guilds, channels=3, light=True, voters=VOTERS) as fake:
            world_s = time.perf_counter() - t0
            messages = await build_world(fake, screenings=screenings, polls=polls, memorials=memorials)
            t0 = time.perf_counter()
            seeded = await seed(target, fake.info["guilds"], messages, fake.info["voters"], screenings=screenings,
                                polls=polls, memorials=memorials)
            seed_s = time.perf_counter() - t0
            first = await start_bot(fake, target, log_path)
            second = await start_bot(fake, target, log_path, profile)
        db_mb = await db_megabytes(target, Path(tmp))
        log_text = log_path.read_text(errors="replace")
    errors = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line]
    return {
        "guilds": guilds, "per_guild": {"screenings": screenings, "polls": polls, "memorials": memorials},
        "backend": backend_name(db), "rows": seeded, "world_s": world_s, "seed_s": seed_s, "first": first,
        "restart": second, "db_mb": db_mb, "errors": errors[:10],
    }


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    first, again = r["first"], r["restart"]
    g = f"{r['guilds']:,} servers"
    return [
        {"bench": "scale", "measure": f"{g}: start to ready (restart / first start)",
         "figure": f"{again['ready_s']:.1f} s / {first['ready_s']:.1f} s", "target": "—", "met": None},
        {"bench": "scale", "measure": f"{g}: startup work done, no REST call for 2 s (restart / first start)",
         "figure": f"{again['settled_s']:.1f} s / {first['settled_s']:.1f} s "
                   f"({again['rest_calls']:,} / {first['rest_calls']:,} REST calls)", "target": "—", "met": None},
        {"bench": "scale", "measure": f"{g}: resident memory at ready / settled / peak (restart)",
         "figure": f"{again['rss_ready_mb']:.0f} / {again['rss_settled_mb']:.0f} / {again['rss_peak_mb']:.0f} MB",
         "target": "—", "met": None},
        {"bench": "scale", "measure": f"{g}: database size "
                                      f"({r['rows']['screenings']:,} screenings, {r['rows']['polls']:,} polls, "
                                      f"{r['rows']['memorials']:,} memorials, {r['rows']['posts']:,} scheduled posts)",
         "figure": f"{r['db_mb']:.1f} MB", "target": "—", "met": None},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", type=Path, help="run the restart under cProfile, stats to this file")
    parser.add_argument("--db", help="an empty PostgreSQL database's URL (default: an SQLite file)")
    args = parser.parse_args()
    r = asyncio.run(run(args.guilds, profile=args.profile, db=args.db))
    if args.json:
        print(json.dumps({"raw": r, "rows": rows(r)}))
        return
    print(json.dumps(r, indent=1))
    for row in rows(r):
        print(f"| {row['measure']} | {row['figure']} |")


if __name__ == "__main__":
    main()
