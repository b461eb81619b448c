"""Snack-award polls: `/award open|close|runoff|status|list|history|cancel`, votes by reaction.

Votes come from raw reaction events, so they work for messages that are not cached and
after restarts. The rules (latest reaction counts, removing your current reaction withdraws, the
bot's own clean-up never withdraws) are in ``bot.domain.awards``. Open polls and their ballots are
kept in memory (loaded from the database at startup): an event for another message costs a dict
lookup, and an event for a poll applies the rule synchronously, so events are applied in gateway
order whatever the database is doing.

Every ballot change is stored before its handler goes on (nothing is acknowledged, no reaction is
tidied, before the row is committed). Writes are group-committed by :class:`BallotWriter`: changes
that arrive while a commit is running go together in the next one (one ``executemany`` upsert in one
transaction). Under a burst that turns thousands of round trips to SQLite's thread into a few dozen;
with one vote at a time it is exactly one upsert per vote.

Closing (at ``closes`` through the scheduler, kind ``award.close``, or early by a moderator):
stop routing reactions, read the message's actual reactions (paginated), reconcile them with the
stored ballots, then store the tally and mark the poll closed in one transaction. Only the
caller whose conditional update flips the poll from open to closed gets to post; the results post
carries a per-poll nonce, and once its id is stored any further close posts nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain import awards as aw
from bot.domain.timeparse import parse_when
from bot.errors import NotSetUp, UserError
from bot.render import missing_permissions, ts_full
from bot.scheduler import PostObsolete
from bot.ui import Paginator
from cogs import awards_views as views
from db import awards as repo
from db.awards import CANCELLED, CLOSED, Poll
from db.scheduled_posts import ScheduledPost
from db.store import Store

log = logging.getLogger(__name__)

CLOSE_KIND = "award.close"
# A close missed while the bot was offline still happens when it comes back, however late.
CLOSE_GRACE = timedelta(days=400)
LIVE_EDIT_DELAY = 3.0  # seconds: live-count edits within this window become one edit
RECENT = 30 * 86400
POLL_NEEDS = (
    "view_channel", "send_messages", "embed_links", "attach_files", "add_reactions", "read_message_history",
)  # fmt: skip


def results_nonce(poll_id: int) -> str:
    return f"fcaward{poll_id}"


class BallotWriter:
    """Group commit of ballot states: ``await save(...)`` returns once the state is committed.

    One writer task drains the queue: everything queued while a commit runs goes into the next
    commit (latest state per member). A failed commit fails the waiting handlers (the reaction
    is still on the message, so the reconciliation at close counts it anyway).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: dict[tuple[int, int], tuple[aw.Ballot, int]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    async def save(self, poll_id: int, user_id: int, ballot: aw.Ballot, now: int) -> None:
        self._pending[(poll_id, user_id)] = (ballot, now)
        await self._waiter()

    async def flush(self) -> None:
        """Wait until everything queued so far (including a commit under way) is committed."""
        await self._waiter()

    def _waiter(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="filmclub-ballot-writer")
        self._wake.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending or self._waiters:
                batch, self._pending = self._pending, {}
                waiters, self._waiters = self._waiters, []
                try:
                    if batch:
                        async with self.store.transaction() as tx:
                            await repo.save_ballots(tx, batch)
                except BaseException as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("stopped"))
                    if not isinstance(exc, Exception):
                        raise
                    log.error("could not store %d ballots: %s", len(batch), exc)
                    continue
                self.commits += 1 if batch else 0
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


