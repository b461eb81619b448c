"""State, ids, permissions, message building and gateway dispatch shared by the fake's parts."""

from __future__ import annotations

import asyncio
import collections
import io
import json
import mimetypes
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .mentions import AllowedMentionsError, apply_mentions, compute_mentions, validate_allowed_mentions
from .models import (
    DISCORD_EPOCH_MS,
    Attachment,
    Channel,
    ChannelType,
    Guild,
    Member,
    Message,
    MessageFlag,
    Overwrite,
    Role,
    ScheduledEvent,
    User,
    walk_components,
)
from .permissions import P, channel_permissions, perm_value

if TYPE_CHECKING:
    from aiohttp import web

    from .clock import FakeClock


class Intents:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16

    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class ApiError(Exception):
    """An error answer, shaped like Discord's ``{"message": ..., "code": ...}``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        #: More body fields (a 429's ``retry_after`` and ``global``) and headers of the answer.
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code, **self.extra}
        if self.errors:
            data["errors"] = self.errors
        return data


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def unknown(what: str) -> ApiError:
    codes = {
        "Channel": 10003,
        "Guild": 10004,
        "Member": 10007,
        "Message": 10008,
        "Role": 10011,
        "User": 10013,
        "Emoji": 10014,
        "Webhook": 10015,
        "Interaction": 10062,
        "application command": 10063,
        "Guild Scheduled Event": 10070,
        "Guild Scheduled Event User": 10071,
    }
    return ApiError(404, codes[what], f"Unknown {what}")


def form_error(path: str, code: str, message: str) -> ApiError:
    errors: dict[str, Any] = {}
    cursor = errors
    parts = path.split(".")
    for p in parts[:-1]:
        cursor = cursor.setdefault(p, {})
    cursor[parts[-1]] = {"_errors": [{"code": code, "message": message}]}
    return ApiError(400, 50035, "Invalid Form Body", errors)


@dataclass
class UploadedFile:
    """A file part of a multipart request, as recorded in the REST log."""

    field: str
    filename: str
    data: bytes
    content_type: str | None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RestCall:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int = 0
    files: list[UploadedFile] = field(default_factory=list)
    route: str | None = None
    response: Any = None
    authorized: bool = True
    at: float = field(default_factory=time.monotonic)
    #: ``X-RateLimit-Scope`` of a 429 ("user", "global", "shared"), else None.
    scope: str | None = None
    #: The ``name`` of the :class:`~tests.fakediscord.process.BotProcess` that made the call (from its
    #: User-Agent), None for an in-process client: which of several bot processes sent what.
    process: str | None = None

    def __repr__(self) -> str:
        return f"<RestCall {self.method} {self.path} -> {self.status}>"


@dataclass
class Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float = 0.05
    is_global: bool = False
    code: int | None = None
    message: str | None = None
    hits: int = 0


@dataclass(eq=False)
class GatewaySession:
    id: str
    intents: int
    user_id: int
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    buffer: collections.deque[tuple[int, str]] = field(default_factory=lambda: collections.deque(maxlen=50000))
    queue: asyncio.Queue[str | None] | None = None
    writer: asyncio.Task[None] | None = None
    identify: dict[str, Any] = field(default_factory=dict)
    resumes: int = 0
    invalidated: bool = False
    ready_sent: asyncio.Event = field(default_factory=asyncio.Event)
    presence: dict[str, Any] | None = None
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count) from IDENTIFY
    identified_at: float = 0.0  # the event loop's time of the IDENTIFY

    def serves(self, guild_id: int | None) -> bool:
        """Discord's rule: a guild's events go to shard (guild_id >> 22) % shard count; DMs to shard 0."""
        shard_id, count = self.shard
        return count <= 1 or ((guild_id or 0) >> 22) % count == shard_id

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    def has(self, intent: int) -> bool:
        return bool(self.intents & intent)


EventData = dict[str, Any] | Callable[[GatewaySession], dict[str, Any] | None]


def _event_guild(event: str, payload: dict[str, Any], channel: Any) -> int | None:
    """The guild an event belongs to (for sharding), None for DMs and guild-less events."""
    if channel is not None and channel.guild_id is not None:
        return int(channel.guild_id)
    raw = payload.get("id") if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else payload.get("guild_id")
    return int(raw) if raw else None

_MAX_EMBED = {"title": 256, "description": 4096, "footer.text": 2048, "author.name": 256}


class FakeCore:
    """Holds the fake's state; the REST, gateway and interaction parts build on it."""

    def __init__(
        self, *, token: str = "fake-bot-token", bot_name: str = "FilmClubBot", clock: FakeClock | None = None
    ) -> None:
        self.token = token
        self.host = "127.0.0.1"
        self.port = 0
        self._last_id = 0
        #: Time source for timestamps and snowflakes (and scheduled-event "in the past" checks).
        self.clock: FakeClock | None = clock
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages_by_id: dict[int, Message] = {}
        self.channel_messages: dict[int, list[Message]] = collections.defaultdict(list)
        self.attachments: dict[int, Attachment] = {}
        self.dm_channels: dict[int, Channel] = {}
        self.sessions: dict[str, GatewaySession] = {}
        self.rest_log: list[RestCall] = []
        self.unknown_routes: list[RestCall] = []
        self.injections: list[Injection] = []
        self.after_hooks: list[list[Any]] = []
        self.protocol_errors: list[str] = []
        self.gateway_connects: list[dict[str, str]] = []
        self.identifies: list[dict[str, Any]] = []
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        #: Privileged intents switched on for the application in the "developer portal".
        self.privileged_intents = Intents.PRIVILEGED
        self.heartbeat_interval_ms = 41250
        #: GET /gateway/bot's ``shards``: None = about one per 1,000 servers the bot is in (what Discord answers).
        self.recommended_shards: int | None = None
        #: The session start limit's ``max_concurrency``: IDENTIFYs allowed per 5 s, one per bucket
        #: ``shard_id % max_concurrency``. Most bots get 1; big bots 16 or more.
        self.max_concurrency = 1
        #: Refuse an IDENTIFY with op 9 when its bucket already identified in the last 5 s (real time), as Discord
        #: does. Off by default: tests restart bots within 5 s all the time.
        self.enforce_identify_limit = False
        self.identify_window = 5.0  # seconds (Discord's; a test may shorten it together with the bot's)
        self.identify_refusals = 0
        self._bucket_identified: dict[int, float] = {}
        self.max_pins = 250
        self.in_flight = 0
        self._activity = 0
        self._change = asyncio.Event()
        self.owner_user = self.create_user("club_owner", global_name="Club Owner")
        self.bot_user = self.create_user(bot_name.lower(), global_name=bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.app_name = bot_name

    # ------------------------------------------------------------------ basics
    @property
    def invalid_requests(self) -> int:
        """Answers Discord counts toward its invalid-request limit (10,000 per 10 minutes per IP, then a temporary
        ban; docs: Topics > Rate Limits, "Invalid Request Limit"): 401, 403 and 429 (not a shared-scope 429)."""
        return sum(
            1 for call in self.rest_log
            if call.status in (401, 403) or (call.status == 429 and call.scope != "shared")
        )

    def now(self) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        return datetime.now(UTC)

    def next_id(self) -> int:
        ms = int(self.now().timestamp() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (1 << 17)
        self._last_id = max(self._last_id + 1, candidate)
        return self._last_id

    def next_id_on_shard(self, shard_id: int, count: int) -> int:
        """A new snowflake that, as a guild id, lands on ``shard_id`` of ``count`` ((id >> 22) % count)."""
        sid = self.next_id()
        ms = sid >> 22
        if ms % count != shard_id:
            sid = ((ms + (shard_id - ms) % count) << 22) | (1 << 17)
            self._last_id = sid
        return sid

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def touch(self) -> None:
        """Record activity and wake everything waiting for a state change."""
        self._activity += 1
        self._change.set()
        self._change = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake discord: timed out after {timeout}s waiting for {what}")
            ev = self._change
            try:
                await asyncio.wait_for(ev.wait(), timeout=min(remaining, 0.05))
            except TimeoutError:
                pass

    def application_flags(self) -> int:
        flags = 0
        if self.privileged_intents & Intents.GUILD_PRESENCES:
            flags |= 1 << 12
        if self.privileged_intents & Intents.GUILD_MEMBERS:
            flags |= 1 << 14
        if self.privileged_intents & Intents.MESSAGE_CONTENT:
            flags |= 1 << 18
        return flags

    # ------------------------------------------------------------------ users / guilds
    def create_user(
        self, username: str, *, global_name: str | None = None, bot: bool = False, dms_closed: bool = False
    ) -> User:
        user = User(id=self.next_id(), username=username, global_name=global_name, bot=bot, dms_closed=dms_closed)
        self.users[user.id] = user
        return user

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None

    def get_channel(self, channel_id: int) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None or ch.deleted:
            raise unknown("Channel")
        return ch

    def get_guild(self, guild_id: int) -> Guild:
        g = self.guilds.get(guild_id)
        if g is None:
            raise unknown("Guild")
        return g

    def get_message(self, channel: Channel, message_id: int) -> Message:
        msg = self.messages_by_id.get(message_id)
        if msg is None or msg.deleted or msg.channel_id != channel.id:
            raise unknown("Message")
        return msg

    def perms_of(self, user_id: int, channel: Channel | None, guild: Guild | None = None) -> int:
        if channel is not None and channel.is_dm:
            return (
                P.VIEW_CHANNEL
                | P.SEND_MESSAGES
                | P.EMBED_LINKS
                | P.ATTACH_FILES
                | P.READ_MESSAGE_HISTORY
                | P.ADD_REACTIONS
                | P.USE_EXTERNAL_EMOJIS
                | P.MENTION_EVERYONE
            )
        if guild is None:
            guild = self.guild_of(channel) if channel is not None else None
        if guild is None:
            return 0
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return channel_permissions(guild, member, channel)

    def bot_perms(self, channel: Channel) -> int:
        return self.perms_of(self.bot_user.id, channel)

    def require(self, channel: Channel, *flags: int) -> None:
        """Raise Discord's 403 unless the bot has every permission in ``flags`` in ``channel``."""
        perms = self.bot_perms(channel)
        if channel.guild_id and not perms & P.VIEW_CHANNEL:
            raise missing_access()
        for f in flags:
            if perms & f != f:
                raise missing_permissions()

    def _event_if_bot_in(self, guild: Guild, event: str, payload: dict[str, Any], intent: int) -> None:
        if self.bot_user.id in guild.members:
            self.dispatch(event, payload, intent=intent)

    def create_role(
        self,
        guild: Guild,
        name: str,
        permissions: Any = 0,
        *,
        mentionable: bool = False,
        color: int = 0,
        hoist: bool = False,
        position: int | None = None,
    ) -> Role:
        if position is None:
            position = max((r.position for r in guild.roles.values() if not r.managed), default=0) + 1
        role = Role(
            id=self.next_id(),
            guild_id=guild.id,
            name=name,
            permissions=perm_value(permissions),
            position=position,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        self._event_if_bot_in(
            guild, "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_dict()}, Intents.GUILDS
        )
        self.touch()
        return role

    def create_channel(
        self,
        guild: Guild,
        name: str,
        kind: str | int = "text",
        *,
        topic: str | None = None,
        parent: Channel | None = None,
        overwrites: Iterable[Overwrite] = (),
        position: int | None = None,
        nsfw: bool = False,
    ) -> Channel:
        """Create a text/voice/stage/category/forum/announcement channel; emits CHANNEL_CREATE."""
        ctype = ChannelType.BY_NAME[kind] if isinstance(kind, str) else kind
        if position is None:
            position = len([c for c in guild.channels.values() if not c.is_thread])
        ch = Channel(
            id=self.next_id(),
            type=ctype,
            name=name,
            guild_id=guild.id,
            position=position,
            parent_id=parent.id if parent else None,
            topic=topic,
            overwrites=list(overwrites),
            nsfw=nsfw,
        )
        self.channels[ch.id] = ch
        guild.channels[ch.id] = ch
        if self.bot_user.id in guild.members:
            self.dispatch("CHANNEL_CREATE", self.channel_json(ch), intent=Intents.GUILDS, channel=ch)
        self.touch()
        return ch

    # ------------------------------------------------------------------ payload helpers
    def member_of(self, channel: Channel, user_id: int) -> Member | None:
        guild = self.guild_of(channel)
        return guild.members.get(user_id) if guild else None

    def message_json(
        self, msg: Message, *, redact: bool = False, with_member: bool = False, depth: int = 0
    ) -> dict[str, Any]:
        ch = self.channels.get(msg.channel_id)
        member = None
        if with_member and ch is not None and msg.webhook_id is None:
            member = self.member_of(ch, msg.author.id)
        referenced = None
        if msg.message_reference is not None and depth == 0:
            ref_id = msg.message_reference.get("message_id")
            ref = self.messages_by_id.get(int(ref_id)) if ref_id else None
            if ref is not None and not ref.deleted:
                referenced = self.message_json(ref, redact=redact, depth=1)
        thread = None
        if msg.thread_id is not None and depth == 0:
            t = self.channels.get(msg.thread_id)
            if t is not None and not t.deleted:
                thread = t.to_dict()
        return msg.to_dict(
            viewer_id=self.bot_user.id,
            users=self.users,
            member=member,
            redact=redact,
            referenced=referenced,
            thread=thread,
        )

    def member_json(self, guild: Guild, member: Member, *, with_user: bool = True) -> dict[str, Any]:
        return member.to_dict(with_user=with_user)

    def channel_json(self, ch: Channel) -> dict[str, Any]:
        data = ch.to_dict(self.users)
        if ch.is_thread and self.bot_user.id in ch.member_ids:
            data["member"] = self.thread_member_json(ch, self.bot_user.id)
        return data

    def thread_member_json(self, thread: Channel, user_id: int, with_member: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": self.iso_now(),
            "flags": 0,
        }
        if with_member:
            guild = self.guild_of(thread)
            m = guild.members.get(user_id) if guild else None
            if m is not None:
                data["member"] = m.to_dict()
        return data

    def iso_now(self) -> str:
        return self.now().isoformat()

    # ------------------------------------------------------------------ gateway dispatch
    def dispatch(
        self,
        event: str,
        data: EventData,
        *,
        intent: int | None = None,
        channel: Channel | None = None,
    ) -> None:
        """Send a DISPATCH to every session whose intents (and channel visibility) allow it."""
        for session in list(self.sessions.values()):
            if session.invalidated:
                continue
            if intent is not None and not session.has(intent):
                continue
            if channel is not None and channel.guild_id is not None:
                if not self.bot_perms(channel) & P.VIEW_CHANNEL:
                    continue
            payload = data(session) if callable(data) else data
            if payload is None:
                continue
            if session.shard[1] > 1 and not session.serves(_event_guild(event, payload, channel)):
                continue
            self.push(session, event, payload)

    def push(self, session: GatewaySession, event: str, payload: dict[str, Any]) -> None:
        session.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": session.seq, "d": payload}, separators=(",", ":"))
        session.buffer.append((session.seq, frame))
        if session.connected and session.queue is not None:
            session.queue.put_nowait(frame)
        self.touch()

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until every queued gateway frame was written to its socket."""
        for s in list(self.sessions.values()):
            if s.queue is not None and s.connected:
                try:
                    await asyncio.wait_for(s.queue.join(), timeout)
                except TimeoutError:
                    self.protocol_errors.append(f"flush timed out for session {s.id}")

    def message_intent(self, channel: Channel) -> int:
        return Intents.DIRECT_MESSAGES if channel.is_dm else Intents.GUILD_MESSAGES

    def reaction_intent(self, channel: Channel) -> int:
        return Intents.DIRECT_MESSAGE_REACTIONS if channel.is_dm else Intents.GUILD_MESSAGE_REACTIONS

    def gateway_message(self, msg: Message, session: GatewaySession) -> dict[str, Any]:
        ch = self.channels.get(msg.channel_id)
        redact = not (
            session.has(Intents.MESSAGE_CONTENT)
            or (ch is not None and ch.is_dm)
            or msg.author.id == session.user_id
            or session.user_id in msg.mention_user_ids
        )
        return self.message_json(msg, redact=redact, with_member=True)

    def dispatch_message(self, event: str, msg: Message) -> None:
        ch = self.channels.get(msg.channel_id)
        if ch is None or msg.ephemeral:
            return
        self.dispatch(event, lambda s: self.gateway_message(msg, s), intent=self.message_intent(ch), channel=ch)

    # ------------------------------------------------------------------ messages
    def validate_message_payload(self, payload: dict[str, Any], files: list[UploadedFile], *, editing: bool) -> None:
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            raise form_error("content", "BASE_TYPE_STRING", "Must be a string.")
        if content is not None and len(content) > 2000:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = payload.get("embeds")
        if embeds is not None:
            if len(embeds) > 10:
                raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
            total = 0
            for i, e in enumerate(embeds):
                for key, limit in _MAX_EMBED.items():
                    val: Any = e
                    for part in key.split("."):
                        val = val.get(part) if isinstance(val, dict) else None
                    if isinstance(val, str):
                        total += len(val)
                        if len(val) > limit:
                            raise form_error(
                                f"embeds.{i}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                            )
                fields = e.get("fields", []) or []
                if len(fields) > 25:
                    raise form_error(f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
                for j, f in enumerate(fields):
                    name, value = str(f.get("name", "")), str(f.get("value", ""))
                    if not name.strip() or not value.strip():
                        raise form_error(f"embeds.{i}.fields.{j}", "BASE_TYPE_REQUIRED", "This field is required")
                    if len(name) > 256:
                        raise form_error(f"embeds.{i}.fields.{j}.name", "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer.")
                    if len(value) > 1024:
                        raise form_error(
                            f"embeds.{i}.fields.{j}.value", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
                        )
                    total += len(name) + len(value)
            if total > 6000:
                raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
        flags_now = int(payload.get("flags") or 0)
        if flags_now & MessageFlag.IS_COMPONENTS_V2 and ((content or "").strip() or embeds):
            raise form_error(
                "content" if (content or "").strip() else "embeds",
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
        components = payload.get("components")
        if components:
            flags = int(payload.get("flags") or 0)
            if not flags & MessageFlag.IS_COMPONENTS_V2 and len(components) > 5:
                raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
            seen: set[str] = set()
            for c in walk_components(components):
                cid = c.get("custom_id")
                if cid is not None:
                    if len(cid) > 100:
                        raise form_error("components", "BASE_TYPE_MAX_LENGTH", "custom_id must be 100 or fewer.")
                    if cid in seen:
                        raise form_error(
                            "components", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                        )
                    seen.add(cid)
                if c.get("type") == 2 and c.get("label") and len(c["label"]) > 80:
                    raise form_error("components", "BASE_TYPE_MAX_LENGTH", "label must be 80 or fewer in length.")
                if c.get("type") == 1 and len(c.get("components", [])) > 5:
                    raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
                if c.get("type") == 3 and len(c.get("options", [])) > 25:
                    raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
                for option in c.get("options", []) if c.get("type") == 3 else []:
                    for key in ("label", "value", "description"):
                        if option.get(key) is not None and len(str(option[key])) > 100:
                            raise form_error(
                                "components", "BASE_TYPE_MAX_LENGTH", f"select option {key} must be 100 or fewer."
                            )
        try:
            validate_allowed_mentions(payload.get("allowed_mentions"))
        except AllowedMentionsError as exc:
            raise form_error("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", str(exc)) from exc
        if not editing:
            has_body = bool(
                (content or "").strip()
                or embeds
                or files
                or payload.get("components")
                or payload.get("sticker_ids")
                or payload.get("poll")
            )
            if not has_body:
                raise ApiError(400, 50006, "Cannot send an empty message")

    def make_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None = None,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> Attachment:
        att_id = self.next_id()
        if content_type is None:
            content_type = mimetypes.guess_type(filename)[0]
        att = Attachment(
            id=att_id,
            filename=filename,
            data=data,
            content_type=content_type,
            description=description,
            url=f"{self.base_url}/attachments/{channel_id}/{att_id}/{filename}",
            ephemeral=ephemeral,
        )
        if content_type and content_type.startswith("image/"):
            try:
                from PIL import Image

                with Image.open(io.BytesIO(data)) as im:
                    att.width, att.height = im.size
            except Exception:
                pass
        self.attachments[att_id] = att
        return att

    def attachments_from(
        self, channel_id: int, payload: dict[str, Any], files: list[UploadedFile], existing: list[Attachment]
    ) -> list[Attachment] | None:
        """Resolve the ``attachments`` array (+ uploaded ``files[n]``) into attachments; None = unchanged."""
        by_index: dict[int, UploadedFile] = {}
        for f in files:
            m = re.fullmatch(r"files\[(\d+)\]", f.field)
            if m:
                by_index[int(m.group(1))] = f
            elif f.field.startswith("file"):
                by_index[len(by_index)] = f
        spec = payload.get("attachments")
        if spec is None:
            if not files:
                return None
            spec = [{"id": i} for i in sorted(by_index)]
            keep = list(existing)
        else:
            keep = []
        out: list[Attachment] = list(keep)
        old = {a.id: a for a in existing}
        for entry in spec:
            aid = int(entry["id"])
            if aid in by_index:
                up = by_index[aid]
                out.append(
                    self.make_attachment(
                        channel_id,
                        entry.get("filename") or up.filename,
                        up.data,
                        description=entry.get("description"),
                    )
                )
            elif aid in old:
                out.append(old[aid])
            else:
                raise form_error("attachments", "ATTACHMENT_NOT_FOUND", f"Unknown attachment id {aid}")
        return out

    def create_message(
        self,
        channel: Channel,
        author: User,
        payload: dict[str, Any],
        files: list[UploadedFile] | None = None,
        *,
        msg_type: int = 0,
        webhook_id: int | None = None,
        interaction: Any = None,
        interaction_metadata: dict[str, Any] | None = None,
        extra_flags: int = 0,
        author_perms: int | None = None,
        dispatch: bool = True,
        validate: bool = True,
        msg_id: int | None = None,
    ) -> Message:
        files = files or []
        if validate:
            self.validate_message_payload(payload, files, editing=False)
        msg_id = msg_id or self.next_id()
        flags = (int(payload.get("flags") or 0) | extra_flags) & (
            MessageFlag.SUPPRESS_EMBEDS
            | MessageFlag.EPHEMERAL
            | MessageFlag.LOADING
            | MessageFlag.SUPPRESS_NOTIFICATIONS
            | MessageFlag.IS_COMPONENTS_V2
        )
        msg = Message(
            id=msg_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            flags=flags,
            type=msg_type,
            nonce=str(payload["nonce"]) if payload.get("nonce") is not None else None,
            tts=bool(payload.get("tts", False)),
            timestamp=self.now(),
            webhook_id=webhook_id,
            application_id=self.application_id if webhook_id else None,
            interaction_metadata=interaction_metadata,
            allowed_mentions=payload.get("allowed_mentions"),
            interaction=interaction,
        )
        ref = payload.get("message_reference")
        replied_author = None
        if ref:
            ref_mid = int(ref["message_id"])
            ref_ch = int(ref.get("channel_id") or channel.id)
            target = self.messages_by_id.get(ref_mid)
            if target is None or target.deleted or target.channel_id != ref_ch:
                if ref.get("fail_if_not_exists", True):
                    raise form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            else:
                replied_author = target.author.id
                msg.message_reference = {
                    "type": ref.get("type", 0),
                    "message_id": str(ref_mid),
                    "channel_id": str(ref_ch),
                    "guild_id": str(channel.guild_id) if channel.guild_id else None,
                }
                if msg_type == 0:
                    msg.type = 19
        atts = self.attachments_from(channel.id, payload, files, [])
        msg.attachments = atts or []
        if msg.ephemeral:
            for a in msg.attachments:
                a.ephemeral = True
        guild = self.guild_of(channel)
        perms = author_perms if author_perms is not None else self.perms_of(author.id, channel, guild)
        res = compute_mentions(
            msg.content,
            allowed_mentions=msg.allowed_mentions,
            guild=guild,
            author_perms=perms,
            known_user_ids=set(self.users),
            replied_author_id=replied_author,
            author_id=author.id,
            flags=msg.flags,
        )
        apply_mentions(msg, res, ping=not msg.loading)
        msg.history.append({"content": msg.content, "embeds": list(msg.embeds), "components": list(msg.components)})
        self.messages_by_id[msg.id] = msg
        self.channel_messages[channel.id].append(msg)
        if not msg.ephemeral:
            channel.last_message_id = msg.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        if dispatch:
            self.dispatch_message("MESSAGE_CREATE", msg)
        self.touch()
        return msg

    def edit_message(
        self, msg: Message, payload: dict[str, Any], files: list[UploadedFile] | None = None, *, dispatch: bool = True
    ) -> Message:
        files = files or []
        self.validate_message_payload(payload, files, editing=True)
        if msg.flags & MessageFlag.IS_COMPONENTS_V2 and (
            (payload.get("content") or "").strip() or payload.get("embeds")
        ):
            raise form_error(
                "content",
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            msg.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            msg.components = list(payload["components"] or [])
        if "flags" in payload and payload["flags"] is not None:
            keep = msg.flags & (MessageFlag.EPHEMERAL | MessageFlag.IS_COMPONENTS_V2)
            msg.flags = keep | (int(payload["flags"]) & (MessageFlag.SUPPRESS_EMBEDS | MessageFlag.IS_COMPONENTS_V2))
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        atts = self.attachments_from(msg.channel_id, payload, files, msg.attachments)
        if atts is not None:
            msg.attachments = atts
        was_loading = msg.loading
        msg.flags &= ~MessageFlag.LOADING
        if not (msg.content.strip() or msg.embeds or msg.attachments or msg.components) and not was_loading:
            raise ApiError(400, 50006, "Cannot send an empty message")
        ch = self.channels.get(msg.channel_id)
        guild = self.guild_of(ch) if ch else None
        res = compute_mentions(
            msg.content,
            allowed_mentions=msg.allowed_mentions,
            guild=guild,
            author_perms=self.perms_of(msg.author.id, ch, guild) if ch else 0,
            known_user_ids=set(self.users),
            replied_author_id=None,
            author_id=msg.author.id,
            flags=msg.flags,
        )
        apply_mentions(msg, res, ping=False)
        msg.edited_timestamp = None if was_loading else self.now()
        msg.history.append({"content": msg.content, "embeds": list(msg.embeds), "components": list(msg.components)})
        if dispatch:
            self.dispatch_message("MESSAGE_UPDATE", msg)
        self.touch()
        return msg

    def delete_message_state(self, msg: Message) -> None:
        msg.deleted = True
        ch = self.channels.get(msg.channel_id)
        if ch is not None and not msg.ephemeral:
            payload: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                payload["guild_id"] = str(msg.guild_id)
            self.dispatch("MESSAGE_DELETE", payload, intent=self.message_intent(ch), channel=ch)
        self.touch()

    # ------------------------------------------------------------------ queries for tests
    def messages_in(self, channel: Channel | int, *, include_deleted: bool = False) -> list[Message]:
        cid = channel if isinstance(channel, int) else channel.id
        return [m for m in self.channel_messages.get(cid, []) if include_deleted or not m.deleted]

    def all_messages(self, *, include_deleted: bool = False) -> list[Message]:
        return [m for m in self.messages_by_id.values() if include_deleted or not m.deleted]

    def bot_messages(self, channel: Channel | int | None = None) -> list[Message]:
        msgs = self.all_messages() if channel is None else self.messages_in(channel)
        return [m for m in msgs if m.author.id == self.bot_user.id]

    def calls(self, method: str | None = None, path: str | None = None) -> list[RestCall]:
        """REST calls made by clients, optionally filtered by method and a path regex (re.search)."""
        out = []
        for c in self.rest_log:
            if method and c.method != method.upper():
                continue
            if path and not re.search(path, c.path):
                continue
            out.append(c)
        return out

    def scheduled_event(self, guild: Guild, name: str) -> ScheduledEvent:
        for e in guild.scheduled_events.values():
            if e.name == name and not e.deleted:
                return e
        raise KeyError(name)

    def later(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with exactly ``Content-Type: application/json`` (discord.py compares it verbatim)."""
    from aiohttp import web as _web

    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return _web.Response(body=json.dumps(body).encode(), status=status, headers=all_headers)
