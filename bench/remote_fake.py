"""Run the fake Discord in a child process, so a benchmark's bot does not share its CPU core with it.

Child: ``python -m bench.remote_fake --guilds 1 --channels 10 --members 50`` starts a FakeDiscord on
127.0.0.1, builds the world, prints one JSON line (URLs, token, ids) and then answers JSON requests, one
per line on stdin (``{"op": "messages", "channel": ID}``, ``{"op": "slash", ...}``), until stdin closes.

Parent: ``async with RemoteFake(channels=10) as fake:`` starts the child, points discord.py at it
(``Route.BASE`` and the default gateway) and offers ``await fake.request({...})``.
"""

from __future__ import annotations

import argparse
import asyncio
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
    guilds = []
    for gi in range(args.guilds):
        g = fake.standard_guild(f"Club {gi}")
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
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
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
    if op == "settle":
        await fake.settle()
        return None
    if op == "command_syncs":
        return len(fake.command_syncs)
    raise ValueError(f"unknown op {op}")


class RemoteFake:
    """Parent side: start the child, patch discord.py, talk JSON lines."""

    def __init__(self, guilds: int = 1, channels: int = 10, members: int = 50) -> None:
        self.argv = ["--guilds", str(guilds), "--channels", str(channels), "--members", str(members)]
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
    asyncio.run(_child(parser.parse_args()))
