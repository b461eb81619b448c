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
with one vote at a time it is exactly one upsert per vote. A commit is durable once it returns
(WAL), so a SIGKILL loses at most votes whose handler had not finished; their reactions are still on
the message and the next reconciliation counts them.

Catching up: whenever the bot (re)connects (``on_ready``, or ``on_shard_ready`` when one shard of several
identified again), each open poll is reconciled with the message's actual reactions before any new reaction
event for it is applied (events wait behind a per-poll gate, then run in gateway order). So votes cast while
the bot was away count, and a reaction seen live after a restart is known to be newer than one added while it
was away. The catch-up also re-adds number reactions the bot never got to add, removes stale, foreign and bot
reactions when it may, and finds a poll post whose id was never stored (a crash while opening).

Closing (at ``closes`` through the scheduler, kind ``award.close``, or early by a moderator):
stop routing reactions, read the message's actual reactions (paginated), reconcile them with the
stored ballots, then store the tally and mark the poll closed in one transaction. Only the
caller whose conditional update flips the poll from open to closed gets to post; the results post
carries a per-poll nonce, the channel is searched for an earlier results post before sending
(Discord only honours a nonce for a few minutes), and once its id is stored any further close posts
nothing. A poll whose post or channel is gone is still closed on the ballots recorded, moderators
are told, and results that cannot go to the poll's channel go to the announcements channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord

from bot import pacing
from bot.checks import configured_channel
from bot.domain import awards as aw
from bot.domain import markers, posts
from bot.domain.films import load_catalogue
from bot.errors import UserError
from bot.render import escape
from bot.scheduler import PostObsolete
from cogs.awards import views
from db import awards as repo
from db.awards import CANCELLED, CLOSED, Poll
from db.cache import ReadCache
from db.scheduled_posts import ScheduledPost
from db.store import Store, StoreError

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)
CATCH_UP_CONCURRENCY = 8

# A close missed while the bot was offline still happens when it comes back, however late (bot/domain/posts.py).
CLOSE_KIND = posts.AWARD_CLOSE
REOPEN_WINDOW = 86400  # seconds after a cancel during which a moderator can bring the poll back
NUMBERS_RETRY = 60  # seconds before adding number reactions again after Discord failed
LIVE_EDIT_DELAY = 3.0  # seconds: live-count edits within this window become one edit
RECENT = 30 * 86400
UNPOSTED_WINDOW = 7 * 86400  # closed polls whose results post is not recorded are retried this long
POLL_NEEDS = (
    "view_channel", "send_messages", "embed_links", "attach_files", "add_reactions", "read_message_history",
)  # fmt: skip
MAX_REACTIONS_CODE = 30010  # Discord: a message has 20 different reactions already


class ResultsUndeliverable(UserError):
    """The results could be posted neither in the poll's channel nor in the announcements channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Unreadable(Exception):
    """The poll post's reactions cannot be read: its post or channel is gone, or access is denied."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Snapshot:
    """What is on a poll post right now."""

    actual: dict[int, int] = field(default_factory=dict)  # member -> mask of their number reactions
    foreign: list[discord.PartialEmoji | discord.Emoji | str] = field(default_factory=list)
    bot_votes: list[tuple[int, int]] = field(default_factory=list)  # (nominee index, other bot's id)
    missing: list[int] = field(default_factory=list)  # nominee numbers the bot has not reacted with


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
        self._committing = False
        self.commits = 0

    async def save(self, poll_id: int, user_id: int, ballot: aw.Ballot, now: int) -> None:
        self._pending[(poll_id, user_id)] = (ballot, now)
        await self._waiter()

    async def save_many(self, poll_id: int, ballots: Mapping[int, aw.Ballot], now: int) -> None:
        for user_id, ballot in ballots.items():
            self._pending[(poll_id, user_id)] = (ballot, now)
        await self._waiter()

    async def flush(self) -> None:
        """Wait until everything queued so far (including a commit under way) is committed."""
        if not self._pending and not self._committing:
            return
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
                self._committing = bool(batch)
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
                finally:
                    self._committing = False
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


def _http_reason(exc: discord.HTTPException, where: str) -> str:
    if isinstance(exc, discord.NotFound):
        if exc.code == 10008:
            return "its post was deleted"
        return f"the channel <#{where}> was deleted"
    return f"I'm missing permissions in <#{where}> ({exc.text or 'Forbidden'})"