class Awards(commands.Cog):
    award = app_commands.Group(name="award", description="Snack-award polls", guild_only=True)

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.open_polls: dict[int, Poll] = {}  # poll message id -> open poll
        self.books: dict[int, dict[int, aw.Ballot]] = {}  # open poll id -> member -> ballot
        self.writer = BallotWriter(bot.store)
        self._close_locks: dict[int, asyncio.Lock] = {}
        self._live_pending: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        bot.scheduler.register(CLOSE_KIND, self._close_due, grace=CLOSE_GRACE)

    async def cog_load(self) -> None:
        for poll in await repo.list_open(self.bot.store):
            if poll.message_id is not None:
                self.books[poll.id] = await repo.ballots(self.bot.store, poll.id)
                self.open_polls[poll.message_id] = poll
        self._spawn(self._post_missing_results())

    async def _post_missing_results(self) -> None:
        """After a crash between closing a poll and posting its results, post them (once)."""
        await self.bot.wait_until_ready()
        for poll in await repo.list_unposted(self.bot.store, closed_since=self.bot.now_ts() - 86400):
            try:
                await self.close_poll(poll.id)
            except discord.HTTPException as exc:
                log.warning("could not post the results of poll %s after a restart: %s", poll.id, exc)

    async def cog_unload(self) -> None:
        """On shutdown: store every ballot still queued, stop background work."""
        self.open_polls.clear()
        await self.writer.close()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ permissions

    def _poll_channel(self, poll: Poll) -> discord.abc.GuildChannel | None:
        channel = self.bot.get_channel(poll.channel_id)
        return channel if isinstance(channel, discord.abc.GuildChannel) else None

    def _can_tidy(self, channel: discord.abc.GuildChannel | None) -> bool:
        """Whether the bot may remove other members' reactions (Manage Messages) there."""
        if channel is None:
            return False
        return channel.permissions_for(channel.guild.me).manage_messages

    # ------------------------------------------------------------------ votes

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        poll = self.open_polls.get(payload.message_id)
        if poll is None:
            return
        me = self.bot.user
        if me is not None and payload.user_id == me.id:
            return
        if payload.member is not None:
            is_bot = payload.member.bot
        else:
            user = self.bot.get_user(payload.user_id)
            is_bot = bool(user and user.bot)
        index = aw.keycap_index(payload.emoji.name or "", len(poll.nominees)) if payload.emoji.id is None else None
        if is_bot or index is None:
            # Not a ballot: ignored, and tidied away when we may.
            channel = self._poll_channel(poll)
            if self._can_tidy(channel):
                await self._remove_reaction(poll, payload.emoji, payload.user_id)
            return
        book = self.books.setdefault(poll.id, {})
        outcome = aw.apply_add(book.get(payload.user_id), index)
        book[payload.user_id] = outcome.ballot
        await self.writer.save(poll.id, payload.user_id, outcome.ballot, self.bot.now_ts())
        if outcome.stale and self._can_tidy(self._poll_channel(poll)):
            for other in outcome.stale:
                # Its REMOVE event only clears the seen bit: `other` is no longer the vote.
                await self._remove_reaction(poll, aw.keycap(other), payload.user_id)
        if poll.show_counts:
            self._schedule_live_edit(poll)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        poll = self.open_polls.get(payload.message_id)
        if poll is None or payload.emoji.id is not None:
            return
        me = self.bot.user
        if me is not None and payload.user_id == me.id:
            return
        index = aw.keycap_index(payload.emoji.name or "", len(poll.nominees))
        if index is None:
            return
        book = self.books.setdefault(poll.id, {})
        old = book.get(payload.user_id)
        new = aw.apply_remove(old, index)
        if new is None or new == old:
            return
        book[payload.user_id] = new
        await self.writer.save(poll.id, payload.user_id, new, self.bot.now_ts())
        if poll.show_counts and new.choice != (old.choice if old else None):
            self._schedule_live_edit(poll)

    async def _remove_reaction(
        self, poll: Poll, emoji: discord.PartialEmoji | str, user_id: int
    ) -> None:
        assert poll.message_id is not None
        message = self.bot.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id).get_partial_message(
            poll.message_id
        )
        try:
            await message.remove_reaction(emoji, discord.Object(user_id))
        except (discord.Forbidden, discord.NotFound) as exc:
            log.info("could not remove a reaction on poll %s: %s", poll.id, exc)

    def _schedule_live_edit(self, poll: Poll) -> None:
        if poll.id in self._live_pending:
            return
        self._live_pending.add(poll.id)
        self._spawn(self._live_edit(poll))

    async def _live_edit(self, poll: Poll) -> None:
        try:
            await self.bot.clock.sleep(LIVE_EDIT_DELAY)
        finally:
            self._live_pending.discard(poll.id)
        if poll.message_id is None or self.open_polls.get(poll.message_id) is None:
            return  # closed or cancelled meanwhile
        book = self.books.get(poll.id, {})
        counts = aw.tally((b.choice for b in book.values()), len(poll.nominees)).counts
        embed = views.poll_embed(poll, can_tidy=self._can_tidy(self._poll_channel(poll)), counts=counts)
        message = self.bot.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id).get_partial_message(
            poll.message_id
        )
        try:
            await message.edit(embed=embed)
        except discord.HTTPException as exc:
            log.warning("could not update live counts of poll %s: %s", poll.id, exc)

    # ------------------------------------------------------------------ opening

    def _resolve_film(self, text: str | None) -> tuple[str | None, str | None]:
        title = aw.clean_film(text)
        if title is None:
            return None, None
        try:
            from bot.domain.films import load_catalogue
        except ImportError:  # pragma: no cover - the catalogue ships with the bot
            return title, None
        film = load_catalogue().find(title)
        if film is None:
            return title, None
        return film.title, film.key

    async def _open(
        self,
        interaction: discord.Interaction[FilmClubBot],
        *,
        category: str,
        nominees: tuple[str, ...],
        closes: str | None,
        film: str | None,
        channel: discord.TextChannel | None,
        show_counts: bool,
        runoff_of: int | None = None,
        default_closes_at: datetime | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.settings.get(guild_id)
        category = aw.clean_category(category)
        film_title, film_key = self._resolve_film(film)
        now = self.bot.clock.now()
        if closes is not None:
            closes_at = parse_when(closes, now, settings.timezone, max_ahead=aw.MAX_AHEAD)
        else:
            assert default_closes_at is not None
            closes_at = default_closes_at
        channel_id = channel.id if channel is not None else settings.polls_channel_id
        if channel_id is None:
            raise NotSetUp("polls channel", "polls")
        target = guild.get_channel(channel_id)
        if not isinstance(target, discord.TextChannel):
            raise UserError(f"I can't see <#{channel_id}> as a text channel. Pick a text channel I can read.")
        lacking = missing_permissions(target.permissions_for(guild.me), POLL_NEEDS)
        if lacking:
            raise UserError(
                f"I can't run a poll in {target.mention}: I'm missing {', '.join(lacking)} there. "
                "Grant those to my role, or pick another channel."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        now_ts = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            poll = await repo.create_poll(
                tx, guild_id=guild_id, channel_id=target.id, category=category, nominees=nominees,
                film_title=film_title, film_key=film_key, show_counts=show_counts, opened_by=interaction.user.id,
                now=now_ts, closes_at=int(closes_at.timestamp()), runoff_of=runoff_of,
            )
            await self.bot.scheduler.schedule(
                guild_id=guild_id, kind=CLOSE_KIND, key=poll.close_key, due=closes_at, channel_id=target.id,
                payload={"poll_id": poll.id, "label": category}, db=tx,
            )
        can_tidy = self._can_tidy(target)
        counts = tuple(0 for _ in nominees) if show_counts else None
        try:
            message = await target.send(
                embed=views.poll_embed(poll, can_tidy=can_tidy, counts=counts),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except BaseException:
            async with self.bot.store.transaction() as tx:
                await self.bot.scheduler.cancel_prefix(guild_id, poll.close_key_prefix, db=tx)
                await repo.delete(tx, poll.id)
            raise
        await repo.set_message(self.bot.store, poll.id, message.id)
        poll = await repo.get(self.bot.store, poll.id) or poll
        self.books[poll.id] = {}
        self.open_polls[message.id] = poll
        what = "Runoff poll" if runoff_of else "Poll"
        await interaction.followup.send(
            f"{what} #{poll.id} is open in {target.mention}: {message.jump_url}\n"
            f"It closes {ts_full(poll.closes_at)}. Close it early with `/award close id:{poll.id}`.",
            ephemeral=True,
        )
        for i in range(len(nominees)):
            # One at a time: discord.py waits out the reaction rate limit (429) between them.
            await message.add_reaction(aw.keycap(i))

    @award.command(name="open", description="Moderators: open a snack-award poll voted with number reactions")
    @app_commands.describe(
        category="The award, e.g. Best Snacktor in a Supporting Role",
        nominees="2 to 10 nominees separated by ; (e.g. Cheese pizza; Coke; Churros)",
        closes="When voting ends, e.g. 'fri 8pm', 'in 2 days', '2026-12-04 20:00' (server time zone)",
        film="The film the award is about (optional)",
        channel="Where to post the poll (default: the polls channel)",
        show_counts="Show live counts while voting (default: sealed until closing)",
    )
    @moderator_only()
    async def open(
        self,
        interaction: discord.Interaction[FilmClubBot],
        category: app_commands.Range[str, 1, 200],
        nominees: str,
        closes: str,
        film: str | None = None,
        channel: discord.TextChannel | None = None,
        show_counts: bool = False,
    ) -> None:
        parsed = aw.parse_nominees(nominees)
        await self._open(
            interaction, category=category, nominees=parsed, closes=closes, film=film, channel=channel,
            show_counts=show_counts,
        )

    @open.autocomplete("film")
    async def film_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            from bot.domain.films import format_choice, load_catalogue
        except ImportError:  # pragma: no cover
            return []
        return [
            app_commands.Choice(name=format_choice(f), value=format_choice(f))
            for f in load_catalogue().search(current)
        ]

    # ------------------------------------------------------------------ closing

    def _lock(self, poll_id: int) -> asyncio.Lock:
        return self._close_locks.setdefault(poll_id, asyncio.Lock())

    async def _actual_reactions(self, poll: Poll) -> dict[int, int] | None:
        """Member -> mask of the number reactions on the poll message now; None if the message is gone."""
        assert poll.message_id is not None
        channel = await self.bot.resolve_messageable(poll.channel_id)
        try:
            message = await channel.fetch_message(poll.message_id)
        except discord.NotFound:
            return None
        me = self.bot.user
        actual: dict[int, int] = {}
        for reaction in message.reactions:
            if not isinstance(reaction.emoji, str):
                continue
            index = aw.keycap_index(reaction.emoji, len(poll.nominees))
            if index is None:
                continue
            async for user in reaction.users(limit=None):  # paginated, 100 at a time
                if user.bot or (me is not None and user.id == me.id):
                    continue
                actual[user.id] = actual.get(user.id, 0) | aw.bit(index)
        return actual

    async def close_poll(self, poll_id: int) -> discord.Message | None:
        """Close (if still open) and post the results (if not yet posted). None: nothing was posted."""
        async with self._lock(poll_id):
            poll = await repo.get(self.bot.store, poll_id)
            if poll is None or poll.status == CANCELLED:
                return None
            if poll.is_open:
                poll = await self._tally_and_close(poll)
                if poll is None:
                    return None
            if poll.status != CLOSED or poll.results_message_id is not None:
                return None
            return await self._post_results(poll)

    async def _tally_and_close(self, poll: Poll) -> Poll | None:
        if poll.message_id is None:
            # The poll post never went out (crash while opening): nothing to count.
            await repo.cancel(self.bot.store, poll.guild_id, poll.id, self.bot.now_ts())
            return None
        self.open_polls.pop(poll.message_id, None)  # from now on reactions are not ballots
        try:
            await self.writer.flush()
            actual = await self._actual_reactions(poll)
        except BaseException:
            self.open_polls[poll.message_id] = poll
            raise
        self.books.pop(poll.id, None)
        stored = await repo.ballots(self.bot.store, poll.id)
        if actual is None:
            log.warning("poll %s: its message is gone; counting the stored ballots as they are", poll.id)
            reconciled = aw.Reconciled(dict(stored))
        else:
            reconciled = aw.reconcile(stored, actual)
            if reconciled.counted_offline or reconciled.withdrawn_offline or reconciled.void:
                log.info(
                    "poll %s reconciled: %d counted late, %d withdrawn while away, %d void",
                    poll.id, reconciled.counted_offline, reconciled.withdrawn_offline, len(reconciled.void),
                )
        result = aw.tally((b.choice for b in reconciled.ballots.values()), len(poll.nominees))
        async with self.bot.store.transaction() as tx:
            await repo.close(
                tx, poll.id, now=self.bot.now_ts(), ballots=reconciled.ballots, result=result,
                void=len(reconciled.void),
            )
            await self.bot.scheduler.cancel_prefix(poll.guild_id, poll.close_key_prefix, db=tx)
        return await repo.get(self.bot.store, poll.id)

    async def _post_results(self, poll: Poll) -> discord.Message:
        channel = await self.bot.resolve_messageable(poll.channel_id)
        embed, chart = views.results_message(poll)
        message = await channel.send(
            embed=embed, file=chart, nonce=results_nonce(poll.id), allowed_mentions=discord.AllowedMentions.none(),
        )
        await repo.set_results_message(self.bot.store, poll.id, message.id)
        await self._show_ended(poll)
        return message

    async def _show_ended(self, poll: Poll) -> None:
        """Mark the poll post itself as closed or cancelled (best effort)."""
        if poll.message_id is None:
            return
        message = self.bot.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id).get_partial_message(
            poll.message_id
        )
        try:
            await message.edit(embed=views.ended_embed(poll))
        except discord.HTTPException as exc:
            log.info("could not mark poll %s as ended: %s", poll.id, exc)

    async def _close_due(self, post: ScheduledPost) -> int | None:
        poll_id = int(post.payload["poll_id"])
        message = await self.close_poll(poll_id)
        if message is None:
            raise PostObsolete("the poll was already closed or cancelled")
        return message.id

    async def _own_poll(self, interaction: discord.Interaction[FilmClubBot], poll_id: int) -> Poll:
        guild_id = require_guild(interaction)
        poll = await repo.get_in_guild(self.bot.store, guild_id, poll_id)
        if poll is None:
            raise UserError(f"There is no award poll #{poll_id} on this server. See `/award list`.")
        return poll

    @award.command(name="close", description="Moderators: close a poll now and post the results")
    @app_commands.describe(id="The poll's number (see /award list)")
    @moderator_only()
    async def close(self, interaction: discord.Interaction[FilmClubBot], id: app_commands.Range[int, 1]) -> None:
        poll = await self._own_poll(interaction, id)
        if poll.status == CANCELLED:
            raise UserError(f"Poll #{id} was cancelled; there is nothing to close.")
        if poll.status == CLOSED and poll.results_message_id is not None:
            raise UserError(f"Poll #{id} is already closed; its results are posted in <#{poll.channel_id}>.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        message = await self.close_poll(id)
        if message is None:
            await interaction.followup.send(f"Poll #{id} was already closed; nothing more was posted.", ephemeral=True)
            return
        await interaction.followup.send(f"Closed poll #{id}. Results: {message.jump_url}", ephemeral=True)

    # ------------------------------------------------------------------ runoff, cancel

    @award.command(name="runoff", description="Moderators: open a new poll among the tied nominees of a poll")
    @app_commands.describe(
        id="The tied poll's number",
        closes="When the runoff ends (default: as long as the first poll ran)",
        show_counts="Show live counts while voting",
    )
    @moderator_only()
    async def runoff(
        self,
        interaction: discord.Interaction[FilmClubBot],
        id: app_commands.Range[int, 1],
        closes: str | None = None,
        show_counts: bool = False,
    ) -> None:
        poll = await self._own_poll(interaction, id)
        result = poll.tally
        if poll.status != CLOSED or result is None:
            raise UserError(f"Poll #{id} is {poll.status}; a runoff needs a closed poll that ended in a tie.")
        nominees = aw.runoff_nominees(poll.nominees, result)
        existing = await repo.runoff_for(self.bot.store, poll.id)
        if existing is not None:
            raise UserError(f"Poll #{id} already has a runoff: poll #{existing.id}.")
        span = max(3600, min(poll.closes_at - poll.created_at, int(aw.MAX_AHEAD.total_seconds())))
        default_closes_at = self.bot.clock.now() + timedelta(seconds=span)
        category = poll.category if poll.category.endswith("(runoff)") else f"{poll.category} (runoff)"
        channel = interaction.guild.get_channel(poll.channel_id) if interaction.guild else None
        await self._open(
            interaction, category=category[: aw.MAX_CATEGORY_LEN], nominees=nominees, closes=closes,
            film=poll.film_title, channel=channel if isinstance(channel, discord.TextChannel) else None,
            show_counts=show_counts, runoff_of=poll.id, default_closes_at=default_closes_at,
        )

    @award.command(name="cancel", description="Moderators: cancel an open poll (no results)")
    @app_commands.describe(id="The poll's number")
    @moderator_only()
    async def cancel(self, interaction: discord.Interaction[FilmClubBot], id: app_commands.Range[int, 1]) -> None:
        poll = await self._own_poll(interaction, id)
        if not poll.is_open:
            raise UserError(f"Poll #{id} is already {poll.status}; only open polls can be cancelled.")
        async with self._lock(poll.id):
            async with self.bot.store.transaction() as tx:
                done = await repo.cancel(tx, poll.guild_id, poll.id, self.bot.now_ts())
                if done:
                    await self.bot.scheduler.cancel_prefix(poll.guild_id, poll.close_key_prefix, db=tx)
        if not done:
            raise UserError(f"Poll #{id} closed just now; it can't be cancelled any more.")
        if poll.message_id is not None:
            self.open_polls.pop(poll.message_id, None)
        self.books.pop(poll.id, None)
        cancelled = await repo.get(self.bot.store, poll.id) or poll
        await self._show_ended(cancelled)
        await interaction.response.send_message(f"Cancelled poll #{id}; no results will be posted.", ephemeral=True)

    # ------------------------------------------------------------------ reading

    @award.command(name="status", description="Moderators: how many ballots a poll has (tallies stay sealed)")
    @app_commands.describe(id="The poll's number")
    @moderator_only()
    async def status(self, interaction: discord.Interaction[FilmClubBot], id: app_commands.Range[int, 1]) -> None:
        poll = await self._own_poll(interaction, id)
        await self.writer.flush()
        ballots = await repo.count_ballots(self.bot.store, poll.id)
        counts: tuple[int, ...] | None = None
        if poll.status == CLOSED:
            counts = poll.counts
        elif poll.is_open and poll.show_counts:
            counts = await repo.live_counts(self.bot.store, poll.id, len(poll.nominees))
        await interaction.response.send_message(embed=views.status_embed(poll, ballots, counts), ephemeral=True)

    @award.command(name="list", description="Open snack-award polls and those closed recently")
    async def list_polls(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        polls = await repo.list_for_guild(self.bot.store, guild_id, closed_since=self.bot.now_ts() - RECENT)
        await interaction.response.send_message(embed=views.list_embed(polls), ephemeral=True)

    @award.command(name="history", description="Past snack-award winners")
    @app_commands.describe(category="Only awards whose category contains this")
    async def history(
        self, interaction: discord.Interaction[FilmClubBot], category: str | None = None
    ) -> None:
        guild_id = require_guild(interaction)
        wanted = category.strip() if category and category.strip() else None
        polls = await repo.history(self.bot.store, guild_id, wanted, limit=100)
        pages = views.history_pages(polls, wanted)
        if len(pages) == 1:
            await interaction.response.send_message(embed=pages[0], ephemeral=True)
            return
        await interaction.response.send_message(
            embed=pages[0], view=Paginator(pages, interaction.user.id), ephemeral=True
        )

    @history.autocomplete("category")
    async def category_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        names = await repo.categories(self.bot.store, interaction.guild_id, current.strip())
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names]


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Awards(bot))
