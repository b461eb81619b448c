"""The installment newsletter: `/preview`, `/verdict`, `/newsletter draft|list|show`.

- `/preview film`: a member's expectations before the screening (modal, 1,500 characters), posted in
  the screening's thread and kept for the newsletter. One per member per film, editable until the screening
  starts (the posted message is edited in place).
- `/verdict film`: thumbs 1-5 and a take after watching (modal). It sets the member's rating (the same rating
  as `/rate`) and is posted in the discussion thread. A film the club has not screened is allowed, but the reply
  says so and no rating is set.
- `/newsletter draft [film]` (moderators): compiles the film's newsletter (default: the film of the last
  finished screening) and shows it privately with Edit intro / Publish / Discard buttons. The draft is
  stored, so the buttons work by draft id, also after a restart. One newsletter per installment: a
  second one for a screening whose newsletter is out is refused.
- `/newsletter list` (paginated; moderators also see open drafts) and `/newsletter show id`.

The commands read the member's input, ask :class:`cogs.newsletter.service.NewsletterService` (``bot.newsletter``)
to do the work, and reply; the modals and buttons live in ``views.py``. How posting and publishing behave
(fallbacks, the publishing lease, resuming) is explained in the service's module docstring.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.domain import newsletter as dom
from bot.domain.films import choice_value, load_catalogue, normalize_title
from bot.errors import UserError
from bot.render import clip, ts_full
from bot.ui import send_pages
from cogs.newsletter import views
from cogs.newsletter.service import NewsletterService
from cogs.newsletter.views import DraftButton, PreviewModal, VerdictModal

Interaction = discord.Interaction[FilmClubBot]
NONE = discord.AllowedMentions.none()


class NewsletterCog(commands.Cog, name="Newsletter"):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: NewsletterService = bot.newsletter

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DraftButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DraftButton)

    newsletter = app_commands.Group(name="newsletter", description="The club's installment newsletter", guild_only=True)

    # ------------------------------------------------------------------ /preview
    @app_commands.command(name="preview", description="Before a screening: what you expect from the film")
    @app_commands.describe(film="A film with a screening coming up")
    @app_commands.guild_only()
    async def preview(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        ref, screening = await self.service.preview_target(guild_id, film)
        current = await self.service.current_preview(guild_id, ref.key, interaction.user.id)
        await interaction.response.send_modal(PreviewModal(ref.key, ref.label, screening.id, current))

    @preview.autocomplete("film")
    async def _preview_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return _choices(await self.service.upcoming_films(interaction.guild_id), current)

    # ------------------------------------------------------------------ /verdict
    @app_commands.command(name="verdict", description="After watching: your thumbs and your take on the film")
    @app_commands.describe(film="A film the club has screened")
    @app_commands.guild_only()
    async def verdict(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        ref = await self.service.film(guild_id, film)
        thumbs, current = await self.service.verdict_defaults(guild_id, ref.key, interaction.user.id)
        await interaction.response.send_modal(VerdictModal(ref.key, ref.label, thumbs, current))

    @verdict.autocomplete("film")
    async def _verdict_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        choices = _choices(await self.service.screened_films(interaction.guild_id), current)
        if len(choices) < 25 and current.strip():
            seen = {str(c.value) for c in choices}
            for film in load_catalogue().search(current):
                if film.key not in seen:
                    choices.append(app_commands.Choice(name=clip(film.label, 100), value=film.key))
        return choices[:25]

    # ------------------------------------------------------------------ /newsletter draft
    @newsletter.command(name="draft", description="Moderators: compile the newsletter for an installment")
    @app_commands.describe(film="The installment's film (default: the last finished screening's film)")
    @moderator_only()
    async def draft(self, interaction: Interaction, film: str | None = None) -> None:
        guild_id = require_guild(interaction)
        ref, screening = await self.service.draft_target(guild_id, film)
        await interaction.response.defer(ephemeral=True, thinking=True)
        row = await self.service.compile(interaction.guild, guild_id, ref, screening, interaction.user.id)
        await interaction.followup.send(**await self.service.draft_message(row), ephemeral=True)

    @draft.autocomplete("film")
    async def _draft_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return _choices(await self.service.screened_films(interaction.guild_id), current)

    # ------------------------------------------------------------------ /newsletter list, show
    @newsletter.command(name="list", description="Past newsletters")
    async def list_(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        rows = await self.service.published(guild_id)
        drafts = await self.service.drafts(guild_id) if await is_moderator(interaction) else []
        if not rows and not drafts:
            raise UserError("No newsletter has been published here yet. Moderators start one with `/newsletter draft`.")
        open_drafts = views.drafts_note(drafts)
        if not rows:
            await interaction.response.send_message(
                f"No newsletter has been published here yet.\n{open_drafts}", ephemeral=True, allowed_mentions=NONE
            )
            return
        await send_pages(interaction, views.list_pages(rows), content=open_drafts or None)

    @newsletter.command(name="show", description="Read a past newsletter")
    @app_commands.describe(id="The newsletter's number (see /newsletter list)")
    async def show(self, interaction: Interaction, id: app_commands.Range[int, 1]) -> None:
        guild_id = require_guild(interaction)
        row = await self.service.get(guild_id, id)
        if row is None or (not row.is_published and not await is_moderator(interaction)):
            raise UserError(f"There is no published newsletter #{id} here. `/newsletter list` shows them.")
        if row.is_draft:
            await interaction.response.send_message(**await self.service.draft_message(row), ephemeral=True)
            return
        if not row.is_published:
            raise UserError(f"Newsletter #{id} was a draft that got discarded; there is nothing to show.")
        published = f"Published {ts_full(row.published_at or 0)}" + (f": {row.jump_url}" if row.jump_url else "")
        await send_pages(
            interaction, views.letter_pages(self.service.letter(row)), content=published,
            file=await self.service.markdown(row),
        )


def _choices(films: Sequence[tuple[str, str, int | None]], current: str) -> list[app_commands.Choice[str]]:
    needle = normalize_title(current) if current.strip() else ""
    seen: set[str] = set()
    out = []
    for key, title, year in films:
        if key in seen or (needle and needle not in normalize_title(title)):
            continue
        seen.add(key)
        out.append(app_commands.Choice(name=clip(dom.film_label(title, year), 100), value=choice_value(key)))
    return out[:25]


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(NewsletterCog(bot))
