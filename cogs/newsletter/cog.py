"""The installment newsletter: `/preview`, `/verdict`, `/newsletter draft|list|show`.

- `/preview film`: a member's expectations before the screening (modal, 1,500 characters), posted in
  the screening's thread (made on its announcement when there is none yet; its channel as a fallback)
  and kept for the newsletter. One per member per film, editable until the screening starts (the posted
  message is edited in place). A post Discord refuses does not lose the text: it is kept, the reply says so.
- `/verdict film`: thumbs 1-5 and a take after watching (modal). It sets the member's rating through
  ``db.screenings.set_rating`` (the same rating as `/rate`) and is posted in the discussion thread.
  A film the club has not screened is allowed, but the reply says so and no rating is set.
- `/newsletter draft [film]` (moderators): compiles the film's newsletter (default: the film of the last
  finished screening) and shows it privately with Edit intro / Publish / Discard buttons. The draft is
  stored, so the buttons work by draft id, also after a restart. One newsletter per installment: a
  second one for a screening whose newsletter is out is refused.
- Publish: the announcements channel is checked first (gone, hidden, missing permissions: a clear error,
  nothing changes). One conditional UPDATE takes a lease on the draft (a second click, Edit intro or
  Discard is refused while it runs), then the messages go out, each with its own nonce, the Markdown file
  attached to the last, nobody pinged, and the draft becomes published only once all are out. If Discord
  refuses midway the lease is given back and the messages already posted are remembered: Publish resumes
  (the same channel) or starts over (another channel), Discard deletes them. A lease left by a crash is
  cleared at start-up.
- `/newsletter list` (paginated; moderators also see open drafts) and `/newsletter show id`.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.domain import newsletter as dom
from bot.domain.awards import certification
from bot.domain.films import choice_value, is_choice_for, load_catalogue, normalize_title, parse_title_year
from bot.domain.trivia import load_shipped_packs
from bot.errors import NotSetUp, UserError
from bot.render import CLUB_COLOUR, clip, escape, missing_permissions, ts, ts_full
from bot.scheduler import PostObsolete
from bot.ui import Paginator
from cogs.newsletter.views import (
    DraftButton,
    PreviewModal,
    VerdictModal,
    draft_view,
    preview_embed,
    to_embed,
    verdict_embed,
)
from db import awards as awards_repo
from db import basil as basil_repo
from db import installments as installments_repo
from db import newsletter as repo
from db import screenings as screenings_repo
from db import trivia as trivia_repo
from db.newsletter import NewsletterRow
from db.screenings import Screening
from db.store import Executor

log = logging.getLogger(__name__)

Interaction = discord.Interaction[FilmClubBot]
NONE = discord.AllowedMentions.none()
PUBLISH_LEASE = 15 * 60  # seconds a Publish may take before another may take over (an interaction's lifetime)
LIST_PAGE = 10
UNKNOWN_CHANNEL = 10003
UPCOMING = (screenings_repo.SCHEDULED, screenings_repo.LIVE)
STARTED = (screenings_repo.LIVE, screenings_repo.FINISHED)


@functools.cache
def _shipped_qas() -> dict[str, tuple[dom.QA, ...]]:
    packs = load_shipped_packs()
    return {name: tuple(dom.QA(q.text, q.answer) for q in pack.questions) for name, pack in packs.items()}


def compute_facts(own: list[dom.QA], film_key: str, title: str, seed: str) -> list[str]:
    """The newsletter's facts from the shipped packs and the server's own questions (in the worker process)."""
    packs: dict[str, list[dom.QA]] = {name: list(qas) for name, qas in _shipped_qas().items()}
    if own:
        packs.setdefault(trivia_repo.SERVER_PACK, []).extend(own)
    return dom.pick_facts(dom.questions_for_film(packs, film_key, title), seed=seed)


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


class NewsletterCog(commands.Cog, name="Newsletter"):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(DraftButton)
        cleared = await repo.clear_leases(self.bot.store)  # nothing publishes before the bot is up
        if cleared:
            log.info("cleared %d newsletter publishing lease(s) left by the last run", cleared)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(DraftButton)

    newsletter = app_commands.Group(name="newsletter", description="The club's installment newsletter", guild_only=True)

    # ------------------------------------------------------------------ film lookups
    async def _all_screenings(self, guild_id: int) -> list[Screening]:
        return await screenings_repo.list_screenings(self.bot.store, guild_id, newest_first=True, limit=1000)

    async def _film(self, guild_id: int, text: str, screenings: Sequence[Screening]) -> FilmRef:
        """The film ``text`` names: a key or title of a screening here first, else the catalogue."""
        text = text.strip()
        for s in screenings:
            if is_choice_for(s.film_key, text):
                return FilmRef(s.film_key, s.title, s.year)
        bare, year = parse_title_year(text)
        wanted = normalize_title(bare)
        hits = {
            s.film_key: s for s in screenings
            if normalize_title(s.title) == wanted and (year is None or s.year == year)
        }
        if len(hits) == 1:
            s = next(iter(hits.values()))
            return FilmRef(s.film_key, s.title, s.year)
        if len(hits) > 1:
            raise UserError(f"Several films here are called `{escape(clip(bare, 80))}`: pick one from the list.")
        catalogue = load_catalogue()
        film = catalogue.get(text) or catalogue.find(bare, year)
        if film is not None:
            return FilmRef(film.key, film.title, film.year)
        raise UserError(
            f"I don't know the film `{escape(clip(bare, 80))}`. Pick one from the list (add its year if needed)."
        )

    async def _name(self, guild: discord.Guild | None, user_id: int, cache: dict[int, str]) -> str:
        if user_id in cache:
            return cache[user_id]
        name = "a club member"
        if guild is not None:
            member = guild.get_member(user_id)
            if member is None:
                try:
                    member = await guild.fetch_member(user_id)
                except discord.HTTPException:
                    member = None
            if member is not None:
                name = member.display_name
        cache[user_id] = name
        return name

    async def _thread(self, s: Screening, name: str) -> int:
        """The screening's thread (made on its announcement when there is none yet), else its channel."""
        if s.thread_id is not None:
            return s.thread_id
        service = getattr(self.bot.get_cog("Screenings"), "service", None)
        ensure = getattr(service, "ensure_thread", None)
        if ensure is not None:
            try:
                return int(await ensure(s, name))
            except (PostObsolete, discord.HTTPException) as exc:
                log.info("no thread for screening %s (%s); posting in its channel", s.id, exc)
        return s.channel_id

    async def _post_or_edit(
        self, guild_id: int, targets: Sequence[int], message_id: int | None, old_channel: int | None,
        embed: discord.Embed,
    ) -> tuple[int, int] | str:
        """Edit the member's earlier post when it is still there, else post anew in the first target that
        takes it. (channel, message), or why nothing could be posted."""
        if message_id is not None and old_channel is not None:
            try:
                partial = self.bot.get_partial_messageable(old_channel, guild_id=guild_id)
                await partial.get_partial_message(message_id).edit(embed=embed, allowed_mentions=NONE)
                return old_channel, message_id
            except discord.HTTPException:
                pass  # deleted, or in a thread that was deleted or locked: post it again
        problem = "I could not find where to post it"
        for channel_id in dict.fromkeys(targets):
            try:
                channel = await self.bot.resolve_messageable(channel_id)
                sent = await channel.send(embed=embed, allowed_mentions=NONE)
                return channel_id, sent.id
            except discord.Forbidden:
                problem = f"I'm missing a permission to post in <#{channel_id}>"
            except discord.HTTPException as exc:
                problem = f"Discord refused to post it in <#{channel_id}> ({exc.text or exc.status})"
        return problem

    # ------------------------------------------------------------------ /preview
    @app_commands.command(name="preview", description="Before a screening: what you expect from the film")
    @app_commands.describe(film="A film with a screening coming up")
    @app_commands.guild_only()
    async def preview(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        ref, screening = await self._preview_target(guild_id, film)
        current = await repo.get_preview(self.bot.store, guild_id, ref.key, interaction.user.id)
        await interaction.response.send_modal(
            PreviewModal(ref.key, ref.label, screening.id, current.text if current else None)
        )

    async def _preview_target(self, guild_id: int, text: str) -> tuple[FilmRef, Screening]:
        screenings = await self._all_screenings(guild_id)
        ref = await self._film(guild_id, text, screenings)
        return ref, self._open_screening(ref, screenings)

    def _open_screening(self, ref: FilmRef, screenings: Sequence[Screening]) -> Screening:
        """The film's screening still ahead (previews are open until it starts), or a clear refusal."""
        now = self.bot.now_ts()
        mine = [s for s in screenings if s.film_key == ref.key and not s.is_cancelled]
        ahead = sorted(
            (s for s in mine if s.status == screenings_repo.SCHEDULED and s.starts_at > now), key=lambda s: s.starts_at
        )
        if ahead:
            return ahead[0]
        started = [s for s in mine if s.status in STARTED or s.starts_at <= now]
        if started:
            latest = max(started, key=lambda s: s.starts_at)
            raise UserError(
                f"The screening of {ref.shown} started {ts(latest.starts_at, 'R')}, so previews are closed. "
                "After watching, share your take with `/verdict`."
            )
        raise UserError(
            f"{ref.shown} has no screening scheduled, so there is nothing to preview yet. "
            "Previews open once a moderator schedules it."
        )

    async def save_preview(self, interaction: Interaction, film_key: str, screening_id: int, text: str) -> None:
        """Called by the preview modal with checked text."""
        guild_id = require_guild(interaction)
        screening = await screenings_repo.get_screening(self.bot.store, screening_id, guild_id)
        screenings = await self._all_screenings(guild_id)
        if screening is None:
            raise UserError("That screening is gone. Nothing was saved.")
        ref = FilmRef(screening.film_key, screening.title, screening.year)
        target = self._open_screening(ref, screenings)  # refuses once the screening started
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.store.transaction() as tx:
            preview, new = await repo.save_preview(
                tx, guild_id=guild_id, film_key=film_key, user_id=interaction.user.id, text=text,
                screening_id=target.id, now=self.bot.now_ts(),
            )
        name = getattr(interaction.user, "display_name", None) or interaction.user.name
        thread_id = await self._thread(target, f"{target.title}: watch party")
        posted = await self._post_or_edit(
            guild_id, [thread_id, target.channel_id], preview.message_id, preview.channel_id,
            preview_embed(name, ref.label, text),
        )
        verb = "Saved your preview" if new else "Updated your preview"
        if isinstance(posted, str):
            where_text = f", but {posted}: it is kept for the newsletter all the same. A moderator can fix my " \
                "permissions, then `/preview` again posts it"
        else:
            where, message_id = posted
            await repo.set_preview_message(self.bot.store, guild_id, film_key, interaction.user.id, where, message_id)
            where_text = f" and posted it in <#{where}>"
        await interaction.followup.send(
            f"{verb} of {ref.shown}{where_text}. You can change it with `/preview` until the "
            f"screening starts {ts(target.starts_at, 'R')}.",
            ephemeral=True, allowed_mentions=NONE,
        )

    @preview.autocomplete("film")
    async def _preview_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        upcoming = await screenings_repo.list_upcoming(self.bot.store, interaction.guild_id, limit=100)
        now = self.bot.now_ts()
        films = [(s.film_key, s.title, s.year) for s in upcoming if s.status == screenings_repo.SCHEDULED
                 and s.starts_at > now]
        return _choices(films, current)

    # ------------------------------------------------------------------ /verdict
    @app_commands.command(name="verdict", description="After watching: your thumbs and your take on the film")
    @app_commands.describe(film="A film the club has screened")
    @app_commands.guild_only()
    async def verdict(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        ref = await self._film(guild_id, film, await self._all_screenings(guild_id))
        current = await repo.get_verdict(self.bot.store, guild_id, ref.key, interaction.user.id)
        rating = await screenings_repo.get_rating(self.bot.store, guild_id, ref.key, interaction.user.id)
        thumbs = rating.thumbs if rating else (current.thumbs if current else None)
        await interaction.response.send_modal(
            VerdictModal(ref.key, ref.label, thumbs, current.text if current else None)
        )

    async def save_verdict(self, interaction: Interaction, film_key: str, thumbs: int, text: str | None) -> None:
        """Called by the verdict modal with checked values."""
        guild_id = require_guild(interaction)
        screenings = await self._all_screenings(guild_id)
        ref = await self._film(guild_id, film_key, screenings)
        finished = [s for s in screenings if s.film_key == ref.key and s.is_finished]
        screening = max(finished, key=lambda s: s.starts_at) if finished else None
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            verdict, new = await repo.save_verdict(
                tx, guild_id=guild_id, film_key=ref.key, user_id=interaction.user.id, thumbs=thumbs, text=text,
                title=ref.title, year=ref.year, screening_id=screening.id if screening else None, now=now,
            )
            if screening is not None:
                await screenings_repo.set_rating(
                    tx, guild_id, ref.key, interaction.user.id, thumbs, None, now,
                    title=ref.title, year=ref.year, screening_id=screening.id,
                )
        name = getattr(interaction.user, "display_name", None) or interaction.user.name
        embed = verdict_embed(name, ref.label, thumbs, text)
        targets: list[int] = []
        if screening is not None:
            targets = [await self._thread(screening, f"{screening.title}: what did we think?"), screening.channel_id]
        elif (fallback := (await self.bot.settings.get(guild_id)).screenings_channel_id) is not None:
            targets = [fallback]
        posted = ""
        if targets:
            result = await self._post_or_edit(guild_id, targets, verdict.message_id, verdict.channel_id, embed)
            if isinstance(result, str):
                posted = f", but {result} (it is kept for the newsletter all the same)"
            else:
                where, message_id = result
                await repo.set_verdict_message(
                    self.bot.store, guild_id, ref.key, interaction.user.id, where, message_id
                )
                posted = f" and posted it in <#{where}>"
        verb = "Saved your verdict" if new else "Updated your verdict"
        reply = f"{verb} on {ref.shown}: {dom.thumbs_text(thumbs)} ({thumbs}/5){posted}."
        if screening is None and any(s.film_key == ref.key and not s.is_cancelled for s in screenings):
            reply += (
                f"\nNote: the club's screening of {ref.shown} hasn't finished yet, so this verdict is kept for the "
                "newsletter but does not set your rating. Send `/verdict` again once it has finished to set it."
            )
        elif screening is None:
            reply += (
                f"\nNote: the club hasn't screened {ref.shown} here, so this verdict is kept for a future newsletter "
                "but does not count as a rating yet."
            )
        else:
            reply += " Your rating is set to match."
        await interaction.followup.send(reply, ephemeral=True, allowed_mentions=NONE)

    @verdict.autocomplete("film")
    async def _verdict_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        films = await screenings_repo.screened_films(self.bot.store, interaction.guild_id)
        choices = _choices(films, current)
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
        screenings = await self._all_screenings(guild_id)
        if film is None:
            finished = [s for s in screenings if s.is_finished]
            if not finished:
                raise UserError(
                    "No screening has finished here yet, so there is no installment to write about. "
                    "Name a film with `film:` once it has a screening."
                )
            screening = max(finished, key=lambda s: s.starts_at)
            ref = FilmRef(screening.film_key, screening.title, screening.year)
        else:
            ref = await self._film(guild_id, film, screenings)
            mine = [s for s in screenings if s.film_key == ref.key and not s.is_cancelled]
            if not mine:
                raise UserError(
                    f"{ref.shown} has no screening here, so there is no installment to write about. "
                    "Schedule it first, or pick a film from the list."
                )
            done = [s for s in mine if s.is_finished]
            screening = max(done or mine, key=lambda s: s.starts_at)
        await self._refuse_second_newsletter(guild_id, screening.id, ref.shown)
        await interaction.response.defer(ephemeral=True, thinking=True)
        row = await self._compile(interaction, guild_id, ref, screening)
        await interaction.followup.send(**await self._draft_message(row), ephemeral=True)

    async def _compile(
        self, interaction: Interaction, guild_id: int, ref: FilmRef, screening: Screening
    ) -> NewsletterRow:
        db = self.bot.store
        names: dict[int, str] = {}
        guild = interaction.guild
        now = self.bot.now_ts()
        # Basil's Corner covers [since, until]; the next newsletter starts at until + 1. Things of this very
        # second wait for the next one, so nothing is lost or told twice.
        since = await repo.since_marker(db, guild_id)
        until = max(since, now - 1)

        previews = [
            dom.PreviewItem(p.user_id, await self._name(guild, p.user_id, names), p.text)
            for p in await repo.previews_for_film(db, guild_id, ref.key)
        ]
        verdicts = await self._verdict_items(db, guild, guild_id, ref.key, names)
        facts = await self._facts(guild_id, ref)
        awards = await self._award_items(db, guild_id, ref)
        basil = await self._basil_items(db, guild_id, since, until)
        next_time = await self._next_item(db, guild_id, ref)
        source = dom.Source(
            film_title=ref.title, film_year=ref.year, previews=previews, verdicts=verdicts, facts=facts,
            awards=awards, basil=basil, next_time=next_time,
        )
        letter = dom.compile_newsletter(source)
        return await repo.create_draft(
            db, guild_id=guild_id, film_key=ref.key, film_title=ref.title, film_year=ref.year,
            screening_id=screening.id, title=letter.title, intro=letter.intro,
            sections=dom.sections_to_json(letter.sections), covers_since=since, covers_until=until,
            created_by=interaction.user.id, now=now,
        )

    async def _verdict_items(
        self, db: Executor, guild: discord.Guild | None, guild_id: int, film_key: str, names: dict[int, str]
    ) -> list[dom.VerdictItem]:
        """Every member's current thumbs (their rating), with their verdict's take (or `/rate` review)."""
        ratings = await screenings_repo.ratings_for_film(db, guild_id, film_key)
        takes = {v.user_id: v for v in await repo.verdicts_for_film(db, guild_id, film_key)}
        items: list[dom.VerdictItem] = []
        for r in ratings:
            v = takes.pop(r.user_id, None)
            text = v.text if v is not None and v.text else r.review
            items.append(dom.VerdictItem(r.user_id, await self._name(guild, r.user_id, names), r.thumbs, text))
        for v in takes.values():  # verdicts given before the film was screened here
            items.append(dom.VerdictItem(v.user_id, await self._name(guild, v.user_id, names), v.thumbs, v.text))
        return items

    async def _facts(self, guild_id: int, ref: FilmRef) -> list[str]:
        rows = await trivia_repo.list_questions_bulk(self.bot.store, guild_id)
        own = [dom.QA(q.question, q.answers[0]) for q in rows]
        # Reading the packs and turning up to thousands of questions into sentences is CPU work a server's own
        # (possibly hostile) pack makes longer: it runs in the worker process, never on the event loop.
        return await self.bot.worker.run_isolated(compute_facts, own, ref.key, ref.title, f"{guild_id}:{ref.key}")

    async def _award_items(self, db: Executor, guild_id: int, ref: FilmRef) -> list[dom.AwardItem]:
        items = []
        for result in await awards_repo.closed_polls_for_film(db, guild_id, film_key=ref.key, film_title=ref.title):
            poll = await awards_repo.get(db, result.poll_id)
            void = poll.void_ballots if poll is not None else 0
            items.append(dom.AwardItem(
                category=result.category, nominees=result.nominees, winners=result.winners, is_tie=result.is_tie,
                ballots=result.ballots, counts=result.counts,
                certified=certification(result.poll_id, result.ballots, void), runoff=result.runoff_of is not None,
            ))
        return items

    async def _basil_items(self, db: Executor, guild_id: int, since: int, until: int) -> list[dom.BasilItem]:
        items = [
            dom.BasilItem(m.name, m.species, None, m.card_url, m.published_at)
            for m in await basil_repo.memorials_since(db, guild_id, since) if m.published_at <= until
        ]
        items += [
            dom.BasilItem(a.name, a.species, a.years, a.card_url, a.sent_at)
            for a in await basil_repo.anniversaries_since(db, guild_id, since) if a.sent_at <= until
        ]
        return items

    async def _next_item(self, db: Executor, guild_id: int, ref: FilmRef) -> dom.NextItem | None:
        """The next installment (first of the queue that is not this film) with its screening time."""
        now = self.bot.now_ts()
        upcoming = [
            s for s in await screenings_repo.list_upcoming(db, guild_id, limit=100)
            if s.starts_at > now or s.status == screenings_repo.SCHEDULED
        ]
        for inst in await installments_repo.queue(db, guild_id):
            if inst.film_key == ref.key:
                continue
            linked = next((s for s in upcoming if s.id == inst.screening_id), None)
            screening = linked or next((s for s in upcoming if s.film_key == inst.film_key), None)
            film = load_catalogue().get(inst.film_key)
            return dom.NextItem(
                inst.title, inst.year, screening.starts_at if screening else None, note=inst.note,
                premise=film.premise if film else None, director=film.director if film else None,
                runtime=inst.runtime or (film.runtime if film else None),
            )
        other = next((s for s in upcoming if s.film_key != ref.key), None)
        if other is not None:
            film = load_catalogue().get(other.film_key)
            return dom.NextItem(
                other.title, other.year, other.starts_at, premise=film.premise if film else None,
                director=film.director if film else None, runtime=other.runtime or None,
            )
        return None

    async def _refuse_second_newsletter(self, guild_id: int, screening_id: int | None, shown: str) -> None:
        """One newsletter per installment (screening): a second one is refused, pointing at the first."""
        if screening_id is None:
            return
        done = await repo.published_for_screening(self.bot.store, guild_id, screening_id)
        if done is not None:
            link = f" ({done.jump_url})" if done.jump_url else ""
            raise UserError(
                f"The newsletter for this screening of {shown} was already published as #{done.id} "
                f"{ts(done.published_at or 0, 'R')}{link}. Each installment gets one newsletter; read it with "
                f"`/newsletter show id:{done.id}`."
            )

    # ------------------------------------------------------------------ the draft preview
    def _letter(self, row: NewsletterRow) -> dom.Newsletter:
        return dom.Newsletter(row.title, row.intro, dom.sections_from_json(row.sections))

    async def _markdown(self, row: NewsletterRow, letter: dom.Newsletter | None = None) -> discord.File:
        settings = await self.bot.settings.get(row.guild_id)
        text = row.body_md if row.is_published and row.body_md else dom.render_markdown(
            letter or self._letter(row), settings.timezone
        )
        return discord.File(io.BytesIO(text.encode("utf-8")), filename=_filename(row))

    async def _draft_message(self, row: NewsletterRow) -> dict[str, Any]:
        letter = self._letter(row)
        messages = dom.split_messages(letter)
        sections = ", ".join(s.heading for s in letter.sections) or "none (nothing happened for this film yet)"
        count = len(messages)
        settings = await self.bot.settings.get(row.guild_id)
        where = (
            f"in <#{settings.announcements_channel_id}>" if settings.announcements_channel_id is not None
            else "in the announcements channel (none is set yet: `/filmclub setup announcements:` first)"
        )
        content = (
            f"**Draft #{row.id}** for {FilmRef(row.film_key, row.film_title, row.film_year).shown}, only you can "
            f"see this.\nSections: {sections}.\nPublishing posts {count} message{'s' if count != 1 else ''} {where}, "
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
            "files": [await self._markdown(row, letter)],
            "allowed_mentions": NONE,
        }

    async def own_draft(self, interaction: Interaction, newsletter_id: int) -> NewsletterRow:
        """The server's newsletter #id, refused unless it is still a draft nobody is publishing."""
        guild_id = require_guild(interaction)
        row = await repo.get(self.bot.store, newsletter_id, guild_id)
        if row is None:
            raise UserError(f"There is no newsletter #{newsletter_id} here.")
        if row.is_published:
            link = f": {row.jump_url}" if row.jump_url else ""
            raise UserError(
                f"Newsletter #{row.id} was already published {ts(row.published_at or 0, 'R')}{link}. "
                "It can't be changed or published again."
            )
        if not row.is_draft:
            raise UserError(f"Draft #{row.id} was discarded. Start a new one with `/newsletter draft`.")
        if row.is_publishing(self.bot.now_ts()):
            raise UserError(
                f"Draft #{row.id} is being published right now (by <@{row.publishing_by}>). "
                "Wait a moment: it can't be changed or published twice."
            )
        return row

    @staticmethod
    def refuse_partial(row: NewsletterRow) -> None:
        """The intro can't change once part of the newsletter is out (the posted part would not match)."""
        if row.message_ids:
            raise UserError(
                f"Part of draft #{row.id} is already posted in <#{row.channel_id}>, so the intro can't change now. "
                "Press Publish to post the rest, or Discard to remove what was posted."
            )

    async def edit_intro(self, interaction: Interaction, newsletter_id: int, intro: str) -> None:
        row = await self.own_draft(interaction, newsletter_id)
        self.refuse_partial(row)
        if not await repo.set_intro(self.bot.store, newsletter_id, intro, self.bot.now_ts()):
            raise UserError(f"Draft #{newsletter_id} is no longer a draft; the intro was not changed.")
        updated = await repo.get(self.bot.store, newsletter_id)
        assert updated is not None
        message = await self._draft_message(updated)
        files = message.pop("files")
        if interaction.message is not None:
            await interaction.response.edit_message(**message, attachments=files)
        else:
            await interaction.response.send_message(**message, files=files, ephemeral=True)

    async def discard(self, interaction: Interaction, newsletter_id: int) -> None:
        row = await self.own_draft(interaction, newsletter_id)
        if not await repo.discard(self.bot.store, newsletter_id, self.bot.now_ts()):
            raise UserError(f"Draft #{newsletter_id} is no longer a draft; nothing was discarded.")
        note = "Nothing was posted."
        if row.message_ids and row.channel_id is not None:
            await interaction.response.defer()
            removed = await self._delete_quietly(row.channel_id, row.message_ids)
            note = (
                f"Removed the {removed} message{'s' if removed != 1 else ''} an earlier Publish had posted."
                if removed else "The messages an earlier Publish had posted were already gone."
            )
            await interaction.edit_original_response(
                content=f"🗑️ Draft #{newsletter_id} discarded. {note}", embeds=[], attachments=[], view=None,
            )
            return
        await interaction.response.edit_message(
            content=f"🗑️ Draft #{newsletter_id} discarded. {note}", embeds=[], attachments=[], view=None,
        )

    # ------------------------------------------------------------------ publishing
    async def _announcements(self, channel_id: int) -> discord.abc.Messageable:
        """The announcements channel, checked before anything is posted (gone, hidden, missing permissions)."""
        try:
            channel = await self.bot.resolve_messageable(channel_id)
        except (discord.NotFound, discord.Forbidden):
            raise UserError(
                f"The announcements channel (<#{channel_id}>) is gone or I can't see it. A moderator can set one "
                "with `/filmclub setup announcements:`, then press Publish again. Nothing was posted; the draft is "
                "kept."
            ) from None
        if isinstance(channel, (discord.abc.GuildChannel, discord.Thread)):
            in_thread = isinstance(channel, discord.Thread)
            needed = ("view_channel", "send_messages_in_threads" if in_thread else "send_messages", "embed_links",
                      "attach_files")
            missing = missing_permissions(channel.permissions_for(channel.guild.me), needed)
            if missing:
                raise UserError(
                    f"I can't post the newsletter in <#{channel_id}>: I'm missing {', '.join(missing)} there. "
                    "A moderator can give my role those permissions, then press Publish again. Nothing was posted; "
                    "the draft is kept."
                )
        return channel

    async def _delete_quietly(self, channel_id: int, message_ids: Sequence[int]) -> int:
        """Delete messages of an abandoned attempt; those already gone (or out of reach) are skipped."""
        removed = 0
        partial = self.bot.get_partial_messageable(channel_id)
        for message_id in message_ids:
            try:
                await partial.get_partial_message(message_id).delete()
                removed += 1
            except discord.HTTPException:
                pass
        return removed

    async def _still_posted(self, channel: discord.abc.Messageable, message_ids: Sequence[int]) -> bool:
        """Whether the messages an earlier attempt posted are all still there (a resume continues them)."""
        for message_id in message_ids:
            try:
                await channel.fetch_message(message_id)
            except discord.NotFound:
                return False
            except discord.HTTPException:
                pass  # can't tell (no history permission): assume they are there
        return True

    async def publish(self, interaction: Interaction, newsletter_id: int) -> None:
        guild_id = require_guild(interaction)
        row = await self.own_draft(interaction, newsletter_id)
        shown = FilmRef(row.film_key, row.film_title, row.film_year).shown
        await self._refuse_second_newsletter(guild_id, row.screening_id, shown)
        letter = self._letter(row)
        since = await repo.since_marker(self.bot.store, guild_id)
        if letter.section(dom.BASIL) is not None and since > row.covers_since:
            raise UserError(
                f"Another newsletter was published after draft #{row.id} was made, so its Basil's Corner would "
                "repeat. Make a fresh draft with `/newsletter draft` (and Discard this one). Nothing was posted."
            )
        settings = await self.bot.settings.get(guild_id)
        if settings.announcements_channel_id is None:
            raise NotSetUp("announcements channel", "announcements")
        channel_id = settings.announcements_channel_id
        channel = await self._announcements(channel_id)
        # The one atomic step: only one click (or moderator) gets to post this draft.
        if not await repo.claim_publish(
            self.bot.store, row.id, channel_id=channel_id, published_by=interaction.user.id, now=self.bot.now_ts(),
            lease=PUBLISH_LEASE,
        ):
            await self.own_draft(interaction, newsletter_id)  # says why (published, discarded or publishing)
            raise UserError(f"Draft #{newsletter_id} could not be published; nothing was posted.")
        await interaction.response.defer()
        try:
            sent = await self._post_all(row, channel, channel_id, settings.timezone, interaction.user.id)
        except BaseException:
            try:
                await repo.release_publish(self.bot.store, row.id, self.bot.now_ts())
            except Exception:  # the store is closing (shutdown): the lease is cleared at the next start
                log.warning("could not release the publishing lease of newsletter %s", row.id)
            raise
        count = len(sent)
        url = f"https://discord.com/channels/{guild_id}/{channel_id}/{sent[0]}" if sent else ""
        await interaction.edit_original_response(
            content=(
                f"📰 Published newsletter #{row.id} in <#{channel_id}> ({count} "
                f"message{'s' if count != 1 else ''}): {url}\n"
                "The next newsletter's Basil's Corner starts from here."
            ),
            embeds=[], attachments=[], view=None,
        )

    async def _post_all(
        self, row: NewsletterRow, channel: discord.abc.Messageable, channel_id: int, tz: str, published_by: int
    ) -> list[int]:
        """Post every message still missing (a resume skips those an earlier attempt posted), then record it."""
        store = self.bot.store
        if row.message_ids and row.channel_id is not None and row.channel_id != channel_id:
            await self._delete_quietly(row.channel_id, row.message_ids)  # an attempt in a channel no longer used
        claimed = await repo.get(store, row.id)  # as of the claim: nothing can change it while the lease runs
        assert claimed is not None
        letter = self._letter(claimed)
        sent = list(claimed.message_ids)
        if sent and not await self._still_posted(channel, sent):
            await self._delete_quietly(channel_id, sent)  # part of it was deleted: start over, whole
            sent = []
            await repo.set_message_ids(store, row.id, sent)
        body = dom.render_markdown(letter, tz)
        messages = dom.split_messages(letter)
        try:
            for index, parts in enumerate(messages):
                if index < len(sent):
                    continue  # already posted by an attempt that stopped later
                kwargs: dict[str, Any] = {
                    "embeds": [to_embed(p) for p in parts], "allowed_mentions": NONE,
                    "nonce": f"nl{row.id}m{index}",
                }
                if index == len(messages) - 1:
                    kwargs["file"] = discord.File(io.BytesIO(body.encode("utf-8")), filename=_filename(row))
                message = await channel.send(**kwargs)
                sent.append(message.id)
                await repo.set_message_ids(store, row.id, sent)
        except discord.HTTPException as exc:
            log.warning("publishing newsletter %s stopped after %d of %d messages: %s", row.id, len(sent),
                        len(messages), exc)
            raise UserError(_stopped(exc, channel_id, len(sent), len(messages))) from exc
        if not await repo.finish_publish(
            store, row.id, body_md=body, published_by=published_by, now=self.bot.now_ts()
        ):
            raise UserError(f"Draft #{row.id} changed while it was being published. Check `/newsletter list`.")
        return sent

    # ------------------------------------------------------------------ /newsletter list, show
    @newsletter.command(name="list", description="Past newsletters")
    async def list_(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        rows = await repo.list_published(self.bot.store, guild_id, limit=-1)
        drafts = await repo.list_drafts(self.bot.store, guild_id) if await is_moderator(interaction) else []
        if not rows and not drafts:
            raise UserError("No newsletter has been published here yet. Moderators start one with `/newsletter draft`.")
        open_drafts = ""
        if drafts:
            listed = ", ".join(f"#{d.id} {FilmRef(d.film_key, d.film_title, d.film_year).shown}" for d in drafts)
            open_drafts = clip(f"Open drafts (moderators, `/newsletter show id` to review): {listed}", 1000)
        if not rows:
            await interaction.response.send_message(
                f"No newsletter has been published here yet.\n{open_drafts}", ephemeral=True, allowed_mentions=NONE
            )
            return
        lines = []
        for r in rows:
            film = FilmRef(r.film_key, r.film_title, r.film_year).shown
            link = f" · [read]({r.jump_url})" if r.jump_url else ""
            lines.append(f"**#{r.id}** {film}: published {ts(r.published_at or 0, 'D')}{link}")
        chunks = [lines[i : i + LIST_PAGE] for i in range(0, len(lines), LIST_PAGE)]
        pages = []
        for number, chunk in enumerate(chunks, start=1):
            embed = discord.Embed(
                title="📰 Past newsletters", description=clip("\n".join(chunk), 4096), colour=CLUB_COLOUR
            )
            more = f" · page {number} of {len(chunks)}" if len(chunks) > 1 else ""
            embed.set_footer(text=f"{len(rows)} published{more} · read one with /newsletter show id")
            pages.append(embed)
        kwargs: dict[str, Any] = {"view": Paginator(pages, interaction.user.id)} if len(pages) > 1 else {}
        await interaction.response.send_message(
            open_drafts or None, embed=pages[0], ephemeral=True, allowed_mentions=NONE, **kwargs
        )

    @newsletter.command(name="show", description="Read a past newsletter")
    @app_commands.describe(id="The newsletter's number (see /newsletter list)")
    async def show(self, interaction: Interaction, id: app_commands.Range[int, 1]) -> None:
        guild_id = require_guild(interaction)
        row = await repo.get(self.bot.store, id, guild_id)
        if row is None or (not row.is_published and not await is_moderator(interaction)):
            raise UserError(f"There is no published newsletter #{id} here. `/newsletter list` shows them.")
        if row.is_draft:
            await interaction.response.send_message(**await self._draft_message(row), ephemeral=True)
            return
        if not row.is_published:
            raise UserError(f"Newsletter #{id} was a draft that got discarded; there is nothing to show.")
        pages = [to_embed(p) for message in dom.split_messages(self._letter(row)) for p in message]
        for number, page in enumerate(pages, start=1):
            if len(pages) > 1:
                page.set_footer(text=f"Part {number} of {len(pages)}")
        published = f"Published {ts_full(row.published_at or 0)}" + (f": {row.jump_url}" if row.jump_url else "")
        kwargs: dict[str, Any] = {"view": Paginator(pages, interaction.user.id)} if len(pages) > 1 else {}
        await interaction.response.send_message(
            published, embed=pages[0], file=await self._markdown(row), ephemeral=True, allowed_mentions=NONE,
            **kwargs,
        )

    @draft.autocomplete("film")
    async def _draft_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return _choices(await screenings_repo.screened_films(self.bot.store, interaction.guild_id), current)


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


def _filename(row: NewsletterRow) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", row.film_key.removeprefix("custom:").lower()).strip("-")[:60] or "film"
    return f"newsletter-{row.id}-{slug}.md"


def _stopped(exc: discord.HTTPException, channel_id: int, done: int, total: int) -> str:
    """Why posting stopped, and what state it left (for the moderator who pressed Publish)."""
    if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_CHANNEL:
        why = (
            f"the announcements channel (<#{channel_id}>) was deleted. A moderator can set a new one with "
            "`/filmclub setup announcements:`, then press Publish again: the newsletter is posted whole there"
        )
    elif isinstance(exc, discord.Forbidden):
        why = (
            f"Discord refused: I'm missing a permission in <#{channel_id}> ({exc.text or 'Missing Permissions'}). "
            "A moderator can give my role View Channel, Send Messages, Embed Links and Attach Files there, then "
            "press Publish again"
        )
    else:
        why = f"Discord refused message {done + 1} ({exc.status} {exc.text or ''}). Press Publish again to retry"
    state = (
        f"{done} of {total} messages are posted; Publish posts the rest (Discard removes them)."
        if done else "Nothing was posted."
    )
    return f"Publishing stopped: {why}. {state} The draft is kept."


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(NewsletterCog(bot))