class AwardService:
    """Everything the awards do besides reading commands: votes, catch-up, opening, closing, results."""

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.open_polls: dict[int, Poll] = {}  # poll message id -> open poll
        self.books: dict[int, dict[int, aw.Ballot]] = {}  # open poll id -> member -> ballot
        self.writer = BallotWriter(bot.store)
        # `/award status` answers, served again until the database changes (db/cache.py).
        self.status_cache: ReadCache[tuple[int, int], discord.Embed] = ReadCache(bot.store, size=128)
        self._close_locks: dict[int, asyncio.Lock] = {}
        self._runoff_locks: dict[int, asyncio.Lock] = {}
        self._gates: dict[int, asyncio.Event] = {}  # open poll id -> set once caught up with its reactions
        self._orphans: list[Poll] = []  # open polls whose post id was never stored (crash while opening)
        self._catchup_task: asyncio.Task[None] | None = None
        self._catchup_again = False
        self._live_pending: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        bot.scheduler.register(CLOSE_KIND, self._close_due)

    async def load(self) -> None:
        # Only this cluster's servers: their reactions come here, and so does their catch-up and closing.
        for poll in await repo.list_open(self.bot.store, shards=self.bot.shard_range):
            if poll.message_id is None:
                self._orphans.append(poll)
                continue
            self.books[poll.id] = await repo.ballots(self.bot.store, poll.id)
            self.open_polls[poll.message_id] = poll
            # Reaction events for this poll wait until it is caught up (see on_ready).
            self._gates[poll.id] = asyncio.Event()
        self._spawn(self._post_missing_results())

    async def _post_missing_results(self) -> None:
        """After a crash between closing a poll and posting its results, post them (once)."""
        await self.bot.wait_until_ready()
        since = self.bot.now_ts() - UNPOSTED_WINDOW
        for poll in await repo.list_unposted(self.bot.store, closed_since=since, shards=self.bot.shard_range):
            try:
                await self.close_poll(poll.id)
            except (discord.HTTPException, ResultsUndeliverable, StoreError) as exc:
                log.warning("could not post the results of poll %s after a restart: %s", poll.id, exc)

    async def close(self) -> None:
        """On shutdown: store every ballot still queued, stop background work."""
        self.open_polls.clear()
        for gate in self._gates.values():
            gate.set()
        await self.writer.close()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _release_gate(self, poll_id: int) -> None:
        gate = self._gates.pop(poll_id, None)
        if gate is not None:
            gate.set()

    # ------------------------------------------------------------------ permissions, channels

    def _poll_channel(self, poll: Poll) -> discord.abc.GuildChannel | None:
        # Through the guild: bot.get_channel walks every guild (slow with 1,000 servers, docs/benchmarks.md).
        guild = self.bot.get_guild(poll.guild_id)
        channel = guild.get_channel_or_thread(poll.channel_id) if guild is not None else None
        return channel if isinstance(channel, discord.abc.GuildChannel) else None

    def _can_tidy(self, channel: discord.abc.GuildChannel | None) -> bool:
        """Whether the bot may remove other members' reactions (Manage Messages) there."""
        if channel is None:
            return False
        return channel.permissions_for(channel.guild.me).manage_messages

    async def _channel(self, channel_id: int, guild_id: int | None = None) -> discord.abc.Messageable:
        """The channel, from the cache or Discord; NotFound/Forbidden when it is gone or hidden."""
        guild = self.bot.get_guild(guild_id) if guild_id is not None else None
        channel = guild.get_channel_or_thread(channel_id) if guild is not None else self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise _Unreadable(f"<#{channel_id}> is not a channel I can post in")
        return channel

    def _partial(self, poll: Poll) -> discord.PartialMessage:
        assert poll.message_id is not None
        return self.bot.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id).get_partial_message(
            poll.message_id
        )

    # ------------------------------------------------------------------ votes

    async def _wait_gate(self, poll: Poll, message_id: int) -> Poll | None:
        """Wait while the poll is being caught up; the poll if it is still open afterwards."""
        gate = self._gates.get(poll.id)
        if gate is None or gate.is_set():
            return poll
        await gate.wait()
        return self.open_polls.get(message_id)

    async def _poll_for_event(self, payload: discord.RawReactionActionEvent) -> Poll | None:
        """The open poll a reaction event is about (after any catch-up), or None: not a poll, or our own."""
        poll = self.open_polls.get(payload.message_id)
        if poll is None:
            return None  # not a poll: nothing is read or written
        me = self.bot.user
        if me is not None and payload.user_id == me.id:
            return None
        if poll.id in self._gates:
            return await self._wait_gate(poll, payload.message_id)
        return poll

    async def reaction_added(self, payload: discord.RawReactionActionEvent) -> None:
        poll = await self._poll_for_event(payload)
        if poll is None:
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
        try:
            await self.writer.save(poll.id, payload.user_id, outcome.ballot, self.bot.now_ts())
        except StoreError:
            return  # logged by the writer; the reaction stays, so the reconciliation counts it
        if outcome.stale and self._can_tidy(self._poll_channel(poll)):
            for other in outcome.stale:
                # Its REMOVE event only clears the seen bit: `other` is no longer the vote.
                await self._remove_reaction(poll, aw.keycap(other), payload.user_id)
        if poll.show_counts:
            self._schedule_live_edit(poll)

    async def reaction_removed(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.emoji.id is not None:
            return  # custom emoji are never nominees
        poll = await self._poll_for_event(payload)
        if poll is None:
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
        try:
            await self.writer.save(poll.id, payload.user_id, new, self.bot.now_ts())
        except StoreError:
            return
        if poll.show_counts and new.choice != (old.choice if old else None):
            self._schedule_live_edit(poll)

    async def reactions_cleared(self, payload: discord.RawReactionClearEvent) -> None:
        """Someone with Manage Messages removed every reaction: every vote on the poll is withdrawn."""
        await self._cleared(payload.message_id, None)

    async def emoji_cleared(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        if payload.emoji.id is None:
            await self._cleared(payload.message_id, payload.emoji.name or "")

    async def _cleared(self, message_id: int, emoji: str | None) -> None:
        poll = self.open_polls.get(message_id)
        if poll is None:
            return
        if poll.id in self._gates:
            waited = await self._wait_gate(poll, message_id)
            if waited is None:
                return
            poll = waited
        index = None if emoji is None else aw.keycap_index(emoji, len(poll.nominees))
        if emoji is not None and index is None:
            return
        book = self.books.setdefault(poll.id, {})
        changed: dict[int, aw.Ballot] = {}
        for member, ballot in book.items():
            new = aw.Ballot() if index is None else aw.apply_remove(ballot, index)
            if new is not None and new != ballot:
                changed[member] = new
        if not changed:
            return
        book.update(changed)
        try:
            await self.writer.save_many(poll.id, changed, self.bot.now_ts())
        except StoreError:
            return
        if poll.show_counts:
            self._schedule_live_edit(poll)

    async def _remove_reaction(
        self, poll: Poll, emoji: discord.PartialEmoji | discord.Emoji | str, user_id: int
    ) -> None:
        try:
            await self._partial(poll).remove_reaction(emoji, discord.Object(user_id))
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
        try:
            await self._partial(poll).edit(embed=embed)
        except discord.HTTPException as exc:
            log.warning("could not update live counts of poll %s: %s", poll.id, exc)

    # ------------------------------------------------------------------ catching up

    def reconnected(self) -> None:
        """(Re)connected: reconcile every open poll with its reactions before applying new events."""
        for poll in self.open_polls.values():
            self._gates.setdefault(poll.id, asyncio.Event())
        if self._catchup_task is None or self._catchup_task.done():
            self._catchup_task = self._spawn(self._catch_up_all())
        else:
            self._catchup_again = True

    async def _catch_up_all(self) -> None:
        while True:
            self._catchup_again = False
            for poll in self.open_polls.values():
                self._gates.setdefault(poll.id, asyncio.Event())
            # A few polls at a time: each reads its own message's reactions (its own rate-limit bucket),
            # so a restart with many open polls does not catch them up strictly one after another.
            limit = asyncio.Semaphore(CATCH_UP_CONCURRENCY)
            with pacing.bulk():  # under Discord's global limit, behind members' commands (bot/pacing.py)
                await asyncio.gather(
                    *(self._catch_up_limited(poll, limit) for poll in list(self.open_polls.values()))
                )
            orphans, self._orphans = self._orphans, []
            for poll in orphans:
                await self._recover_orphan(poll)
            if not self._catchup_again:
                return

    async def _catch_up_limited(self, poll: Poll, limit: asyncio.Semaphore) -> None:
        async with limit:
            await self._catch_up(poll)

    async def _catch_up(self, poll: Poll) -> None:
        snapshot: Snapshot | None = None
        ballots: dict[int, aw.Ballot] = {}
        try:
            async with self._lock(poll.id):
                if poll.message_id is None or self.open_polls.get(poll.message_id) is None:
                    return
                try:
                    snapshot = await self._snapshot(poll, known=self.books.get(poll.id, {}))
                except (_Unreadable, discord.HTTPException) as exc:
                    # The close will deal with it (and tell moderators); votes keep being taken.
                    log.warning("poll %s: could not read its reactions on reconnecting: %s", poll.id, exc)
                    return
                book = self.books.setdefault(poll.id, {})
                result = aw.reconcile(book, snapshot.actual)
                changed = {m: b for m, b in result.ballots.items() if book.get(m, aw.Ballot()) != b}
                book.update(changed)
                ballots = dict(book)
                if result.counted_offline or result.withdrawn_offline or result.void:
                    log.info(
                        "poll %s caught up: %d counted, %d withdrawn while away, %d void",
                        poll.id, result.counted_offline, result.withdrawn_offline, len(result.void),
                    )
                if changed:
                    try:
                        await self.writer.save_many(poll.id, changed, self.bot.now_ts())
                    except StoreError:
                        pass  # logged; memory has them and the close overlays memory on the database
        finally:
            self._release_gate(poll.id)
        if snapshot is not None:
            await self._tidy(poll, snapshot, ballots)

    async def _tidy(self, poll: Poll, snapshot: Snapshot, ballots: Mapping[int, aw.Ballot]) -> None:
        """After catching up: add the missing numbers, remove what is not a ballot (when permitted)."""
        if poll.message_id is None or poll.message_id not in self.open_polls:
            return  # closed or cancelled meanwhile
        if snapshot.missing:
            problem = await self._add_numbers(poll, snapshot.missing)
            if problem:
                await self.bot.tell_moderators(
                    poll.guild_id, f"⚠️ Moderators: award poll #{poll.id} ({views.poll_link(poll)}): {problem}",
                    key=f"award:{poll.id}:numbers",
                )
        if not self._can_tidy(self._poll_channel(poll)):
            return
        message = self._partial(poll)
        try:
            for emoji in snapshot.foreign:
                await message.clear_reaction(emoji)
            for index, user_id in snapshot.bot_votes:
                await message.remove_reaction(aw.keycap(index), discord.Object(user_id))
            for user_id, ballot in ballots.items():
                for index in ballot.stale:
                    await message.remove_reaction(aw.keycap(index), discord.Object(user_id))
        except (discord.Forbidden, discord.NotFound) as exc:
            log.info("could not tidy the reactions of poll %s: %s", poll.id, exc)

    async def _recover_orphan(self, poll: Poll) -> None:
        """The bot stopped between posting a poll and storing its post's id: find the post, or drop it."""
        async with self._lock(poll.id):
            current = await repo.get(self.bot.store, poll.id)
            if current is None or not current.is_open or current.message_id is not None:
                return
            try:
                found = await self._find_poll_post(current)
            except (_Unreadable, discord.HTTPException) as exc:
                log.warning("poll %s: could not look for its post: %s", poll.id, exc)
                return
            if found is None:
                log.info("poll %s was never posted (stopped while opening); cancelling it", poll.id)
                async with self.bot.store.transaction() as tx:
                    await repo.cancel(tx, current.guild_id, current.id, self.bot.now_ts())
                    await self.bot.scheduler.cancel_prefix(current.guild_id, current.close_key_prefix, db=tx)
                return
            current = await self._adopt(current, found)
        await self._catch_up(current)

    async def _find_poll_post(self, poll: Poll) -> int | None:
        """The id of the poll's post if the bot sent it (found by its footer), else None."""
        marker = views.poll_footer(poll)

        def is_post(message: discord.Message) -> bool:
            return any((e.footer.text or "") == marker for e in message.embeds)

        after = discord.utils.time_snowflake(datetime.fromtimestamp(poll.created_at - 60, tz=UTC))
        found = await self._find_own_message(poll.channel_id, after, is_post)
        return found.id if found is not None else None

    async def _adopt(self, poll: Poll, message_id: int) -> Poll:
        """Record a found poll post and start routing its reactions (after a catch-up)."""
        await repo.set_message(self.bot.store, poll.id, message_id)
        current = await repo.get(self.bot.store, poll.id) or poll
        self.books[current.id] = await repo.ballots(self.bot.store, current.id)
        self._gates[current.id] = asyncio.Event()
        self.open_polls[message_id] = current
        return current

    async def _find_own_message(
        self, channel_id: int, after: int, predicate: Callable[[discord.Message], bool], limit: int = 100
    ) -> discord.Message | None:
        """A message of the bot's in the channel, posted after the snowflake ``after``, that matches."""
        try:
            channel = await self._channel(channel_id)
        except discord.HTTPException as exc:
            raise _Unreadable(_http_reason(exc, str(channel_id))) from exc
        me = self.bot.user
        async for message in channel.history(limit=limit, after=discord.Object(after), oldest_first=True):
            if me is not None and message.author.id == me.id and predicate(message):
                return message
        return None

    async def _snapshot(self, poll: Poll, known: Mapping[int, aw.Ballot] | None = None) -> Snapshot:
        """The reactions on the poll post now (paginated); _Unreadable if it cannot be read.

        With ``known`` (the ballots the bot holds, on reconnecting) a number whose reaction count is what the bot
        saw is taken from ``known`` instead of listing its reactors: a restart with nothing changed while away
        costs one request per poll (the message), and only a number whose count moved is read in full. The close
        always reads every reactor (no ``known``), so votes cast while the bot was away count exactly.
        """
        assert poll.message_id is not None
        try:
            channel = await self._channel(poll.channel_id, poll.guild_id)
            message = await channel.fetch_message(poll.message_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise _Unreadable(_http_reason(exc, str(poll.channel_id))) from exc
        me = self.bot.user
        snap = Snapshot()
        mine: set[int] = set()
        for reaction in message.reactions:
            emoji = reaction.emoji
            index = aw.keycap_index(emoji, len(poll.nominees)) if isinstance(emoji, str) else None
            if index is None:
                snap.foreign.append(emoji)
                continue
            if reaction.me:
                mine.add(index)
            if known is not None:
                seen_by = [member for member, ballot in known.items() if ballot.seen & aw.bit(index)]
                if reaction.count == len(seen_by) + (1 if reaction.me else 0):
                    for member in seen_by:
                        snap.actual[member] = snap.actual.get(member, 0) | aw.bit(index)
                    continue
            async for user in reaction.users(limit=None):  # paginated, 100 at a time
                if me is not None and user.id == me.id:
                    continue
                if user.bot:
                    snap.bot_votes.append((index, user.id))
                    continue
                snap.actual[user.id] = snap.actual.get(user.id, 0) | aw.bit(index)
        snap.missing = [i for i in range(len(poll.nominees)) if i not in mine]
        return snap

    async def _add_numbers(self, poll: Poll, indexes: Iterable[int], *, retry: bool = True) -> str | None:
        """Add the bot's number reactions, one at a time (discord.py waits out 429s between them).

        Returns what went wrong, in words for moderators, or None.
        """
        message = self._partial(poll)
        full: list[int] = []
        forbidden: list[int] = []
        unavailable: list[int] = []
        cleared = False
        for index in indexes:
            for _ in range(2):
                try:
                    await message.add_reaction(aw.keycap(index))
                except discord.NotFound:
                    return "its post was deleted before I could add the number reactions."
                except discord.Forbidden:
                    forbidden.append(index)
                except discord.HTTPException as exc:
                    if exc.status == 429 or exc.status >= 500:
                        unavailable.append(index)  # Discord failing, after discord.py's own retries: try later
                        break
                    if exc.code != MAX_REACTIONS_CODE:
                        raise
                    if not cleared and self._can_tidy(self._poll_channel(poll)):
                        cleared = True  # make room: clear the emoji that are not nominees, then retry
                        if await self._clear_foreign(poll):
                            continue
                    full.append(index)
                break
        problems = []
        if full:
            problems.append(
                f"I couldn't add {' '.join(aw.keycap(i) for i in full)}: Discord allows 20 different reactions "
                "on a message and members filled the free ones with other emoji. Remove some of those emoji "
                "so members can add the missing numbers themselves, or cancel the poll and open it again."
            )
        if forbidden:
            problems.append(
                f"I couldn't add {' '.join(aw.keycap(i) for i in forbidden)}: I'm missing Add Reactions in "
                f"<#{poll.channel_id}>. Members can still add those numbers themselves; grant me Add Reactions "
                "for next time."
            )
        if unavailable:
            problems.append(
                f"I couldn't add {' '.join(aw.keycap(i) for i in unavailable)}: Discord is having trouble right "
                "now. Members can still add those numbers themselves; I'll try again in a minute."
            )
            if retry:
                self._spawn(self._add_numbers_later(poll, unavailable))
        return " ".join(problems) or None

    async def _add_numbers_later(self, poll: Poll, indexes: list[int]) -> None:
        """One more try at the numbers Discord failed to add (the next reconnect's catch-up also adds them)."""
        await self.bot.clock.sleep(NUMBERS_RETRY)
        if poll.message_id is None or poll.message_id not in self.open_polls:
            return
        problem = await self._add_numbers(poll, indexes, retry=False)
        if problem:
            log.warning("poll %s: number reactions still missing: %s", poll.id, problem)

    async def _clear_foreign(self, poll: Poll) -> bool:
        """Clear every emoji on the post that is not a nominee's number; whether any was cleared."""
        try:
            snapshot = await self._snapshot(poll)
            for emoji in snapshot.foreign:
                await self._partial(poll).clear_reaction(emoji)
        except (_Unreadable, discord.Forbidden, discord.NotFound) as exc:
            log.info("could not clear foreign reactions on poll %s: %s", poll.id, exc)
            return False
        return bool(snapshot.foreign)

    # ------------------------------------------------------------------ opening

    def _resolve_film(self, text: str | None) -> tuple[str | None, str | None]:
        title = aw.clean_film(text)
        if title is None:
            return None, None
        film = load_catalogue().find(title)
        if film is None:
            return title, None
        return film.title, film.key

    async def poll_channel(
        self, guild: discord.Guild, chosen: discord.abc.GuildChannel | None
    ) -> discord.TextChannel:
        """Where a poll goes (``chosen`` or the polls channel), checked: a text channel the bot can run it in."""
        settings = await self.bot.settings.get(guild.id)
        channel_id = chosen.id if chosen is not None else settings.polls_channel_id
        return configured_channel(
            guild, channel_id, what="polls channel", setting="polls", doing="run a poll", needs=POLL_NEEDS
        )

    async def open_poll(
        self,
        target: discord.TextChannel,
        *,
        opened_by: int,
        category: str,
        nominees: tuple[str, ...],
        closes_at: datetime,
        film: str | None,
        show_counts: bool,
        runoff_of: int | None = None,
    ) -> tuple[Poll, discord.Message]:
        """Store the poll and its closing post in one transaction, then post it (undone if posting fails)."""
        guild_id = target.guild.id
        film_title, film_key = self._resolve_film(film)
        async with self.bot.store.transaction() as tx:
            poll = await repo.create_poll(
                tx, guild_id=guild_id, channel_id=target.id, category=aw.clean_category(category),
                nominees=nominees, film_title=film_title, film_key=film_key, show_counts=show_counts,
                opened_by=opened_by, now=self.bot.now_ts(), closes_at=int(closes_at.timestamp()),
                runoff_of=runoff_of,
            )
            await self.bot.scheduler.schedule(
                guild_id=guild_id, kind=CLOSE_KIND, key=poll.close_key, due=closes_at, channel_id=target.id,
                payload={"poll_id": poll.id, "label": poll.category}, db=tx,
            )
        counts = tuple(0 for _ in nominees) if show_counts else None
        try:
            message = await target.send(
                embed=views.poll_embed(poll, can_tidy=self._can_tidy(target), counts=counts),
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
        return poll, message

    async def add_numbers(self, poll: Poll) -> str | None:
        """The bot's number reactions on a new poll; what went wrong, in words for moderators, or None."""
        return await self._add_numbers(poll, range(len(poll.nominees)))

    # ------------------------------------------------------------------ closing

    def _lock(self, poll_id: int) -> asyncio.Lock:
        return self._close_locks.setdefault(poll_id, asyncio.Lock())

    async def close_poll(self, poll_id: int) -> discord.Message | None:
        """Close (if still open) and post the results (if not yet posted). None: nothing was posted.

        Raises :class:`ResultsUndeliverable` when the poll is closed but its results could not be posted
        anywhere (a later ``close_poll`` tries again).
        """
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
            # A crash while opening: the post may have gone out without its id being stored.
            try:
                found = await self._find_poll_post(poll)
            except (_Unreadable, discord.HTTPException):
                found = None
            if found is None:  # it never went out: nothing to count
                await repo.cancel(self.bot.store, poll.guild_id, poll.id, self.bot.now_ts())
                return None
            poll = await self._adopt(poll, found)
            assert poll.message_id is not None
        self.open_polls.pop(poll.message_id, None)  # from now on reactions are not ballots
        self._release_gate(poll.id)
        book = self.books.get(poll.id, {})
        problem: str | None = None
        try:
            await self.writer.flush()
            try:
                actual: dict[int, int] | None = (await self._snapshot(poll)).actual
            except _Unreadable as exc:
                actual, problem = None, exc.reason
            stored = await repo.ballots(self.bot.store, poll.id)
            stored.update(book)  # memory is the latest word (it equals the table unless a write failed)
            if actual is None:
                log.warning("poll %s: %s; counting the stored ballots as they are", poll.id, problem)
                reconciled = aw.Reconciled(stored, void=frozenset(m for m, b in stored.items() if b.void))
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
        except BaseException:
            # Not closed (Discord or the disk failed): the poll keeps taking votes; the close is retried.
            self.open_polls[poll.message_id] = poll
            raise
        self.books.pop(poll.id, None)
        closed = await repo.get(self.bot.store, poll.id)
        if problem is not None and closed is not None:
            await self.bot.tell_moderators(
                poll.guild_id,
                f"⚠️ Moderators: award poll #{poll.id} (**{escape(poll.category)}**) closed, but {problem}, so I "
                f"counted the {aw.plural(closed.ballots or 0, 'ballot')} I had recorded; reactions added while I "
                "was offline could not be checked.",
                key=f"award:{poll.id}:unreadable",
            )
        return closed

    async def _post_results(self, poll: Poll) -> discord.Message:
        """Post the results in the poll's channel (else the announcements channel), exactly once."""
        try:
            message = await self._send_results(poll, poll.channel_id, None)
        except (discord.Forbidden, discord.NotFound, _Unreadable) as exc:
            reason = exc.reason if isinstance(exc, _Unreadable) else _http_reason(exc, str(poll.channel_id))
            settings = await self.bot.settings.get(poll.guild_id)
            fallback = settings.announcements_channel_id
            if fallback is None or fallback == poll.channel_id:
                log.warning("results of poll %s could not be posted: %s", poll.id, reason)
                raise ResultsUndeliverable(reason) from exc
            note = (
                f"⚠️ Moderators: I couldn't post the results of award poll #{poll.id} in <#{poll.channel_id}> "
                f"({reason}), so here they are."
            )
            try:
                message = await self._send_results(poll, fallback, note)
            except (discord.Forbidden, discord.NotFound, _Unreadable) as again:
                log.warning("results of poll %s could not be posted anywhere: %s / %s", poll.id, reason, again)
                raise ResultsUndeliverable(reason) from again
        await repo.set_results_message(self.bot.store, poll.id, message.id)
        await self._show_ended(poll, message.jump_url)
        return message

    async def _send_results(self, poll: Poll, channel_id: int, note: str | None) -> discord.Message:
        channel = await self._channel(channel_id)
        name = views.results_file_name(poll)

        def is_results(message: discord.Message) -> bool:
            return any(a.filename == name for a in message.attachments)

        # Discord honours a nonce only for a few minutes: after a longer outage, look for the post first.
        after = discord.utils.time_snowflake(datetime.fromtimestamp((poll.closed_at or poll.closes_at) - 60, tz=UTC))
        try:
            existing = await self._find_own_message(channel_id, after, is_results, limit=100)
        except (_Unreadable, discord.HTTPException):
            existing = None
        if existing is not None:
            log.info("poll %s: its results were already posted (message %s)", poll.id, existing.id)
            return existing
        embed, chart = await self.bot.worker.run(views.results_message, poll)  # the chart: ~36 ms of drawing
        return await channel.send(
            note, embed=embed, file=chart, nonce=markers.award_results_nonce(poll.id, fallback=note is not None),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    async def _show_ended(self, poll: Poll, results_url: str | None = None) -> None:
        """Mark the poll post itself as closed or cancelled (best effort)."""
        if poll.message_id is None:
            return
        try:
            await self._partial(poll).edit(embed=views.ended_embed(poll, results_url))
        except discord.HTTPException as exc:
            log.info("could not mark poll %s as ended: %s", poll.id, exc)

    async def _close_due(self, post: ScheduledPost) -> int | None:
        poll_id = int(post.payload["poll_id"])
        try:
            message = await self.close_poll(poll_id)
        except ResultsUndeliverable:
            return None  # closed and logged; moderators were told where that was possible
        if message is None:
            raise PostObsolete("the poll was already closed or cancelled")
        return message.id

    # ------------------------------------------------------------------ what the commands ask

    async def own_poll(self, guild_id: int, poll_id: int) -> Poll:
        """The server's poll ``poll_id``; never another server's (a UserError says so)."""
        poll = await repo.get_in_guild(self.bot.store, guild_id, poll_id)
        if poll is None:
            raise UserError(f"There is no award poll #{poll_id} on this server. See `/award list`.")
        return poll

    async def get(self, poll_id: int) -> Poll | None:
        return await repo.get(self.bot.store, poll_id)

    def runoff_lock(self, poll_id: int) -> asyncio.Lock:
        return self._runoff_locks.setdefault(poll_id, asyncio.Lock())

    async def runoff_of(self, poll_id: int) -> Poll | None:
        return await repo.runoff_for(self.bot.store, poll_id)

    async def ballot_count(self, poll: Poll) -> int:
        """Ballots taken so far, every queued one included."""
        await self.writer.flush()
        return await repo.count_ballots(self.bot.store, poll.id)

    async def cancel(self, poll: Poll) -> Poll | None:
        """Cancel an open poll, keeping its ballots; None when it closed meanwhile."""
        async with self._lock(poll.id):
            await self.writer.flush()  # every ballot taken so far is kept with the cancelled poll
            async with self.bot.store.transaction() as tx:
                done = await repo.cancel(tx, poll.guild_id, poll.id, self.bot.now_ts())
                if done:
                    await self.bot.scheduler.cancel_prefix(poll.guild_id, poll.close_key_prefix, db=tx)
            if not done:
                return None
            if poll.message_id is not None:
                self.open_polls.pop(poll.message_id, None)
            self._release_gate(poll.id)
            self.books.pop(poll.id, None)
        cancelled = await repo.get(self.bot.store, poll.id) or poll
        await self._show_ended(cancelled)
        return cancelled

    async def reopen(self, poll: Poll, closes_at: datetime) -> tuple[Poll, int] | None:
        """Bring a cancelled poll back with its ballots until ``closes_at``; (poll, ballots), or None if it
        was reopened meanwhile."""
        async with self._lock(poll.id):
            async with self.bot.store.transaction() as tx:
                done = await repo.reopen(tx, poll.guild_id, poll.id, int(closes_at.timestamp()))
                if done:
                    await self.bot.scheduler.schedule(
                        guild_id=poll.guild_id, kind=CLOSE_KIND, key=poll.close_key, due=closes_at,
                        channel_id=poll.channel_id, payload={"poll_id": poll.id, "label": poll.category}, db=tx,
                    )
            if not done:
                return None
            reopened = await repo.get(self.bot.store, poll.id)
            assert reopened is not None and reopened.message_id is not None
            self.books[reopened.id] = await repo.ballots(self.bot.store, reopened.id)
            self.open_polls[reopened.message_id] = reopened
            self._gates[reopened.id] = asyncio.Event()
        book = self.books[reopened.id]
        # Reactions changed while it was cancelled are read back, as after a restart.
        self._spawn(self._catch_up(reopened))
        counts = (
            aw.tally((b.choice for b in book.values()), len(reopened.nominees)).counts if reopened.show_counts else None
        )
        embed = views.poll_embed(reopened, can_tidy=self._can_tidy(self._poll_channel(reopened)), counts=counts)
        try:
            await self._partial(reopened).edit(embed=embed)
        except discord.HTTPException as exc:
            log.info("could not show poll %s as open again: %s", reopened.id, exc)
        return reopened, len(book)

    async def status_embed(self, guild_id: int, poll_id: int) -> discord.Embed:
        """`/award status`: ballots so far (counts only where the poll shows them), served from a cache until
        the database changes."""
        await self.writer.flush()
        # Everything the answer shows is read inside the computation, so it matches the version it is kept with.
        return await self.status_cache.get((guild_id, poll_id), lambda: self._status_embed(guild_id, poll_id))

    async def _status_embed(self, guild_id: int, poll_id: int) -> discord.Embed:
        poll = await self.own_poll(guild_id, poll_id)
        counts: tuple[int, ...] | None = None
        if poll.is_open and poll.show_counts:
            # One pass over the ballots gives both figures (docs/benchmarks.md: 10,000 ballots).
            counts = await repo.live_counts(self.bot.store, poll.id, len(poll.nominees))
            ballots = sum(counts)
        else:
            ballots = await repo.count_ballots(self.bot.store, poll.id)
            if poll.status == CLOSED:
                counts = poll.counts
        return views.status_embed(poll, ballots, counts)

    async def recent(self, guild_id: int) -> list[Poll]:
        return await repo.list_for_guild(self.bot.store, guild_id, closed_since=self.bot.now_ts() - RECENT)

    async def history(self, guild_id: int, wanted: str | None) -> list[Poll]:
        return await repo.history(self.bot.store, guild_id, wanted, limit=100)

    async def categories(self, guild_id: int, current: str) -> list[str]:
        return await repo.categories(self.bot.store, guild_id, current)
