"""FakeDiscord: the aiohttp server plus the driver API tests use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from .clock import FakeClock
from .core import Intents, json_response
from .gateway import GatewayMixin
from .interactions import FakeDiscordUsageError, InteractionHandle, InteractionMixin
from .models import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    ScheduledEvent,
    User,
    parse_emoji,
)
from .permissions import P, perm_value

_log = logging.getLogger("tests.fakediscord")

Target = Role | Member | User | Guild


@dataclass
class StandardGuild:
    """The ready-made club guild from :meth:`FakeDiscord.standard_guild`."""

    guild: Guild
    owner: Member
    admin: Member
    alice: Member
    bob: Member
    carol: Member
    bot: Member
    everyone: Role
    admin_role: Role
    member_role: Role
    bot_role: Role
    general: Channel
    screenings: Channel
    announcements: Channel
    staff: Channel
    voice: Channel
    stage: Channel


class FakeDiscord(InteractionMixin, GatewayMixin):
    """A fake Discord (REST /api/v10 + gateway v10 + CDN) on 127.0.0.1 for the real discord.py client."""

    def __init__(
        self, *, token: str = "fake-bot-token", bot_name: str = "FilmClubBot", clock: FakeClock | None = None
    ) -> None:
        super().__init__(token=token, bot_name=bot_name, clock=clock)
        if clock is not None:
            clock.settle_hooks.append(self.settle)
        self._runner: web.AppRunner | None = None
        self._patched: list[tuple[Any, str, Any]] = []
        self._bots: list[tuple[Any, asyncio.Task[None]]] = []
        #: ERROR records from the ``discord`` logger (filled by the pytest plugin).
        self.log_errors: list[logging.LogRecord] = []
        self.expected_errors: list[re.Pattern[str]] = []
        #: Default quiet period of :meth:`settle`.
        self.settle_idle = 0.02
        #: Bot subprocesses started through the ``bot_process`` fixture.
        self.processes: list[Any] = []

    def expect_log_error(self, pattern: str) -> None:
        """Allow discord.py ERROR log records matching ``pattern`` (re.search on "logger: message [exc]")."""
        self.expected_errors.append(re.compile(pattern))

    # ------------------------------------------------------------------ lifecycle
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.handle_gateway)
        app.router.add_get("/gateway/", self.handle_gateway)
        app.router.add_get("/attachments/{channel_id}/{att_id}/{filename}", self.handle_cdn)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.handle_api)
        app.router.add_route("*", "/{tail:.*}", self._handle_other)
        return app

    async def _handle_other(self, request: web.Request) -> web.StreamResponse:
        from .core import RestCall

        call = RestCall(method=request.method, path=request.path, query=dict(request.query), json=None, status=404)
        self.rest_log.append(call)
        self.unknown_routes.append(call)
        return json_response({"message": "404: Not Found", "code": 0}, status=404)

    async def start(self, *, patch: bool = True) -> FakeDiscord:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        if patch:
            self.patch_discord()
        return self

    def patch_discord(self) -> None:
        """Point discord.py at this fake (Route.BASE + DEFAULT_GATEWAY); undone by :meth:`stop`."""
        import discord.gateway
        import discord.http
        import yarl

        self._patched.append((discord.http.Route, "BASE", discord.http.Route.BASE))
        self._patched.append(
            (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        )
        discord.http.Route.BASE = self.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord(self) -> None:
        while self._patched:
            obj, attr, value = self._patched.pop()
            setattr(obj, attr, value)

    async def stop(self) -> None:
        for client, _task in list(self._bots):
            await self.stop_bot(client)
        for task in self._event_tasks.values():
            task.cancel()
        await self.close_all_sockets()
        for s in self.sessions.values():
            if s.writer is not None and not s.writer.done():
                s.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await s.writer
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.unpatch_discord()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ in-process bots
    async def run_bot(
        self,
        client: Any,
        *,
        token: str | None = None,
        wait_commands: bool = False,
        timeout: float = 10.0,
        guild_ready_timeout: float = 0.1,
    ) -> Any:
        """Start a ``discord.Client``/``commands.Bot`` against this fake and wait until it is ready.

        It is closed by :meth:`stop` (the ``fake`` fixture does that at teardown)."""
        client._connection.guild_ready_timeout = guild_ready_timeout
        syncs_before = len(self.command_syncs)
        task = asyncio.get_running_loop().create_task(client.start(token or self.token), name="fakediscord-bot")
        self._bots.append((client, task))
        ready = asyncio.ensure_future(self._wait_ready(client))
        done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            self._bots = [(c, t) for c, t in self._bots if t is not task]
            with contextlib.suppress(Exception):
                await client.close()
            exc = task.exception()
            if exc is not None:
                raise exc
            raise RuntimeError("bot stopped before it was ready")
        if ready not in done:
            ready.cancel()
            await self.stop_bot(client)
            raise TimeoutError("bot did not become ready in time")
        if wait_commands:
            await self.wait_until(lambda: len(self.command_syncs) > syncs_before, timeout, "command sync")
        await self.settle()
        return client

    async def _wait_ready(self, client: Any) -> None:
        # wait_until_ready needs the client's loop objects, which exist after login starts.
        while not hasattr(getattr(client, "_ready", None), "wait"):
            await asyncio.sleep(0.001)
        await client.wait_until_ready()

    async def stop_bot(self, client: Any) -> None:
        for c, task in list(self._bots):
            if c is not client:
                continue
            self._bots.remove((c, task))
            with contextlib.suppress(Exception):
                await client.close()
            try:
                await asyncio.wait_for(task, 5)
            except (asyncio.CancelledError, TimeoutError):
                task.cancel()
            except Exception:
                pass

    # ------------------------------------------------------------------ quiescence
    RATE_LIMIT_PATIENCE = 15.0

    def held_back(self) -> int:
        """Requests in-process bots hold back for rate limits right now: waiting for (or inside) a discord.py
        bucket, or for a slot of the bot's own pacer (any ``client.pacer`` with a ``waiting`` count)."""
        count = 0
        for client, _task in self._bots:
            buckets = getattr(getattr(client, "http", None), "_buckets", {})
            for limit in list(buckets.values()):
                # A bucket sleeping until its reset always has a caller waiting on it (discord.py sleeps inside
                # the request that used its last slot, or inside the next one's acquire).
                count += limit.outgoing + limit._sleeping.locked()
                count += sum(1 for f in limit._pending_requests if not f.done())
            count += int(getattr(getattr(client, "pacer", None), "waiting", 0))
        return count

    async def settle(self, idle: float | None = None, timeout: float = 5.0) -> None:
        """Wait until gateway frames are delivered and no REST call has been in flight for ``idle`` seconds
        (default ``fake.settle_idle``, 0.02 s; raise it for slow subprocess bots). A request an in-process bot
        holds back for a rate limit (discord.py waiting out a bucket, or the bot pacing itself) counts as in
        flight, so settling outlasts a bucket's window (up to ``RATE_LIMIT_PATIENCE`` seconds more)."""
        if idle is None:
            idle = self.settle_idle
        await self.flush(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        patience = loop.time() + timeout + self.RATE_LIMIT_PATIENCE
        last = (self._activity, self.in_flight)
        quiet_since = loop.time()
        held_at = quiet_since if self.held_back() else -1.0
        while loop.time() < deadline or (loop.time() < patience and loop.time() - held_at < 1.0):
            for _ in range(5):
                await asyncio.sleep(0)
            await asyncio.sleep(0.002)
            now_state = (self._activity, self.in_flight)
            held = self.held_back()
            if held:
                held_at = loop.time()
            if now_state != last or self.in_flight or held:
                last = now_state
                quiet_since = loop.time()
                continue
            if loop.time() - quiet_since >= idle:
                return

    # ------------------------------------------------------------------ building the world
    def create_guild(
        self,
        name: str = "Film Club",
        *,
        owner: User | None = None,
        with_bot: bool = True,
        bot_permissions: Any = P.DEFAULT_BOT,
        everyone_permissions: Any = P.DEFAULT_EVERYONE,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """``shard=(id, count)``: pick the guild's id so that Discord's sharding rule puts it on that shard."""
        owner = owner or self.create_user(f"{name.lower().replace(' ', '_')}_owner", global_name=f"{name} Owner")
        gid = self.next_id() if shard is None else self.next_id_on_shard(*shard)
        guild = Guild(id=gid, name=name, owner_id=owner.id, created_at=self.now())
        guild.roles[gid] = Role(id=gid, guild_id=gid, name="@everyone", permissions=perm_value(everyone_permissions))
        self.guilds[gid] = guild
        guild.members[owner.id] = Member(user=owner, guild_id=gid, joined_at=self.now())
        if with_bot:
            self.add_bot(guild, permissions=bot_permissions, announce=False)
            self._announce_guild(guild)
        return guild

    def _announce_guild(self, guild: Guild) -> None:
        for session in list(self.sessions.values()):
            if not session.invalidated:
                self.push(session, "GUILD_CREATE", self.guild_create_payload(guild, session, joined=True))

    def add_bot(self, guild: Guild, *, permissions: Any = P.DEFAULT_BOT, announce: bool = True) -> Member:
        """Add the bot to ``guild`` with a managed role holding ``permissions``."""
        role = Role(
            id=self.next_id(),
            guild_id=guild.id,
            name=self.app_name,
            permissions=perm_value(permissions),
            position=100,
            managed=True,
            bot_id=self.bot_user.id,
        )
        guild.roles[role.id] = role
        member = Member(user=self.bot_user, guild_id=guild.id, role_ids=[role.id], joined_at=self.now())
        guild.members[self.bot_user.id] = member
        if announce:
            self._announce_guild(guild)
        return member

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot_user.id]

    def bot_role(self, guild: Guild) -> Role:
        for r in guild.roles.values():
            if r.managed and r.bot_id == self.bot_user.id:
                return r
        raise KeyError("bot role")

    def set_bot_permissions(self, guild: Guild, permissions: Any) -> None:
        """Replace the bot role's permissions (emits GUILD_ROLE_UPDATE)."""
        self.edit_role(self.bot_role(guild), permissions=permissions)

    def edit_role(
        self, role: Role, *, permissions: Any = None, name: str | None = None, mentionable: bool | None = None
    ) -> Role:
        if permissions is not None:
            role.permissions = perm_value(permissions)
        if name is not None:
            role.name = name
        if mentionable is not None:
            role.mentionable = mentionable
        guild = self.guilds[role.guild_id]
        self._event_if_bot_in(
            guild, "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.to_dict()}, Intents.GUILDS
        )
        self.touch()
        return role

    def add_member(
        self,
        guild: Guild,
        user: User | str,
        roles: Iterable[Role] = (),
        *,
        nick: str | None = None,
        global_name: str | None = None,
        dms_closed: bool = False,
    ) -> Member:
        """Add ``user`` (or a new user named ``user``) to ``guild``; emits GUILD_MEMBER_ADD."""
        if isinstance(user, str):
            user = self.create_user(user, global_name=global_name or user.capitalize(), dms_closed=dms_closed)
        member = Member(user=user, guild_id=guild.id, role_ids=[r.id for r in roles], nick=nick, joined_at=self.now())
        guild.members[user.id] = member
        self._event_if_bot_in(
            guild, "GUILD_MEMBER_ADD", {**member.to_dict(), "guild_id": str(guild.id)}, Intents.GUILD_MEMBERS
        )
        self.touch()
        return member

    def remove_member(self, guild: Guild, member: Member) -> None:
        guild.members.pop(member.user.id, None)
        self._event_if_bot_in(
            guild,
            "GUILD_MEMBER_REMOVE",
            {"guild_id": str(guild.id), "user": member.user.to_dict()},
            Intents.GUILD_MEMBERS,
        )
        self.touch()

    def set_roles(self, member: Member, roles: Iterable[Role]) -> None:
        """Replace ``member``'s roles; emits GUILD_MEMBER_UPDATE."""
        member.role_ids = [r.id for r in roles]
        guild = self.guilds[member.guild_id]
        self._event_if_bot_in(
            guild, "GUILD_MEMBER_UPDATE", {**member.to_dict(), "guild_id": str(guild.id)}, Intents.GUILD_MEMBERS
        )
        self.touch()

    def overwrite(self, target: Target, *, allow: Any = 0, deny: Any = 0) -> Overwrite:
        """A permission overwrite for a role (or the guild = @everyone) or a member/user."""
        if isinstance(target, Role):
            return Overwrite(target.id, 0, perm_value(allow), perm_value(deny))
        if isinstance(target, Guild):
            return Overwrite(target.id, 0, perm_value(allow), perm_value(deny))
        uid = target.user.id if isinstance(target, Member) else target.id
        return Overwrite(uid, 1, perm_value(allow), perm_value(deny))

    def set_overwrites(self, channel: Channel, overwrites: Iterable[Overwrite]) -> None:
        """Replace a channel's overwrites; emits CHANNEL_UPDATE."""
        channel.overwrites = list(overwrites)
        self.dispatch("CHANNEL_UPDATE", self.channel_json(channel), intent=Intents.GUILDS)
        self.touch()

    def delete_channel(self, channel: Channel) -> None:
        """Delete a channel as an admin would (CHANNEL_DELETE); later REST calls get 404 10003."""
        self.remove_channel(channel)

    def standard_guild(
        self, name: str = "Film Club", *, bot_permissions: Any = P.DEFAULT_BOT, shard: tuple[int, int] | None = None
    ) -> StandardGuild:
        """A club guild: owner, admin (Administrator), alice/bob/carol (Member role), the bot, and channels
        #general, #screenings, #announcements (members read-only), #staff (admins only, bot can't see),
        a voice channel "Screening Room" and a stage "Stage"."""
        owner_user = self.create_user("owner", global_name="Olive Owner")
        guild = self.create_guild(name, owner=owner_user, with_bot=False, shard=shard)
        admin_role = self.create_role(guild, "Admin", P.ADMINISTRATOR, color=0xE74C3C, hoist=True)
        member_role = self.create_role(guild, "Member", 0, mentionable=False)
        bot = self.add_bot(guild, permissions=bot_permissions, announce=False)
        admin = self.add_member(guild, "adele", [admin_role], global_name="Adele Admin")
        alice = self.add_member(guild, "alice", [member_role], global_name="Alice")
        bob = self.add_member(guild, "bob", [member_role], global_name="Bob")
        carol = self.add_member(guild, "carol", [member_role], global_name="Carol")
        general = self.create_channel(guild, "general", topic="Chat about anything")
        screenings = self.create_channel(guild, "screenings", topic="What we watch and when")
        announcements = self.create_channel(
            guild,
            "announcements",
            overwrites=[
                self.overwrite(guild, deny=P.SEND_MESSAGES | P.CREATE_PUBLIC_THREADS),
                self.overwrite(self.bot_role(guild), allow=P.SEND_MESSAGES),
            ],
        )
        staff = self.create_channel(
            guild,
            "staff",
            overwrites=[
                self.overwrite(guild, deny=P.VIEW_CHANNEL),
                self.overwrite(admin_role, allow=P.VIEW_CHANNEL),
            ],
        )
        voice = self.create_channel(guild, "Screening Room", "voice")
        stage = self.create_channel(guild, "Stage", "stage")
        self._announce_guild(guild)
        return StandardGuild(
            guild=guild,
            owner=guild.members[owner_user.id],
            admin=admin,
            alice=alice,
            bob=bob,
            carol=carol,
            bot=bot,
            everyone=guild.everyone,
            admin_role=admin_role,
            member_role=member_role,
            bot_role=self.bot_role(guild),
            general=general,
            screenings=screenings,
            announcements=announcements,
            staff=staff,
            voice=voice,
            stage=stage,
        )

    # ------------------------------------------------------------------ user actions
    def _member_for(self, who: Member | User, channel: Channel) -> User:
        user, _member = self._actor(who, channel)
        return user

    def dm_channel(self, user: Member | User) -> Channel:
        """The DM channel between ``user`` and the bot (created on demand)."""
        u = user.user if isinstance(user, Member) else user
        return self.dm_channel_for(u.id)

    async def say(
        self,
        who: Member | User,
        channel: Channel,
        content: str = "",
        *,
        reply_to: Message | None = None,
        embeds: list[dict[str, Any]] | None = None,
        attachments: Iterable[Any] = (),
        settle: bool = True,
    ) -> Message:
        """``who`` posts a message in ``channel`` (MESSAGE_CREATE). Use :meth:`dm_channel` for DMs."""
        user = self._member_for(who, channel)
        if channel.deleted:
            raise FakeDiscordUsageError(f"#{channel.name} was deleted")
        if channel.guild_id is not None:
            perms = self.perms_of(user.id, channel)
            need = P.SEND_MESSAGES_IN_THREADS if channel.is_thread else P.SEND_MESSAGES
            if not perms & P.VIEW_CHANNEL or not perms & need:
                raise FakeDiscordUsageError(f"{user.username} cannot send messages in #{channel.name}")
        payload: dict[str, Any] = {"content": content}
        if embeds:
            payload["embeds"] = embeds
        if reply_to is not None:
            payload["message_reference"] = {"message_id": reply_to.id, "channel_id": reply_to.channel_id}
        atts = list(attachments)
        msg = self.create_message(channel, user, payload, validate=not (atts and not content and not embeds))
        for att in atts:
            att.ephemeral = False
            att.url = f"{self.base_url}/attachments/{channel.id}/{att.id}/{att.filename}"
            msg.attachments.append(att)
        if settle:
            await self.settle()
        return msg

    async def dm(self, who: Member | User, content: str, *, settle: bool = True) -> Message:
        """``who`` sends the bot a direct message."""
        user = who.user if isinstance(who, Member) else who
        return await self.say(user, self.dm_channel_for(user.id), content, settle=settle)

    async def edit(self, message: Message, content: str, *, settle: bool = True) -> Message:
        """The author edits their message (MESSAGE_UPDATE)."""
        self.edit_message(message, {"content": content})
        if settle:
            await self.settle()
        return message

    async def delete(self, message: Message, *, settle: bool = True) -> None:
        """Delete a message as its author or a moderator (MESSAGE_DELETE)."""
        self.delete_message_state(message)
        if settle:
            await self.settle()

    async def react(self, who: Member | User, message: Message, emoji: str, *, settle: bool = True) -> None:
        """``who`` adds ``emoji`` (unicode, ``name:id`` or ``<:name:id>``) to ``message``."""
        channel = self.get_channel(message.channel_id)
        user = self._member_for(who, channel)
        name, eid, animated = parse_emoji(emoji)
        if channel.guild_id is not None:
            perms = self.perms_of(user.id, channel)
            existing = message.reactions.get(f"{name}:{eid}" if eid else name)
            if not perms & P.READ_MESSAGE_HISTORY or (
                not (existing and existing.user_ids) and not perms & P.ADD_REACTIONS
            ):
                raise FakeDiscordUsageError(f"{user.username} may not react in #{channel.name}")
        self.add_reaction_state(channel, message, user.id, name, eid, animated)
        if settle:
            await self.settle()

    async def unreact(self, who: Member | User, message: Message, emoji: str, *, settle: bool = True) -> None:
        channel = self.get_channel(message.channel_id)
        user = self._member_for(who, channel)
        name, eid, _ = parse_emoji(emoji)
        self.remove_reaction_state(channel, message, user.id, name, eid)
        if settle:
            await self.settle()

    async def join_thread(self, who: Member | User, thread: Channel, *, settle: bool = True) -> None:
        user = self._member_for(who, thread)
        if user.id not in thread.member_ids:
            thread.member_ids.append(user.id)
            self.thread_members_update(thread, [user.id], [])
        if settle:
            await self.settle()

    def create_thread(
        self, who: Member | User, channel: Channel, name: str, *, message: Message | None = None, private: bool = False
    ) -> Channel:
        """A user starts a thread (from ``message`` or standalone); emits THREAD_CREATE."""
        user = self._member_for(who, channel)
        ttype = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        t = self.new_thread(channel, name, user.id, thread_id=message.id if message else None, thread_type=ttype)
        if message is not None:
            message.thread_id = t.id
        return t

    def create_event(
        self,
        guild: Guild,
        name: str,
        start: datetime,
        *,
        end: datetime | None = None,
        channel: Channel | None = None,
        location: str | None = None,
        description: str | None = None,
        creator: Member | User | None = None,
    ) -> ScheduledEvent:
        """A user-created scheduled event (voice/stage if ``channel``, else external at ``location``)."""
        if channel is not None:
            entity_type = 1 if channel.type == ChannelType.STAGE else 2
        else:
            entity_type = 3
            if end is None:
                raise FakeDiscordUsageError("external events need an end time")
        cuser = creator.user if isinstance(creator, Member) else creator
        e = ScheduledEvent(
            id=self.next_id(),
            guild_id=guild.id,
            name=name,
            scheduled_start_time=start,
            scheduled_end_time=end,
            entity_type=entity_type,
            creator_id=cuser.id if cuser else guild.owner_id,
            channel_id=channel.id if channel else None,
            description=description,
            location=location if channel is None else None,
        )
        guild.scheduled_events[e.id] = e
        self._event_if_bot_in(
            guild, "GUILD_SCHEDULED_EVENT_CREATE", e.to_dict(self.users), Intents.GUILD_SCHEDULED_EVENTS
        )
        self.automate_event(e)
        self.touch()
        return e

    async def event_interest(self, who: Member | User, event: ScheduledEvent, *, settle: bool = True) -> None:
        """``who`` clicks "Interested" (GUILD_SCHEDULED_EVENT_USER_ADD)."""
        user = who.user if isinstance(who, Member) else who
        if user.id not in event.subscriber_ids:
            event.subscriber_ids.append(user.id)
            guild = self.guilds[event.guild_id]
            self._event_if_bot_in(
                guild,
                "GUILD_SCHEDULED_EVENT_USER_ADD",
                {"guild_scheduled_event_id": str(event.id), "user_id": str(user.id), "guild_id": str(guild.id)},
                Intents.GUILD_SCHEDULED_EVENTS,
            )
            self.touch()
        if settle:
            await self.settle()

    async def event_uninterest(self, who: Member | User, event: ScheduledEvent, *, settle: bool = True) -> None:
        user = who.user if isinstance(who, Member) else who
        if user.id in event.subscriber_ids:
            event.subscriber_ids.remove(user.id)
            guild = self.guilds[event.guild_id]
            self._event_if_bot_in(
                guild,
                "GUILD_SCHEDULED_EVENT_USER_REMOVE",
                {"guild_scheduled_event_id": str(event.id), "user_id": str(user.id), "guild_id": str(guild.id)},
                Intents.GUILD_SCHEDULED_EVENTS,
            )
            self.touch()
        if settle:
            await self.settle()

    # ------------------------------------------------------------------ waiting
    async def wait_for_message(
        self,
        channel: Channel | None = None,
        predicate: Callable[[Message], Any] | None = None,
        timeout: float = 5.0,
        *,
        after: Message | None = None,
        new_only: bool = False,
        author: User | Member | None = None,
    ) -> Message:
        """First non-deleted message (in ``channel`` if given) by the bot (or ``author``) matching ``predicate``.

        Existing messages count unless ``new_only``; ``after`` limits to messages newer than that one."""
        floor = after.id if after is not None else (self._last_id if new_only else 0)
        author_id = (author.user.id if isinstance(author, Member) else author.id) if author else self.bot_user.id

        def find() -> Message | None:
            pool = self.messages_in(channel) if channel is not None else self.all_messages()
            for m in pool:
                if m.id <= floor or m.author.id != author_id or m.loading:
                    continue
                if predicate is None or predicate(m):
                    return m
            return None

        where = f"#{channel.name}" if channel is not None else "any channel"
        return await self.wait_until(find, timeout, f"a message in {where}")  # type: ignore[no-any-return]

    def last_message(self, channel: Channel) -> Message | None:
        msgs = [m for m in self.messages_in(channel) if not m.ephemeral]
        return msgs[-1] if msgs else None

    # ------------------------------------------------------------------ misc
    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """Commands the bot registered (global, or for ``guild``)."""
        if guild is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(guild.id, []))

    def command_names(self, guild: Guild | None = None) -> list[str]:
        return sorted(c["name"] for c in self.commands(guild))


__all__ = [
    "FakeDiscord",
    "FakeDiscordUsageError",
    "InteractionHandle",
    "StandardGuild",
]
