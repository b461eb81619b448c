"""Basil's Corner: `/basil memorial|wall|remember|edit|remove|anniversaries|queue`.

The commands read the member's input, check who may do what, ask
:class:`cogs.basil.service.BasilService` (``bot.basil``) to do the work, and reply with what
:mod:`cogs.basil.views` draws. The wall, the queue and the replies are ephemeral; nothing pings.
Submitted forms arrive through :meth:`Basil.on_interaction` and are handled in
:func:`cogs.basil.views.submit_form`; the service's module docstring explains cards, threads and
anniversaries.
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.domain.basil import BasilError, PetDetails, clean_name, name_key, read_details
from bot.render import clip, escape
from bot.ui import send_pages
from cogs.basil import views
from cogs.basil.service import BasilService, check_may_change, no_card
from db.basil import Memorial

NONE = discord.AllowedMentions.none()
HELP = {
    "species": "Dog, cat, rabbit... (optional)",
    "born": "Birth date, e.g. 2012-03-14 or 14 March 2012 (optional)",
    "passed": "The day they crossed the rainbow bridge, e.g. 2024-05-01 (optional)",
    "photo": "A photo: PNG, JPEG, GIF or WebP, up to 8 MB (optional)",
    "anniversaries": "Post a gentle note on each anniversary of the passing (yes or no)",
}


def _not_found(name: str) -> BasilError:
    return BasilError(
        f"I can't find a memorial called **{escape(clip(name.strip(), 80))}** in Basil's Corner. "
        "Pick the name from the list that appears as you type, or see every pet with `/basil wall`."
    )


class Basil(commands.Cog):
    basil = app_commands.Group(
        name="basil", description="Basil's Corner: remembering the club's pets", guild_only=True
    )

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: BasilService = bot.basil

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(views.MemorialButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(views.MemorialButton)

    # helpers ------------------------------------------------------------------------
    async def _find(self, interaction: discord.Interaction[Any], name: str) -> Memorial:
        """The memorial called ``name``; one still waiting only for its author and moderators."""
        guild_id = require_guild(interaction)
        memorial = await self.service.by_name(guild_id, name_key(name))
        if memorial is None or (not memorial.is_approved and memorial.author_id != interaction.user.id
                                and not await is_moderator(interaction)):
            raise _not_found(name)
        return memorial

    @staticmethod
    async def _check_may_change(interaction: discord.Interaction[Any], memorial: Memorial, verb: str) -> None:
        mine = memorial.author_id == interaction.user.id
        check_may_change(memorial, interaction.user.id, mine or await is_moderator(interaction), verb)

    # forms, and cards, threads and channels deleted on Discord ------------------------
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await views.submit_form(interaction)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.service.cards_deleted([payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.service.cards_deleted(list(payload.message_ids))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.service.thread_deleted(payload.thread_id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.service.channel_deleted(channel.id)

    # autocomplete -------------------------------------------------------------------
    async def name_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await self.service.search(
            interaction.guild_id, name_key(current[:200]),
            member_id=interaction.user.id, all_pending=await is_moderator(interaction),
        )
        return [app_commands.Choice(name=clip(m.name, 100), value=m.name) for m in found]

    # commands -----------------------------------------------------------------------
    @basil.command(name="memorial", description="Remember a pet who crossed the rainbow bridge")
    @app_commands.describe(name="Your pet's name (up to 80 characters)", **HELP)
    async def memorial(
        self,
        interaction: discord.Interaction[FilmClubBot],
        name: str,
        species: str | None = None,
        born: str | None = None,
        passed: str | None = None,
        photo: discord.Attachment | None = None,
        anniversaries: bool = True,
    ) -> None:
        guild_id = require_guild(interaction)
        await self.service.check_daily_limit(guild_id, interaction.user.id)
        await self.service.corner(guild_id, photo=photo is not None)
        clean = clean_name(name)
        details = read_details(species, born, passed, await self.service.today(guild_id))
        key = name_key(clean)
        await self.service.check_name_free(guild_id, clean, key)
        draft_id = await self.service.save_draft(
            guild_id, interaction.user.id, None, clean, key, details, anniversaries, photo
        )
        await interaction.response.send_modal(views.story_form(draft_id, clean))

    @basil.command(name="queue", description="Moderators: memorials waiting for approval")
    @moderator_only()
    async def queue(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        page = views.queue_page(await self.service.queue_head(guild_id))
        page["files"] = page.pop("attachments")
        await interaction.response.send_message(
            ephemeral=True, allowed_mentions=NONE, **{k: v for k, v in page.items() if v is not None}
        )
        await views.deliver_notices(interaction)

    @basil.command(name="wall", description="Every pet remembered in Basil's Corner")
    async def wall(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        pages = views.wall_pages(await self.service.wall(guild_id))
        if not pages:
            await interaction.response.send_message(
                "Basil's Corner is quiet: no pets are remembered here yet. `/basil memorial` adds one.",
                ephemeral=True,
            )
        else:
            await send_pages(interaction, pages)
        await views.deliver_notices(interaction)

    @basil.command(name="remember", description="See a pet's memorial card again")
    @app_commands.describe(name="The pet's name")
    @app_commands.autocomplete(name=name_autocomplete)
    async def remember(self, interaction: discord.Interaction[FilmClubBot], name: str) -> None:
        memorial = await self._find(interaction, name)
        photo = await self.service.photo(memorial.id)
        view: dict[str, Any] = {}
        if not memorial.is_approved:
            content = "This memorial is still waiting for a moderator's approval."
        elif memorial.card_url is None:
            content = no_card(memorial)
        else:
            content = f"Their card in Basil's Corner: {memorial.card_url}"
            view["view"] = views.card_view(memorial.id)
        await interaction.response.send_message(
            content, embed=views.card_embed(memorial, photo), files=views.photo_files(photo), ephemeral=True,
            allowed_mentions=NONE, **view,
        )
        await views.deliver_notices(interaction)

    @basil.command(
        name="edit", description="Change a memorial's story, photo, species or dates (`none` removes a species or date)"
    )
    @app_commands.describe(name="The pet's name", **HELP)
    @app_commands.autocomplete(name=name_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[FilmClubBot],
        name: str,
        species: str | None = None,
        born: str | None = None,
        passed: str | None = None,
        photo: discord.Attachment | None = None,
        anniversaries: bool | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "edit")
        current = PetDetails(memorial.species, memorial.born, memorial.passed)
        details = read_details(species, born, passed, await self.service.today(guild_id), current)
        draft_id = await self.service.save_draft(
            guild_id, interaction.user.id, memorial.id, memorial.name, memorial.name_key, details,
            memorial.anniversaries if anniversaries is None else anniversaries, photo,
        )
        await interaction.response.send_modal(views.edit_form(draft_id, memorial.name, memorial.story))

    @basil.command(name="remove", description="Remove a memorial (and its card) from Basil's Corner")
    @app_commands.describe(name="The pet's name")
    @app_commands.autocomplete(name=name_autocomplete)
    async def remove_cmd(self, interaction: discord.Interaction[FilmClubBot], name: str) -> None:
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "remove")
        await interaction.response.send_message(
            f"Remove {escape(memorial.name)}'s memorial from Basil's Corner? Its card, its tributes thread and "
            "its anniversary notes will go. This can't be undone.",
            view=views.confirm_remove_view(memorial.id, interaction.user.id), ephemeral=True, allowed_mentions=NONE,
        )

    @basil.command(name="anniversaries", description="Turn a memorial's yearly anniversary posts on or off")
    @app_commands.describe(name="The pet's name", state="on or off")
    @app_commands.autocomplete(name=name_autocomplete)
    async def anniversaries_cmd(
        self, interaction: discord.Interaction[FilmClubBot], name: str, state: Literal["on", "off"]
    ) -> None:
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "change")
        on = state == "on"
        updated = await self.service.set_anniversaries(memorial, on)
        if on:
            text = f"Anniversary notes for {escape(memorial.name)} are on."
            if updated.passed is None:
                text += " They need a passing date first: add one with `/basil edit`."
        else:
            text = f"Anniversary notes for {escape(memorial.name)} are off; no yearly post will be made."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)
        await views.deliver_notices(interaction)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Basil(bot))
