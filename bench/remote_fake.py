"""Run the fake Discord in a child process, so a benchmark's bot does not share its CPU core with it.

Child: ``python -m bench.remote_fake --guilds 1 --channels 10 --members 50`` starts a FakeDiscord on
127.0.0.1, builds the world, prints one JSON line (URLs, token, ids) and then answers JSON requests, one
per line on stdin (``{"op": "messages", "channel": ID}``, ``{"op": "slash", ...}``), until stdin closes.

Parent: ``async with RemoteFake(channels=10) as fake:`` starts the child, points discord.py at it
(``Route.BASE`` and the default gateway) and offers ``await fake.request({...})``.

``--light`` builds bare servers (owner, the bot, ``--channels`` text channels, no members) for the scale
benchmark's 1,000 guilds; ``info["guilds"]`` then only has ``id`` and ``channels``. ``--shards N``: server i gets
an id that Discord's rule ((id >> 22) % N) puts on shard i % N.

Ops: ``messages``, ``post_times``, ``slash`` (one interaction), ``slash_interleaved`` (several commands,
possibly in several guilds, taking turns in blocks, each interaction timed inside the fake: initial callback
and final message), ``create_messages`` / ``create_messages_bulk``
(bot messages to seed a database with), ``react_bulk`` / ``seed_voters`` (reaction state),
``contents_with_prefix`` (every message starting with a text, in any channel), ``rest_count`` /
``rest_summary`` (REST calls so far), ``settle``,
``command_syncs``, ``ready`` (sessions that got READY, command syncs), ``bad_requests`` (4xx answers given).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


async def _child(args: argparse.Namespace) -> None:
    from tests.fakediscord.server import FakeDiscord

    fake = FakeDiscord()
    await fake.start(patch=False)
    guilds: list[Any] = []
    if args.light:
        voters = [fake.create_user(f"voter{i}") for i in range(args.voters)]
        for gi in range(args.guilds):
            guild = fake.create_guild(f"Club {gi}", shard=(gi % args.shards, args.shards) if args.shards > 1 else None)
            chans = [fake.create_channel(guild, f"club-{i}") for i in range(args.channels)]
            guilds.append((guild, chans, []))
        print(json.dumps({
            "api": fake.api_url, "gateway": fake.gateway_url, "token": fake.token,
            "guilds": [{"id": g.id, "channels": [c.id for c in chans]} for g, chans, _ in guilds],
            "voters": [u.id for u in voters],
        }), flush=True)
        await _serve_forever(fake, guilds)
        return
    for gi in range(args.guilds):
        g = fake.standard_guild(f"Club {gi}", shard=(gi % args.shards, args.shards) if args.shards > 1 else None)
        channels = [fake.create_channel(g.guild, f"bench-{i}") for i in range(args.channels)]
        members = [fake.add_member(g.guild, f"fan{gi}-{i}") for i in range(args.members)]
        guilds.append((g, channels, members))
    info = {
        "api": fake.api_url,
        "gateway": fake.gateway_url,
        "token": fake.token,
        "guilds": [
            {
                "id": g.guild.id, "general": g.general.id, "admin": g.admin.user.id, "alice": g.alice.user.id,
                "channels": [c.id for c in chans], "members": [m.user.id for m in mems],
            }
            for g, chans, mems in guilds
        ],
    }
    print(json.dumps(info), flush=True)
    await _serve_forever(fake, guilds)


async def _serve_forever(fake: Any, guilds: list[Any]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        try:
            result = await _serve(fake, guilds, request)
            reply = {"ok": True, "result": result}
        except Exception as exc:  # report, keep serving
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    await fake.stop()


async def _serve(fake: Any, guilds: list[Any], request: dict[str, Any]) -> Any:
    op = request["op"]
    if op == "messages":
        return [
            {"id": m.id, "content": m.content, "author": m.author.id, "created": m.id}
            for m in fake.messages_in(fake.get_channel(int(request["channel"])))
        ]
    if op == "contents_with_prefix":
        # Every message (any channel) whose content starts with ``prefix``: to count posts sent and duplicates.
        prefix = str(request["prefix"])
        return [m.content for m in fake.messages_by_id.values() if (m.content or "").startswith(prefix)]
    if op == "post_times":
        # Monotonic arrival time of every successful message create, per the fake's REST log.
        return [c.at for c in fake.calls("POST", r"/channels/\d+/messages$") if c.status == 200]
    if op == "slash":
        g, _, members = guilds[request.get("guild", 0)]
        member = next(m for m in [g.admin, g.alice, *members] if m.user.id == int(request["member"]))
        channel = fake.get_channel(int(request["channel"]))
        h = await fake.slash(member, channel, request["command"], **request.get("options", {}))
        reply = await h.reply()
        return {"after": h.responded_after, "content": reply.content, "files": reply.file_names()}
    if op == "slash_interleaved":
        # What was seeded (thousands of users, messages and reactions) lives to the end: keep the fake's
        # garbage collector from walking it in the middle of a timed interaction.
        gc.collect()
        gc.freeze()
        return await _slash_interleaved(fake, guilds, request)
    if op == "create_messages":
        # Messages by the bot (e.g. announcements a seeded database points at), without gateway events.
        channel = fake.get_channel(int(request["channel"]))
        return [fake.create_message(channel, fake.bot_user, {"content": f"{request.get('content', 'seeded')} {i}"}).id
                for i in range(int(request["count"]))]
    if op == "create_messages_bulk":
        # {"plan": [[channel, count], ...]} -> one list of message ids per entry.
        out = []
        for channel_id, count in request["plan"]:
            channel = fake.get_channel(int(channel_id))
            out.append([fake.create_message(channel, fake.bot_user, {"content": f"seeded {i}"}).id
                        for i in range(int(count))])
        return out
    if op == "react_bulk":
        # {"items": [[channel, message, emoji, [user ids]], ...]}: reaction state only (no bot connected yet).
        for channel_id, message_id, emoji, users in request["items"]:
            channel = fake.get_channel(int(channel_id))
            message = fake.messages_by_id[int(message_id)]
            for uid in users:
                fake.add_reaction_state(channel, message, fake.bot_user.id if uid == "bot" else int(uid), emoji, None)
        return None
    if op == "seed_voters":
        # ``count`` new users each react with emojis[i % len] on a message (plus the bot's own reactions);
        # returns their ids, so a database can be seeded with the matching ballots.
        channel = fake.get_channel(int(request["channel"]))
        message = fake.messages_by_id[int(request["message"])]
        emojis = list(request["emojis"])
        for emoji in emojis:
            fake.add_reaction_state(channel, message, fake.bot_user.id, emoji, None)
        ids = []
        for i in range(int(request["count"])):
            user = fake.create_user(f"ballot{i}")
            fake.add_reaction_state(channel, message, user.id, emojis[i % len(emojis)], None)
            ids.append(user.id)
        return ids
    if op == "rest_count":
        return len(fake.rest_log)
    if op == "rest_summary":
        counts: dict[str, int] = {}
        for c in fake.rest_log[int(request.get("since", 0)):]:
            key = f"{c.method} {c.route or c.path} {c.status}"
            counts[key] = counts.get(key, 0) + 1
        return counts
    if op == "ready":
        return {
            "sessions": sum(1 for s in fake.sessions.values() if s.ready_sent.is_set()),
            "syncs": len(fake.command_syncs),
        }
    if op == "bad_requests":
        return [[c.method, c.path, c.status] for c in fake.rest_log if 400 <= c.status < 500]
    if op == "settle":
        await fake.settle()
        return None
    if op == "command_syncs":
        return len(fake.command_syncs)
    raise ValueError(f"unknown op {op}")


async def _slash_interleaved(fake: Any, guilds: list[Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """``count`` interactions per plan, the plans taking turns in blocks of ``block`` (A×block, B×block, A...),
    so that whatever the machine does meanwhile weighs on every plan alike. Each waits for the previous one's
    final message. Each block starts with ``discard`` unmeasured interactions, so that what the previous
    block left running (a bot digesting its own message's gateway events, say) is not counted against the
    next plan.

    One result per plan: ``after``, INTERACTION_CREATE dispatch -> initial callback (the fake's
    ``responded_after``); ``final``, dispatch -> the message the member sees (the same for a direct reply; for
    a deferred one, when the placeholder was filled). Both in seconds, measured in the fake's process."""
    import time

    plans = []
    for p in request["plans"]:
        g, _, members = guilds[p.get("guild", 0)]
        member = next(m for m in [g.admin, g.alice, *members] if m.user.id == int(p["member"]))
        plans.append((p, member, fake.get_channel(int(p["channel"]))))
    out: list[dict[str, Any]] = [
        {"after": [], "final": [], "types": {}, "sample": "", "failures": [], "failed": 0} for _ in plans
    ]
    count, block, discard = int(request["count"]), int(request.get("block", 1)), int(request.get("discard", 0))
    gap = float(request.get("gap", 0))
    done = 0
    while done < count:
        size = min(block, count - done)
        for (p, member, channel), r in zip(plans, out, strict=True):
            for i in range(discard + size):
                if gap:
                    # Busy-wait rather than sleep, so that neither process's core drops into a deep idle
                    # state (waking from one would add the same ~0.5 ms to every interaction, hiding the
                    # differences the benchmark is after).
                    until = time.perf_counter() + gap
                    while time.perf_counter() < until:
                        pass
                h = await fake.slash(member, channel, p["command"], **p.get("options", {}))
                reply = await h.reply(timeout=10)
                if i < discard:
                    continue
                r["final"].append(time.monotonic() - h.created)
                r["after"].append(float(h.responded_after))
                r["types"][str(h.response_type)] = r["types"].get(str(h.response_type), 0) + 1
                text = reply.text()
                r["sample"] = text[:200]
                if "Something went wrong" in text or (p.get("expect") and p["expect"] not in text):
                    r["failed"] += 1
                    if len(r["failures"]) < 5:
                        r["failures"].append(text[:200])
        done += size
    return out


class RemoteFake:
    """Parent side: start the child, patch discord.py, talk JSON lines."""

    def __init__(
        self, guilds: int = 1, channels: int = 10, members: int = 50, light: bool = False, voters: int = 0,
        shards: int = 1,
    ) -> None:
        self.argv = ["--guilds", str(guilds), "--channels", str(channels), "--members", str(members),
                     "--shards", str(shards)]
        if light:
            self.argv += ["--light", "--voters", str(voters)]
        self.proc: asyncio.subprocess.Process | None = None
        self.info: dict[str, Any] = {}
        self._lock = asyncio.Lock()
        self._saved: list[tuple[Any, str, Any]] = []

    async def __aenter__(self) -> RemoteFake:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.remote_fake", *self.argv, cwd=str(ROOT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26,
        )
        assert self.proc.stdout is not None
        self.info = json.loads(await self.proc.stdout.readline())
        import discord.gateway
        import discord.http
        import yarl

        self._saved = [
            (discord.http.Route, "BASE", discord.http.Route.BASE),
            (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY),
        ]
        discord.http.Route.BASE = self.info["api"]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.info["gateway"])
        return self

    async def request(self, payload: dict[str, Any]) -> Any:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            self.proc.stdin.write((json.dumps(payload) + "\n").encode())
            await self.proc.stdin.drain()
            reply = json.loads(await self.proc.stdout.readline())
        if not reply["ok"]:
            raise RuntimeError(reply["error"])
        return reply["result"]

    async def __aexit__(self, *exc: object) -> None:
        for obj, name, value in self._saved:
            setattr(obj, name, value)
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--guilds", type=int, default=1)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--shards", type=int, default=1, help="guild i lands on shard i %% shards")
    parser.add_argument("--light", action="store_true")
    parser.add_argument("--voters", type=int, default=0, help="users created in --light mode (for reactions)")
    asyncio.run(_child(parser.parse_args()))
