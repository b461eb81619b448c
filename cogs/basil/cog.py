"""Basil's Corner: memorial cards for the club's pets, tributes, an approval queue and anniversaries.

Gentle and never noisy: every message is sent with ``AllowedMentions.none()`` and user text is
escaped; the wall, the queue and the replies are ephemeral. Cards carry a persistent "Leave a
tribute" button and a "Memories of NAME" thread. Forms keep their input in the database
(``basil_drafts``), so a story survives a restart. Anniversaries go through the scheduler (kind
``basil.anniversary``, key ``basil:<id>:anniv:<year>``), exactly once per year: each sent year is
recorded in ``basil_anniversaries``, only one post per memorial and year is ever pending, and the
post is sent with its nonce.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild, require_moderator
from bot.domain import posts
from bot.domain.basil import (
    DESCRIPTION_LIMIT,
    BasilError,
    PetDetails,
    anniversary_key,
    anniversary_prefix,
    anniversary_text,
    card_description,
    check_photo,
    clean_name,
    clean_story,
    clean_tribute,
    dates_line,
    duplicate_name_message,
    name_key,
    next_anniversary,
    pages_of,
    photo_filename,
    rainbow_line,
    read_details,
    thread_name,
)
from bot.errors import NotSetUp, UserError
from bot.handlers import report_error
from bot.render import GENTLE_COLOUR, clip, escape, missing_permissions, plural
from bot.scheduler import PostObsolete, from_ts
from bot.ui import Paginator
from cogs.basil.views import (
    FORM_ID,
    STORY_FIELD,
    TRIBUTE,
    TRIBUTE_FIELD,
    MemorialButton,
    card_view,
    confirm_remove_view,
    edit_form,
    edit_queue_view,
    form_values,
    queue_view,
    story_form,
    tribute_form,
)
from db import basil as repo
from db import meta
from db import scheduled_posts as posts_repo
from db.basil import Draft, Memorial, Photo
from db.scheduled_posts import ScheduledPost
from db.store import Executor

log = logging.getLogger(__name__)

KIND = posts.BASIL_ANNIVERSARY
MEMORIALS_PER_DAY = 3  # per member per server: each is a public card, reactions and a thread
NONE = discord.AllowedMentions.none()
DRAFT_LIFETIME = timedelta(days=2)
EMBED_LIMIT = 6000
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week
# What the bot needs in Basil's Corner (and Attach Files for a photo).
CORNER_NEEDS = (
    "view_channel", "send_messages", "embed_links", "read_message_history", "add_reactions",
    "create_public_threads", "send_messages_in_threads",
)
HELP = {
    "species": "Dog, cat, rabbit... (optional)",
    "born": "Birth date, e.g. 2012-03-14 or 14 March 2012 (optional)",
    "passed": "The day they crossed the rainbow bridge, e.g. 2024-05-01 (optional)",
    "photo": "A photo: PNG, JPEG, GIF or WebP, up to 8 MB (optional)",
    "anniversaries": "Post a gentle note on each anniversary of the passing (yes or no)",
}


# ----------------------------------------------------------------------------- rendering
def _photo_files(photo: Photo | None) -> list[discord.File]:
    return [discord.File(io.BytesIO(photo.data), filename=photo.filename)] if photo else []


def card_embed(memorial: Memorial, photo: Photo | None) -> discord.Embed:
    """The memorial card: name, rainbow line, the whole story, species, dates, photo."""
    name = escape(memorial.name)
    embed = discord.Embed(title=clip(f"🐾 {name}", 256), colour=GENTLE_COLOUR)
    if memorial.species:
        embed.add_field(name="Species", value=escape(memorial.species))
    dates = dates_line(memorial.born, memorial.passed)
    if dates:
        embed.add_field(name="Dates", value=dates)
    embed.add_field(name="Shared by", value=f"<@{memorial.author_id}>")
    if photo is not None:
        embed.set_image(url=f"attachment://{photo.filename}")
    embed.set_footer(text="Basil's Corner 🌈 Leave a tribute with the button below.")
    rainbow = f"*{rainbow_line(name, memorial.passed)}*"
    room = EMBED_LIMIT - len(embed) - 10  # 10: names of the continuation fields
    # The story escaped; more sparingly when that is what it takes for all of it to fit.
    mentions = discord.utils.escape_mentions
    text = (
        card_description(rainbow, escape(memorial.story), room)
        or card_description(rainbow, mentions(discord.utils.escape_markdown(memorial.story, as_needed=True)), room)
        or card_description(rainbow, mentions(memorial.story), room)
    )
    description, more = text or (clip(f"{rainbow}\n\n{escape(memorial.story)}", DESCRIPTION_LIMIT), [])
    embed.description = description
    for index, part in enumerate(more):
        embed.insert_field_at(index, name="\u200b", value=part, inline=False)
    return embed


def wall_pages(memorials: list[Memorial]) -> list[discord.Embed]:
    lines = []
    for m in memorials:
        bits = [f"🐾 **[{escape(m.name)}]({m.card_url})**" if m.card_url else f"🐾 **{escape(m.name)}**"]
        if m.species:
            bits.append(escape(m.species))
        dates = dates_line(m.born, m.passed)
        if dates:
            bits.append(dates)
        lines.append(" · ".join(bits))
    pages = pages_of(lines)
    embeds = []
    for number, page in enumerate(pages, start=1):
        embed = discord.Embed(title="🌈 Basil's Corner: the pets we remember", description="\n".join(page),
                              colour=GENTLE_COLOUR)
        embed.set_footer(text=f"Page {number} of {len(pages)} · {len(memorials)} remembered")
        embeds.append(embed)
    return embeds


def _not_found(name: str) -> BasilError:
    return BasilError(
        f"I can't find a memorial called **{escape(clip(name.strip(), 80))}** in Basil's Corner. "
        "Pick the name from the list that appears as you type, or see every pet with `/basil wall`."
    )


def _gone() -> BasilError:
    return BasilError("That memorial is no longer in Basil's Corner (it was removed or declined).")


def _handled() -> BasilError:
    return BasilError(
        "That memorial is no longer waiting: another moderator already approved or declined it (or it was "
        "removed). `/basil queue` shows what is still waiting."
    )


def _no_card(memorial: Memorial) -> str:
    return (
        f"{escape(memorial.name)}'s card is no longer in Basil's Corner (it was deleted). The member who shared "
        "it, or a moderator, can post it again with `/basil edit`."
    )


class Basil(commands.Cog):
    basil = app_commands.Group(
        name="basil", description="Basil's Corner: remembering the club's pets", guild_only=True
    )

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        bot.scheduler.register(KIND, self.send_anniversary)
        self._buttons: dict[str, Callable[[discord.Interaction[Any], int, int | None], Awaitable[None]]] = {
            "tribute": self._open_tribute_form, "approve": self._approve_clicked, "decline": self._decline_clicked,
            "remove": self._remove_clicked, "keep": self._keep_clicked,
            "approve-edit": self._approve_edit_clicked, "decline-edit": self._decline_edit_clicked,
        }

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MemorialButton)
        await repo.purge_drafts(self.bot.store, self.bot.now_ts() - int(DRAFT_LIFETIME.total_seconds()))
        await self.ensure_anniversaries()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MemorialButton)

    # helpers ------------------------------------------------------------------------
    async def _today(self, guild_id: int) -> date:
        settings = await self.bot.settings.get(guild_id)
        return self.bot.clock.now().astimezone(ZoneInfo(settings.timezone)).date()

    async def _corner(self, guild_id: int, *, photo: bool = False) -> discord.TextChannel:
        """Basil's Corner, checked: it exists and the bot may post cards, reactions and threads there."""
        settings = await self.bot.settings.get(guild_id)
        if settings.basil_channel_id is None:
            raise NotSetUp("Basil's Corner channel", "basil")
        channel = self.bot.get_channel(settings.basil_channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise BasilError(
                "The Basil's Corner channel was deleted, or I can no longer see it. A moderator can choose "
                "one with `/filmclub setup basil:`. Nothing was posted."
            )
        lacking = missing_permissions(
            channel.permissions_for(channel.guild.me), CORNER_NEEDS + (("attach_files",) if photo else ())
        )
        if lacking:
            raise BasilError(
                f"I'm missing these permissions in {channel.mention}: {', '.join(lacking)}. A moderator can "
                "grant them to my role (or choose another channel with `/filmclub setup basil:`). Nothing was posted."
            )
        return channel

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
            f"Only the member who shared {escape(memorial.name)}'s memorial, or a moderator, can {verb} it. "
            "Nothing was changed."
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
        except discord.HTTPException as exc:
            log.info("could not DM member %s (%s); keeping the basil notice", memorial.author_id, exc)
        await repo.add_notice(self.bot.store, memorial.guild_id, memorial.author_id, text, self.bot.now_ts())

    async def _fetch_photo(self, url: str | None, ext: str | None, content_type: str | None) -> Photo | None:
        if url is None or ext is None:
            return None
        try:
            data = await self.bot.http.get_from_cdn(url)
        except discord.HTTPException as exc:
            raise BasilError(
                "I couldn't fetch the photo from Discord (the upload may have expired). Please attach it again."
            ) from exc
        return Photo(photo_filename(ext), content_type or f"image/{ext}", data)

    # publishing ---------------------------------------------------------------------
    async def _live_thread(self, memorial: Memorial) -> discord.abc.Messageable | None:
        if memorial.thread_id is None:
            return None
        try:
            return await self.bot.resolve_messageable(memorial.thread_id)
        except (discord.NotFound, discord.Forbidden):
            log.info("memories thread %s of memorial %s is gone", memorial.thread_id, memorial.id)
            await repo.forget_thread(self.bot.store, memorial.thread_id)
            return None

    @staticmethod
    async def _open_thread(memorial: Memorial, card: discord.Message | discord.PartialMessage) -> discord.Thread:
        return await card.create_thread(name=thread_name(memorial.name), auto_archive_duration=THREAD_ARCHIVE_MINUTES)

    async def publish(self, memorial: Memorial) -> Memorial:
        """Post the card (photo re-uploaded), add the reactions, open (or keep) the thread, queue the anniversary."""
        photo = await repo.get_photo(self.bot.store, memorial.id)
        channel = await self._corner(memorial.guild_id, photo=photo is not None)
        try:
            message = await channel.send(
                embed=card_embed(memorial, photo), view=card_view(memorial.id), files=_photo_files(photo),
                allowed_mentions=NONE,
            )
        except discord.NotFound as exc:
            raise BasilError(
                "The Basil's Corner channel was deleted. A moderator can choose one with `/filmclub setup basil:`."
            ) from exc
        for emoji in ("🌈", "🐾"):
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning("could not add %s to memorial card %s: %s", emoji, message.id, exc)
        thread = await self._live_thread(memorial)
        if thread is None:
            try:
                thread = await self._open_thread(memorial, message)
            except discord.HTTPException as exc:
                log.warning("could not open the memories thread for memorial %s: %s", memorial.id, exc)
        thread_id = getattr(thread, "id", None)
        await repo.set_card(self.bot.store, memorial.id, channel_id=channel.id, message_id=message.id,
                            thread_id=thread_id)
        published = await repo.get(self.bot.store, memorial.id)
        if published is None:  # removed while the card went up
            await message.delete()
            raise _gone()
        await self.schedule_anniversary(published)
        return published

    async def _refresh_card(self, memorial: Memorial) -> str:
        """Show an edit on the card (posting it again if it was deleted); a note for the member."""
        if not memorial.is_approved:
            return ""
        if memorial.channel_id is not None and memorial.message_id is not None:
            photo = await repo.get_photo(self.bot.store, memorial.id)
            try:
                channel = await self.bot.resolve_messageable(memorial.channel_id)
                card = channel.get_partial_message(memorial.message_id)  # type: ignore[attr-defined]
                await card.edit(embed=card_embed(memorial, photo), attachments=_photo_files(photo),
                                view=card_view(memorial.id))
                return ""
            except discord.NotFound:
                await repo.forget_card(self.bot.store, [memorial.message_id])
        try:
            published = await self.publish(memorial)
        except UserError as exc:
            return f" The card could not be posted again: {exc.message}"
        return f" Its card was missing, so I posted it again: {published.card_url}"

    async def _check_daily_limit(self, interaction: discord.Interaction[Any], guild_id: int) -> None:
        """At most MEMORIALS_PER_DAY memorials per member per day (moderators too: a card is a public post)."""
        since = self.bot.now_ts() - 86400
        shared = await repo.memorials_by_member_since(self.bot.store, guild_id, interaction.user.id, since)
        if shared >= MEMORIALS_PER_DAY:
            raise BasilError(
                f"You have shared {shared} memorials in the last day, the most at once. Basil's Corner will still be "
                "here tomorrow; please add the next one then."
            )

    async def create_memorial(self, interaction: discord.Interaction[Any], draft: Draft, story: str) -> None:
        await self._check_daily_limit(interaction, draft.guild_id)
        photo = await self._fetch_photo(draft.photo_url, draft.photo_ext, draft.photo_type)
        settings = await self.bot.settings.get(draft.guild_id)
        waits = settings.basil_approval and not await is_moderator(interaction)
        if not waits:
            await self._corner(draft.guild_id, photo=photo is not None)
        memorial = await repo.create(
            self.bot.store, guild_id=draft.guild_id, name=draft.name, name_key=draft.name_key,
            species=draft.species, born=draft.born, passed=draft.passed, story=story, author_id=draft.member_id,
            status=repo.PENDING if waits else repo.APPROVED, anniversaries=draft.anniversaries,
            now=self.bot.now_ts(), photo=photo,
        )
        if memorial is None:
            other = await repo.name_taken(self.bot.store, draft.guild_id, draft.name_key)
            raise BasilError(duplicate_name_message(escape(draft.name), waiting=bool(other and not other.is_approved)))
        name = escape(memorial.name)
        if waits:
            await interaction.followup.send(
                f"Thank you for sharing {name}'s memorial. A moderator will look at it soon, and I'll let you "
                "know when it is in Basil's Corner.",
                ephemeral=True, allowed_mentions=NONE,
            )
            await self._notify_queue(draft.guild_id)
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

    # buttons ------------------------------------------------------------------------
    async def on_button(
        self, interaction: discord.Interaction[Any], action: str, memorial_id: int, owner_id: int | None
    ) -> None:
        await self._buttons[action](interaction, memorial_id, owner_id)

    async def _open_tribute_form(self, interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
        memorial = await self.tributable(memorial_id, interaction.guild_id)
        await interaction.response.send_modal(tribute_form(memorial.id, memorial.name))

    async def _approve_clicked(self, interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
        await require_moderator(interaction)
        await interaction.response.defer()
        await self.approve(interaction, memorial_id)

    async def _decline_clicked(self, interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
        await require_moderator(interaction)
        await interaction.response.defer()
        await self.decline(interaction, memorial_id)

    @staticmethod
    def _check_owner(interaction: discord.Interaction[Any], owner_id: int | None) -> None:
        if owner_id is not None and interaction.user.id != owner_id:
            raise BasilError("Only the member who asked can answer this. Nothing was changed.")

    async def _remove_clicked(self, interaction: discord.Interaction[Any], memorial_id: int, owner: int | None) -> None:
        self._check_owner(interaction, owner)
        await interaction.response.defer()
        await self.remove(interaction, memorial_id)

    async def _keep_clicked(self, interaction: discord.Interaction[Any], memorial_id: int, owner: int | None) -> None:
        self._check_owner(interaction, owner)
        await interaction.response.edit_message(content="Nothing was changed; the memorial stays.", view=None)

    # forms --------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Submits of the story, edit and tribute forms (by custom id; see ``cogs.basil.views``)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        kind, ref = match["form"], int(match["id"])
        text = form_values(data.get("components") or ()).get(TRIBUTE_FIELD if kind == TRIBUTE else STORY_FIELD, "")
        try:
            if kind == TRIBUTE:
                await self.post_tribute(interaction, ref, clean_tribute(text))
            else:
                await self._submit_story(interaction, ref, clean_story(text))
        except Exception as exc:
            await report_error(interaction, exc)
            await self._give_back(interaction, text)

    async def _give_back(self, interaction: discord.Interaction[Any], text: str) -> None:
        """After a refused form, return what the member wrote so they can paste it again."""
        if not text.strip():
            return
        embed = discord.Embed(
            title="What you wrote, to copy", colour=GENTLE_COLOUR,
            description=clip("```\n" + text.replace("```", "'''") + "\n```", DESCRIPTION_LIMIT),
        )
        try:
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NONE)
        except discord.HTTPException as exc:
            log.warning("could not give the text back to member %s: %s", interaction.user.id, exc)

    async def _submit_story(self, interaction: discord.Interaction[Any], draft_id: int, story: str) -> None:
        """A new memorial's story, or an edit (the saved draft says which)."""
        async with self.bot.store.transaction() as tx:
            draft = await repo.take_draft(tx, draft_id, interaction.user.id)
        if draft is None or draft.guild_id != interaction.guild_id:
            raise BasilError(
                "This form was already sent, or it is too old (forms are kept for two days). Nothing was "
                "changed; please run the command again."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        if draft.memorial_id is None:
            await self.create_memorial(interaction, draft, story)
        else:
            await self.apply_edit(interaction, draft, story)

    # approval -----------------------------------------------------------------------
    async def _queue_page(self, guild_id: int) -> dict[str, Any]:
        """The edit/send arguments showing the oldest waiting memorial (or that none waits)."""
        pending = await repo.list_pending(self.bot.store, guild_id)
        edits = await repo.list_pending_edits(self.bot.store, guild_id)
        if not pending and edits:
            return await self._edit_page(edits)
        if not pending:
            return {"content": "Nothing is waiting for approval in Basil's Corner.", "embed": None, "view": None,
                    "attachments": []}
        first = pending[0]
        photo = await repo.get_photo(self.bot.store, first.id)
        content = f"Waiting for approval: 1 of {len(pending)}. Shared <t:{first.created_at}:R>."
        if not (await self.bot.settings.get(guild_id)).basil_approval:
            content += (
                " Memorial approval is off now, so new memorials go straight to Basil's Corner; these were "
                "shared while it was on."
            )
        return {"content": content, "embed": card_embed(first, photo), "view": queue_view(first.id),
                "attachments": _photo_files(photo)}

    async def _edit_page(self, edits: list[repo.PendingEdit]) -> dict[str, Any]:
        """The oldest waiting edit: the memorial as it would read, with Approve/Decline the changes."""
        first = edits[0]
        memorial = await repo.get(self.bot.store, first.memorial_id)
        assert memorial is not None
        proposed = replace(
            memorial, species=first.species, born=first.born, passed=first.passed, story=first.story,
            anniversaries=first.anniversaries,
        )
        photo = first.photo or await repo.get_photo(self.bot.store, memorial.id)
        content = (
            f"Changes waiting for approval: 1 of {len(edits)}. <@{first.member_id}> edited "
            f"{escape(memorial.name)}'s memorial <t:{first.created_at}:R>; its card shows the approved version "
            f"until then: {memorial.card_url or 'no card'}."
        )
        return {"content": content, "embed": card_embed(proposed, photo), "view": edit_queue_view(memorial.id),
                "attachments": _photo_files(photo)}

    async def _notify_queue(self, guild_id: int) -> None:
        """One notice in announcements saying how much waits for approval, edited as the queue grows."""
        memorials = len(await repo.list_pending(self.bot.store, guild_id))
        edits = len(await repo.list_pending_edits(self.bot.store, guild_id))
        parts = [plural(memorials, "memorial")] if memorials else []
        if edits:
            parts.append(plural(edits, "edit"))
        if not parts:
            return
        text = (
            f"🐾 Waiting for approval in Basil's Corner: {' and '.join(parts)}. Moderators can review them with "
            "`/basil queue`."
        )
        key = f"basil_queue_notice:{guild_id}"
        known = await meta.get_meta(self.bot.store, key)
        if known:
            channel_id, message_id = (int(x) for x in known.split(":"))
            try:
                notice = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
                await notice.get_partial_message(message_id).edit(content=text, allowed_mentions=NONE)
                return
            except discord.HTTPException as exc:
                log.info("basil queue notice %s gone (%s); posting a new one", message_id, exc)
        settings = await self.bot.settings.get(guild_id)
        if settings.announcements_channel_id is None:
            return
        try:
            channel = await self.bot.resolve_messageable(settings.announcements_channel_id)
            message = await channel.send(text, allowed_mentions=NONE)
        except discord.HTTPException as exc:
            log.warning("could not post the basil queue notice in guild %s: %s", guild_id, exc)
            return
        await meta.set_meta(self.bot.store, key, f"{message.channel.id}:{message.id}")

    async def _answer_edit(
        self, interaction: discord.Interaction[Any], memorial_id: int, approve: bool
    ) -> None:
        """A moderator's Approve/Decline the changes: take the waiting edit (once), apply it or drop it, show the
        next page of the queue, and tell the member who made the changes."""
        await require_moderator(interaction)
        await interaction.response.defer()
        guild_id = require_guild(interaction)
        async with self.bot.store.transaction() as tx:
            edit = await repo.take_pending_edit(tx, memorial_id, guild_id)
            memorial = await repo.get(tx, memorial_id)
            if edit is None or memorial is None:
                raise _handled()
            shown = memorial
            if approve:
                if edit.photo is not None:
                    await repo.set_photo(tx, memorial_id, edit.photo)
                updated = await repo.update_details(
                    tx, memorial_id, species=edit.species, born=edit.born, passed=edit.passed, story=edit.story,
                    anniversaries=edit.anniversaries, now=self.bot.now_ts(),
                )
                assert updated is not None
                shown = updated
        name = escape(shown.name)
        if approve:
            note = await self._after_update(memorial, shown)
            mod_text = f"🌈 Approved the changes to {name}'s memorial.{note}"
            member_text = f"🌈 Your changes to {name}'s memorial are in Basil's Corner: {shown.card_url}"
        else:
            mod_text = f"Declined the changes to {name}'s memorial; its card stays as it was."
            member_text = f"Your changes to {name}'s memorial were not made this time; its card stays as it was."
        await interaction.edit_original_response(**await self._queue_page(guild_id))
        await interaction.followup.send(mod_text, ephemeral=True, allowed_mentions=NONE)
        await self._tell_author(replace(shown, author_id=edit.member_id), member_text)

    async def _approve_edit_clicked(
        self, interaction: discord.Interaction[Any], memorial_id: int, _: int | None
    ) -> None:
        await self._answer_edit(interaction, memorial_id, approve=True)

    async def _decline_edit_clicked(
        self, interaction: discord.Interaction[Any], memorial_id: int, _: int | None
    ) -> None:
        await self._answer_edit(interaction, memorial_id, approve=False)

    async def _after_update(self, before: Memorial, updated: Memorial) -> str:
        """Show changed details on the card and move the anniversary if its date or wish changed; a note."""
        note = await self._refresh_card(updated)
        if (updated.passed, updated.anniversaries) != (before.passed, before.anniversaries):
            await self._cancel_anniversaries(updated)
            await self.schedule_anniversary(updated)
        return note

    async def approve(self, interaction: discord.Interaction[Any], memorial_id: int) -> None:
        guild_id = require_guild(interaction)
        memorial = await repo.get(self.bot.store, memorial_id)
        if (memorial is None or memorial.guild_id != guild_id
                or not await repo.claim_approval(self.bot.store, memorial_id, interaction.user.id, self.bot.now_ts())):
            raise _handled()
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
        if (memorial is None or memorial.guild_id != guild_id
                or not await repo.delete_pending(self.bot.store, memorial_id)):
            raise _handled()
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
        """The memories thread, opened again under the card if it was deleted."""
        thread = await self._live_thread(memorial)
        if thread is not None:
            return thread
        if memorial.channel_id is None or memorial.message_id is None:
            raise BasilError(_no_card(memorial))
        try:
            channel = await self.bot.resolve_messageable(memorial.channel_id)
            card = await channel.fetch_message(memorial.message_id)
        except discord.NotFound as exc:
            await repo.forget_card(self.bot.store, [memorial.message_id])
            raise BasilError(_no_card(memorial)) from exc
        try:
            new = await self._open_thread(memorial, card)
        except discord.HTTPException as exc:
            if exc.code != 160004:  # "a thread has already been created for this message" (then deleted)
                raise
            new = await card.channel.create_thread(  # type: ignore[union-attr]
                name=thread_name(memorial.name), type=discord.ChannelType.public_thread,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        await repo.set_card(self.bot.store, memorial.id, channel_id=memorial.channel_id,
                            message_id=memorial.message_id, thread_id=new.id)
        return new

    async def post_tribute(self, interaction: discord.Interaction[Any], memorial_id: int, text: str) -> None:
        memorial = await self.tributable(memorial_id, interaction.guild_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = interaction.user
        embed = discord.Embed(description=escape(text), colour=GENTLE_COLOUR)
        embed.set_author(name=clip(f"{member.display_name} remembers {memorial.name}", 256),
                         icon_url=member.display_avatar.url)
        try:
            message = await (await self._thread_for(memorial)).send(embed=embed, allowed_mentions=NONE)
        except discord.NotFound:  # the thread went away just now: open a new one once
            if memorial.thread_id is not None:
                await repo.forget_thread(self.bot.store, memorial.thread_id)
            fresh = await self.tributable(memorial_id, interaction.guild_id)
            message = await (await self._thread_for(fresh)).send(embed=embed, allowed_mentions=NONE)
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
        """Queue the next anniversary post; never a second one for the same memorial and year."""
        if not memorial.is_approved or not memorial.anniversaries or memorial.passed is None:
            return None
        store = db or self.bot.store
        settings = await self.bot.settings.get(memorial.guild_id)
        after = from_ts(after_ts) if after_ts is not None else self.bot.clock.now()
        due, year = next_anniversary(memorial.passed, after, settings.timezone)
        while await repo.anniversary_sent(store, memorial.id, year):  # e.g. the passing date was edited
            due, year = next_anniversary(memorial.passed, due, settings.timezone)
        key = anniversary_key(memorial.id, year)
        if await posts_repo.list_pending_by_key_prefix(store, memorial.guild_id, key):
            return None
        # This year's key may be taken by a post cancelled earlier (opt-out, edit): use a fresh one.
        for attempt in range(50):
            candidate = key if attempt == 0 else f"{key}@{int(due.timestamp())}.{attempt}"
            post = await self.bot.scheduler.schedule(
                guild_id=memorial.guild_id, kind=KIND, key=candidate, due=due,
                channel_id=settings.basil_channel_id or memorial.channel_id,
                payload={"memorial_id": memorial.id, "year": year}, db=db,
            )
            if post is not None:
                return post
            existing = await posts_repo.get_by_key(store, candidate)
            if existing is not None and existing.status == posts_repo.SENDING:
                return None  # this year's is going out right now
        log.error("no free anniversary key for memorial %s in %s", memorial.id, year)
        return None

    async def _cancel_anniversaries(self, memorial: Memorial) -> None:
        await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id))

    async def ensure_anniversaries(self) -> None:
        """At startup: every memorial that wants anniversaries has its next one queued."""
        # One query for what is queued already, so a restart with thousands of memorials does not check
        # each one (docs/benchmarks.md, scale): only memorials without a queued anniversary are looked at.
        # A post already due (about to go out late, or to be marked missed) gets the full check as before.
        now = self.bot.now_ts()
        ahead = {key.split(":anniv:", 1)[0] for key, at in (await posts_repo.active_keys(self.bot.store, KIND)).items()
                 if at > now}
        for memorial in await repo.list_with_anniversaries(self.bot.store):
            if anniversary_prefix(memorial.id).split(":anniv:", 1)[0] in ahead:
                continue
            try:
                await self.schedule_anniversary(memorial)
            except Exception:
                log.exception("could not queue the anniversary of memorial %s", memorial.id)

    async def _card_url(self, memorial: Memorial) -> str | None:
        """The card's link if the card is still there (a deleted card is forgotten)."""
        if memorial.channel_id is None or memorial.message_id is None:
            return None
        try:
            channel = await self.bot.resolve_messageable(memorial.channel_id)
            await channel.fetch_message(memorial.message_id)
        except discord.NotFound:
            await repo.forget_card(self.bot.store, [memorial.message_id])
            return None
        except discord.HTTPException as exc:
            log.info("could not check the card of memorial %s: %s", memorial.id, exc)
        return memorial.card_url

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
            anniversary_text(escape(memorial.name), years, await self._card_url(memorial)), nonce=post.nonce,
            allowed_mentions=NONE,
        )
        await repo.record_anniversary(
            self.bot.store, memorial_id=memorial.id, year=year, years=years, channel_id=channel_id,
            message_id=message.id, now=self.bot.now_ts(),
        )
        return message.id

    # cards, threads and channels deleted on Discord -----------------------------------
    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await repo.forget_card(self.bot.store, [payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await repo.forget_card(self.bot.store, list(payload.message_ids))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await repo.forget_thread(self.bot.store, payload.thread_id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await repo.forget_channel(self.bot.store, channel.id)

    # autocomplete -------------------------------------------------------------------
    async def name_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        found = await repo.search(
            self.bot.store, interaction.guild_id, name_key(current[:200]),
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
        await self._check_daily_limit(interaction, guild_id)
        await self._corner(guild_id, photo=photo is not None)
        clean = clean_name(name)
        details = read_details(species, born, passed, await self._today(guild_id))
        key = name_key(clean)
        other = await repo.name_taken(self.bot.store, guild_id, key)
        if other is not None:
            raise BasilError(duplicate_name_message(escape(clean), waiting=not other.is_approved))
        draft_id = await self._save_draft(interaction, guild_id, None, clean, key, details, anniversaries, photo)
        await interaction.response.send_modal(story_form(draft_id, clean))

    async def _save_draft(
        self, interaction: discord.Interaction[Any], guild_id: int, memorial_id: int | None, name: str, key: str,
        details: PetDetails, anniversaries: bool, photo: discord.Attachment | None,
    ) -> int:
        ext = check_photo(photo.filename, photo.content_type, photo.size) if photo is not None else None
        return await repo.add_draft(
            self.bot.store, guild_id=guild_id, member_id=interaction.user.id, memorial_id=memorial_id, name=name,
            name_key=key, species=details.species, born=details.born, passed=details.passed,
            anniversaries=anniversaries, photo_url=photo.url if photo else None, photo_ext=ext,
            photo_type=photo.content_type if photo else None, now=self.bot.now_ts(),
        )

    @basil.command(name="queue", description="Moderators: memorials waiting for approval")
    @moderator_only()
    async def queue(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        page = await self._queue_page(guild_id)
        page["files"] = page.pop("attachments")
        await interaction.response.send_message(
            ephemeral=True, allowed_mentions=NONE, **{k: v for k, v in page.items() if v is not None}
        )
        await self._deliver_notices(interaction)

    @basil.command(name="wall", description="Every pet remembered in Basil's Corner")
    async def wall(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        pages = wall_pages(await repo.list_approved(self.bot.store, guild_id))
        if not pages:
            await interaction.response.send_message(
                "Basil's Corner is quiet: no pets are remembered here yet. `/basil memorial` adds one.",
                ephemeral=True,
            )
        elif len(pages) == 1:
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
        view: dict[str, Any] = {}
        if not memorial.is_approved:
            content = "This memorial is still waiting for a moderator's approval."
        elif memorial.card_url is None:
            content = _no_card(memorial)
        else:
            content = f"Their card in Basil's Corner: {memorial.card_url}"
            view["view"] = card_view(memorial.id)
        await interaction.response.send_message(
            content, embed=card_embed(memorial, photo), files=_photo_files(photo), ephemeral=True,
            allowed_mentions=NONE, **view,
        )
        await self._deliver_notices(interaction)

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
        details = read_details(species, born, passed, await self._today(guild_id), current)
        draft_id = await self._save_draft(
            interaction, guild_id, memorial.id, memorial.name, memorial.name_key, details,
            memorial.anniversaries if anniversaries is None else anniversaries, photo,
        )
        await interaction.response.send_modal(edit_form(draft_id, memorial.name, memorial.story))

    async def apply_edit(self, interaction: discord.Interaction[Any], draft: Draft, story: str) -> None:
        memorial = await repo.get(self.bot.store, draft.memorial_id or 0)
        if memorial is None or memorial.guild_id != interaction.guild_id:
            raise BasilError("That memorial was removed in the meantime; nothing was changed.")
        await self._check_may_change(interaction, memorial, "edit")
        photo = await self._fetch_photo(draft.photo_url, draft.photo_ext, draft.photo_type)
        settings = await self.bot.settings.get(memorial.guild_id)
        if settings.basil_approval and memorial.is_approved and not await is_moderator(interaction):
            # The card keeps its approved words and photo until a moderator approves the changes.
            async with self.bot.store.transaction() as tx:
                await repo.save_pending_edit(tx, repo.PendingEdit(
                    memorial_id=memorial.id, guild_id=memorial.guild_id, member_id=interaction.user.id,
                    species=draft.species, born=draft.born, passed=draft.passed, story=story,
                    anniversaries=draft.anniversaries, photo=photo, created_at=self.bot.now_ts(),
                ))
            await interaction.followup.send(
                f"Thank you. Your changes to {escape(memorial.name)}'s memorial wait for a moderator's approval; "
                "its card stays as it is until then, and I'll let you know.",
                ephemeral=True, allowed_mentions=NONE,
            )
            await self._notify_queue(memorial.guild_id)
            return
        async with self.bot.store.transaction() as tx:
            if photo is not None:
                await repo.set_photo(tx, memorial.id, photo)
            updated = await repo.update_details(
                tx, memorial.id, species=draft.species, born=draft.born, passed=draft.passed,
                story=story, anniversaries=draft.anniversaries, now=self.bot.now_ts(),
            )
        assert updated is not None
        note = await self._after_update(memorial, updated)
        await interaction.followup.send(
            f"Saved. {escape(updated.name)}'s memorial is up to date.{note}", ephemeral=True, allowed_mentions=NONE
        )

    @basil.command(name="remove", description="Remove a memorial (and its card) from Basil's Corner")
    @app_commands.describe(name="The pet's name")
    @app_commands.autocomplete(name=name_autocomplete)
    async def remove_cmd(self, interaction: discord.Interaction[FilmClubBot], name: str) -> None:
        memorial = await self._find(interaction, name)
        await self._check_may_change(interaction, memorial, "remove")
        await interaction.response.send_message(
            f"Remove {escape(memorial.name)}'s memorial from Basil's Corner? Its card, its tributes thread and "
            "its anniversary notes will go. This can't be undone.",
            view=confirm_remove_view(memorial.id, interaction.user.id), ephemeral=True, allowed_mentions=NONE,
        )

    async def remove(self, interaction: discord.Interaction[Any], memorial_id: int) -> None:
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != interaction.guild_id:
            raise BasilError("That memorial was already removed.")
        await self._check_may_change(interaction, memorial, "remove")
        async with self.bot.store.transaction() as tx:
            await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id), db=tx)
            if not await repo.delete(tx, memorial.id):
                raise BasilError("That memorial was already removed.")
        for channel_id, message_id in ((memorial.channel_id, memorial.message_id), (memorial.thread_id, None)):
            if channel_id is not None:
                await self._delete_quietly(channel_id, message_id)
        await interaction.edit_original_response(
            content=f"{escape(memorial.name)}'s memorial was removed from Basil's Corner.", view=None
        )

    async def _delete_quietly(self, channel_id: int, message_id: int | None) -> None:
        """Delete a card (or, without ``message_id``, a thread); gone already is fine."""
        try:
            channel = await self.bot.resolve_messageable(channel_id)
            if message_id is None:
                await channel.delete()  # type: ignore[attr-defined]
            else:
                await channel.get_partial_message(message_id).delete()  # type: ignore[attr-defined]
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.warning("could not delete %s/%s of a removed memorial: %s", channel_id, message_id, exc)

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
