"""The installment newsletter's work: previews and verdicts, compiling drafts, publishing.

- A preview or verdict is stored first, then posted in the screening's thread (made on its announcement by
  ``bot.screenings`` when there is none yet; its channel as a fallback). A member's earlier post is edited in
  place. A post Discord refuses does not lose the text: it is kept, and the caller is told why.
- A verdict also sets the member's rating (``db.screenings.set_rating``, the same rating as `/rate`) in the
  same unit of work, when the club has finished a screening of the film.
- Compiling reads everything the newsletter covers; the facts (the shipped trivia packs plus the server's own
  questions) are read and chosen in the worker process (:func:`compute_facts`), never on the event loop.
- Publishing checks the announcements channel first (gone, hidden, missing permissions: a clear error, nothing
  changes). One conditional UPDATE takes a lease on the draft (a second click, Edit intro or Discard is refused
  while it runs), then the messages go out, each with its own nonce, the Markdown file attached to the last,
  nobody pinged, and the draft becomes published only once all are out. If Discord refuses midway the lease is
  given back and the messages already posted are remembered: Publish resumes (the same channel) or starts over
  (another channel), Discard deletes them. A lease left by a crash is cleared at start-up (:meth:`load`).
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.domain import newsletter as dom
from bot.domain.awards import certification
from bot.domain.films import is_choice_for, load_catalogue, normalize_title, parse_title_year
from bot.domain.trivia import load_shipped_packs
from bot.errors import NotSetUp, UserError
from bot.render import clip, escape, missing_permissions, ts
from bot.scheduler import PostObsolete
from cogs.newsletter.views import FilmRef, draft_message, filename, preview_embed, to_embed, verdict_embed
from db import awards as awards_repo
from db import basil as basil_repo
from db import installments as installments_repo
from db import newsletter as repo
from db import screenings as screenings_repo
from db import trivia as trivia_repo
from db.newsletter import NewsletterRow
from db.screenings import Screening
from db.store import Executor

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
PUBLISH_LEASE = 15 * 60  # seconds a Publish may take before another may take over (an interaction's lifetime)
UNKNOWN_CHANNEL = 10003
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


@dataclass(frozen=True)
class Saved:
    """A stored preview or verdict: whether it is new, and the channel it was posted in (or why it was not;
    None when there was nowhere to post it)."""

    new: bool
    posted: int | str | None


@dataclass(frozen=True)
class VerdictTarget:
    ref: FilmRef
    screening: Screening | None  # the film's last finished screening here (the rating goes with it)
    scheduled_here: bool  # the club has a screening of the film that is not cancelled


@dataclass(frozen=True)
class Claim:
    """A draft this Publish holds the lease on, and the checked channel it goes to."""

    row: NewsletterRow
    channel: discord.abc.Messageable
    channel_id: int
    timezone: str


class NewsletterService:
    """Everything the newsletter does besides reading commands and replying."""

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    async def load(self) -> None:
        # Nothing of ours publishes before the bot is up; another cluster's servers' leases are theirs.
        cleared = await repo.clear_leases(self.bot.store, shards=self.bot.shard_range)
        if cleared:
            log.info("cleared %d newsletter publishing lease(s) left by the last run", cleared)

    async def close(self) -> None:
        pass  # nothing held between interactions: drafts and leases live in the database

    # ------------------------------------------------------------------ films
    async def screenings(self, guild_id: int) -> list[Screening]:
        return await screenings_repo.list_screenings(self.bot.store, guild_id, newest_first=True, limit=1000)

    async def film(self, guild_id: int, text: str, screenings: Sequence[Screening] | None = None) -> FilmRef:
        """The film ``text`` names: a key or title of a screening here first, else the catalogue."""
        if screenings is None:
            screenings = await self.screenings(guild_id)
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

    async def upcoming_films(self, guild_id: int) -> list[tuple[str, str, int | None]]:
        """(key, title, year) of the films with a screening still ahead (the ones open for previews)."""
        upcoming = await screenings_repo.list_upcoming(self.bot.store, guild_id, limit=100)
        now = self.bot.now_ts()
        return [(s.film_key, s.title, s.year) for s in upcoming
                if s.status == screenings_repo.SCHEDULED and s.starts_at > now]

    async def screened_films(self, guild_id: int) -> list[tuple[str, str, int | None]]:
        return await screenings_repo.screened_films(self.bot.store, guild_id)

    # ------------------------------------------------------------------ posting for a member
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
        if s.message_id is None:  # no announcement to open a thread on (a crash while scheduling)
            return s.channel_id
        try:
            return await self.bot.screenings.ensure_thread(s, name)
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

    # ------------------------------------------------------------------ previews
    def open_screening(self, ref: FilmRef, screenings: Sequence[Screening]) -> Screening:
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

    async def preview_target(self, guild_id: int, text: str) -> tuple[FilmRef, Screening]:
        """The film ``text`` names and its screening open for previews (or a clear refusal)."""
        screenings = await self.screenings(guild_id)
        ref = await self.film(guild_id, text, screenings)
        return ref, self.open_screening(ref, screenings)

    async def reopen_preview_target(self, guild_id: int, screening_id: int) -> tuple[FilmRef, Screening]:
        """When the preview modal comes back: the screening it was opened for, if previews are still open."""
        screening = await screenings_repo.get_screening(self.bot.store, screening_id, guild_id)
        screenings = await self.screenings(guild_id)
        if screening is None:
            raise UserError("That screening is gone. Nothing was saved.")
        ref = FilmRef(screening.film_key, screening.title, screening.year)
        return ref, self.open_screening(ref, screenings)  # refuses once the screening started

    async def current_preview(self, guild_id: int, film_key: str, user_id: int) -> str | None:
        current = await repo.get_preview(self.bot.store, guild_id, film_key, user_id)
        return current.text if current else None

    async def save_preview(
        self, guild_id: int, user_id: int, name: str, film_key: str, ref: FilmRef, target: Screening, text: str
    ) -> Saved:
        """Store the member's preview, then post it (or edit their earlier post)."""
        async with self.bot.store.transaction() as tx:
            preview, new = await repo.save_preview(
                tx, guild_id=guild_id, film_key=film_key, user_id=user_id, text=text,
                screening_id=target.id, now=self.bot.now_ts(),
            )
        thread_id = await self._thread(target, f"{target.title}: watch party")
        posted = await self._post_or_edit(
            guild_id, [thread_id, target.channel_id], preview.message_id, preview.channel_id,
            preview_embed(name, ref.label, text),
        )
        if isinstance(posted, str):
            return Saved(new, posted)
        where, message_id = posted
        await repo.set_preview_message(self.bot.store, guild_id, film_key, user_id, where, message_id)
        return Saved(new, where)

    # ------------------------------------------------------------------ verdicts
    async def verdict_defaults(self, guild_id: int, film_key: str, user_id: int) -> tuple[int | None, str | None]:
        """What the verdict modal starts with: the member's thumbs (their rating first) and take."""
        current = await repo.get_verdict(self.bot.store, guild_id, film_key, user_id)
        rating = await screenings_repo.get_rating(self.bot.store, guild_id, film_key, user_id)
        thumbs = rating.thumbs if rating else (current.thumbs if current else None)
        return thumbs, current.text if current else None

    async def verdict_target(self, guild_id: int, text: str) -> VerdictTarget:
        screenings = await self.screenings(guild_id)
        ref = await self.film(guild_id, text, screenings)
        finished = [s for s in screenings if s.film_key == ref.key and s.is_finished]
        return VerdictTarget(
            ref, max(finished, key=lambda s: s.starts_at) if finished else None,
            any(s.film_key == ref.key and not s.is_cancelled for s in screenings),
        )

    async def save_verdict(
        self, guild_id: int, user_id: int, name: str, target: VerdictTarget, thumbs: int, text: str | None
    ) -> Saved:
        """Store the verdict (and the rating, when the club screened the film), then post it."""
        ref, screening = target.ref, target.screening
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            verdict, new = await repo.save_verdict(
                tx, guild_id=guild_id, film_key=ref.key, user_id=user_id, thumbs=thumbs, text=text,
                title=ref.title, year=ref.year, screening_id=screening.id if screening else None, now=now,
            )
            if screening is not None:
                await screenings_repo.set_rating(
                    tx, guild_id, ref.key, user_id, thumbs, None, now,
                    title=ref.title, year=ref.year, screening_id=screening.id,
                )
        embed = verdict_embed(name, ref.label, thumbs, text)
        targets: list[int] = []
        if screening is not None:
            targets = [await self._thread(screening, f"{screening.title}: what did we think?"), screening.channel_id]
        elif (fallback := (await self.bot.settings.get(guild_id)).screenings_channel_id) is not None:
            targets = [fallback]
        if not targets:
            return Saved(new, None)
        result = await self._post_or_edit(guild_id, targets, verdict.message_id, verdict.channel_id, embed)
        if isinstance(result, str):
            return Saved(new, result)
        where, message_id = result
        await repo.set_verdict_message(self.bot.store, guild_id, ref.key, user_id, where, message_id)
        return Saved(new, where)

    # ------------------------------------------------------------------ drafts
    async def draft_target(self, guild_id: int, film: str | None) -> tuple[FilmRef, Screening]:
        """The installment a draft is for (default: the last finished screening's film); refused when its
        newsletter is already out."""
        screenings = await self.screenings(guild_id)
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
            ref = await self.film(guild_id, film, screenings)
            mine = [s for s in screenings if s.film_key == ref.key and not s.is_cancelled]
            if not mine:
                raise UserError(
                    f"{ref.shown} has no screening here, so there is no installment to write about. "
                    "Schedule it first, or pick a film from the list."
                )
            done = [s for s in mine if s.is_finished]
            screening = max(done or mine, key=lambda s: s.starts_at)
        await self.refuse_second_newsletter(guild_id, screening.id, ref.shown)
        return ref, screening

    async def compile(
        self, guild: discord.Guild | None, guild_id: int, ref: FilmRef, screening: Screening, created_by: int
    ) -> NewsletterRow:
        """Gather what the newsletter covers and store it as a draft."""
        db = self.bot.store
        names: dict[int, str] = {}
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
            created_by=created_by, now=now,
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

    async def refuse_second_newsletter(self, guild_id: int, screening_id: int | None, shown: str) -> None:
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

    # ------------------------------------------------------------------ reading newsletters
    @staticmethod
    def letter(row: NewsletterRow) -> dom.Newsletter:
        return dom.Newsletter(row.title, row.intro, dom.sections_from_json(row.sections))

    async def markdown(self, row: NewsletterRow, letter: dom.Newsletter | None = None) -> discord.File:
        """The whole newsletter as a Markdown file (as published, or as it would be now)."""
        settings = await self.bot.settings.get(row.guild_id)
        text = row.body_md if row.is_published and row.body_md else dom.render_markdown(
            letter or self.letter(row), settings.timezone
        )
        return discord.File(io.BytesIO(text.encode("utf-8")), filename=filename(row))

    async def draft_message(self, row: NewsletterRow) -> dict[str, Any]:
        """The private preview of a draft with its buttons, as keyword arguments for a send or an edit."""
        letter = self.letter(row)
        settings = await self.bot.settings.get(row.guild_id)
        return draft_message(row, letter, settings.announcements_channel_id, await self.markdown(row, letter))

    async def get(self, guild_id: int, newsletter_id: int) -> NewsletterRow | None:
        return await repo.get(self.bot.store, newsletter_id, guild_id)

    async def published(self, guild_id: int) -> list[NewsletterRow]:
        return await repo.list_published(self.bot.store, guild_id, limit=-1)

    async def drafts(self, guild_id: int) -> list[NewsletterRow]:
        return await repo.list_drafts(self.bot.store, guild_id)

    # ------------------------------------------------------------------ changing a draft
    async def own_draft(self, guild_id: int, newsletter_id: int) -> NewsletterRow:
        """The server's newsletter #id, refused unless it is still a draft nobody is publishing."""
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

    async def intro_draft(self, guild_id: int, newsletter_id: int) -> NewsletterRow:
        """The draft whose intro a moderator is about to edit."""
        row = await self.own_draft(guild_id, newsletter_id)
        self.refuse_partial(row)
        return row

    async def edit_intro(self, guild_id: int, newsletter_id: int, intro: str) -> dict[str, Any]:
        """Change the intro; the draft's private preview as it is now."""
        await self.intro_draft(guild_id, newsletter_id)
        if not await repo.set_intro(self.bot.store, newsletter_id, intro, self.bot.now_ts()):
            raise UserError(f"Draft #{newsletter_id} is no longer a draft; the intro was not changed.")
        updated = await repo.get(self.bot.store, newsletter_id)
        assert updated is not None
        return await self.draft_message(updated)

    async def discard(self, guild_id: int, newsletter_id: int) -> NewsletterRow:
        """Discard the draft; the row as it was (its ``message_ids`` are what an earlier Publish posted)."""
        row = await self.own_draft(guild_id, newsletter_id)
        if not await repo.discard(self.bot.store, newsletter_id, self.bot.now_ts()):
            raise UserError(f"Draft #{newsletter_id} is no longer a draft; nothing was discarded.")
        return row

    async def delete_posted(self, row: NewsletterRow) -> int:
        """Delete what an abandoned Publish of ``row`` posted; how many messages were still there."""
        if not row.message_ids or row.channel_id is None:
            return 0
        return await self._delete_quietly(row.channel_id, row.message_ids)

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

    async def claim(self, guild_id: int, newsletter_id: int, user_id: int) -> Claim:
        """Every check before anything is posted, then the lease: only one click (or moderator) gets to post."""
        row = await self.own_draft(guild_id, newsletter_id)
        shown = FilmRef(row.film_key, row.film_title, row.film_year).shown
        await self.refuse_second_newsletter(guild_id, row.screening_id, shown)
        letter = self.letter(row)
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
            self.bot.store, row.id, channel_id=channel_id, published_by=user_id, now=self.bot.now_ts(),
            lease=PUBLISH_LEASE,
        ):
            await self.own_draft(guild_id, newsletter_id)  # says why (published, discarded or publishing)
            raise UserError(f"Draft #{newsletter_id} could not be published; nothing was posted.")
        return Claim(row, channel, channel_id, settings.timezone)

    async def publish(self, claim: Claim, published_by: int) -> list[int]:
        """Post the claimed draft; the ids of its messages. On any failure the lease is given back."""
        try:
            return await self._post_all(claim.row, claim.channel, claim.channel_id, claim.timezone, published_by)
        except BaseException:
            try:
                await repo.release_publish(self.bot.store, claim.row.id, self.bot.now_ts())
            except Exception:  # the store is closing (shutdown): the lease is cleared at the next start
                log.warning("could not release the publishing lease of newsletter %s", claim.row.id)
            raise

    async def _post_all(
        self, row: NewsletterRow, channel: discord.abc.Messageable, channel_id: int, tz: str, published_by: int
    ) -> list[int]:
        """Post every message still missing (a resume skips those an earlier attempt posted), then record it."""
        store = self.bot.store
        if row.message_ids and row.channel_id is not None and row.channel_id != channel_id:
            await self._delete_quietly(row.channel_id, row.message_ids)  # an attempt in a channel no longer used
        claimed = await repo.get(store, row.id)  # as of the claim: nothing can change it while the lease runs
        assert claimed is not None
        letter = self.letter(claimed)
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
                    kwargs["file"] = discord.File(io.BytesIO(body.encode("utf-8")), filename=filename(row))
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
