"""Basil's Corner: memorial cards for the club's pets, tributes, an approval queue and anniversaries.

Gentle and never noisy: every message is sent with ``AllowedMentions.none()`` and user text is
escaped; the wall, the queue and the replies are ephemeral. Cards carry a persistent "Leave a
tribute" button and a "Memories of NAME" thread. Anniversaries go through the scheduler
(kind ``basil.anniversary``, key ``basil:<id>:anniv:<year>``), exactly once per year: the key is
unique, each sent year is recorded in ``basil_anniversaries``, and the post is sent with its nonce.
"""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.domain.basil import (
    BasilError,
    anniversary_key,
    anniversary_prefix,
    anniversary_text,
    check_dates,
    check_photo,
    clean_name,
    clean_species,
    dates_line,
    duplicate_name_message,
    name_key,
    next_anniversary,
    parse_optional_date,
    photo_filename,
    rainbow_line,
    thread_name,
)
from bot.errors import NotSetUp, UserError
from bot.render import GENTLE_COLOUR, clip, escape
from bot.scheduler import PostObsolete, from_ts
from bot.ui import Paginator
from cogs.basil_views import (
    ApproveButton,
    ConfirmRemoveView,
    DeclineButton,
    Draft,
    EditDraft,
    EditModal,
    StoryModal,
    TributeButton,
    card_view,
    queue_view,
)
from db import basil as repo
from db import scheduled_posts as posts_repo
from db.basil import Memorial, Photo
from db.scheduled_posts import ScheduledPost
from db.store import Executor

log = logging.getLogger(__name__)

KIND = "basil.anniversary"
NONE = discord.AllowedMentions.none()
WALL_PAGE = 10
ANNIVERSARY_GRACE = timedelta(hours=12)


def _with_photo(photo: Photo | None) -> dict[str, Any]:
    return {"file": discord.File(io.BytesIO(photo.data), filename=photo.filename)} if photo else {}


def card_embed(memorial: Memorial, photo: Photo | None) -> discord.Embed:
    """The memorial card: name, species, dates, rainbow line, story, photo."""
    name = escape(memorial.name)
    description = f"*{rainbow_line(name, memorial.passed)}*"
    if memorial.story:
        description += "\n\n" + escape(memorial.story)
    embed = discord.Embed(title=clip(f"🐾 {name}", 256), description=clip(description, 4096), colour=GENTLE_COLOUR)
    if memorial.species:
        embed.add_field(name="Species", value=escape(memorial.species))
    dates = dates_line(memorial.born, memorial.passed)
    if dates:
        embed.add_field(name="Dates", value=dates)
    embed.add_field(name="Shared by", value=f"<@{memorial.author_id}>")
    if photo is not None:
        embed.set_image(url=f"attachment://{photo.filename}")
    embed.set_footer(text="Basil's Corner 🌈 Leave a tribute with the button below.")
    return embed


def _clears(value: str) -> bool:
    """`/basil edit` options take ``none`` (or ``-``) to remove a species or date."""
    return value.strip().lower() in ("none", "-", "clear", "remove")


def _not_found(name: str) -> BasilError:
    return BasilError(
        f"I can't find a memorial called {escape(clip(name, 80))} in Basil's Corner. "
        "Pick the name from the list that appears as you type."
    )


