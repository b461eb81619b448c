"""``python -m bench`` (``./dev.sh bench``): run every benchmark and print one Markdown table.

Each benchmark runs in its own fresh Python process (so one's memory, patches and threads do not affect the
next), reports its figures as JSON, and this command turns them into rows: benchmark, measure, figure,
target, met. Progress goes to stderr, the table to stdout. ``--quick`` runs smaller sizes (a minute or two)
for a smoke test; the full run takes most of an hour on 2 vCPUs, because the 1,000-server restarts and the bulk
jobs are paced by Discord's rate limits, as they would be on Discord.

Benchmarks: interaction latency against a bare discord.py bot (``bench_latency``), vote ingest
(``bench_votes``), scheduler rebuild and burst (``bench_scheduler``), 1,000-server scale (``bench_scale``),
fake Discord gateway throughput (``bench_gateway``), the time parser (``bench_timeparse``), the longest
event-loop block under the worst inputs members can send (``bench_abuse``), drawing the ratings chart
(``bench_charts``), REST calls and 429s of the bulk jobs under the fake's rate limits (``bench_bulk``), and
the web pages and calendar feeds with 1,000 servers, with the bot's latency while every feed is polled
(``bench_web``), starting as one shard, two shards or two clusters (``bench_shards``), vote ingest,
scheduler rebuild and the 1,000-server restart on SQLite beside PostgreSQL (``backends``: the same
benchmarks given a ``db`` URL), and two clusters on one PostgreSQL at 2,000 servers against one process
(``bench_clusters``). The last two start a throwaway PostgreSQL server (``bench/pgserver.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
MARK = "@@BENCH-JSON "

Row = dict[str, Any]


def child(code: str, timeout: float = 900) -> Any:
    """Run ``code`` in a fresh interpreter at the repository root; it prints ``MARK + json`` last."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), env=env, capture_output=True, text=True,
                          timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    raise RuntimeError(f"benchmark failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def emit(expr: str) -> str:
    return f"import json\nprint({MARK!r} + json.dumps({expr}, default=str))"


# --------------------------------------------------------------------------- the benchmarks


def latency(quick: bool) -> list[Row]:
    count = 100 if quick else 500
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_latency import run, rows\n"
        f"r = asyncio.run(run({count}))\n" + emit("rows(r)")
    )
    return list(r)


def _db_code(admin: str | None, name: str) -> str:
    """Child code that sets ``db``: a fresh PostgreSQL database ``name`` on the server at ``admin``, or None
    (the benchmark's own SQLite file)."""
    if admin is None:
        return "db = None\n"
    return f"from bench.pgserver import fresh_database\ndb = asyncio.run(fresh_database({admin!r}, {name!r}))\n"


def run_votes(quick: bool, admin: str | None = None) -> dict[str, Any]:
    voters, changes = (2_000, 200) if quick else (10_000, 1_000)
    return dict(child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_votes import run\n" + _db_code(admin, "bench_votes")
        + f"r = asyncio.run(run({voters}, {changes}, 5, db))\n" + emit("r")
    ))


def votes_lost_ok(r: dict[str, Any]) -> bool:
    return bool(r["lost"] == 0 and r["tally_ballots"] == r["voters"] and r["ballots_after_changes"] == r["voters"])


def votes(quick: bool) -> list[Row]:
    r = run_votes(quick)
    return [
        {"bench": "votes", "measure": f"vote ingest, {r['voters']:,.0f} voters reacting: votes stored per second",
         "figure": f"{r['votes_per_s']:,.0f} votes/s (all stored in {r['ingest_s']:.2f} s)", "target": "—",
         "met": None},
        {"bench": "votes", "measure": "votes lost (ingest, changes of mind, tally at close)",
         "figure": f"{r['lost']:.0f} lost; tally {r['tally_ballots']:,.0f} of {r['voters']:,.0f}; "
                   f"{r['changes']:,.0f} changes at {r['changes_per_s']:,.0f}/s; close {r['close_s']:.2f} s",
         "target": "0 lost", "met": votes_lost_ok(r)},
    ]


