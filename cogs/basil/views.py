"""Everything Basil's Corner shows: the card, the wall, the queue page, and its buttons and forms.

Nothing here lives only in memory, so every button and form keeps working after a restart:

- the buttons (Leave a tribute, Approve, Decline, and the Remove/Keep confirmation) are one
  ``DynamicItem`` whose custom id carries the action and the memorial id (``basil:approve:12``);
- the forms (the story of a new memorial, an edit, a tribute) are not kept by discord.py at all:
  their custom id names a draft saved in the database (``basil:story:<draft id>``) or the memorial
  (``basil:tribute-form:<memorial id>``), and the cog's ``on_interaction`` listener hands the submit
  to :func:`submit_form`. A story written for an hour, or across a restart, is never lost.

A click or a submit checks who may do it, asks :class:`cogs.basil.service.BasilService` (``bot.basil``)
to do the work, and replies.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import club_bot, is_moderator, require_guild, require_moderator
from bot.domain.basil import (
    DESCRIPTION_LIMIT,
    MAX_STORY,
    MAX_TRIBUTE,
    BasilError,
    card_description,
    clean_story,
    clean_tribute,
    dates_line,
    pages_of,
    rainbow_line,
)
from bot.handlers import guarded, report_error
from bot.render import GENTLE_COLOUR, clip, escape
from db.basil import Memorial, Photo

if TYPE_CHECKING:
    from cogs.basil.service import BasilService, QueueHead

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
EMBED_LIMIT = 6000
STORY, EDIT, TRIBUTE = "story", "edit", "tribute-form"
FORM_ID = re.compile(rf"basil:(?P<form>{STORY}|{EDIT}|{TRIBUTE}):(?P<id>[0-9]{{1,19}})")
STORY_FIELD, TRIBUTE_FIELD = "story", "tribute"

# action -> (label, emoji, style)
BUTTONS: dict[str, tuple[str, str | None, discord.ButtonStyle]] = {
    "tribute": ("Leave a tribute", "🕯️", discord.ButtonStyle.secondary),
    "approve": ("Approve", "🌈", discord.ButtonStyle.success),
    "decline": ("Decline", None, discord.ButtonStyle.secondary),
    "approve-edit": ("Approve the changes", "🌈", discord.ButtonStyle.success),
    "decline-edit": ("Decline the changes", None, discord.ButtonStyle.secondary),
    "remove": ("Remove the memorial", None, discord.ButtonStyle.danger),
    "keep": ("Keep it", None, discord.ButtonStyle.secondary),
}


def basil(interaction: discord.Interaction[Any]) -> BasilService:
    return club_bot(interaction).basil


# ----------------------------------------------------------------------------- embeds
def photo_files(photo: Photo | None) -> list[discord.File]:
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


def tribute_embed(member: discord.abc.User, memorial: Memorial, text: str) -> discord.Embed:
    embed = discord.Embed(description=escape(text), colour=GENTLE_COLOUR)
    embed.set_author(name=clip(f"{member.display_name} remembers {memorial.name}", 256),
                     icon_url=member.display_avatar.url)
    return embed


def queue_page(head: QueueHead | None) -> dict[str, Any]:
    """The edit/send arguments showing the oldest waiting memorial or edit (or that none waits)."""
    if head is None:
        return {"content": "Nothing is waiting for approval in Basil's Corner.", "embed": None, "view": None,
                "attachments": []}
    memorial, edit = head.memorial, head.edit
    if edit is not None:
        # The memorial as it would read, with Approve/Decline the changes.
        proposed = replace(
            memorial, species=edit.species, born=edit.born, passed=edit.passed, story=edit.story,
            anniversaries=edit.anniversaries,
        )
        content = (
            f"Changes waiting for approval: 1 of {head.waiting}. <@{edit.member_id}> edited "
            f"{escape(memorial.name)}'s memorial <t:{edit.created_at}:R>; its card shows the approved version "
            f"until then: {memorial.card_url or 'no card'}."
        )
        return {"content": content, "embed": card_embed(proposed, head.photo), "view": edit_queue_view(memorial.id),
                "attachments": photo_files(head.photo)}
    content = f"Waiting for approval: 1 of {head.waiting}. Shared <t:{memorial.created_at}:R>."
    if not head.approval_on:
        content += (
            " Memorial approval is off now, so new memorials go straight to Basil's Corner; these were "
            "shared while it was on."
        )
    return {"content": content, "embed": card_embed(memorial, head.photo), "view": queue_view(memorial.id),
            "attachments": photo_files(head.photo)}


def give_back_embed(text: str) -> discord.Embed:
    return discord.Embed(
        title="What you wrote, to copy", colour=GENTLE_COLOUR,
        description=clip("```\n" + text.replace("```", "'''") + "\n```", DESCRIPTION_LIMIT),
    )


async def deliver_notices(interaction: discord.Interaction[Any]) -> None:
    """Outcomes that could not reach the member by DM, shown privately now."""
    if interaction.guild_id is None:
        return
    for notice in await basil(interaction).take_notices(interaction.guild_id, interaction.user.id):
        await interaction.followup.send(notice.text, ephemeral=True, allowed_mentions=NONE)


# ----------------------------------------------------------------------------- buttons
class MemorialButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"basil:(?P<action>tribute|approve-edit|decline-edit|approve|decline|remove|keep):(?P<id>[0-9]{1,19})(?::(?P<owner>[0-9]{1,19}))?",
):
    """Every button of Basil's Corner; ``owner`` is who may answer a confirmation."""

    def __init__(self, action: str, memorial_id: int, owner_id: int | None = None) -> None:
        label, emoji, style = BUTTONS[action]
        custom_id = f"basil:{action}:{memorial_id}" + (f":{owner_id}" if owner_id is not None else "")
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id))
        self.action = action
        self.memorial_id = memorial_id
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> MemorialButton:
        owner = match["owner"]
        return cls(match["action"], int(match["id"]), int(owner) if owner else None)

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await CLICKS[self.action](interaction, self.memorial_id, self.owner_id)


