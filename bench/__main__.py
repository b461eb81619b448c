"""``python -m bench`` (``./dev.sh bench``): run every benchmark and print one Markdown table.

Each benchmark runs in its own fresh Python process (so one's memory, patches and threads do not affect the
next), reports its figures as JSON, and this command turns them into rows: benchmark, measure, figure,
target, met. Progress goes to stderr, the table to stdout. ``--quick`` runs smaller sizes (a minute or two)
for a smoke test; the full run takes about five minutes on 2 vCPUs.

Benchmarks: interaction latency against a bare discord.py bot (``bench_latency``), vote ingest
(``bench_votes``), scheduler rebuild and burst (``bench_scheduler``), 1,000-server scale (``bench_scale``),
fake Discord gateway throughput (``bench_gateway``), the time parser (``bench_timeparse``), the longest
event-loop block under the worst inputs members can send (``bench_abuse``), drawing the ratings chart
(``bench_charts``), REST calls and 429s of the bulk jobs under the fake's rate limits (``bench_bulk``), and
the web pages and calendar feeds with 1,000 servers, with the bot's latency while every feed is polled
(``bench_web``), and starting as one shard, two shards or two clusters (``bench_shards``).
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


def votes(quick: bool) -> list[Row]:
    voters, changes = (2_000, 200) if quick else (10_000, 1_000)
    r = child(
        "import asyncio, logging\nlogging.basicConfig(level=logging.ERROR)\n"
        "from bench.bench_votes import run\n"
        f"r = asyncio.run(run({voters}, {changes}, 5))\n" + emit("r")
    )
    lost_ok = r["lost"] == 0 and r["tally_ballots"] == r["voters"] and r["ballots_after_changes"] == r["voters"]
    return [
        {"bench": "votes", "measure": f"vote ingest, {r['voters']:,.0f} voters reacting: votes stored per second",
         "figure": f"{r['votes_per_s']:,.0f} votes/s (all stored in {r['ingest_s']:.2f} s)", "target": "—",
         "met": None},
        {"bench": "votes", "measure": "votes lost (ingest, changes of mind, tally at close)",
         "figure": f"{r['lost']:.0f} lost; tally {r['tally_ballots']:,.0f} of {r['voters']:,.0f}; "
                   f"{r['changes']:,.0f} changes at {r['changes_per_s']:,.0f}/s; close {r['close_s']:.2f} s",
         "target": "0 lost", "met": lost_ok},
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


def scale(quick: bool) -> list[Row]:
    guilds = 100 if quick else 1000
    r = child(
        "import asyncio\nfrom bench.bench_scale import run, rows\n"
        f"r = asyncio.run(run({guilds}))\n" + emit("rows(r)")
    )
    return list(r)


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


BENCHES = {"latency": latency, "votes": votes, "scheduler": scheduler, "scale": scale, "gateway": gateway,
           "timeparse": timeparse, "abuse": abuse, "charts": charts, "web": web, "bulk": bulk, "shards": shards}


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