def scheduler(quick: bool) -> list[Row]:
    pending, burst = (2_000, 200) if quick else (10_000, 1_000)
    r = child(
        "import asyncio, logging, tempfile\nfrom pathlib import Path\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_scheduler import bench_rebuild, bench_burst\n"
        "async def main():\n"
        "    with tempfile.TemporaryDirectory() as tmp:\n"
        f"        return await bench_rebuild({pending}, Path(tmp)), await bench_burst({burst}, Path(tmp))\n"
        "r = asyncio.run(main())\n" + emit("r")
    )
    rebuild, b = r
    return [
        {"bench": "scheduler", "measure": f"startup rebuild of {rebuild['pending']:,.0f} pending posts",
         "figure": f"{rebuild['rebuild_s']:.3f} s", "target": "< 2 s", "met": rebuild["rebuild_s"] < 2},
        {"bench": "scheduler",
         "measure": f"{b['burst']:,.0f} posts due in the same second ({b['servers']:.0f} servers × "
                    f"{b['channels']:.0f} channels): timer lateness, due → hand-off, p50 / p99",
         "figure": f"{b['handoff_p50_s'] * 1000:.0f} / {b['handoff_p99_s'] * 1000:.0f} ms "
                   f"(max {b['handoff_max_s'] * 1000:.0f} ms)",
         "target": "p99 < 1 s", "met": b["handoff_p99_s"] < 1},
        {"bench": "scheduler", "measure": "same burst: delivery lateness p50 / p99 (Discord's global limit: 50/s)",
         "figure": f"{b['p50_s']:.1f} / {b['p99_s']:.1f} s (floor {b['floor_s']:.0f} s)",
         "target": "p99 < 1.5 × floor", "met": b["p99_s"] < 1.5 * b["floor_s"]},
        {"bench": "scheduler", "measure": "same burst: posts sent / duplicates / 429s",
         "figure": f"{b['sent']:,.0f} of {b['burst']:,.0f} / {b['duplicates']:.0f} / {b['rate_limited']:.0f}",
         "target": "all / 0 / 0",
         "met": b["sent"] == b["burst"] and b["duplicates"] == 0 and b["rate_limited"] == 0},
    ]


def run_scale(quick: bool, admin: str | None = None) -> dict[str, Any]:
    guilds = 100 if quick else 1000
    return dict(child(
        "import asyncio\nfrom bench.bench_scale import run, rows\n" + _db_code(admin, "bench_scale")
        + f"r = asyncio.run(run({guilds}, db=db))\n" + emit("{'raw': r, 'rows': rows(r)}"),
        timeout=3600,
    ))


def scale(quick: bool) -> list[Row]:
    return list(run_scale(quick)["rows"])


def gateway(quick: bool) -> list[Row]:
    events = 5_000 if quick else 20_000
    rate = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        f"from bench.bench_gateway import run\nr = asyncio.run(run({events}, False))\n" + emit("r")
    )
    return [{"bench": "gateway", "measure": f"fake Discord → discord.py, {events:,} reaction events",
             "figure": f"{rate:,.0f} events/s", "target": "≥ 2,000 events/s", "met": rate >= 2000}]


def timeparse(quick: bool) -> list[Row]:
    n, runs = (2_000, 5) if quick else (10_000, 15)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "timeparse.json"
        subprocess.run([sys.executable, "-m", "bench.bench_timeparse", "--n", str(n), "--runs", str(runs),
                        "--json", str(out)], cwd=str(ROOT), check=True, capture_output=True, timeout=600)
        ours = json.loads(out.read_text())["ours"]
    return [{"bench": "timeparse", "measure": "time parser: first call in a fresh process / per call",
             "figure": f"{ours['first_call_ms']:.2f} ms / {ours['valid_us']:.1f} µs "
                       f"(import {ours['import_cumulative_ms']:.1f} ms)", "target": "—", "met": None}]


def abuse(quick: bool) -> list[Row]:
    # The worker process starts with "spawn", which imports __main__ again: guard the run.
    report = "\n".join("    " + line for line in emit("rows(r)").splitlines())
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_abuse import run, rows\n"
        "if __name__ == '__main__':\n    r = asyncio.run(run())\n" + report
    )
    return list(r)


def charts(quick: bool) -> list[Row]:
    n = 10 if quick else 50
    rows = []
    for kind, what in (("latin", "Latin labels"), ("world", "labels in 6 scripts + emoji")):
        r = child(f"from bench.bench_charts import run\nr = run({kind!r}, {n})\n" + emit("r"))
        rows.append({"bench": "charts", "measure": f"ratings chart, 10 {what}: first in a process / median / max "
                                                   "(CPU time: first / median)",
                     "figure": f"{r['first_ms']:.0f} / {r['median_ms']:.1f} / {r['max_ms']:.1f} ms "
                               f"(CPU {r['first_cpu_ms']:.0f} / {r['median_cpu_ms']:.1f} ms; "
                               f"import {r['import_ms']:.0f} ms)", "target": "—", "met": None})
    return rows


