"""Auth, intents, resume, permissions (50013), fault injection, 429 handling, honesty checks."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakediscord.core import Intents
from tests.fakediscord.permissions import P
from tests.fakediscord.server import FakeDiscord


class Client(discord.Client):
    def __init__(self, intents: discord.Intents) -> None:
        super().__init__(intents=intents)
        self.messages: list[discord.Message] = []
        self.joins: list[discord.Member] = []
        self.resumes = 0

    async def on_message(self, m: discord.Message) -> None:
        self.messages.append(m)

    async def on_member_join(self, m: discord.Member) -> None:
        self.joins.append(m)

    async def on_resumed(self) -> None:
        self.resumes += 1


def full_intents() -> discord.Intents:
    i = discord.Intents.default()
    i.message_content = True
    i.members = True
    return i


async def test_wrong_token_is_login_failure(fake: FakeDiscord) -> None:
    fake.standard_guild()
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await fake.run_bot(client, token="not-the-token")
    await client.close()
    assert fake.calls("GET", "/users/@me")[-1].status == 401


async def test_wrong_token_on_gateway_closes_4004(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 2, "d": {"token": "bad", "intents": 0, "properties": {}}})
        msg = await ws.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004


async def test_raw_gateway_protocol(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(fake.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json())["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1 | (1 << 9), "properties": {}}})
            ready = await ws.receive_json()
            assert ready["t"] == "READY" and ready["s"] == 1
            create = await ws.receive_json()
            assert create["t"] == "GUILD_CREATE" and create["d"]["id"] == str(g.guild.id)
            # no presences intent: only the bot's own member
            assert [m["user"]["id"] for m in create["d"]["members"]] == [str(fake.bot_user.id)]
            session_id = ready["d"]["session_id"]
        # while disconnected, an event happens
        said = await fake.say(g.alice, g.general, "while you were away", settle=False)
        async with s.ws_connect(ready["d"]["resume_gateway_url"] + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": session_id, "seq": 2}})
            replayed = await ws.receive_json()
            assert replayed["t"] == "MESSAGE_CREATE" and replayed["d"]["id"] == str(said.id)
            assert replayed["s"] == 3
            # no MESSAGE_CONTENT intent: content is empty
            assert replayed["d"]["content"] == ""
            assert (await ws.receive_json())["t"] == "RESUMED"
            await ws.send_json({"op": 8, "d": {"guild_id": str(g.guild.id), "query": "ali", "limit": 10}})
            chunk = await ws.receive_json()
            assert chunk["t"] == "GUILD_MEMBERS_CHUNK"
            assert [m["user"]["username"] for m in chunk["d"]["members"]] == ["alice"]


async def test_client_resumes_and_gets_missed_events(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    await fake.disconnect_gateway()
    await fake.say(g.alice, g.general, "missed?", settle=False)
    await fake.wait_until(lambda: client.resumes == 1, 5, "resume")
    await fake.wait_until(lambda: [m.content for m in client.messages] == ["missed?"], 5, "replay")
    assert len(fake.sessions) == 1 and next(iter(fake.sessions.values())).resumes == 1
    await fake.send_reconnect()
    await fake.wait_until(lambda: client.resumes == 2, 5, "second resume")


async def test_message_content_intent(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    intents = discord.Intents.default()
    client = Client(intents)
    await fake.run_bot(client)
    await fake.say(g.alice, g.general, "secret plans")
    await fake.say(g.alice, g.general, f"{fake.bot_user.mention} hello bot")
    await fake.dm(g.alice, "dm text")
    assert [m.content for m in client.messages] == ["", f"{fake.bot_user.mention} hello bot", "dm text"]
    # no GUILD_MEMBERS intent: no member events, no chunking
    fake.add_member(g.guild, "newbie")
    await fake.settle()
    assert client.joins == []
    guild = client.get_guild(g.guild.id)
    assert guild is not None and [m.id for m in guild.members] == [fake.bot_user.id]  # never chunked


async def test_members_intent_gives_member_events(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    m = fake.add_member(g.guild, "newbie")
    await fake.settle()
    assert [j.id for j in client.joins] == [m.id]


async def test_privileged_intent_not_enabled_closes_4014(fake: FakeDiscord) -> None:
    fake.standard_guild()
    fake.privileged_intents = Intents.GUILD_MEMBERS
    client = Client(full_intents())
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await fake.run_bot(client)
    await client.close()


async def test_no_events_for_invisible_channels(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    await fake.say(g.admin, g.staff, "staff only")
    await fake.say(g.admin, g.general, "public")
    assert [m.content for m in client.messages] == ["public"]
    assert client.get_channel(g.staff.id) is not None  # listed, but not readable


async def test_missing_permissions(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    general = client.get_channel(g.general.id)
    staff = client.get_channel(g.staff.id)
    assert isinstance(general, discord.TextChannel) and isinstance(staff, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as e1:
        await staff.send("hi")
    assert e1.value.code == 50001
    fake.set_bot_permissions(g.guild, P.DEFAULT_BOT & ~P.EMBED_LINKS & ~P.MANAGE_MESSAGES & ~P.ATTACH_FILES)
    fake.edit_role(g.everyone, permissions=P.DEFAULT_EVERYONE & ~P.EMBED_LINKS & ~P.ATTACH_FILES)
    await fake.settle()
    with pytest.raises(discord.Forbidden) as e2:
        await general.send(embed=discord.Embed(title="x"))
    assert e2.value.code == 50013 and e2.value.text == "Missing Permissions"
    with pytest.raises(discord.Forbidden):
        await general.send(file=discord.File(__import__("io").BytesIO(b"1"), "a.txt"))
    alice_msg = await fake.say(g.alice, g.general, "mine")
    their = await general.fetch_message(alice_msg.id)
    with pytest.raises(discord.Forbidden):
        await their.delete()
    await their.add_reaction("👍")
    with pytest.raises(discord.Forbidden):
        await their.remove_reaction("👍", discord.Object(id=g.bob.id))
    with pytest.raises(discord.Forbidden):
        await their.clear_reactions()
    # a channel overwrite denying the bot Send Messages
    fake.set_overwrites(g.screenings, [fake.overwrite(g.bot_role, deny=P.SEND_MESSAGES)])
    await fake.settle()
    screenings = client.get_channel(g.screenings.id)
    assert isinstance(screenings, discord.TextChannel)
    assert not screenings.permissions_for(screenings.guild.me).send_messages
    with pytest.raises(discord.Forbidden):
        await screenings.send("nope")
    fake.set_bot_permissions(g.guild, P.DEFAULT_BOT & ~P.MANAGE_EVENTS & ~P.CREATE_EVENTS)
    fake.edit_role(g.everyone, permissions=P.DEFAULT_EVERYONE & ~P.CREATE_EVENTS)
    await fake.settle()
    with pytest.raises(discord.Forbidden):
        await general.guild.create_scheduled_event(
            name="x",
            start_time=discord.utils.utcnow() + __import__("datetime").timedelta(days=1),
            channel=general.guild.get_channel(g.voice.id),  # type: ignore[arg-type]
            privacy_level=discord.PrivacyLevel.guild_only,
        )


async def test_interaction_permissions_payload(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    h = fake._interaction(2, g.alice, g.announcements, {"id": "1", "name": "x", "type": 1})
    perms = discord.Permissions(int(h.payload["member"]["permissions"]))
    assert perms.view_channel and not perms.send_messages
    app = discord.Permissions(int(h.payload["app_permissions"]))
    assert app.send_messages and not app.administrator
    h2 = fake._interaction(2, g.admin, g.announcements, {"id": "1", "name": "x", "type": 1})
    assert discord.Permissions(int(h2.payload["member"]["permissions"])).administrator


async def test_inject_403_404_and_429(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = Client(full_intents())
    await fake.run_bot(client)
    ch = client.get_channel(g.general.id)
    assert isinstance(ch, discord.TextChannel)
    fake.inject("POST", r"/channels/\d+/messages$", 403)
    with pytest.raises(discord.Forbidden):
        await ch.send("a")
    fake.inject("POST", r"/channels/\d+/messages$", 404, code=10003, message="Unknown Channel")
    with pytest.raises(discord.NotFound) as e:
        await ch.send("b")
    assert e.value.code == 10003
    fake.inject("POST", r"/channels/\d+/messages$", 429, count=2, retry_after=0.05)
    t0 = time.monotonic()
    msg = await ch.send("c")
    assert time.monotonic() - t0 >= 0.1
    assert msg.content == "c"
    statuses = [c.status for c in fake.calls("POST", r"/channels/\d+/messages$")]
    assert statuses == [403, 404, 429, 429, 200]
    assert [m.content for m in fake.bot_messages(g.general)] == ["c"]


async def test_inject_429_and_500_shapes(fake: FakeDiscord) -> None:
    fake.inject("GET", "/users/@me", 429, retry_after=1.5, is_global=True)
    fake.inject("GET", "/users/@me", 500)
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as s:
        async with s.get(fake.api_url + "/users/@me", headers=headers) as r:
            assert r.status == 429
            body = await r.json()
            assert body["retry_after"] == 1.5 and body["global"] is True
            assert r.headers["Via"] and r.headers["X-RateLimit-Scope"] == "global"
            assert r.headers["Content-Type"] == "application/json"
            for h in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                assert h in r.headers
            assert r.headers["X-RateLimit-Reset-After"] == "1.500" and r.headers["X-RateLimit-Bucket"]
        async with s.get(fake.api_url + "/users/@me", headers=headers) as r:
            assert r.status == 500
        async with s.get(fake.api_url + "/users/@me", headers=headers) as r:
            assert r.status == 200
        async with s.get(fake.api_url + "/users/@me") as r:
            assert r.status == 401 and (await r.json()) == {"message": "401: Unauthorized", "code": 0}


@pytest.mark.fakediscord_allow_unknown_routes
async def test_unknown_route_is_recorded(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(fake.api_url + "/guilds/1/bogus", headers={"Authorization": f"Bot {fake.token}"}) as r:
            assert r.status == 404
            assert json.loads(await r.text()) == {"message": "404: Not Found", "code": 0}
    assert [c.path for c in fake.unknown_routes] == ["/guilds/1/bogus"]


@pytest.mark.fakediscord_allow_errors
async def test_command_errors_are_captured(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    bot = discord.Client(intents=discord.Intents.default())
    tree = discord.app_commands.CommandTree(bot)

    @tree.command(name="boom", description="fails")
    async def boom(interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom")

    async def setup() -> None:
        await tree.sync()

    bot.setup_hook = setup  # type: ignore[method-assign]
    await fake.run_bot(bot, wait_commands=True)
    await fake.slash(g.alice, g.general, "boom")
    await fake.wait_until(lambda: fake.log_errors, 5, "error log")
    assert "kaboom" in str(fake.log_errors[0].exc_info[1])  # type: ignore[index]


async def test_double_ack_and_late_answer(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    bot = discord.Client(intents=discord.Intents.default())
    tree = discord.app_commands.CommandTree(bot)
    outcomes: list[Any] = []

    @tree.command(name="twice", description="answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            await interaction.followup.send("two")
            outcomes.append("followup ok")
        except discord.HTTPException as exc:  # pragma: no cover - must not happen
            outcomes.append(exc)

    @tree.command(name="late", description="too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as exc:
            outcomes.append(exc.code)

    async def setup() -> None:
        await tree.sync()

    bot.setup_hook = setup  # type: ignore[method-assign]
    await fake.run_bot(bot, wait_commands=True)
    h = await fake.slash(g.alice, g.general, "twice")
    await h.followup(0)
    assert [m.content for m in h.messages] == ["one", "two"]
    fake.interaction_deadline = 0.1
    await fake.slash(g.alice, g.general, "late")
    await fake.wait_until(lambda: len(outcomes) == 2, 5, "late answer")
    assert outcomes == ["followup ok", 10062]


class ShardClient(discord.Client):
    def __init__(self, shard_id: int) -> None:
        super().__init__(intents=full_intents(), shard_id=shard_id, shard_count=2)
        self.messages: list[discord.Message] = []

    async def on_message(self, m: discord.Message) -> None:
        self.messages.append(m)


async def test_sharded_sessions_get_only_their_guilds_events(fake: FakeDiscord) -> None:
    """Two shards of one bot: each gets READY/GUILD_CREATE and events only for the guilds Discord's rule
    ((guild_id >> 22) % shard count) puts on it; DMs go to shard 0."""
    first = fake.standard_guild("First", shard=(0, 2))
    second = fake.standard_guild("Second", shard=(1, 2))
    assert ((first.guild.id >> 22) % 2, (second.guild.id >> 22) % 2) == (0, 1)
    zero, one = ShardClient(0), ShardClient(1)
    await fake.run_bot(zero)
    await fake.run_bot(one)
    assert [g.id for g in zero.guilds] == [first.guild.id]
    assert [g.id for g in one.guilds] == [second.guild.id]
    await fake.say(first.alice, first.general, "for shard zero")
    await fake.say(second.alice, second.general, "for shard one")
    await fake.dm(first.alice, "a dm")
    assert [m.content for m in zero.messages] == ["for shard zero", "a dm"]
    assert [m.content for m in one.messages] == ["for shard one"]


async def test_invalid_shard_closes_4010(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
        await ws.receive_json()
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 0, "properties": {}, "shard": [2, 2]}})
        msg = await ws.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4010


async def test_invalid_requests_are_counted(fake: FakeDiscord) -> None:
    """401, 403 and 429 count toward Discord's invalid-request limit; 200s and 404s do not."""
    import aiohttp

    g = fake.standard_guild()
    fake.inject("POST", rf"/channels/{g.general.id}/messages$", 429, count=1, retry_after=0.01)
    fake.inject("POST", rf"/channels/{g.general.id}/messages$", 403, count=1)
    url = f"{fake.api_url}/channels/{g.general.id}/messages"
    statuses = []
    async with aiohttp.ClientSession() as session:
        for headers in ({"Authorization": f"Bot {fake.token}"},) * 3 + ({"Authorization": "Bot wrong"},):
            async with session.post(url, json={"content": "hi"}, headers=headers) as resp:
                statuses.append(resp.status)
    assert statuses == [429, 403, 200, 401]
    assert fake.invalid_requests == 3
