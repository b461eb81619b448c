"""Selects, deferred updates, follow-up edit/delete, context menus, DM interactions, guild joins."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakediscord.interactions import FakeDiscordUsageError
from tests.fakediscord.server import FakeDiscord


class PickView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.picked: list[str] = []
        self.users: list[int] = []

    @discord.ui.select(
        custom_id="pick:film",
        placeholder="Pick films",
        min_values=1,
        max_values=2,
        options=[discord.SelectOption(label="Her", value="her"), discord.SelectOption(label="Heat", value="heat")],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        self.picked = list(select.values)
        await interaction.response.edit_message(content=f"picked {', '.join(select.values)}")

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="pick:user", max_values=3)
    async def who(self, interaction: discord.Interaction, select: discord.ui.UserSelect[Any]) -> None:
        self.users = [u.id for u in select.values]
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"{len(self.users)} people")

    @discord.ui.button(label="Later", custom_id="pick:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await interaction.followup.send("follow-up text", ephemeral=True)


class Bot(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.members = True
        super().__init__(intents=intents)
        self.tree = app_commands.CommandTree(self)
        self.view = PickView()
        self.joined: list[int] = []
        tree = self.tree

        @tree.command(name="pick", description="Show pickers")
        @app_commands.guild_only()
        async def pick(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("choose", view=self.view)

        @tree.command(name="edits", description="Reply, follow up, edit and delete")
        async def edits(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            fu = await interaction.followup.send("second", wait=True)
            await fu.edit(content="second edited")
            original = await interaction.original_response()
            await original.edit(content="first edited")
            extra = await interaction.followup.send("third", wait=True)
            await extra.delete()

        @tree.command(name="whisper", description="DM-capable command")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
        async def whisper(interaction: discord.Interaction) -> None:
            where = "dm" if interaction.guild_id is None else "guild"
            await interaction.response.send_message(f"hi {interaction.user.name} in {where}")

        @tree.context_menu(name="Recommend")
        async def recommend(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"recommending to {member.display_name}", ephemeral=True)

        @tree.context_menu(name="Quote")
        async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"> {message.content}")

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.joined.append(guild.id)


async def test_selects_and_deferred_update(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    bot = Bot()
    await fake.run_bot(bot, wait_commands=True)
    msg = await (await fake.slash(g.alice, g.general, "pick")).reply()
    assert [s["custom_id"] for s in msg.selects()] == ["pick:film", "pick:user"]
    h = await fake.select(g.alice, msg, "pick:film", ["her", "heat"])
    assert (await h.reply()).content == "picked her, heat"
    assert bot.view.picked == ["her", "heat"]
    with pytest.raises(FakeDiscordUsageError):
        await fake.select(g.alice, msg, "pick:film", ["alien"])
    h2 = await fake.select(g.bob, msg, "pick:user", [g.alice, g.carol])
    assert await h2.response() == 6
    assert (await h2.reply()).content == "2 people"
    assert bot.view.users == [g.alice.id, g.carol.id]
    h3 = await fake.click(g.bob, msg, "Later")
    fu = await h3.reply()
    assert fu.content == "follow-up text" and fu.ephemeral and fu is not msg


async def test_followups_edit_and_delete(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    bot = Bot()
    await fake.run_bot(bot, wait_commands=True)
    h = await fake.slash(g.alice, g.general, "edits")
    await h.followup(1)
    await fake.settle()
    assert (await h.reply()).content == "first edited"
    assert [m.content for m in h.followups] == ["second edited", "third"]
    assert h.followups[1].deleted
    assert [m.content for m in fake.bot_messages(g.general)] == ["first edited", "second edited"]
    assert h.original is not None and [s["content"] for s in h.original.history] == ["first", "first edited"]


async def test_context_menus_and_dm_interactions(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    bot = Bot()
    await fake.run_bot(bot, wait_commands=True)
    h = await fake.context_menu(g.alice, g.general, "Recommend", g.bob)
    reply = await h.reply()
    assert reply.content == "recommending to Bob" and reply.ephemeral
    said = await fake.say(g.bob, g.general, "Heat is the best")
    q = await (await fake.context_menu(g.alice, g.general, "Quote", said)).reply()
    assert q.content == "> Heat is the best"
    dm = await (await fake.slash(g.alice.user, fake.dm_channel(g.alice), "whisper")).reply()
    assert dm.content == "hi alice in dm" and dm.guild_id is None
    assert (await (await fake.slash(g.alice, g.general, "whisper")).reply()).content == "hi alice in guild"
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice.user, fake.dm_channel(g.alice), "pick")  # pick is guild_only()


async def test_guild_created_after_connect(fake: FakeDiscord) -> None:
    fake.standard_guild()
    bot = Bot()
    await fake.run_bot(bot, wait_commands=True)
    second = fake.create_guild("Second Club")
    await fake.settle()
    assert second.id in bot.joined and bot.get_guild(second.id) is not None


class Card(discord.ui.LayoutView):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.clicks = 0
        container: discord.ui.Container[Card] = discord.ui.Container(
            discord.ui.TextDisplay("## Her (2013)\nFriday 20:00")
        )
        row: discord.ui.ActionRow[Card] = discord.ui.ActionRow()
        button: discord.ui.Button[Card] = discord.ui.Button(label="I'm in", custom_id="card:in")
        button.callback = self.going  # type: ignore[method-assign]
        row.add_item(button)
        container.add_item(row)
        self.add_item(container)

    async def going(self, interaction: discord.Interaction) -> None:
        self.clicks += 1
        await interaction.response.send_message(f"{self.clicks} going", ephemeral=True)


async def test_components_v2_layout(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    client = discord.Client(intents=discord.Intents.default())
    await fake.run_bot(client)
    ch = client.get_channel(g.general.id)
    assert isinstance(ch, discord.TextChannel)
    view = Card()
    sent = await ch.send(view=view)
    msg = fake.messages_by_id[sent.id]
    assert "Her (2013)" in msg.text() and msg.content == ""
    assert (await (await fake.click(g.alice, msg, "I'm in")).reply()).content == "1 going"
    with pytest.raises(discord.HTTPException) as exc:
        await sent.edit(content="not allowed with components v2")
    assert exc.value.code == 50035


async def test_autocomplete_values_and_select_options_are_held_to_100_characters(fake: FakeDiscord) -> None:
    """Discord answers 400 50035 to an autocomplete answer with a string value over 100 characters (one bad choice
    fails the whole answer), and to a select option whose label, value or description is over 100."""
    import aiohttp

    g = fake.standard_guild()
    data = {"id": "1", "name": "film", "type": 1, "options": [{"type": 3, "name": "title", "value": "x",
                                                                 "focused": True}]}
    url = fake.api_url

    async def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        h = fake._interaction(4, g.alice, g.general, data, name="film")
        async with aiohttp.ClientSession() as session, session.post(
            f"{url}/interactions/{h.id}/{h.token}/callback", json=body
        ) as resp:
            return resp.status, await resp.json() if resp.status != 204 else {}

    ok = {"type": 8, "data": {"choices": [{"name": "Her (2013)", "value": "v" * 100}]}}
    assert (await answer(ok))[0] in (200, 204)
    long_value = {"type": 8, "data": {"choices": [{"name": "Her (2013)", "value": "v" * 101}]}}
    status, body = await answer(long_value)
    assert status == 400 and body["code"] == 50035
    select = {"type": 1, "components": [{"type": 3, "custom_id": "s", "options": [
        {"label": "Her", "value": "v" * 101}]}]}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session, session.post(
        f"{url}/channels/{g.general.id}/messages", json={"content": "pick", "components": [select]}
    ) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == 50035


async def test_2026_permissions_pin_needs_pin_messages_and_creating_events_needs_create_events(
    fake: FakeDiscord,
) -> None:
    """Discord's change of 2026-02-23 (docs: Topics > Permissions, "Permission Flags"): Manage Messages alone no
    longer allows pinning, Manage Events alone no longer allows creating an event, and @everyone holds neither."""
    import aiohttp

    from tests.fakediscord.permissions import P

    old_style = (P.DEFAULT_BOT & ~P.PIN_MESSAGES & ~P.CREATE_EVENTS) | P.MANAGE_MESSAGES | P.MANAGE_EVENTS
    g = fake.standard_guild(bot_permissions=old_style)
    assert not P.DEFAULT_EVERYONE & (P.PIN_MESSAGES | P.CREATE_EVENTS)
    url = fake.api_url
    event = {"name": "Her", "entity_type": 3, "privacy_level": 2, "entity_metadata": {"location": "Online"},
             "scheduled_start_time": "2030-02-01T20:00:00+00:00", "scheduled_end_time": "2030-02-01T22:00:00+00:00"}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        async with session.post(f"{url}/guilds/{g.guild.id}/scheduled-events", json=event) as resp:
            body = await resp.json()
            assert resp.status == 403 and body["code"] == 50013, body
        async with session.post(f"{url}/channels/{g.general.id}/messages", json={"content": "shelf"}) as resp:
            message_id = (await resp.json())["id"]
        async with session.put(f"{url}/channels/{g.general.id}/pins/{message_id}") as resp:
            assert resp.status == 403 and (await resp.json())["code"] == 50013


async def test_interaction_tokens_expire_after_15_minutes(fake: FakeDiscord, fake_clock: Any) -> None:
    """Docs: Interactions > Receiving and Responding ("Interaction tokens are valid for 15 minutes"): a follow-up
    or an edit of the original response after that gets 401 50027 Invalid Webhook Token."""
    import aiohttp

    g = fake.standard_guild()
    data = {"id": "1", "name": "film", "type": 1}
    h = fake._interaction(2, g.alice, g.general, data, name="film")
    base = f"{fake.api_url}/webhooks/{fake.application_id}/{h.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.api_url}/interactions/{h.id}/{h.token}/callback", json={"type": 5}) as resp:
            assert resp.status in (200, 204)
        await fake_clock.advance(14 * 60)
        async with session.post(base, json={"content": "in time"}) as resp:
            assert resp.status in (200, 204)
        await fake_clock.advance(61)
        async with session.post(base, json={"content": "too late"}) as resp:
            assert resp.status == 401 and (await resp.json())["code"] == 50027
        async with session.patch(f"{base}/messages/@original", json={"content": "too late"}) as resp:
            assert resp.status == 401


WEEKLY_WED = {"start": "2030-02-06T20:00:00+00:00", "frequency": 2, "interval": 1, "by_weekday": [2]}


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        (WEEKLY_WED, True),
        ({**WEEKLY_WED, "interval": 2}, True),  # every other Wednesday
        ({**WEEKLY_WED, "interval": 3}, False),  # only weekly, and only 2
        ({"start": WEEKLY_WED["start"], "frequency": 1, "interval": 2, "by_n_weekday": [{"n": 1, "day": 2}]}, False),
        ({**WEEKLY_WED, "by_weekday": [2, 4]}, False),  # weekly: one day only
        ({"start": WEEKLY_WED["start"], "frequency": 3, "interval": 1, "by_weekday": [0, 1, 2, 3, 4]}, True),
        ({"start": WEEKLY_WED["start"], "frequency": 3, "interval": 1, "by_weekday": [0, 2]}, False),  # no such set
        ({"start": WEEKLY_WED["start"], "frequency": 1, "interval": 1, "by_n_weekday": [{"n": 1, "day": 2}]}, True),
        ({"start": WEEKLY_WED["start"], "frequency": 1, "interval": 1, "by_n_weekday": [{"n": 6, "day": 2}]}, False),
        ({"start": WEEKLY_WED["start"], "frequency": 1, "interval": 1, "by_month_day": [6]}, False),  # yearly only
        ({"start": WEEKLY_WED["start"], "frequency": 0, "interval": 1, "by_month": [2], "by_month_day": [6]}, True),
        ({"start": WEEKLY_WED["start"], "frequency": 0, "interval": 1, "by_month": [2]}, False),  # both needed
        ({**WEEKLY_WED, "by_n_weekday": [{"n": 1, "day": 2}]}, False),  # mutually exclusive
        ({**WEEKLY_WED, "count": 10}, False),  # count, end and by_year_day: not for applications
        ({**WEEKLY_WED, "end": "2030-06-01T00:00:00+00:00"}, False),
        ({**WEEKLY_WED, "by_year_day": [40]}, False),
        ({"frequency": 2, "interval": 1, "by_weekday": [2]}, False),  # start is required
    ],
)
async def test_recurrence_rules_follow_discords_documented_limits(
    fake: FakeDiscord, rule: dict[str, Any], ok: bool
) -> None:
    """Docs: Resources > Guild Scheduled Event, "Guild Scheduled Event Recurrence Rule Object" ("System
    limitations"): what an application may set, which fields exclude each other, by_weekday / by_n_weekday /
    by_month rules per frequency, and interval 2 only for weekly rules. A refused rule is a 400 50035."""
    import aiohttp

    g = fake.standard_guild()
    event = {"name": "Club night", "entity_type": 3, "privacy_level": 2, "entity_metadata": {"location": "Online"},
             "scheduled_start_time": "2030-02-06T20:00:00+00:00", "scheduled_end_time": "2030-02-06T22:00:00+00:00",
             "recurrence_rule": rule}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        async with session.post(f"{fake.api_url}/guilds/{g.guild.id}/scheduled-events", json=event) as resp:
            body = await resp.json()
            if ok:
                assert resp.status == 200, body
                assert body["recurrence_rule"]["frequency"] == rule["frequency"]
                assert body["recurrence_rule"]["count"] is None
                # Editing keeps the rule; an edit with a bad rule is refused too.
                path = f"{fake.api_url}/guilds/{g.guild.id}/scheduled-events/{body['id']}"
                async with session.patch(path, json={"description": "x"}) as edit:
                    assert (await edit.json())["recurrence_rule"] == body["recurrence_rule"]
                async with session.patch(path, json={"recurrence_rule": {**rule, "count": 3}}) as edit:
                    assert edit.status == 400
            else:
                assert resp.status == 400 and body["code"] == 50035, body
                assert "recurrence_rule" in body["errors"]
