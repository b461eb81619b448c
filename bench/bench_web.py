"""The club's web pages and calendar feeds (issue 21): requests per second with 1,000 servers' data, and the bot's
interaction latency while a calendar app polls every feed.

**Throughput** (``run_throughput``): 1,000 servers, each seeded through the repositories with the data the web
tests use (4 screenings with RSVPs, ratings, sheet comments, a closed poll, a memorial with a photo, a theme, the
queue, a published newsletter), pages on for all. The web server runs in this process exactly as in the bot
(``cogs.web.server.WebApp``); the client is a separate process (``--client``, aiohttp, 16 connections), so the
two do not share a core. Each server's feed and home page is asked in turn, in passes: the first ask (computed
from the database, as after any write), again (served from the read model), and the feed once more with
``If-None-Match`` (a calendar app polling an unchanged feed: 304). Every feed is asked from its own client
address (``X-Forwarded-For`` from the loopback peer), so the per-address rate limit applies as in production.

**Latency under polling** (``run_latency``): the real FilmClubBot with ``web_port`` set, against the fake Discord
in a child process, with the club's guild and 999 more servers' web data in its database; the bare
discord.py bot alongside as in ``bench_latency``. ``/filmclub about`` and ``/screening list`` are measured
against the bare bot's ``/ping`` three times: with no web traffic, while a poller process revalidates every
feed every 10 s (100 requests/s, with ETags: what 1,000 subscribed calendar apps polling every 10 s would
cost, far more often than real ones, which poll every 5 minutes to a day), and while it polls flat out.

Run:  .venv/bin/python -m bench.bench_web [--servers 1000] [--count 300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SERVERS = 1000
CONCURRENCY = 16
POLL_RATE = 100.0  # requests/s: every one of 1,000 feeds every 10 s


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.999999) - 1))] if ordered else 0.0


class NoDirectory:
    def guild_name(self, guild_id: int) -> str | None:
        return f"Club {guild_id}"

    def member_name(self, guild_id: int, user_id: int) -> str | None:
        return None

    def channel_name(self, channel_id: int) -> str | None:
        return None


async def seed_web(db_path: Path, guild_ids: list[int], *, seed_data: bool = True) -> list[str]:
    """Seed ``guild_ids`` (skipping data for none) and turn their pages on; return each server's token."""
    from bot.clock import SystemClock
    from bot.worker import Worker
    from cogs.web.service import WebKeys, WebService
    from db.migrate import migrate
    from db.settings import SettingsRepo
    from db.store import Store
    from tests.web.seed import seed

    store = Store(db_path)
    await store.open()
    try:
        await migrate(store)
        now = int(time.time())
        if seed_data:
            async with store.transaction() as tx:
                for gid in guild_ids:
                    await seed(tx, gid, now, hostile=False, channel=gid + 1)
        keys = WebKeys.load_or_create(db_path.with_name(db_path.name + ".webkey"))
        service = WebService(store, SettingsRepo(store), SystemClock(), Worker(), keys, NoDirectory(), "")
        tokens = []
        for gid in guild_ids:
            tokens.append(service.site_token(await service.switch(gid, True, 1)))
        return tokens
    finally:
        await store.close()


# --------------------------------------------------------------------------- the client process


async def _client(args: argparse.Namespace) -> None:
    import aiohttp

    urls: list[str] = json.loads(Path(args.urls).read_text())
    etags: dict[str, str] = {}
    statuses: dict[int, int] = {}
    times: list[float] = []
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    stop = asyncio.Event()
    if args.mode == "poll":
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int, url: str, revalidate: bool) -> None:
            headers = {"X-Forwarded-For": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}
            if revalidate and url in etags:
                headers["If-None-Match"] = etags[url]
            t0 = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                times.append(time.perf_counter() - t0)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if "ETag" in response.headers:
                    etags[url] = response.headers["ETag"]

        if args.mode == "pass":
            if args.revalidate:  # learn each ETag first, as a calendar app has from its last poll
                for i, url in enumerate(urls):
                    await one(i, url, False)
                statuses.clear()
                times.clear()
            queue = list(enumerate(urls))
            t0 = time.perf_counter()

            async def worker() -> None:
                while queue:
                    i, url = queue.pop()
                    await one(i, url, args.revalidate)

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - t0
            print(json.dumps({"requests": len(urls), "seconds": elapsed, "per_s": len(urls) / elapsed,
                              "statuses": statuses, "p50_ms": statistics.median(times) * 1000,
                              "p99_ms": pct(times, 0.99) * 1000}), flush=True)
            return
        # poll: every feed in turn, forever, at ``rate`` requests/s (0 = flat out with 4 connections)
        for i, url in enumerate(urls):  # fetch each once so later polls revalidate
            await one(i, url, False)
        statuses.clear()
        times.clear()
        t0 = time.perf_counter()
        n = 0
        flat_out = args.rate <= 0

        async def poller(offset: int, step: int) -> None:
            nonlocal n
            k = offset
            while not stop.is_set():
                if not flat_out:
                    due = t0 + n / args.rate
                    wait = due - time.perf_counter()
                    if wait > 0:
                        try:
                            await asyncio.wait_for(stop.wait(), wait)
                            return
                        except TimeoutError:
                            pass
                n += 1
                i = k % len(urls)
                k += step
                await one(i, urls[i], True)

        workers = 4 if flat_out else 1
        print("ready", flush=True)
        await asyncio.gather(*(poller(w, workers) for w in range(workers)))
        elapsed = time.perf_counter() - t0
        print(json.dumps({"requests": len(times), "seconds": elapsed, "per_s": len(times) / elapsed,
                          "statuses": statuses, "p50_ms": statistics.median(times) * 1000 if times else 0,
                          "p99_ms": pct(times, 0.99) * 1000}), flush=True)