def buttons(memorial_id: int, *actions: str, owner_id: int | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(MemorialButton(action, memorial_id, owner_id))
    return view


def card_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "tribute")


def queue_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "approve", "decline")


def edit_queue_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "approve-edit", "decline-edit")


def confirm_remove_view(memorial_id: int, owner_id: int) -> discord.ui.View:
    return buttons(memorial_id, "remove", "keep", owner_id=owner_id)


# ----------------------------------------------------------------------------- forms
def form(
    kind: str, ref: int, title: str, *, field: str, label: str, max_length: int, required: bool,
    placeholder: str | None = None, default: str | None = None,
) -> discord.ui.Modal:
    """A one-field form that discord.py does not keep: its submit reaches :func:`submit_form`."""
    modal = discord.ui.Modal(title=clip(title, 45), custom_id=f"basil:{kind}:{ref}", timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label=label, custom_id=field, style=discord.TextStyle.paragraph, placeholder=placeholder,
            default=default or None, max_length=max_length, required=required,
        )
    )
    modal.stop()  # finished before it is sent, so discord.py does not hold on to it
    return modal


def story_form(draft_id: int, name: str) -> discord.ui.Modal:
    return form(
        STORY, draft_id, f"Remembering {name}", field=STORY_FIELD, label="Their story", max_length=MAX_STORY,
        required=False, placeholder="What made them who they were? A favourite spot, a habit, a day you remember...",
    )


def edit_form(draft_id: int, name: str, story: str) -> discord.ui.Modal:
    return form(
        EDIT, draft_id, f"Edit {name}'s memorial", field=STORY_FIELD, label="Their story", max_length=MAX_STORY,
        required=False, default=story,
    )


def tribute_form(memorial_id: int, name: str) -> discord.ui.Modal:
    return form(
        TRIBUTE, memorial_id, f"A tribute to {name}", field=TRIBUTE_FIELD, label="Your tribute",
        max_length=MAX_TRIBUTE, required=True, placeholder="A memory, a kind word, a thank-you...",
    )


