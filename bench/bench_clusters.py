"""Two clusters on one PostgreSQL (issue 20): 2,000 servers on two shards, run by two bot processes
(``FILMCLUB_SHARDS=0-0/2`` and ``1-1/2``), against one process running every server on the same data.

The fake Discord (a child process, ``--light --shards 2``) puts server i on shard i % 2 and hands each shard only
its own servers. One PostgreSQL database is seeded through the repositories as in ``bench_scale`` (fewer rows per
server by default: 1 screening, 1 open poll, 2 memorials, with their scheduled posts) and copied (``CREATE
DATABASE ... TEMPLATE``) for each run, so both start from the same rows. Each copy then gets one plain message post
per server, already due when the bots start (well inside its 15-minute grace window), so every post must go out
exactly once, by the cluster that owns its server.

For each run: spawn → ``ready as`` per process, startup work done (no REST call at the fake for 2 s, all due posts
sent), resident memory per process (VmRSS once settled, VmHWM peak, from ``/proc/<pid>/status``), REST calls and
429s at the fake, command syncs, due posts sent and duplicated.

Run:  .venv/bin/python -m bench.bench_clusters [--guilds 2000] [--json]
      (starts a throwaway PostgreSQL server, ``tests/pg.py``; ``--admin URL`` uses a running one instead)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_scale import VOTERS, build_world, rss_kb, seed, spawn_bot, stop_bot, wait_quiet, wait_ready
from bench.pgserver import fresh_database
from bench.remote_fake import RemoteFake
from bot.domain import posts as post_kinds
from db import make_store
from db import scheduled_posts as posts_repo

SHARDS = 2
#: The two runs: a name and the FILMCLUB_SHARDS of each of its processes (None: one process, every shard).
SETUPS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("two clusters", ("0-0/2", "1-1/2")),
    ("one process", (None,)),
)


async def queue_due_posts(db: str, guilds: list[dict[str, Any]], tag: str, channel: int) -> int:
    """One plain message post per server, due now, in its channel number ``channel``; content ``"<tag> <server
    id>"``. Each run uses its own channel: the copies give the posts the same row ids, hence the same nonces,
    and Discord (and the fake) answer a repeated nonce in a channel with the earlier message instead of a new one.
    """
    store = make_store(db)
    await store.open()
    try:
        now = int(time.time())
        async with store.transaction() as tx:
            for g in guilds:
                await posts_repo.insert(
                    tx, guild_id=int(g["id"]), kind=post_kinds.MESSAGE, key=f"bench-due:{tag}:{g['id']}", due_at=now,
                    now=now, channel_id=int(g["channels"][channel]), payload={"content": f"{tag} {g['id']}"},
                )
        return len(guilds)
    finally:
        await store.close()


async def run_setup(fake: RemoteFake, db: str, folder: Path, name: str, shards: tuple[str | None, ...],
                    tag: str, expected: int) -> dict[str, Any]:
    """Start the processes of one setup together, wait for ready and for quiet, read memory, count posts."""
    rest_before = await fake.request({"op": "rest_count"})
    syncs_before = await fake.request({"op": "command_syncs"})
    logs = [folder / f"{tag}-{i}.log" for i in range(len(shards))]
    t0 = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for spec, log in zip(shards, logs, strict=True):
            procs.append(spawn_bot(fake, db, log, env={"FILMCLUB_SHARDS": spec} if spec else None))
        deadline = t0 + 1800

        async def ready(i: int) -> float:
            await wait_ready(procs[i], logs[i], 0, deadline)
            return time.perf_counter() - t0

        ready_s = await asyncio.gather(*(ready(i) for i in range(len(procs))))
        at_ready = [rss_kb(p.pid) for p in procs]
        print(f"[clusters] {name}: ready after {', '.join(f'{s:.1f}' for s in ready_s)} s", file=sys.stderr,
              flush=True)
        sent: list[str] = []
        patience = time.perf_counter() + 120
        while True:  # quiet at the fake, and every due post out (or two more minutes)
            quiet_since, _ = await wait_quiet(fake, deadline)
            sent = await fake.request({"op": "contents_with_prefix", "prefix": f"{tag} "})
            if len(set(sent)) >= expected or time.perf_counter() > min(deadline, patience):
                break
            print(f"[clusters] {name}: quiet, but {len(set(sent))} of {expected} due posts sent; waiting",
                  file=sys.stderr, flush=True)
        settled_s = quiet_since - t0
        await asyncio.sleep(2.0)  # a late duplicate would show up here
        sent = await fake.request({"op": "contents_with_prefix", "prefix": f"{tag} "})
        settled = [rss_kb(p.pid) for p in procs]
    finally:
        codes = [stop_bot(p) for p in procs]
    rest = await fake.request({"op": "rest_summary", "since": rest_before})
    processes = []
    for i, (spec, log) in enumerate(zip(shards, logs, strict=True)):
        text = log.read_text(errors="replace")
        found = re.search(r"ready as .*? in (\d+) servers", text)
        processes.append({
            "shards": spec or "every shard", "ready_s": ready_s[i], "servers": int(found.group(1)) if found else 0,
            "rss_ready_mb": at_ready[i].get("VmRSS", 0) / 1024, "rss_settled_mb": settled[i].get("VmRSS", 0) / 1024,
            "rss_peak_mb": settled[i].get("VmHWM", 0) / 1024, "exit": codes[i],
            "errors": [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line][:5],
        })
    return {
        "name": name, "processes": processes, "settled_s": settled_s,
        "rest_calls": sum(rest.values()),
        "rate_limited": sum(n for key, n in rest.items() if key.endswith(" 429")),
        "command_syncs": await fake.request({"op": "command_syncs"}) - syncs_before,
        "due": expected, "sent": len(set(sent)), "duplicates": len(sent) - len(set(sent)),
    }


async def run(guilds: int, admin_url: str, *, screenings: int = 1, polls: int = 1, memorials: int = 2,
              setups: tuple[tuple[str, tuple[str | None, ...]], ...] = SETUPS) -> dict[str, Any]:
    """Both setups at ``guilds`` servers on the PostgreSQL server at ``admin_url``."""
    with tempfile.TemporaryDirectory(prefix="bench-clusters-") as tmp:
        async with RemoteFake(guilds=guilds, channels=3, light=True, voters=VOTERS, shards=SHARDS) as fake:
            info = fake.info["guilds"]
            messages = await build_world(fake, screenings=screenings, polls=polls, memorials=memorials)
            base = await fresh_database(admin_url, "bench_clusters_seed")
            t0 = time.perf_counter()
            seeded = await seed(base, info, messages, fake.info["voters"], screenings=screenings, polls=polls,
                                memorials=memorials)
            seed_s = time.perf_counter() - t0
            results = []
            for i, (name, shards) in enumerate(setups):
                db = await fresh_database(admin_url, f"bench_clusters_{i}", template="bench_clusters_seed")
                tag = f"due-{i}"
                expected = await queue_due_posts(db, info, tag, channel=i)
                results.append(await run_setup(fake, db, Path(tmp), name, shards, tag, expected))
    return {"guilds": guilds, "per_guild": {"screenings": screenings, "polls": polls, "memorials": memorials},
            "rows": seeded, "seed_s": seed_s, "setups": results}


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    two, one = (next(s for s in r["setups"] if s["name"] == name) for name, _ in SETUPS)
    g = f"{r['guilds']:,} servers"
    per = r["per_guild"]
    what = (f"{g} ({per['screenings']} screening, {per['polls']} open poll, {per['memorials']} memorials and "
            "1 post due now per server), PostgreSQL")
    procs = two["processes"]
    alone = one["processes"][0]
    return [
        {"bench": "clusters", "measure": f"{what}: spawn → ready, per cluster (servers) / one process",
         "figure": " · ".join(f"cluster {p['shards']}: {p['ready_s']:.1f} s ({p['servers']:,})" for p in procs)
                   + f" / {alone['ready_s']:.1f} s ({alone['servers']:,})", "target": "—", "met": None},
        {"bench": "clusters", "measure": f"{g}: startup work done, no REST call for 2 s (two clusters / one process)",
         "figure": f"{two['settled_s']:.1f} s / {one['settled_s']:.1f} s", "target": "—", "met": None},
        {"bench": "clusters", "measure": f"{g}: resident memory settled / peak, per process",
         "figure": " · ".join(f"cluster {p['shards']}: {p['rss_settled_mb']:.0f} / {p['rss_peak_mb']:.0f} MB"
                              for p in procs)
                   + f" / one process: {alone['rss_settled_mb']:.0f} / {alone['rss_peak_mb']:.0f} MB",
         "target": "—", "met": None},
        {"bench": "clusters", "measure": f"{g}: REST calls / 429s (two clusters · one process)",
         "figure": f"{two['rest_calls']:,} / {two['rate_limited']:,} · {one['rest_calls']:,} / {one['rate_limited']:,}",
         "target": "0 429s", "met": two["rate_limited"] == 0 and one["rate_limited"] == 0},
        {"bench": "clusters", "measure": f"{g}: command syncs (two clusters · one process)",
         "figure": f"{two['command_syncs']} · {one['command_syncs']}", "target": "1 · 1",
         "met": two["command_syncs"] == 1 and one["command_syncs"] == 1},
        {"bench": "clusters", "measure": f"{g}: posts due now, sent / duplicates (two clusters · one process)",
         "figure": f"{two['sent']:,} of {two['due']:,} / {two['duplicates']} · "
                   f"{one['sent']:,} of {one['due']:,} / {one['duplicates']}",
         "target": "all / 0", "met": all(s["sent"] == s["due"] and s["duplicates"] == 0 for s in (two, one))},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guilds", type=int, default=2000)
    parser.add_argument("--admin", help="a PostgreSQL server's admin URL (default: start a throwaway one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.admin:
        admin = args.admin
    else:
        from bench.pgserver import start

        admin = start()
    r = asyncio.run(run(args.guilds, admin))
    if args.json:
        print(json.dumps({"raw": r, "rows": rows(r)}))
        return
    print(json.dumps(r, indent=1))
    for row in rows(r):
        print(f"| {row['measure']} | {row['figure']} | {row['target']} |")


if __name__ == "__main__":
    main()