async def _spawn_client(urls: list[str], tmp: Path, *args: str) -> asyncio.subprocess.Process:
    path = tmp / f"urls-{time.perf_counter_ns()}.json"
    path.write_text(json.dumps(urls))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_web", "--client", "--urls", str(path), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(Path(__file__).resolve().parents[1]),
    )


async def client_pass(urls: list[str], tmp: Path, *, revalidate: bool = False) -> dict[str, Any]:
    proc = await _spawn_client(urls, tmp, "--mode", "pass", *(["--revalidate"] if revalidate else []))
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode()[-2000:])
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- throughput


async def run_throughput(servers: int = SERVERS) -> dict[str, Any]:
    from bot.clock import SystemClock
    from bot.worker import Worker
    from cogs.web.server import WebApp, WebServer
    from cogs.web.service import WebKeys, WebService
    from db import meta
    from db.settings import SettingsRepo
    from db.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "club.db"
        guilds = [10_000 + i for i in range(servers)]
        t0 = time.perf_counter()
        tokens = await seed_web(db_path, guilds)
        seed_s = time.perf_counter() - t0
        store = Store(db_path)
        await store.open()
        keys = WebKeys.load_or_create(db_path.with_name(db_path.name + ".webkey"))
        service = WebService(store, SettingsRepo(store), SystemClock(), Worker(), keys, NoDirectory(), "")
        await service.load()
        server = WebServer(WebApp(service), "127.0.0.1", 0)
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        feeds = [f"{base}/c/{t}/screenings.ics" for t in tokens]
        homes = [f"{base}/c/{t}/" for t in tokens]
        try:
            async def write() -> None:  # any write: every read model computes again on the next ask
                await meta.set_meta(store, "bench-web", str(time.time()))

            results = {"feed_first": await client_pass(feeds, tmp)}
            await write()
            results["feed_after_write"] = await client_pass(feeds, tmp)
            results["feed_again"] = await client_pass(feeds, tmp)
            results["feed_304"] = await client_pass(feeds, tmp, revalidate=True)
            results["home_first"] = await client_pass(homes, tmp)
            await write()
            results["home_after_write"] = await client_pass(homes, tmp)
            results["home_again"] = await client_pass(homes, tmp)
            size = db_path.stat().st_size
        finally:
            await server.stop()
            await store.close()
    return {"servers": servers, "seed_s": seed_s, "db_mb": size / 1e6, "results": results}


# --------------------------------------------------------------------------- latency while feeds are polled