class Basil(commands.Cog):
    basil = app_commands.Group(
        name="basil", description="Basil's Corner: remembering the club's pets", guild_only=True
    )

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        bot.scheduler.register(KIND, self.send_anniversary, grace=ANNIVERSARY_GRACE)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(TributeButton, ApproveButton, DeclineButton)
        await self.ensure_anniversaries()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(TributeButton, ApproveButton, DeclineButton)

    # helpers ------------------------------------------------------------------------
    async def _today(self, guild_id: int) -> date:
        settings = await self.bot.settings.get(guild_id)
        return self.bot.clock.now().astimezone(ZoneInfo(settings.timezone)).date()

    async def _basil_channel_id(self, guild_id: int) -> int:
        settings = await self.bot.settings.get(guild_id)
        if settings.basil_channel_id is None:
            raise NotSetUp("Basil's Corner channel", "basil")
        return settings.basil_channel_id

    async def _find(self, interaction: discord.Interaction[Any], name: str) -> Memorial:
        guild_id = require_guild(interaction)
        memorial = await repo.get_by_key(self.bot.store, guild_id, name_key(name))
        if memorial is None or (not memorial.is_approved and memorial.author_id != interaction.user.id
                                and not await is_moderator(interaction)):
            raise _not_found(name)
        return memorial

    async def _check_may_change(self, interaction: discord.Interaction[Any], memorial: Memorial, verb: str) -> None:
        if memorial.author_id == interaction.user.id or await is_moderator(interaction):
            return
        raise BasilError(
            f"Only the member who shared {escape(memorial.name)}'s memorial, or a moderator, can {verb} it."
        )

    async def _deliver_notices(self, interaction: discord.Interaction[Any]) -> None:
        """Outcomes that could not reach the member by DM, shown privately now."""
        if interaction.guild_id is None:
            return
        async with self.bot.store.transaction() as tx:
            notices = await repo.take_notices(tx, interaction.guild_id, interaction.user.id)
        for notice in notices:
            await interaction.followup.send(notice.text, ephemeral=True, allowed_mentions=NONE)

    async def _tell_author(self, memorial: Memorial, text: str) -> None:
        """DM the author; if DMs are closed, keep the words for their next /basil command."""
        try:
            user = self.bot.get_user(memorial.author_id) or await self.bot.fetch_user(memorial.author_id)
            await user.send(text, allowed_mentions=NONE)
            return
        except discord.Forbidden as exc:
            if exc.code == 50007:
                log.info("member %s does not accept DMs; keeping the basil notice", memorial.author_id)
            else:
                log.warning("could not DM member %s: %s", memorial.author_id, exc)
        except discord.HTTPException as exc:
            log.warning("could not DM member %s: %s", memorial.author_id, exc)
        await repo.add_notice(self.bot.store, memorial.guild_id, memorial.author_id, text, self.bot.now_ts())

    # publishing ---------------------------------------------------------------------
    async def publish(self, memorial: Memorial) -> Memorial:
        """Post the card (photo re-uploaded), add the reactions, open the thread, queue the anniversary."""
        channel_id = await self._basil_channel_id(memorial.guild_id)
        channel = await self.bot.resolve_messageable(channel_id)
        photo = await repo.get_photo(self.bot.store, memorial.id)
        message = await channel.send(
            embed=card_embed(memorial, photo), view=card_view(memorial.id), allowed_mentions=NONE,
            **_with_photo(photo),
        )
        for emoji in ("🌈", "🐾"):
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning("could not add %s to memorial card %s: %s", emoji, message.id, exc)
        thread_id: int | None = None
        try:
            thread = await message.create_thread(name=thread_name(memorial.name), auto_archive_duration=10080)
            thread_id = thread.id
        except discord.HTTPException as exc:
            log.warning("could not open the memories thread for memorial %s: %s", memorial.id, exc)
        await repo.set_card(self.bot.store, memorial.id, channel_id=channel_id, message_id=message.id,
                            thread_id=thread_id)
        published = await repo.get(self.bot.store, memorial.id)
        assert published is not None
        await self.schedule_anniversary(published)
        return published

    async def create_memorial(self, interaction: discord.Interaction[Any], draft: Draft, story: str) -> None:
        photo: Photo | None = None
        if draft.photo is not None and draft.photo_ext is not None:
            try:
                data = await draft.photo.read()
            except discord.HTTPException as exc:
                raise UserError("I couldn't fetch the photo from Discord. Please try again in a moment.") from exc
            photo = Photo(photo_filename(draft.photo_ext), draft.photo.content_type or "image/png", data)
        settings = await self.bot.settings.get(draft.guild_id)
        waits = settings.basil_approval and not await is_moderator(interaction)
        memorial = await repo.create(
            self.bot.store, guild_id=draft.guild_id, name=draft.name, name_key=draft.key, species=draft.species,
            born=draft.born, passed=draft.passed, story=story, author_id=interaction.user.id,
            status=repo.PENDING if waits else repo.APPROVED, anniversaries=draft.anniversaries,
            now=self.bot.now_ts(), photo=photo,
        )
        if memorial is None:
            raise BasilError(duplicate_name_message(escape(draft.name)))
        name = escape(memorial.name)
        if waits:
            await interaction.followup.send(
                f"Thank you for sharing {name}'s memorial. A moderator will look at it soon, and I'll let you "
                "know when it is in Basil's Corner.",
                ephemeral=True, allowed_mentions=NONE,
            )
            await self.bot.tell_moderators(
                draft.guild_id,
                "🐾 A memorial is waiting for approval in Basil's Corner. Moderators can review it with "
                "`/basil queue`.",
                key=f"basil:{memorial.id}:queued",
            )
            return
        try:
            published = await self.publish(memorial)
        except BaseException:
            await repo.delete(self.bot.store, memorial.id)
            raise
        await interaction.followup.send(
            f"🌈 {name}'s memorial is in Basil's Corner: {published.card_url}", ephemeral=True, allowed_mentions=NONE
        )
        await self._deliver_notices(interaction)

    # approval -----------------------------------------------------------------------
    async def _queue_page(self, guild_id: int) -> dict[str, Any]:
        """The edit/send arguments showing the oldest waiting memorial (or that none waits)."""
        pending = await repo.list_pending(self.bot.store, guild_id)
        if not pending:
            return {"content": "Nothing is waiting for approval in Basil's Corner.", "embed": None, "view": None,
                    "attachments": []}
        first = pending[0]
        photo = await repo.get_photo(self.bot.store, first.id)
        files = [discord.File(io.BytesIO(photo.data), filename=photo.filename)] if photo else []
        return {
            "content": f"Waiting for approval: 1 of {len(pending)}. Shared <t:{first.created_at}:R>.",
            "embed": card_embed(first, photo), "view": queue_view(first.id), "attachments": files,
        }

    async def approve(self, interaction: discord.Interaction[Any], memorial_id: int) -> None:
        guild_id = require_guild(interaction)
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != guild_id:
            raise BasilError("That memorial is no longer waiting (it was declined or removed).")
        if not await repo.claim_approval(self.bot.store, memorial_id, interaction.user.id, self.bot.now_ts()):
            raise BasilError(f"{escape(memorial.name)}'s memorial was already approved.")
        approved = await repo.get(self.bot.store, memorial_id)
        assert approved is not None
        try:
            published = await self.publish(approved)
        except BaseException:
            await repo.mark_pending(self.bot.store, memorial_id)
            raise
        await interaction.edit_original_response(**await self._queue_page(guild_id))
        await interaction.followup.send(
            f"🌈 Approved: {escape(published.name)}'s card is up: {published.card_url}",
            ephemeral=True, allowed_mentions=NONE,
        )
        await self._tell_author(
            published,
            f"🌈 Your memorial for {escape(published.name)} is now in Basil's Corner: {published.card_url}",
        )

    async def decline(self, interaction: discord.Interaction[Any], memorial_id: int) -> None:
        guild_id = require_guild(interaction)
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != guild_id or memorial.is_approved:
            raise BasilError("That memorial is no longer waiting (it was already handled).")
        await repo.delete(self.bot.store, memorial_id)
        await interaction.edit_original_response(**await self._queue_page(guild_id))
        await interaction.followup.send(
            f"Declined {escape(memorial.name)}'s memorial; nothing of it was posted.",
            ephemeral=True, allowed_mentions=NONE,
        )
        guild = self.bot.get_guild(guild_id)
        where = f" in {escape(guild.name)}" if guild else ""
        await self._tell_author(
            memorial,
            f"Your memorial for {escape(memorial.name)} was not added to Basil's Corner{where} this time. "
            "Nothing of it was posted. A moderator can tell you more if you'd like to share it again.",
        )

    # tributes -----------------------------------------------------------------------
    async def tributable(self, memorial_id: int, guild_id: int | None) -> Memorial:
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != guild_id or not memorial.is_approved:
            raise BasilError("This memorial is no longer in Basil's Corner, so it can't take tributes.")
        return memorial

    async def _thread_for(self, memorial: Memorial) -> discord.abc.Messageable:
        if memorial.thread_id is not None:
            try:
                return await self.bot.resolve_messageable(memorial.thread_id)
            except (discord.NotFound, discord.Forbidden):
                log.info("memories thread %s of memorial %s is gone; opening a new one",
                         memorial.thread_id, memorial.id)
        if memorial.channel_id is None or memorial.message_id is None:
            raise BasilError("This memorial has no card to gather tributes under.")
        channel = await self.bot.resolve_messageable(memorial.channel_id)
        message = await channel.fetch_message(memorial.message_id)
        thread = await message.create_thread(name=thread_name(memorial.name), auto_archive_duration=10080)
        await repo.set_card(self.bot.store, memorial.id, channel_id=memorial.channel_id,
                            message_id=memorial.message_id, thread_id=thread.id)
        return thread

    async def post_tribute(self, interaction: discord.Interaction[Any], memorial_id: int, text: str) -> None:
        memorial = await self.tributable(memorial_id, interaction.guild_id)
        thread = await self._thread_for(memorial)
        member = interaction.user
        embed = discord.Embed(description=escape(text), colour=GENTLE_COLOUR)
        embed.set_author(name=clip(f"{member.display_name} remembers {memorial.name}", 256),
                         icon_url=member.display_avatar.url)
        message = await thread.send(embed=embed, allowed_mentions=NONE)
        await repo.add_tribute(
            self.bot.store, memorial_id=memorial.id, author_id=member.id, author_name=member.display_name,
            text=text, message_id=message.id, now=self.bot.now_ts(),
        )
        await interaction.followup.send(
            f"🕯️ Thank you. Your tribute to {escape(memorial.name)} is in the thread: {message.jump_url}",
            ephemeral=True, allowed_mentions=NONE,
        )

    # anniversaries ------------------------------------------------------------------
    async def schedule_anniversary(
        self, memorial: Memorial, *, after_ts: int | None = None, db: Executor | None = None
    ) -> ScheduledPost | None:
        """Queue the next anniversary post (idempotent: one key per memorial and year)."""
        if not memorial.is_approved or not memorial.anniversaries or memorial.passed is None:
            return None
        settings = await self.bot.settings.get(memorial.guild_id)
        after = from_ts(after_ts) if after_ts is not None else self.bot.clock.now()
        due, year = next_anniversary(memorial.passed, after, settings.timezone)
        if await repo.anniversary_sent(db or self.bot.store, memorial.id, year):
            return None
        key = anniversary_key(memorial.id, year)
        common: dict[str, Any] = {
            "guild_id": memorial.guild_id, "kind": KIND, "due": due,
            "channel_id": settings.basil_channel_id or memorial.channel_id,
            "payload": {"memorial_id": memorial.id, "year": year}, "db": db,
        }
        post = await self.bot.scheduler.schedule(key=key, **common)
        if post is None:
            existing = await posts_repo.get_by_key(db or self.bot.store, key)
            if existing is not None and existing.status not in (posts_repo.PENDING, posts_repo.SENDING):
                # This year's post was cancelled earlier (opt-out, edit): queue it afresh.
                post = await self.bot.scheduler.schedule(key=f"{key}@{int(due.timestamp())}", **common)
        return post

    async def _cancel_anniversaries(self, memorial: Memorial) -> None:
        await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id))

    async def ensure_anniversaries(self) -> None:
        """At startup: every memorial that wants anniversaries has its next one queued."""
        for memorial in await repo.list_with_anniversaries(self.bot.store):
            try:
                await self.schedule_anniversary(memorial)
            except Exception:
                log.exception("could not queue the anniversary of memorial %s", memorial.id)

    async def send_anniversary(self, post: ScheduledPost) -> int | None:
        memorial_id = int(post.payload["memorial_id"])
        year = int(post.payload["year"])
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or not memorial.is_approved or memorial.passed is None:
            raise PostObsolete("the memorial was removed")
        if not memorial.anniversaries:
            raise PostObsolete("anniversaries are off for this memorial")
        if await repo.anniversary_sent(self.bot.store, memorial_id, year):
            raise PostObsolete("this year's anniversary was already posted")
        # Queue next year's first, so a failure here never loses the years after.
        await self.schedule_anniversary(memorial, after_ts=post.due_at)
        settings = await self.bot.settings.get(memorial.guild_id)
        channel_id = settings.basil_channel_id or post.channel_id
        if channel_id is None:
            raise PostObsolete("Basil's Corner has no channel")
        channel = await self.bot.resolve_messageable(channel_id)
        years = year - memorial.passed.year
        message = await channel.send(
            anniversary_text(escape(memorial.name), years, memorial.card_url), nonce=post.nonce,
            allowed_mentions=NONE,
        )
        await repo.record_anniversary(
            self.bot.store, memorial_id=memorial.id, year=year, years=years, channel_id=channel_id,
            message_id=message.id, now=self.bot.now_ts(),
        )
        return message.id

    # autocomplete -------------------------------------------------------------------
    async def name_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await repo.search(self.bot.store, interaction.guild_id, name_key(current),
                                  member_id=interaction.user.id)
        return [app_commands.Choice(name=clip(m.name, 100), value=m.name) for m in found]

    # commands -----------------------------------------------------------------------
    @basil.command(name="memorial", description="Remember a pet who crossed the rainbow bridge")
    @app_commands.describe(
        name="Your pet's name (up to 80 characters)",
        species="Dog, cat, rabbit... (optional)",
        born="Birth date, e.g. 2012-03-14 or 14 March 2012 (optional)",
        passed="The day they crossed the rainbow bridge, e.g. 2024-05-01 (optional)",
        photo="A photo (PNG, JPEG, GIF or WebP)",
        anniversaries="Post a gentle note on each anniversary of the passing (default: yes)",
    )
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
        await self._basil_channel_id(guild_id)
        clean = clean_name(name)
        kind = clean_species(species)
        dates = check_dates(
            parse_optional_date(born, "birth"), parse_optional_date(passed, "passing"), await self._today(guild_id)
        )
        ext = check_photo(photo.filename, photo.content_type, photo.size) if photo is not None else None
        key = name_key(clean)
        if await repo.name_taken(self.bot.store, guild_id, key):
            raise BasilError(duplicate_name_message(escape(clean)))
        draft = Draft(guild_id=guild_id, name=clean, key=key, species=kind, born=dates.born, passed=dates.passed,
                      anniversaries=anniversaries, photo=photo, photo_ext=ext)
        await interaction.response.send_modal(StoryModal(draft))

    @basil.command(name="queue", description="Moderators: memorials waiting for approval")
    @moderator_only()
    async def queue(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        page = await self._queue_page(guild_id)
        files = page.pop("attachments")
        if page["view"] is None:
            page.pop("view")
        if page["embed"] is None:
            page.pop("embed")
        await interaction.response.send_message(ephemeral=True, files=files, allowed_mentions=NONE, **page)
        await self._deliver_notices(interaction)

    @basil.command(name="wall", description="Every pet remembered in Basil's Corner")
    async def wall(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        memorials = await repo.list_approved(self.bot.store, guild_id)
        if not memorials:
            await interaction.response.send_message(
                "Basil's Corner is quiet: no pets are remembered here yet. `/basil memorial` adds one.",
                ephemeral=True,
            )
            await self._deliver_notices(interaction)
            return
        chunks = [memorials[i:i + WALL_PAGE] for i in range(0, len(memorials), WALL_PAGE)]
        pages: list[discord.Embed] = []
        for number, chunk in enumerate(chunks, start=1):
            lines = []
            for m in chunk:
                title = f"[{escape(m.name)}]({m.card_url})" if m.card_url else escape(m.name)
                bits = [f"🐾 **{title}**"]
                if m.species:
                    bits.append(escape(m.species))
                dates = dates_line(m.born, m.passed)
                if dates:
                    bits.append(dates)
                lines.append(" · ".join(bits))
            embed = discord.Embed(title="🌈 Basil's Corner: the pets we remember", description="\n".join(lines),
                                  colour=GENTLE_COLOUR)
            embed.set_footer(text=f"Page {number} of {len(chunks)} · {len(memorials)} remembered")
            pages.append(embed)
        if len(pages) == 1:
            await interaction.response.send_message(embed=pages[0], ephemeral=True)
        else:
            await interaction.response.send_message(
                embed=pages[0], view=Paginator(pages, interaction.user.id), ephemeral=True
            )
        await self._deliver_notices(interaction)

    @basil.command(name="remember", description="See a pet's memorial card again")
    @app_commands.describe(name="The pet's name")
    @app_commands.autocomplete(name=name_autocomplete)
    async def remember(self, interaction: discord.Interaction[FilmClubBot], name: str) -> None:
        memorial = await self._find(interaction, name)
        photo = await repo.get_photo(self.bot.store, memorial.id)
        extra: dict[str, Any] = {}
        if memorial.is_approved:
            extra["view"] = card_view(memorial.id)
            content = f"Their card in Basil's Corner: {memorial.card_url}" if memorial.card_url else None
        else:
            content = "This memorial is still waiting for a moderator's approval."
        await interaction.response.send_message(
            content, embed=card_embed(memorial, photo), ephemeral=True, allowed_mentions=NONE,
            **_with_photo(photo), **extra,
        )
        await self._deliver_notices(interaction)

    @basil.command(name="edit", description="Change a memorial's story, species or dates")
    @app_commands.describe(
        name="The pet's name",
        species="New species (`none` removes it)",
        born="New birth date (`none` removes it)",
        passed="New passing date (`none` removes it)",
        anniversaries="Post a gentle note on each anniversary (optional)",
    )
    @app_commands.autocomplete(name=name_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction[FilmClubBot],
        name: str,
        species: str | None = None,
        born: str | None = None,
        passed: str | None = None,
        anniversaries: bool | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "edit")
        new_species = memorial.species if species is None else None if _clears(species) else clean_species(species)
        new_born = memorial.born if born is None else None if _clears(born) else parse_optional_date(born, "birth")
        new_passed = (
            memorial.passed if passed is None else None if _clears(passed) else parse_optional_date(passed, "passing")
        )
        dates = check_dates(new_born, new_passed, await self._today(guild_id))
        draft = EditDraft(
            memorial_id=memorial.id, species=new_species, born=dates.born, passed=dates.passed,
            anniversaries=memorial.anniversaries if anniversaries is None else anniversaries,
        )
        await interaction.response.send_modal(EditModal(draft, memorial.name, memorial.story))

    async def apply_edit(self, interaction: discord.Interaction[Any], draft: EditDraft, story: str) -> None:
        memorial = await repo.get(self.bot.store, draft.memorial_id)
        if memorial is None or memorial.guild_id != interaction.guild_id:
            raise BasilError("That memorial was removed in the meantime; nothing was changed.")
        await self._check_may_change(interaction, memorial, "edit")
        updated = await repo.update_details(
            self.bot.store, memorial.id, species=draft.species, born=draft.born, passed=draft.passed,
            story=story, anniversaries=draft.anniversaries, now=self.bot.now_ts(),
        )
        assert updated is not None
        if updated.is_approved and updated.channel_id and updated.message_id:
            photo = await repo.get_photo(self.bot.store, updated.id)
            channel = await self.bot.resolve_messageable(updated.channel_id)
            card = channel.get_partial_message(updated.message_id)  # type: ignore[attr-defined]
            attachments = [discord.File(io.BytesIO(photo.data), filename=photo.filename)] if photo else []
            try:
                await card.edit(embed=card_embed(updated, photo), attachments=attachments, view=card_view(updated.id))
            except discord.NotFound:
                log.info("card of memorial %s is gone; the details were saved", updated.id)
        if (updated.passed, updated.anniversaries) != (memorial.passed, memorial.anniversaries):
            await self._cancel_anniversaries(updated)
            await self.schedule_anniversary(updated)
        await interaction.followup.send(
            f"Saved. {escape(updated.name)}'s memorial is up to date.", ephemeral=True, allowed_mentions=NONE
        )

    @basil.command(name="remove", description="Remove a memorial (and its card) from Basil's Corner")
    @app_commands.describe(name="The pet's name")
    @app_commands.autocomplete(name=name_autocomplete)
    async def remove_cmd(self, interaction: discord.Interaction[FilmClubBot], name: str) -> None:
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "remove")
        await interaction.response.send_message(
            f"Remove {escape(memorial.name)}'s memorial from Basil's Corner? Its card will be deleted and no "
            "more anniversaries will be posted. This can't be undone.",
            view=ConfirmRemoveView(interaction.user.id, memorial.id), ephemeral=True, allowed_mentions=NONE,
        )

    async def remove(self, interaction: discord.Interaction[Any], memorial_id: int) -> None:
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != interaction.guild_id:
            raise BasilError("That memorial was already removed.")
        await self._check_may_change(interaction, memorial, "remove")
        async with self.bot.store.transaction() as tx:
            await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id), db=tx)
            await repo.delete(tx, memorial.id)
        if memorial.channel_id and memorial.message_id:
            try:
                channel = await self.bot.resolve_messageable(memorial.channel_id)
                await channel.get_partial_message(memorial.message_id).delete()  # type: ignore[attr-defined]
            except discord.NotFound:
                pass
            except discord.HTTPException as exc:
                log.warning("could not delete the card of memorial %s: %s", memorial.id, exc)
        await interaction.edit_original_response(
            content=f"{escape(memorial.name)}'s memorial was removed from Basil's Corner.", view=None
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
        await repo.set_anniversaries(self.bot.store, memorial.id, on, self.bot.now_ts())
        updated = await repo.get(self.bot.store, memorial.id)
        assert updated is not None
        if on:
            await self.schedule_anniversary(updated)
            text = f"Anniversary notes for {escape(memorial.name)} are on."
            if updated.passed is None:
                text += " They need a passing date first: add one with `/basil edit`."
        else:
            await self._cancel_anniversaries(updated)
            text = f"Anniversary notes for {escape(memorial.name)} are off; no yearly post will be made."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)
        await self._deliver_notices(interaction)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Basil(bot))