def form_values(components: Iterable[Any]) -> dict[str, str]:
    """``{custom_id: value}`` of a submitted form (text inputs in action rows or in labels)."""
    values: dict[str, str] = {}
    for component in components:
        if not isinstance(component, dict):
            continue
        if "custom_id" in component and isinstance(component.get("value"), str):
            values[component["custom_id"]] = component["value"]
        values.update(form_values(component.get("components") or ()))
        if isinstance(component.get("component"), dict):
            values.update(form_values([component["component"]]))
    return values


# ----------------------------------------------------------------------------- clicks
async def open_tribute_form(interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
    memorial = await basil(interaction).tributable(memorial_id, interaction.guild_id)
    await interaction.response.send_modal(tribute_form(memorial.id, memorial.name))


async def approve_clicked(interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
    await require_moderator(interaction)
    await interaction.response.defer()
    service = basil(interaction)
    guild_id = require_guild(interaction)
    published = await service.approve(guild_id, memorial_id, interaction.user.id)
    await interaction.edit_original_response(**queue_page(await service.queue_head(guild_id)))
    await interaction.followup.send(
        f"🌈 Approved: {escape(published.name)}'s card is up: {published.card_url}",
        ephemeral=True, allowed_mentions=NONE,
    )
    await service.tell_author(
        published,
        f"🌈 Your memorial for {escape(published.name)} is now in Basil's Corner: {published.card_url}",
    )


async def decline_clicked(interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
    await require_moderator(interaction)
    await interaction.response.defer()
    service = basil(interaction)
    guild_id = require_guild(interaction)
    memorial = await service.decline(guild_id, memorial_id)
    await interaction.edit_original_response(**queue_page(await service.queue_head(guild_id)))
    await interaction.followup.send(
        f"Declined {escape(memorial.name)}'s memorial; nothing of it was posted.",
        ephemeral=True, allowed_mentions=NONE,
    )
    guild = interaction.client.get_guild(guild_id)
    where = f" in {escape(guild.name)}" if guild else ""
    await service.tell_author(
        memorial,
        f"Your memorial for {escape(memorial.name)} was not added to Basil's Corner{where} this time. "
        "Nothing of it was posted. A moderator can tell you more if you'd like to share it again.",
    )


async def answer_edit(interaction: discord.Interaction[Any], memorial_id: int, approve: bool) -> None:
    """A moderator's Approve/Decline the changes: the waiting edit is applied or dropped (once), the next page
    of the queue is shown, and the member who made the changes is told."""
    await require_moderator(interaction)
    await interaction.response.defer()
    service = basil(interaction)
    guild_id = require_guild(interaction)
    answer = await service.answer_edit(guild_id, memorial_id, approve)
    shown = answer.shown
    name = escape(shown.name)
    if approve:
        mod_text = f"🌈 Approved the changes to {name}'s memorial.{answer.note}"
        member_text = f"🌈 Your changes to {name}'s memorial are in Basil's Corner: {shown.card_url}"
    else:
        mod_text = f"Declined the changes to {name}'s memorial; its card stays as it was."
        member_text = f"Your changes to {name}'s memorial were not made this time; its card stays as it was."
    await interaction.edit_original_response(**queue_page(await service.queue_head(guild_id)))
    await interaction.followup.send(mod_text, ephemeral=True, allowed_mentions=NONE)
    await service.tell_author(replace(shown, author_id=answer.member_id), member_text)


async def approve_edit_clicked(interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
    await answer_edit(interaction, memorial_id, approve=True)


async def decline_edit_clicked(interaction: discord.Interaction[Any], memorial_id: int, _: int | None) -> None:
    await answer_edit(interaction, memorial_id, approve=False)


def check_owner(interaction: discord.Interaction[Any], owner_id: int | None) -> None:
    if owner_id is not None and interaction.user.id != owner_id:
        raise BasilError("Only the member who asked can answer this. Nothing was changed.")


async def remove_clicked(interaction: discord.Interaction[Any], memorial_id: int, owner: int | None) -> None:
    check_owner(interaction, owner)
    await interaction.response.defer()
    memorial = await basil(interaction).remove(
        interaction.guild_id, memorial_id, member_id=interaction.user.id, moderator=await is_moderator(interaction)
    )
    await interaction.edit_original_response(
        content=f"{escape(memorial.name)}'s memorial was removed from Basil's Corner.", view=None
    )


async def keep_clicked(interaction: discord.Interaction[Any], memorial_id: int, owner: int | None) -> None:
    check_owner(interaction, owner)
    await interaction.response.edit_message(content="Nothing was changed; the memorial stays.", view=None)


Click = Callable[[discord.Interaction[Any], int, int | None], Awaitable[None]]
CLICKS: dict[str, Click] = {
    "tribute": open_tribute_form, "approve": approve_clicked, "decline": decline_clicked,
    "remove": remove_clicked, "keep": keep_clicked,
    "approve-edit": approve_edit_clicked, "decline-edit": decline_edit_clicked,
}


# ----------------------------------------------------------------------------- submitted forms
async def submit_form(interaction: discord.Interaction[Any]) -> None:
    """Submits of the story, edit and tribute forms (by custom id); other interactions are left alone."""
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
            await post_tribute(interaction, ref, clean_tribute(text))
        else:
            await submit_story(interaction, ref, clean_story(text))
    except Exception as exc:
        await report_error(interaction, exc)
        await give_back(interaction, text)


async def give_back(interaction: discord.Interaction[Any], text: str) -> None:
    """After a refused form, return what the member wrote so they can paste it again."""
    if not text.strip():
        return
    try:
        await interaction.followup.send(embed=give_back_embed(text), ephemeral=True, allowed_mentions=NONE)
    except discord.HTTPException as exc:
        log.warning("could not give the text back to member %s: %s", interaction.user.id, exc)


async def submit_story(interaction: discord.Interaction[Any], draft_id: int, story: str) -> None:
    """A new memorial's story, or an edit (the saved draft says which)."""
    service = basil(interaction)
    draft = await service.take_draft(draft_id, interaction.user.id, interaction.guild_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    moderator = await is_moderator(interaction)
    if draft.memorial_id is not None:
        outcome = await service.apply_edit(
            draft, story, guild_id=interaction.guild_id, member_id=interaction.user.id, moderator=moderator
        )
        name = escape(outcome.memorial.name)
        if outcome.waits:
            await interaction.followup.send(
                f"Thank you. Your changes to {name}'s memorial wait for a moderator's approval; "
                "its card stays as it is until then, and I'll let you know.",
                ephemeral=True, allowed_mentions=NONE,
            )
            await service.notify_queue(outcome.memorial.guild_id)
            return
        await interaction.followup.send(
            f"Saved. {name}'s memorial is up to date.{outcome.note}", ephemeral=True, allowed_mentions=NONE
        )
        return
    memorial = await service.create_memorial(draft, story, member_id=interaction.user.id, moderator=moderator)
    name = escape(memorial.name)
    if not memorial.is_approved:
        await interaction.followup.send(
            f"Thank you for sharing {name}'s memorial. A moderator will look at it soon, and I'll let you "
            "know when it is in Basil's Corner.",
            ephemeral=True, allowed_mentions=NONE,
        )
        await service.notify_queue(draft.guild_id)
        return
    await interaction.followup.send(
        f"🌈 {name}'s memorial is in Basil's Corner: {memorial.card_url}", ephemeral=True, allowed_mentions=NONE
    )
    await deliver_notices(interaction)


async def post_tribute(interaction: discord.Interaction[Any], memorial_id: int, text: str) -> None:
    service = basil(interaction)
    memorial = await service.tributable(memorial_id, interaction.guild_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    member = interaction.user
    message = await service.post_tribute(
        memorial, tribute_embed(member, memorial, text), member_id=member.id, member_name=member.display_name,
        text=text,
    )
    await interaction.followup.send(
        f"🕯️ Thank you. Your tribute to {escape(memorial.name)} is in the thread: {message.jump_url}",
        ephemeral=True, allowed_mentions=NONE,
    )