async def run_latency(servers: int = SERVERS, count: int = 300) -> dict[str, Any]:
    from bench.bench_latency import BareBot, measure, start, stop, summary
    from bench.bench_latency import seed as seed_club
    from bench.remote_fake import RemoteFake
    from bot.app import FilmClubBot
    from bot.config import Config

    logging.getLogger("discord").setLevel(logging.ERROR)
    logging.getLogger("cogs").setLevel(logging.ERROR)
    out: dict[str, Any] = {"servers": servers, "count": count, "phases": {}}
    with tempfile.TemporaryDirectory(prefix="bench-web-latency-") as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "club.db"
        async with RemoteFake(guilds=2, channels=2, members=5, shards=2) as fake:
            club, other = fake.info["guilds"]
            gid = int(club["id"])
            channel = int(club["channels"][0])
            message_ids = await fake.request({"op": "create_messages", "channel": channel, "count": 101})
            voters = await fake.request({"op": "seed_voters", "channel": channel, "message": message_ids[-1],
                                         "emojis": ["1️⃣", "2️⃣"], "count": 100})
            await seed_club(db_path, gid, channel, message_ids, voters, screenings=100, ballots=100, films=50,
                            raters=10)
            others = [10_000 + i for i in range(servers - 1)]
            tokens = await seed_web(db_path, others)
            tokens += await seed_web(db_path, [gid], seed_data=False)
            bare_plan = {"guild": 1, "member": int(other["alice"]), "channel": int(other["general"]),
                         "command": "ping", "options": {}, "expect": "pong"}
            bare = BareBot(int(other["id"]), shard_id=1, shard_count=2)
            bare_runner = await start(bare, fake.info["token"], lambda: bare.synced)
            config = Config(token=fake.info["token"], db_path=db_path, dev_guild=gid, log_level="WARNING",
                            web_port=0)
            bot = FilmClubBot(config, shard_id=0, shard_count=2)
            runner = await start(bot, fake.info["token"], lambda: bot.commands_synced)
            try:
                for cog in bot.cogs.values():
                    catch_up = getattr(cog, "_catch_up", None)
                    if isinstance(catch_up, asyncio.Task):
                        await asyncio.wait([catch_up], timeout=120)
                assert bot.web.server is not None
                port = bot.web.server.port
                feeds = [f"http://127.0.0.1:{port}/c/{t}/screenings.ics" for t in tokens]
                plan = [("about", "filmclub about", int(club["alice"]), {}, "filmclub"),
                        ("screening_list", "screening list", int(club["alice"]), {}, "Film number")]
                for phase, rate in (("quiet", None), ("polled_100_per_s", POLL_RATE), ("polled_flat_out", 0.0)):
                    poller = None
                    if rate is not None:
                        poller = await _spawn_client(feeds, tmp, "--mode", "poll", "--rate", str(rate))
                        assert poller.stdout is not None
                        line = await asyncio.wait_for(poller.stdout.readline(), 300)
                        assert line.strip() == b"ready", line
                    await asyncio.sleep(0.3)
                    measured: dict[str, Any] = {}
                    for name, command, member, options, expect in plan:
                        pinged, answered = await measure(fake, bare_plan, {
                            "guild": 0, "member": member, "channel": int(club["general"]), "command": command,
                            "options": options, "expect": expect,
                        }, count)
                        measured[name] = {"bot": summary(name, [answered]), "bare": summary("bare", [pinged])}
                    if poller is not None:
                        poller.send_signal(signal.SIGTERM)
                        stdout, stderr = await poller.communicate()
                        lines = stdout.decode().strip().splitlines()
                        if poller.returncode != 0 or not lines:
                            raise RuntimeError(stderr.decode()[-2000:])
                        measured["poller"] = json.loads(lines[-1])
                    out["phases"][phase] = measured
            finally:
                await stop(bot, runner)
                await stop(bare, bare_runner)
    return out


def rows(throughput: dict[str, Any] | None, latency: dict[str, Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if throughput is not None:
        r = throughput["results"]
        n = throughput["servers"]
        labels = {
            "feed_first": "feed, first ask after start (every event written)",
            "feed_after_write": "feed, after a write (read model stale, events kept)",
            "feed_again": "feed, asked again (read model)",
            "feed_304": "feed, revalidated with If-None-Match (304)",
            "home_first": "home page, first ask after start",
            "home_after_write": "home page, after a write",
            "home_again": "home page, asked again (read model)",
        }
        for key, label in labels.items():
            m = r[key]
            ok = set(m["statuses"]) == ({"304"} if key == "feed_304" else {"200"})
            out.append({"bench": "web", "measure": f"{n:,} servers: {label}",
                        "figure": f"{m['per_s']:,.0f} requests/s (p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms)"
                                  + ("" if ok else f"; statuses {m['statuses']}"),
                        "target": "—", "met": None if ok else False})
    if latency is not None:
        for phase, label in (("quiet", "no web traffic"),
                             ("polled_100_per_s", "feeds polled at 100 requests/s (1,000 feeds: each every 10 s)"),
                             ("polled_flat_out", "feeds polled flat out")):
            m = latency["phases"][phase]
            poll = m.get("poller")
            for name, command in (("about", "`/filmclub about`"), ("screening_list", "`/screening list`")):
                bot, bare = m[name]["bot"], m[name]["bare"]
                p50x, p99x = bot["p50_ms"] / bare["p50_ms"], bot["p99_ms"] / bare["p99_ms"]
                met = p50x <= 1.5 and p99x <= 2.0 and bot["final_max_ms"] < 3000 and bot["failed"] == 0
                figure = f"{bot['p50_ms']:.1f} / {bot['p99_ms']:.1f} ms ({p50x:.2f}× / {p99x:.2f}×)"
                if poll:
                    figure += f"; poller {poll['per_s']:,.0f} req/s, statuses {poll['statuses']}"
                out.append({"bench": "web", "measure": f"{command} p50 / p99 vs bare, {label}", "figure": figure,
                            "target": "p50 ≤ 1.5×, p99 ≤ 2× bare", "met": met})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=SERVERS)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--only", choices=["throughput", "latency"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["pass", "poll"], help=argparse.SUPPRESS)
    parser.add_argument("--revalidate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=POLL_RATE, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(_client(args))
        return
    logging.basicConfig(level=logging.WARNING)
    throughput = asyncio.run(run_throughput(args.servers)) if args.only != "latency" else None
    latency = asyncio.run(run_latency(args.servers, args.count)) if args.only != "throughput" else None
    if args.json:
        print(json.dumps({"throughput": throughput, "latency": latency, "rows": rows(throughput, latency)}))
        return
    for row in rows(throughput, latency):
        print(f"| {row['measure']} | {row['figure']} | {row['target']} | {row['met']} |")


if __name__ == "__main__":
    main()
