"""Each REST route round-trips through real discord.py objects."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import discord
import pytest
import pytest_asyncio

from tests.fakediscord.server import FakeDiscord, StandardGuild


class Recorder(discord.Client):
    def __init__(self, intents: discord.Intents | None = None, **kwargs: Any) -> None:
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True
            intents.members = True
        super().__init__(intents=intents, **kwargs)
        self.events: list[tuple[str, Any]] = []

    def record(self, name: str, *args: Any) -> None:
        self.events.append((name, args))

    def named(self, name: str) -> list[Any]:
        return [a for n, a in self.events if n == name]

    async def on_message(self, m: discord.Message) -> None:
        self.record("message", m)

    async def on_raw_reaction_add(self, p: discord.RawReactionActionEvent) -> None:
        self.record("raw_reaction_add", p)

    async def on_raw_reaction_remove(self, p: discord.RawReactionActionEvent) -> None:
        self.record("raw_reaction_remove", p)

    async def on_raw_reaction_clear(self, p: discord.RawReactionClearEvent) -> None:
        self.record("raw_reaction_clear", p)

    async def on_thread_create(self, t: discord.Thread) -> None:
        self.record("thread_create", t)

    async def on_guild_channel_pins_update(self, ch: Any, when: Any) -> None:
        self.record("pins_update", ch, when)

    async def on_scheduled_event_create(self, e: discord.ScheduledEvent) -> None:
        self.record("event_create", e)

    async def on_scheduled_event_update(self, before: Any, after: discord.ScheduledEvent) -> None:
        self.record("event_update", after)

    async def on_scheduled_event_delete(self, e: discord.ScheduledEvent) -> None:
        self.record("event_delete", e)

    async def on_scheduled_event_user_add(self, e: discord.ScheduledEvent, user: discord.User) -> None:
        self.record("event_user_add", e, user)

    async def on_member_join(self, m: discord.Member) -> None:
        self.record("member_join", m)

    async def on_guild_channel_delete(self, ch: Any) -> None:
        self.record("channel_delete", ch)

    async def on_raw_message_delete(self, p: discord.RawMessageDeleteEvent) -> None:
        self.record("raw_message_delete", p)

    async def on_resumed(self) -> None:
        self.record("resumed")


@pytest_asyncio.fixture
async def world(fake: FakeDiscord) -> AsyncIterator[tuple[StandardGuild, Recorder]]:
    g = fake.standard_guild()
    client = Recorder()
    await fake.run_bot(client)
    yield g, client


def text_channel(client: discord.Client, ch: Any) -> discord.TextChannel:
    c = client.get_channel(ch.id)
    assert isinstance(c, discord.TextChannel)
    return c


async def test_ready_state(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    guild = client.get_guild(g.guild.id)
    assert guild is not None
    assert {c.name for c in guild.text_channels} == {"general", "screenings", "announcements", "staff"}
    assert guild.get_channel(g.voice.id).type is discord.ChannelType.voice  # type: ignore[union-attr]
    assert guild.get_channel(g.stage.id).type is discord.ChannelType.stage_voice  # type: ignore[union-attr]
    # chunked through REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK
    assert guild.chunked and guild.get_member(g.alice.id).display_name == "Alice"  # type: ignore[union-attr]
    assert guild.me.guild_permissions.send_messages
    assert not guild.me.guild_permissions.administrator
    assert fake.gateway_connects[0]["v"] == "10" and fake.gateway_connects[0]["encoding"] == "json"
    assert fake.identifies[0]["intents"] == client.intents.value
    assert await client.application_info()


async def test_send_edit_delete_fetch_history(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.general)
    sent = [await ch.send(f"m{i}") for i in range(7)]
    assert [m.content for m in fake.bot_messages(g.general)] == [f"m{i}" for i in range(7)]
    edited = await sent[0].edit(content="m0 edited", embed=discord.Embed(title="T", description="d"))
    assert edited.content == "m0 edited" and edited.edited_at is not None
    assert fake.messages_by_id[sent[0].id].embeds[0]["title"] == "T"
    fetched = await ch.fetch_message(sent[3].id)
    assert fetched.content == "m3" and fetched.author.id == fake.bot_user.id
    newest = [m.content async for m in ch.history(limit=3)]
    assert newest == ["m6", "m5", "m4"]
    oldest = [m.content async for m in ch.history(limit=3, oldest_first=True)]
    assert oldest == ["m0 edited", "m1", "m2"]
    after = [m.content async for m in ch.history(after=sent[4], limit=10)]
    assert after == ["m5", "m6"]
    before = [m.content async for m in ch.history(before=sent[2], limit=10)]
    assert before == ["m1", "m0 edited"]
    around = [m.content async for m in ch.history(around=sent[3], limit=3)]
    assert sorted(around) == ["m2", "m3", "m4"]
    all_msgs = [m async for m in ch.history(limit=None)]
    assert len(all_msgs) == 7
    await sent[1].delete()
    assert fake.messages_by_id[sent[1].id].deleted
    with pytest.raises(discord.NotFound) as exc:
        await ch.fetch_message(sent[1].id)
    assert exc.value.code == 10008
    await fake.settle()
    assert [p.message_id for (p,) in client.named("raw_message_delete")] == [sent[1].id]


async def test_files_multipart_and_cdn(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.general)
    msg = await ch.send(
        "files", files=[discord.File(io.BytesIO(b"abc"), "a.txt"), discord.File(io.BytesIO(b"x" * 10), "b.bin")]
    )
    call = fake.calls("POST", r"/channels/\d+/messages$")[-1]
    assert [(f.filename, f.size) for f in call.files] == [("a.txt", 3), ("b.bin", 10)]
    assert call.json["content"] == "files"
    assert [a.filename for a in msg.attachments] == ["a.txt", "b.bin"]
    assert await msg.attachments[1].read() == b"x" * 10
    # edit: keep only the second attachment and add a new file
    msg = await msg.edit(attachments=[msg.attachments[1], discord.File(io.BytesIO(b"new"), "c.txt")])
    assert [a.filename for a in msg.attachments] == ["b.bin", "c.txt"]
    assert fake.messages_by_id[msg.id].file_names() == ["b.bin", "c.txt"]


async def test_nonce_enforced(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.general)
    a = await ch.send("once", nonce=4242)
    b = await ch.send("once", nonce=4242)
    assert a.id == b.id
    assert len(fake.bot_messages(g.general)) == 1
    c = await ch.send("once", nonce=4243)
    assert c.id != a.id


async def test_reactions_roundtrip(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.general)
    msg = await ch.send("vote")
    await msg.add_reaction("👍")
    many = [fake.add_member(g.guild, f"user{i}") for i in range(120)]
    for m in many:
        await fake.react(m, fake.messages_by_id[msg.id], "👍", settle=False)
    await fake.react(g.alice, fake.messages_by_id[msg.id], "🎬")
    fetched = await ch.fetch_message(msg.id)
    thumbs = next(r for r in fetched.reactions if str(r.emoji) == "👍")
    assert thumbs.count == 121 and thumbs.me
    users = [u.id async for u in thumbs.users()]
    assert len(set(users)) == 121 and set(users) == {m.id for m in many} | {client.user.id}  # type: ignore[union-attr]
    assert len(fake.calls("GET", r"/reactions/")) == 2  # paginated with after=
    await msg.remove_reaction("👍", client.user)  # type: ignore[arg-type]
    await msg.remove_reaction("🎬", discord.Object(id=g.alice.id))
    assert fake.messages_by_id[msg.id].reaction_users("🎬") == []
    await fake.settle()
    adds = client.named("raw_reaction_add")
    assert adds[-1][0].member is not None and adds[-1][0].member.id == g.alice.id
    removes = client.named("raw_reaction_remove")
    assert {p.user_id for (p,) in removes} == {client.user.id, g.alice.id}  # type: ignore[union-attr]
    await msg.clear_reactions()
    await fake.settle()
    assert fake.messages_by_id[msg.id].reactions == {}
    assert client.named("raw_reaction_clear")


async def test_pins(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.general)
    msg = await ch.send("pin me")
    await msg.pin()
    pins = [m async for m in ch.pins()]
    assert [m.id for m in pins] == [msg.id]
    await fake.settle()
    assert client.named("pins_update")
    assert [m.type for m in fake.messages_in(g.general)][-1] == 6  # "pinned a message" system message
    await msg.unpin()
    assert [m async for m in ch.pins()] == []


async def test_threads(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.screenings)
    msg = await ch.send("Her - Friday")
    thread = await msg.create_thread(name="Her discussion")
    assert thread.id == msg.id and thread.parent_id == ch.id
    await thread.send("inside")
    assert fake.messages_in(thread.id)[0].content == "inside"
    with pytest.raises(discord.HTTPException) as exc:
        await msg.create_thread(name="again")
    assert exc.value.code == 160004
    standalone = await ch.create_thread(name="Side chat", type=discord.ChannelType.public_thread)
    assert standalone.type is discord.ChannelType.public_thread
    await standalone.add_user(discord.Object(id=g.alice.id))
    members = await standalone.fetch_members()
    assert {m.id for m in members} == {client.user.id, g.alice.id}  # type: ignore[union-attr]
    await standalone.leave()
    assert client.user.id not in fake.channels[standalone.id].member_ids  # type: ignore[union-attr]
    await standalone.join()
    await fake.settle()
    assert {t.name for (t,) in client.named("thread_create")} >= {"Her discussion", "Side chat"}
    user_thread = fake.create_thread(g.alice, g.general, "User thread")
    await fake.settle()
    assert client.get_channel(user_thread.id) is not None


async def test_dms(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    alice = await client.fetch_user(g.alice.id)
    dm = await alice.send("hello alice")
    assert fake.messages_in(fake.dm_channel(g.alice))[0].content == "hello alice"
    assert dm.channel.type is discord.ChannelType.private
    closed = fake.add_member(g.guild, "hermit", dms_closed=True)
    hermit = await client.fetch_user(closed.id)
    with pytest.raises(discord.Forbidden) as exc:
        await hermit.send("hi")
    assert exc.value.code == 50007
    incoming = await fake.dm(g.bob, "psst")
    assert client.named("message")[-1][0].content == "psst" and incoming.guild_id is None


async def test_scheduled_events(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    guild = client.get_guild(g.guild.id)
    assert guild is not None
    start = discord.utils.utcnow() + timedelta(days=2)
    ev = await guild.create_scheduled_event(
        name="Her",
        start_time=start,
        end_time=start + timedelta(hours=2),
        entity_type=discord.EntityType.external,
        location="Basement cinema",
        privacy_level=discord.PrivacyLevel.guild_only,
        description="Spike Jonze",
    )
    assert ev.location == "Basement cinema"
    voice = guild.get_channel(g.voice.id)
    assert isinstance(voice, discord.VoiceChannel)
    ev2 = await guild.create_scheduled_event(
        name="Heat", start_time=start, channel=voice, privacy_level=discord.PrivacyLevel.guild_only
    )
    assert ev2.channel_id == voice.id
    ev = await ev.edit(name="Her (2013)", start_time=start + timedelta(hours=1))
    assert ev.name == "Her (2013)"
    fake_ev = fake.scheduled_event(g.guild, "Her (2013)")
    await fake.event_interest(g.alice, fake_ev)
    await fake.event_interest(g.bob, fake_ev)
    fetched = await guild.fetch_scheduled_event(ev.id, with_counts=True)
    assert fetched.user_count == 2
    assert sorted([u.id async for u in fetched.users()]) == sorted([g.alice.id, g.bob.id])
    ev = await ev.start()
    assert ev.status is discord.EventStatus.active
    ev = await ev.end()
    assert ev.status is discord.EventStatus.completed
    with pytest.raises(discord.HTTPException):
        await ev2.edit(status=discord.EventStatus.completed)  # scheduled -> completed is not allowed
    events = await guild.fetch_scheduled_events()
    assert {e.name for e in events} == {"Her (2013)", "Heat"}
    await ev2.delete()
    assert [e.name for e in await guild.fetch_scheduled_events()] == ["Her (2013)"]
    await fake.settle()
    assert [e.id for (e,) in client.named("event_create")] == [ev.id, ev2.id]
    assert client.named("event_update") and client.named("event_delete")
    assert len(client.named("event_user_add")) == 2
    with pytest.raises(discord.HTTPException) as exc:
        await guild.create_scheduled_event(
            name="Past",
            start_time=discord.utils.utcnow() - timedelta(hours=1),
            channel=voice,
            privacy_level=discord.PrivacyLevel.guild_only,
        )
    assert exc.value.code == 50035


async def test_members_roles_channels(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    guild = client.get_guild(g.guild.id)
    assert guild is not None
    member = await guild.fetch_member(g.alice.id)
    assert member.display_name == "Alice" and [r.name for r in member.roles[1:]] == ["Member"]
    ms = [m async for m in guild.fetch_members(limit=None)]
    assert {m.id for m in ms} == set(g.guild.members)
    with pytest.raises(discord.NotFound) as exc:
        await guild.fetch_member(12345)
    assert exc.value.code == 10007
    roles = await guild.fetch_roles()
    assert {"@everyone", "Admin", "Member", "FilmClubBot"} <= {r.name for r in roles}
    channels = await guild.fetch_channels()
    assert {c.name for c in channels} >= {"general", "Stage"}
    ch = await client.fetch_channel(g.general.id)
    assert ch.name == "general"  # type: ignore[union-attr]
    # the bot cannot manage roles by default
    with pytest.raises(discord.Forbidden) as exc2:
        await member.add_roles(discord.Object(id=g.admin_role.id))
    assert exc2.value.code == 50013
    newcomer = fake.add_member(g.guild, "dave")
    await fake.settle()
    assert [m.id for (m,) in client.named("member_join")] == [newcomer.id]


async def test_deleted_channel_is_unknown(fake: FakeDiscord, world: tuple[StandardGuild, Recorder]) -> None:
    g, client = world
    ch = text_channel(client, g.screenings)
    fake.delete_channel(g.screenings)
    await fake.settle()
    assert client.get_channel(g.screenings.id) is None
    assert client.named("channel_delete")
    with pytest.raises(discord.NotFound) as exc:
        await ch.send("anyone?")
    assert exc.value.code == 10003