def web(quick: bool) -> list[Row]:
    servers, count = (100, 100) if quick else (1000, 300)
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_web import run_throughput, run_latency, rows\n"
        "if __name__ == '__main__':\n"
        f"    t = asyncio.run(run_throughput({servers}))\n"
        f"    l = asyncio.run(run_latency({servers}, {count}))\n"
        + "\n".join("    " + line for line in emit("rows(t, l)").splitlines())
    )
    return list(r)


def bulk(quick: bool) -> list[Row]:
    going, servers = (100, 100) if quick else (500, 1000)
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        f"from bench.bench_bulk import run\nr = asyncio.run(run({going}, {servers}))\n" + emit("r"),
        timeout=3600,
    )
    out = []
    for job in r:
        details = "; ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in job.items()
                            if k not in ("job", "rest_calls", "rate_limited", "seconds", "interaction_calls"))
        out.append({"bench": "bulk", "measure": f"{job['job']}: REST calls / 429s",
                    "figure": f"{job['rest_calls']:,} / {job['rate_limited']} ({job['seconds']} s"
                              f"{'; ' + details if details else ''})",
                    "target": "0 429s", "met": job["rate_limited"] == 0})
    return out


def shards(quick: bool) -> list[Row]:
    guilds = 100 if quick else 300
    r = child(
        "import asyncio\nfrom bench.bench_shards import run, rows\n"
        f"r = asyncio.run(run({guilds}))\n" + emit(f"rows(r, {guilds})")
    )
    return list(r)


_pg_admin: str | None = None


class NoPostgres(Exception):
    """PostgreSQL cannot be started here: its benchmarks are reported as not run, not as failed."""


def pg_admin() -> str:
    """The admin URL of one throwaway PostgreSQL server for this run (started on first use, stopped at exit)."""
    global _pg_admin
    if _pg_admin is None:
        from bench.pgserver import start

        try:
            _pg_admin = start()
        except (RuntimeError, OSError) as exc:
            raise NoPostgres(str(exc)) from exc
    return _pg_admin


def run_rebuild(quick: bool, admin: str | None = None) -> dict[str, Any]:
    pending = 2_000 if quick else 10_000
    return dict(child(
        "import asyncio, logging, tempfile\nfrom pathlib import Path\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_scheduler import bench_rebuild\n" + _db_code(admin, "bench_rebuild")
        + "with tempfile.TemporaryDirectory() as tmp:\n"
        f"    r = asyncio.run(bench_rebuild({pending}, Path(tmp), db))\n" + emit("r")
    ))


