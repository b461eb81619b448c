"""The gateway websocket: HELLO, IDENTIFY/READY, RESUME, heartbeats, member chunks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from .core import FakeCore, GatewaySession, Intents
from .models import Guild


class GatewayMixin(FakeCore):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: When False, heartbeats are not ACKed (zombie connection simulation).
        self.ack_heartbeats = True
        self.heartbeats = 0
        #: Real seconds between READY and the GUILD_CREATEs, as on a big bot where servers stream in after READY
        #: (discord.py then fires on_ready without them and the servers stay ``unavailable`` until they arrive).
        self.guild_create_delay = 0.0
        self._ws_set: set[web.WebSocketResponse] = set()

    # ------------------------------------------------------------------ payloads
    def guild_create_payload(self, guild: Guild, session: GatewaySession, *, joined: bool = False) -> dict[str, Any]:
        """GUILD_CREATE data; ``joined`` = the bot was just added (Discord then omits ``unavailable``)."""
        data = guild.to_dict()
        # Without GUILD_PRESENCES Discord only sends the bot's own member (and voice users).
        if session.has(Intents.GUILD_PRESENCES):
            members = [m.to_dict() for m in guild.members.values()]
        else:
            me = guild.members.get(session.user_id)
            members = [me.to_dict()] if me else []
        threads = []
        for t in guild.live_threads():
            td = self.channel_json(t)
            threads.append(td)
        data.update(
            {
                "joined_at": guild.members[session.user_id].joined_at.isoformat()
                if session.user_id in guild.members
                else self.iso_now(),
                "large": len(guild.members) > 250,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": members,
                "channels": [c.to_dict() for c in guild.live_channels()],
                "threads": threads,
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [
                    e.to_dict(self.users) for e in guild.scheduled_events.values() if not e.deleted
                ],
                "soundboard_sounds": [],
            }
        )
        if joined:
            del data["unavailable"]
        return data

    def bot_guilds(self) -> list[Guild]:
        return [g for g in self.guilds.values() if self.bot_user.id in g.members]

    # ------------------------------------------------------------------ websocket handler
    async def handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, autoping=True)
        await ws.prepare(request)
        self._ws_set.add(ws)
        self.gateway_connects.append(dict(request.query))
        encoding = request.query.get("encoding", "json")
        session: GatewaySession | None = None
        writer: asyncio.Task[None] | None = None
        try:
            if encoding != "json":
                await ws.close(code=4002, message=b"Decode error")
                return ws
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
            async for raw in ws:
                if raw.type != WSMsgType.TEXT:
                    if raw.type == WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"Decode error")
                    break
                try:
                    msg = json.loads(raw.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Decode error")
                    break
                op = msg.get("op")
                d = msg.get("d")
                if op == 1:
                    self.heartbeats += 1
                    if self.ack_heartbeats:
                        await ws.send_str('{"op":11}')
                elif op == 2:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session = await self._identify(ws, d or {})
                    if session is None:
                        break
                    writer = session.writer
                elif op == 6:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session = await self._resume(ws, d or {})
                    if session is not None:
                        writer = session.writer
                elif op == 8:
                    if session is None:
                        await ws.close(code=4003, message=b"Not authenticated.")
                        break
                    self._request_members(session, d or {})
                elif op == 3:
                    if session is not None:
                        session.presence = d
                elif op == 4:
                    pass
                else:
                    self.protocol_errors.append(f"unknown gateway opcode {op}")
                    await ws.close(code=4001, message=b"Unknown opcode.")
                    break
                self.touch()
        finally:
            self._ws_set.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                if session.queue is not None:
                    # Unblock flush() waiters for frames that will now go to the resume buffer.
                    while not session.queue.empty():
                        session.queue.get_nowait()
                        session.queue.task_done()
                    session.queue.put_nowait(None)
            if writer is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(writer, 1.0)
            self.touch()
        return ws

    def _start_writer(self, session: GatewaySession, ws: web.WebSocketResponse) -> None:
        session.ws = ws
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        session.queue = queue

        async def writer() -> None:
            while True:
                frame = await queue.get()
                if frame is None:
                    queue.task_done()
                    return
                try:
                    if not ws.closed:
                        await ws.send_str(frame)
                except (ConnectionError, RuntimeError):
                    pass
                finally:
                    queue.task_done()

        session.writer = asyncio.get_running_loop().create_task(writer(), name=f"fakediscord-writer-{session.id}")

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> GatewaySession | None:
        self.identifies.append(d)
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(d.get("intents", 0))
        if intents & Intents.PRIVILEGED & ~self.privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        session = GatewaySession(id=secrets.token_hex(16), intents=intents, user_id=self.bot_user.id, identify=d)
        shard = d.get("shard") or [0, 1]
        if not (isinstance(shard, list) and len(shard) == 2 and 0 <= int(shard[0]) < int(shard[1])):
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        session.shard = (int(shard[0]), int(shard[1]))
        now = session.identified_at = asyncio.get_running_loop().time()
        if self.enforce_identify_limit:  # docs: Events → Gateway, "Identifying" and "Max Concurrency"
            bucket = session.shard[0] % max(1, self.max_concurrency)
            if now - self._bucket_identified.get(bucket, float("-inf")) < self.identify_window:
                self.identify_refusals += 1
                await ws.send_str('{"op":9,"d":false}')
                return None
            self._bucket_identified[bucket] = now
        self.sessions[session.id] = session
        self._start_writer(session, ws)
        guilds = [g for g in self.bot_guilds() if session.serves(g.id)]
        self.push(
            session,
            "READY",
            {
                "v": 10,
                "user": {**self.bot_user.to_dict(), "verified": True, "mfa_enabled": False, "email": None},
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "shard": d.get("shard", [0, 1]),
                "application": {"id": str(self.application_id), "flags": self.application_flags()},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
            },
        )
        if self.guild_create_delay > 0:
            delay = self.guild_create_delay

            async def later() -> None:
                await asyncio.sleep(delay)
                for g in guilds:
                    self.push(session, "GUILD_CREATE", self.guild_create_payload(g, session))

            self._delayed_guilds = asyncio.get_running_loop().create_task(later(), name="fakediscord-late-guilds")
        else:
            for g in guilds:
                self.push(session, "GUILD_CREATE", self.guild_create_payload(g, session))
        session.ready_sent.set()
        return session

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> GatewaySession | None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        if session is None or session.invalidated or session.connected:
            await ws.send_str('{"op":9,"d":false}')
            return None
        replay = [f for s, f in session.buffer if seq is None or s > int(seq)]
        if session.buffer and seq is not None and session.buffer[0][0] > int(seq) + 1:
            await ws.send_str('{"op":9,"d":false}')
            return None
        session.resumes += 1
        self._start_writer(session, ws)
        assert session.queue is not None
        for frame in replay:
            session.queue.put_nowait(frame)
        self.push(session, "RESUMED", {})
        return session

    def _request_members(self, session: GatewaySession, d: dict[str, Any]) -> None:
        guild = self.guilds.get(int(d.get("guild_id", 0)))
        if guild is None:
            return
        query = d.get("query")
        user_ids = [int(u) for u in d.get("user_ids") or []]
        limit = int(d.get("limit") or 0)
        full_list = not user_ids and (query is None or query == "")
        if full_list and not session.has(Intents.GUILD_MEMBERS):
            self.protocol_errors.append("REQUEST_GUILD_MEMBERS for the full list without the GUILD_MEMBERS intent")
            return
        members = list(guild.members.values())
        not_found: list[str] = []
        if user_ids:
            members = [m for m in members if m.user.id in user_ids]
            not_found = [str(u) for u in user_ids if u not in guild.members]
        elif query:
            q = query.lower()
            members = [
                m for m in members if m.user.username.lower().startswith(q) or (m.nick or "").lower().startswith(q)
            ]
        if limit:
            members = members[:limit]
        chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for i, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [m.to_dict() for m in chunk],
                "chunk_index": i,
                "chunk_count": len(chunks),
            }
            if not_found and i == 0:
                payload["not_found"] = not_found
            if d.get("nonce"):
                payload["nonce"] = d["nonce"]
            self.push(session, "GUILD_MEMBERS_CHUNK", payload)

    # ------------------------------------------------------------------ driver controls
    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000 = resumable); clients RESUME."""
        for s in list(self.sessions.values()):
            if s.ws is not None and not s.ws.closed:
                await s.ws.close(code=code)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT to every session (discord.py closes and RESUMEs)."""
        for s in list(self.sessions.values()):
            if s.ws is not None and not s.ws.closed:
                await s.ws.send_str('{"op":7,"d":null}')

    async def invalidate_sessions(self) -> None:
        """Send op 9 (not resumable); discord.py re-IDENTIFIES (after its 5 s identify delay)."""
        for s in list(self.sessions.values()):
            s.invalidated = True
            if s.ws is not None and not s.ws.closed:
                await s.ws.send_str('{"op":9,"d":false}')

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.connected and not s.invalidated]

    async def wait_for_identify(self, count: int = 1, timeout: float = 10.0) -> GatewaySession:
        """Wait until ``count`` IDENTIFYs in total got a READY; returns the latest session."""
        await self.wait_until(
            lambda: sum(1 for s in self.sessions.values() if s.ready_sent.is_set()) >= count,
            timeout,
            f"{count} gateway IDENTIFY/READY",
        )
        return list(self.sessions.values())[-1]

    async def close_all_sockets(self) -> None:
        for ws in list(self._ws_set):
            with contextlib.suppress(Exception):
                await ws.close(code=1001)
