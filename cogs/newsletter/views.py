"""Newsletter UI: the preview and verdict modals, the draft's buttons and intro modal, every embed and reply.

The draft's buttons are one ``DynamicItem`` whose custom id carries the draft id and the action
(``nl:<id>:publish|discard|intro``), so they keep working after a restart: the draft lives in the DB.
The modals and buttons do their work through the newsletter's service, ``interaction.client.newsletter``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import require_guild, require_moderator
from bot.domain import newsletter as dom
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, clip, escape, plural, ts
from bot.ui import FilmClubModal
from db.newsletter import NewsletterRow

if TYPE_CHECKING:
    from cogs.newsletter.service import NewsletterService

NONE = discord.AllowedMentions.none()
LIST_PAGE = 10
THUMB_LABELS = {
    1: "1 👍 Not for me", 2: "2 👍👍 Meh", 3: "3 👍👍👍 Good", 4: "4 👍👍👍👍 Great", 5: "5 👍👍👍👍👍 Loved it",
}


def service_of(interaction: discord.Interaction[Any]) -> NewsletterService:
    service: NewsletterService = interaction.client.newsletter
    return service


class FilmRef:
    """A film as the commands name it: key, title, year."""

    __slots__ = ("key", "title", "year")

    def __init__(self, key: str, title: str, year: int | None) -> None:
        self.key, self.title, self.year = key, title, year

    @property
    def label(self) -> str:
        return dom.film_label(self.title, self.year)

    @property
    def shown(self) -> str:
        return f"*{escape(self.title)}*" + (f" ({self.year})" if self.year else "")


def shown(row: NewsletterRow) -> str:
    return FilmRef(row.film_key, row.film_title, row.film_year).shown


def filename(row: NewsletterRow) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", row.film_key.removeprefix("custom:").lower()).strip("-")[:60] or "film"
    return f"newsletter-{row.id}-{slug}.md"


# ----------------------------------------------------------------------------- embeds


def to_embed(part: dom.EmbedPart, colour: discord.Colour = CLUB_COLOUR) -> discord.Embed:
    embed = discord.Embed(title=part.title, description=part.description or None, colour=colour)
    if part.footer:
        embed.set_footer(text=part.footer)
    return embed


def preview_embed(name: str, label: str, text: str) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"🔮 {dom.escape_md(name)}'s preview: {label}", 256), description=text, colour=CLUB_COLOUR
    )
    embed.set_footer(text="Before the screening. Kept for the newsletter; add yours with /preview.")
    return embed


def verdict_embed(name: str, label: str, thumbs: int, text: str | None) -> discord.Embed:
    body = f"{dom.thumbs_text(thumbs)} ({thumbs}/5)"
    if text:
        body += "\n\n" + text
    embed = discord.Embed(
        title=clip(f"🎬 {dom.escape_md(name)}'s verdict: {label}", 256), description=body, colour=CLUB_COLOUR
    )
    embed.set_footer(text="After the screening. Kept for the newsletter; add yours with /verdict.")
    return embed


def draft_message(
    row: NewsletterRow, letter: dom.Newsletter, announcements_channel_id: int | None, file: discord.File
) -> dict[str, Any]:
    """The private preview of a draft: what publishing will post, its first message, the file and the buttons."""
    messages = dom.split_messages(letter)
    sections = ", ".join(s.heading for s in letter.sections) or "none (nothing happened for this film yet)"
    count = len(messages)
    where = (
        f"in <#{announcements_channel_id}>" if announcements_channel_id is not None
        else "in the announcements channel (none is set yet: `/filmclub setup announcements:` first)"
    )
    content = (
        f"**Draft #{row.id}** for {shown(row)}, only you can see this.\nSections: {sections}.\n"
        f"Publishing posts {plural(count, 'message')} {where}, "
        "with the whole newsletter attached as a Markdown file (attached here too)."
    )
    if row.message_ids:
        done = min(len(row.message_ids), count)
        content += (
            f"\n⚠️ An earlier Publish stopped after {done} of {count} messages in <#{row.channel_id}>: "
            "Publish posts the rest there (Discard removes them)."
        )
    if count > 1:
        content += " Below: the first message."
    return {
        "content": clip(content, 2000),
        "embeds": [to_embed(p) for p in messages[0]],
        "view": draft_view(row.id),
        "files": [file],
        "allowed_mentions": NONE,
    }


def drafts_note(drafts: Sequence[NewsletterRow]) -> str:
    """The open drafts, for moderators looking at `/newsletter list`."""
    if not drafts:
        return ""
    listed = ", ".join(f"#{d.id} {shown(d)}" for d in drafts)
    return clip(f"Open drafts (moderators, `/newsletter show id` to review): {listed}", 1000)


def list_pages(rows: Sequence[NewsletterRow]) -> list[discord.Embed]:
    lines = []
    for r in rows:
        link = f" · [read]({r.jump_url})" if r.jump_url else ""
        lines.append(f"**#{r.id}** {shown(r)}: published {ts(r.published_at or 0, 'D')}{link}")
    chunks = [lines[i : i + LIST_PAGE] for i in range(0, len(lines), LIST_PAGE)]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        embed = discord.Embed(title="📰 Past newsletters", description=clip("\n".join(chunk), 4096), colour=CLUB_COLOUR)
        more = f" · page {number} of {len(chunks)}" if len(chunks) > 1 else ""
        embed.set_footer(text=f"{len(rows)} published{more} · read one with /newsletter show id")
        pages.append(embed)
    return pages


def letter_pages(letter: dom.Newsletter) -> list[discord.Embed]:
    """A published newsletter, one embed per page (numbered when there are several)."""
    pages = [to_embed(p) for message in dom.split_messages(letter) for p in message]
    for number, page in enumerate(pages, start=1):
        if len(pages) > 1:
            page.set_footer(text=f"Part {number} of {len(pages)}")
    return pages


def member_name(interaction: discord.Interaction[Any]) -> str:
    return interaction.user.display_name


# ----------------------------------------------------------------------------- member modals


class PreviewModal(FilmClubModal):
    def __init__(self, film_key: str, label: str, screening_id: int, current: str | None) -> None:
        super().__init__(title=clip(f"Preview: {label}", 45), timeout=1800)
        self.film_key = film_key
        self.screening_id = screening_id
        self.text: discord.ui.TextInput[PreviewModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder="What do you know or expect before watching? Hopes, fears, hunches...",
            default=current,
            max_length=dom.MAX_PREVIEW,
            required=True,
            custom_id="nl:preview:text",
        )
        self.add_item(discord.ui.Label(text="Your expectations", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        text = dom.check_preview(self.text.value)
        await save_preview(interaction, self.film_key, self.screening_id, text)


class VerdictModal(FilmClubModal):
    def __init__(self, film_key: str, label: str, thumbs: int | None, current: str | None) -> None:
        super().__init__(title=clip(f"Verdict: {label}", 45), timeout=1800)
        self.film_key = film_key
        self.thumbs: discord.ui.Select[VerdictModal] = discord.ui.Select(
            custom_id="nl:verdict:thumbs",
            placeholder="How many thumbs?",
            options=[
                discord.SelectOption(label=THUMB_LABELS[n], value=str(n), default=n == thumbs) for n in range(1, 6)
            ],
            min_values=1,
            max_values=1,
            required=True,
        )
        self.text: discord.ui.TextInput[VerdictModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder="Your take after watching (optional)",
            default=current,
            max_length=dom.MAX_VERDICT,
            required=False,
            custom_id="nl:verdict:text",
        )
        self.add_item(discord.ui.Label(text="Thumbs (1 to 5)", component=self.thumbs))
        self.add_item(discord.ui.Label(text="Your take", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        picked = self.thumbs.values[0] if self.thumbs.values else ""
        thumbs, text = dom.check_verdict(picked, self.text.value)
        await save_verdict(interaction, self.film_key, thumbs, text)


# ----------------------------------------------------------------------------- the draft


class IntroModal(FilmClubModal):
    def __init__(self, newsletter_id: int, current: str) -> None:
        super().__init__(title=f"Newsletter #{newsletter_id}: intro"[:45], timeout=1800)
        self.newsletter_id = newsletter_id
        self.text: discord.ui.TextInput[IntroModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            default=current or None,
            max_length=dom.MAX_INTRO,
            required=False,
            custom_id="nl:intro:text",
        )
        self.add_item(discord.ui.Label(text="Intro", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await require_moderator(interaction)
        intro = dom.check_intro(self.text.value)
        message = await service_of(interaction).edit_intro(require_guild(interaction), self.newsletter_id, intro)
        files = message.pop("files")
        if interaction.message is not None:
            await interaction.response.edit_message(**message, attachments=files)
        else:
            await interaction.response.send_message(**message, files=files, ephemeral=True)


class DraftButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"nl:(?P<id>\d+):(?P<action>publish|discard|intro)",
):
    LOOK = {
        "intro": ("Edit intro", "✏️", discord.ButtonStyle.secondary),
        "publish": ("Publish", "📰", discord.ButtonStyle.success),
        "discard": ("Discard", "🗑️", discord.ButtonStyle.danger),
    }

    def __init__(self, newsletter_id: int, action: str) -> None:
        label, emoji, style = self.LOOK[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"nl:{newsletter_id}:{action}")
        )
        self.newsletter_id = newsletter_id
        self.action = action

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> DraftButton:
        return cls(int(match["id"]), str(match["action"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await require_moderator(interaction)
        if self.action == "intro":
            row = await service_of(interaction).intro_draft(require_guild(interaction), self.newsletter_id)
            await interaction.response.send_modal(IntroModal(row.id, row.intro))
        elif self.action == "discard":
            await discard(interaction, self.newsletter_id)
        else:
            await publish(interaction, self.newsletter_id)


def draft_view(newsletter_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("intro", "publish", "discard"):
        view.add_item(DraftButton(newsletter_id, action))
    return view


# ----------------------------------------------------------------------------- what the modals and buttons do


async def save_preview(interaction: discord.Interaction[Any], film_key: str, screening_id: int, text: str) -> None:
    """The preview modal came back with checked text: store it, post it, say where."""
    service = service_of(interaction)
    guild_id = require_guild(interaction)
    ref, target = await service.reopen_preview_target(guild_id, screening_id)
    await interaction.response.defer(ephemeral=True, thinking=True)
    saved = await service.save_preview(
        guild_id, interaction.user.id, member_name(interaction), film_key, ref, target, text
    )
    verb = "Saved your preview" if saved.new else "Updated your preview"
    if isinstance(saved.posted, int):
        where_text = f" and posted it in <#{saved.posted}>"
    else:
        where_text = f", but {saved.posted}: it is kept for the newsletter all the same. A moderator can fix my " \
            "permissions, then `/preview` again posts it"
    await interaction.followup.send(
        f"{verb} of {ref.shown}{where_text}. You can change it with `/preview` until the "
        f"screening starts {ts(target.starts_at, 'R')}.",
        ephemeral=True, allowed_mentions=NONE,
    )


async def save_verdict(interaction: discord.Interaction[Any], film_key: str, thumbs: int, text: str | None) -> None:
    """The verdict modal came back with checked values: store it (and the rating), post it, say where."""
    service = service_of(interaction)
    guild_id = require_guild(interaction)
    target = await service.verdict_target(guild_id, film_key)
    await interaction.response.defer(ephemeral=True, thinking=True)
    saved = await service.save_verdict(guild_id, interaction.user.id, member_name(interaction), target, thumbs, text)
    ref = target.ref
    posted = ""
    if isinstance(saved.posted, str):
        posted = f", but {saved.posted} (it is kept for the newsletter all the same)"
    elif saved.posted is not None:
        posted = f" and posted it in <#{saved.posted}>"
    verb = "Saved your verdict" if saved.new else "Updated your verdict"
    reply = f"{verb} on {ref.shown}: {dom.thumbs_text(thumbs)} ({thumbs}/5){posted}."
    if target.screening is None and target.scheduled_here:
        reply += (
            f"\nNote: the club's screening of {ref.shown} hasn't finished yet, so this verdict is kept for the "
            "newsletter but does not set your rating. Send `/verdict` again once it has finished to set it."
        )
    elif target.screening is None:
        reply += (
            f"\nNote: the club hasn't screened {ref.shown} here, so this verdict is kept for a future newsletter "
            "but does not count as a rating yet."
        )
    else:
        reply += " Your rating is set to match."
    await interaction.followup.send(reply, ephemeral=True, allowed_mentions=NONE)


async def discard(interaction: discord.Interaction[Any], newsletter_id: int) -> None:
    service = service_of(interaction)
    row = await service.discard(require_guild(interaction), newsletter_id)
    note = "Nothing was posted."
    if row.message_ids and row.channel_id is not None:
        await interaction.response.defer()
        removed = await service.delete_posted(row)
        note = (
            f"Removed the {plural(removed, 'message')} an earlier Publish had posted."
            if removed else "The messages an earlier Publish had posted were already gone."
        )
        await interaction.edit_original_response(
            content=f"🗑️ Draft #{newsletter_id} discarded. {note}", embeds=[], attachments=[], view=None,
        )
        return
    await interaction.response.edit_message(
        content=f"🗑️ Draft #{newsletter_id} discarded. {note}", embeds=[], attachments=[], view=None,
    )


async def publish(interaction: discord.Interaction[Any], newsletter_id: int) -> None:
    service = service_of(interaction)
    guild_id = require_guild(interaction)
    claim = await service.claim(guild_id, newsletter_id, interaction.user.id)
    await interaction.response.defer()
    sent = await service.publish(claim, interaction.user.id)
    channel_id = claim.channel_id
    url = f"https://discord.com/channels/{guild_id}/{channel_id}/{sent[0]}" if sent else ""
    await interaction.edit_original_response(
        content=(
            f"📰 Published newsletter #{claim.row.id} in <#{channel_id}> ({plural(len(sent), 'message')}): {url}\n"
            "The next newsletter's Basil's Corner starts from here."
        ),
        embeds=[], attachments=[], view=None,
    )