def backends(quick: bool) -> list[Row]:
    """Vote ingest, the scheduler's rebuild and the restart at scale, on SQLite and on PostgreSQL in one run."""
    from bench.pgserver import POSTGRES, SQLITE

    admin = pg_admin()
    out: dict[str, dict[str, Any]] = {}
    for name, url in ((SQLITE, None), (POSTGRES, admin)):
        print(f"[bench] backends: {name} ...", file=sys.stderr, flush=True)
        out[name] = {"votes": run_votes(quick, url), "rebuild": run_rebuild(quick, url),
                     "scale": run_scale(quick, url)["raw"]}
    sq, pg = out[SQLITE], out[POSTGRES]

    def both(fmt: Any) -> str:
        return f"{SQLITE} {fmt(sq)} · {POSTGRES} {fmt(pg)}"

    def restart(r: dict[str, Any]) -> dict[str, Any]:
        return dict(r["scale"]["restart"])

    def limited(r: dict[str, Any]) -> int:
        return sum(n for key, n in restart(r)["rest"].items() if key.endswith(" 429"))

    voters = sq["votes"]["voters"]
    g = f"{sq['scale']['guilds']:,} servers"
    return [
        {"bench": "backends", "measure": f"vote ingest, {voters:,.0f} voters reacting: votes stored per second",
         "figure": both(lambda r: f"{r['votes']['votes_per_s']:,.0f} votes/s"), "target": "—", "met": None},
        {"bench": "backends", "measure": "votes lost (ingest, changes of mind, tally at close)",
         "figure": both(lambda r: f"{r['votes']['lost']:.0f} lost (tally {r['votes']['tally_ballots']:,.0f}; "
                                  f"close {r['votes']['close_s']:.2f} s)"),
         "target": "0 lost on both", "met": votes_lost_ok(sq["votes"]) and votes_lost_ok(pg["votes"])},
        {"bench": "backends", "measure": f"scheduler: startup rebuild of {sq['rebuild']['pending']:,.0f} pending posts",
         "figure": both(lambda r: f"{r['rebuild']['rebuild_s']:.3f} s"), "target": "< 2 s on both",
         "met": sq["rebuild"]["rebuild_s"] < 2 and pg["rebuild"]["rebuild_s"] < 2},
        {"bench": "backends", "measure": f"{g}: restart, spawn → ready",
         "figure": both(lambda r: f"{restart(r)['ready_s']:.1f} s"), "target": "—", "met": None},
        {"bench": "backends", "measure": f"{g}: restart, startup work done (no REST call for 2 s): time, REST calls, "
                                         "429s",
         "figure": both(lambda r: f"{restart(r)['settled_s']:.1f} s, {restart(r)['rest_calls']:,} calls, "
                                  f"{limited(r)} 429s"),
         "target": "0 429s", "met": limited(sq) == 0 and limited(pg) == 0},
        {"bench": "backends", "measure": f"{g}: restart, resident memory settled / peak; database size",
         "figure": both(lambda r: f"{restart(r)['rss_settled_mb']:.0f} / {restart(r)['rss_peak_mb']:.0f} MB; "
                                  f"{r['scale']['db_mb']:.1f} MB"), "target": "—", "met": None},
    ]


def clusters(quick: bool) -> list[Row]:
    """Two bot processes (shards 0-0/2 and 1-1/2) on one PostgreSQL, against one process on the same data."""
    guilds = 200 if quick else 2000
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_clusters import run, rows\n"
        f"r = asyncio.run(run({guilds}, {pg_admin()!r}))\n" + emit("rows(r)"),
        timeout=3600,
    )
    return list(r)


BENCHES = {"latency": latency, "votes": votes, "scheduler": scheduler, "scale": scale, "gateway": gateway,
           "timeparse": timeparse, "abuse": abuse, "charts": charts, "web": web, "bulk": bulk, "shards": shards,
           "backends": backends, "clusters": clusters}


# --------------------------------------------------------------------------- the table


def machine() -> str:
    cpu = cpu_model()
    try:
        import discord

        dpy = discord.__version__
    except ImportError:  # pragma: no cover
        dpy = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, discord.py {dpy}, "
            f"load average {load:.2f} at start")


def table(rows: list[Row]) -> str:
    marks = {True: "✅ met", False: "❌ missed", None: "—"}
    lines = ["| benchmark | measure | figure | target | met |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['bench']} | {r['measure']} | {r['figure']} | {r['target']} | {marks[r['met']]} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke test of every benchmark")
    parser.add_argument("--only", action="append", choices=sorted(BENCHES), help="run only these (repeatable)")
    args = parser.parse_args()
    started = time.monotonic()
    header = (f"{'Quick run' if args.quick else 'Full run'} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · "
              f"`python -m bench{' --quick' if args.quick else ''}` · {machine()}")
    rows: list[Row] = []
    failed: list[str] = []
    for name, bench in BENCHES.items():
        if args.only and name not in args.only:
            continue
        t0 = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows += bench(args.quick)
        except NoPostgres as exc:  # e.g. a laptop without PostgreSQL: say so, as `./dev.sh test` skips its tests
            rows.append({"bench": name, "measure": "not run: PostgreSQL cannot be started here",
                         "figure": str(exc).splitlines()[0][:200], "target": "—", "met": None})
            print(f"[bench] {name} not run: {exc}", file=sys.stderr, flush=True)
        except Exception as exc:  # keep going: one broken benchmark should not hide the others
            failed.append(name)
            rows.append({"bench": name, "measure": "did not finish", "figure": str(exc).splitlines()[0][:200],
                         "target": "—", "met": False})
            print(f"[bench] {name} failed: {exc}", file=sys.stderr, flush=True)
        print(f"[bench] {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    print(header + "\n")
    print(table(rows))
    print(f"\nTotal {time.monotonic() - started:.0f} s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
