"""The durable scheduler: posts fire on time, exactly once, across restarts.

Why our own loop rather than APScheduler's ``AsyncIOScheduler``: the table
``scheduled_posts`` is the single source of truth, and the service only keeps a
heap of (due time, id) rebuilt from it at startup. One task sleeps on the injected
:class:`~bot.clock.Clock` until the earliest post is due (or a new post wakes it),
so tests drive it with a fake clock instead of sleeping, and there is no
``misfire_grace_time`` that silently skips a late job. APScheduler's cron triggers
would only duplicate what the table already says.

Exactly once: a post is claimed atomically (``pending`` -> ``sending``) before its
handler runs, and marked ``sent`` with the message id afterwards. Handlers send
with ``nonce=post.nonce`` (discord.py then sets ``enforce_nonce``), so if the
process dies between send and mark, the resend after restart is dropped by Discord
and the existing message is returned.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord

from bot.clock import Clock
from bot.domain import posts as post_kinds
from db import scheduled_posts as posts_repo
from db.scheduled_posts import ScheduledPost
from db.store import Executor, Store, StoreError

log = logging.getLogger(__name__)

Handler = Callable[[ScheduledPost], Awaitable[int | None]]
Notifier = Callable[[ScheduledPost, str], Awaitable[None]]
NextOccurrence = Callable[[dict[str, Any], datetime], datetime | None]
GuildReady = Callable[[int], bool]
WaitReady = Callable[[], Awaitable[Any]]

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (5, 30, 120)
# Fairness: at most this many posts of one server (and of one channel) are being sent at once, so a server with a
# backlog, or a channel Discord is slowing down, never holds the sending slots other servers' posts need.
PER_GUILD_SENDS = 4
PER_CHANNEL_SENDS = 2
NOT_LOADED_RETRY = 5  # seconds: a post whose server has not arrived from Discord yet waits this long, then looks again
_FROM_TABLE: Any = object()


class PostObsolete(Exception):
    """Raised by a handler when the thing the post was for is gone (cancelled, deleted)."""


@dataclass(frozen=True)
class KindSpec:
    handler: Handler
    grace: timedelta | None  # None: always sent, however late

    def is_missed(self, late_by_seconds: int) -> bool:
        return self.grace is not None and late_by_seconds > self.grace.total_seconds()


def to_ts(dt: datetime) -> int:
    return int(dt.timestamp())


def from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, discord.HTTPException) and not isinstance(exc, (discord.Forbidden, discord.NotFound)):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError, discord.GatewayNotFound))


class SchedulerService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        notifier: Notifier | None = None,
        next_occurrence: NextOccurrence | None = None,
        concurrency: int = 50,
        wait_ready: WaitReady | None = None,
        guild_ready: GuildReady | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.next_occurrence = next_occurrence
        # Posts need their server (threads, channels): the loop waits for the bot's servers before its first
        # post, and a post whose server is still on its way from Discord waits instead of failing.
        self.wait_ready = wait_ready
        self.guild_ready = guild_ready
        self._kinds: dict[str, KindSpec] = {}
        self._heap: list[tuple[int, int]] = []
        self._queued: dict[int, int] = {}  # post id -> time it is queued for
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._sem = asyncio.Semaphore(concurrency)
        self._guild_slots: dict[int, asyncio.Semaphore] = {}
        self._channel_slots: dict[int, asyncio.Semaphore] = {}
        self._stopping = False
        self._sent_buffer: list[tuple[ScheduledPost, int, int | None]] = []
        self._flush_retry: asyncio.Task[None] | None = None
        self.sent_count = 0

    # registration -----------------------------------------------------------------
    def register(self, kind: str, handler: Handler, *, grace: timedelta | None = _FROM_TABLE) -> None:
        """Say how posts of ``kind`` are sent. How late they may still go out after downtime comes from the one
        table in :mod:`bot.domain.posts` (``grace`` only for kinds outside it, such as a test's own)."""
        if grace is _FROM_TABLE:
            if kind not in post_kinds.GRACE:
                raise ValueError(f"scheduled post kind {kind!r} has no grace window in bot/domain/posts.py")
            grace = post_kinds.grace_for(kind)
        self._kinds[kind] = KindSpec(handler, grace)

    # queueing ------------------------------------------------------------------------
    def now_ts(self) -> int:
        return to_ts(self.clock.now())

    async def schedule(
        self,
        *,
        guild_id: int,
        kind: str,
        key: str,
        due: datetime,
        channel_id: int | None = None,
        thread_id: int | None = None,
        member_id: int | None = None,
        payload: dict[str, Any] | None = None,
        recurrence: dict[str, Any] | None = None,
        db: Executor | None = None,
    ) -> ScheduledPost | None:
        """Queue a post (in ``db``'s transaction when given); None if ``key`` is already queued."""
        post = await posts_repo.insert(
            db or self.store, guild_id=guild_id, kind=kind, key=key, due_at=to_ts(due),
            now=self.now_ts(), channel_id=channel_id, thread_id=thread_id, member_id=member_id,
            payload=payload, recurrence=recurrence,
        )
        if post is not None:
            self._push(post.id, post.next_attempt_at)
        return post

    async def cancel(self, post_id: int, guild_id: int) -> bool:
        return await posts_repo.cancel(self.store, post_id, guild_id)

    async def cancel_prefix(self, guild_id: int, prefix: str, db: Executor | None = None) -> list[int]:
        """Cancel every pending post of the server whose key starts with ``prefix``."""
        return await posts_repo.cancel_by_key_prefix(db or self.store, guild_id, prefix)

    def _push(self, post_id: int, at: int) -> None:
        self._queued[post_id] = at
        heapq.heappush(self._heap, (at, post_id))
        self._wake.set()

    # lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild the queue from the table, settle posts interrupted by a crash, start the loop."""
        await self.rebuild()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="filmclub-scheduler")

    async def rebuild(self) -> int:
        now = self.now_ts()
        self._heap.clear()
        self._queued.clear()
        for post in await posts_repo.list_active(self.store):
            if self._past_grace(post, now):
                await self._mark_missed(post, now, "the bot was offline when this was due")
                continue
            if post.status == posts_repo.SENDING:
                # Interrupted between claim and mark: send again; the nonce stops a duplicate.
                await posts_repo.release(self.store, post.id)
            self._queued[post.id] = post.next_attempt_at
            self._heap.append((post.next_attempt_at, post.id))
        heapq.heapify(self._heap)
        log.info("scheduler rebuilt: %d pending posts", len(self._heap))
        return len(self._heap)

    def _past_grace(self, post: ScheduledPost, now: int) -> bool:
        spec = self._kinds.get(post.kind)
        if spec is None:
            spec = KindSpec(_unknown, post_kinds.GRACE.get(post.kind, timedelta(0)))
        return spec.is_missed(now - post.due_at)

    async def _mark_missed(self, post: ScheduledPost, now: int, why: str) -> None:
        late = now - post.due_at
        await posts_repo.mark_status(self.store, post.id, posts_repo.MISSED, f"{why} ({late} s late)")
        log.warning("post %s (%s) missed: %s s late", post.id, post.kind, late)
        await self._notify(post, "missed")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking posts; let the ones being sent finish."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._flush_retry is not None:
            self._flush_retry.cancel()
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        await self._flush_sent()

    @property
    def pending_count(self) -> int:
        return len(self._queued)

    # the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        if self.wait_ready is not None:
            await self.wait_ready()
        while not self._stopping:
            self._wake.clear()
            now = self.now_ts()
            due: list[int] = []
            while self._heap and self._heap[0][0] <= now:
                at, post_id = heapq.heappop(self._heap)
                if self._queued.get(post_id) != at:
                    continue  # superseded entry
                del self._queued[post_id]
                due.append(post_id)
            if due:
                self._track(self._fire_batch(due))
            waiters: list[asyncio.Task[Any]] = [asyncio.create_task(self._wake.wait())]
            if self._heap:
                waiters.append(asyncio.create_task(self.clock.sleep_until(from_ts(self._heap[0][0]))))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def _track(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _fire_batch(self, post_ids: list[int]) -> None:
        """Claim every due post in one statement, then send them concurrently (bounded)."""
        try:
            claimed = await posts_repo.claim_many(self.store, post_ids, self.now_ts())
        except StoreError:
            log.exception("storage error while claiming %d posts; retrying shortly", len(post_ids))
            for post_id in post_ids:
                self._push(post_id, self.now_ts() + BACKOFF_SECONDS[0])
            return
        await asyncio.gather(*(self._fire(post) for post in _round_robin(claimed)))
        await self._flush_sent()

    @staticmethod
    def _slot(slots: dict[int, asyncio.Semaphore], key: int, size: int) -> asyncio.Semaphore:
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = asyncio.Semaphore(size)
        return slot

    async def _fire(self, post: ScheduledPost) -> None:
        channel = post.thread_id or post.channel_id or 0
        async with (
            self._slot(self._guild_slots, post.guild_id, PER_GUILD_SENDS),
            self._slot(self._channel_slots, channel, PER_CHANNEL_SENDS),
            self._sem,
        ):
            try:
                if self.guild_ready is not None and not self.guild_ready(post.guild_id):
                    await self._wait_for_guild(post)
                    return
                await self._send(post)
            except StoreError:
                log.exception("storage error while sending post %s; it will be retried", post.id)
                self._push(post.id, self.now_ts() + BACKOFF_SECONDS[0])
            except Exception:
                log.exception("scheduler crashed while sending post %s", post.id)

    async def _wait_for_guild(self, post: ScheduledPost) -> None:
        """The post's server has not arrived from Discord yet (startup, an outage): transient, look again soon,
        unless waiting has made the post later than its grace window."""
        now = self.now_ts()
        if self._past_grace(post, now):
            await self._mark_missed(post, now, "its server was unavailable when this was due")
            return
        retry_at = now + NOT_LOADED_RETRY
        await posts_repo.defer(self.store, post.id, retry_at, "waiting for the server to load")
        log.info("post %s (%s) waits for guild %s to load", post.id, post.kind, post.guild_id)
        self._push(post.id, retry_at)

    async def _send(self, post: ScheduledPost) -> None:
        spec = self._kinds.get(post.kind)
        if spec is None:
            await posts_repo.mark_status(self.store, post.id, posts_repo.FAILED, f"unknown kind {post.kind}")
            log.error("no handler for scheduled post kind %r (post %s)", post.kind, post.id)
            return
        try:
            message_id = await spec.handler(post)
        except PostObsolete as exc:
            await posts_repo.mark_status(self.store, post.id, posts_repo.CANCELLED, str(exc) or "obsolete")
            return
        except Exception as exc:
            await self._handle_failure(post, exc)
            return
        # Marks are written in batches (one transaction for a burst); the nonce covers a crash in between.
        self._sent_buffer.append((post, self.now_ts(), message_id))
        if len(self._sent_buffer) >= 50:
            await self._flush_sent()

    async def _flush_sent(self) -> bool:
        """Write the buffered "sent" marks; on a storage error keep them and try again later."""
        while self._sent_buffer:
            batch, self._sent_buffer = self._sent_buffer, []
            try:
                async with self.store.transaction() as tx:
                    for post, sent_at, message_id in batch:
                        await posts_repo.mark_sent(tx, post.id, sent_at, message_id)
                        await self._queue_recurrence(tx, post)
            except Exception:
                log.exception("could not mark %d sent posts; will retry", len(batch))
                self._sent_buffer = batch + self._sent_buffer
                if not self._stopping and (self._flush_retry is None or self._flush_retry.done()):
                    self._flush_retry = asyncio.create_task(self._retry_flush())
                return False
            self.sent_count += len(batch)
        return True

    async def _retry_flush(self) -> None:
        await self.clock.sleep(BACKOFF_SECONDS[0])
        await self._flush_sent()

    async def _queue_recurrence(self, tx: Executor, post: ScheduledPost) -> None:
        if not post.recurrence or self.next_occurrence is None:
            return
        nxt = self.next_occurrence(post.recurrence, from_ts(post.due_at))
        if nxt is None:
            return
        base = post.key.split("@", 1)[0]
        new = await posts_repo.insert(
            tx, guild_id=post.guild_id, kind=post.kind, key=f"{base}@{to_ts(nxt)}", due_at=to_ts(nxt),
            now=self.now_ts(), channel_id=post.channel_id, thread_id=post.thread_id,
            member_id=post.member_id, payload=post.payload, recurrence=post.recurrence,
        )
        if new is not None:
            self._push(new.id, new.due_at)

    async def _handle_failure(self, post: ScheduledPost, exc: BaseException) -> None:
        reason = _reason(exc)
        attempts = post.attempts
        if _is_transient(exc) and attempts < MAX_ATTEMPTS:
            retry_at = self.now_ts() + BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
            await posts_repo.mark_retry(self.store, post.id, retry_at, reason)
            log.warning("post %s (%s) failed (%s); retry %d at %s", post.id, post.kind, reason, attempts, retry_at)
            self._push(post.id, retry_at)
            return
        await posts_repo.mark_status(self.store, post.id, posts_repo.FAILED, reason)
        if isinstance(exc, (discord.Forbidden, discord.NotFound)) or _is_transient(exc):
            log.warning("post %s (%s) failed: %s", post.id, post.kind, reason)
        else:
            log.error("post %s (%s) failed", post.id, post.kind, exc_info=exc)
        await self._notify(post, reason)

    async def _notify(self, post: ScheduledPost, reason: str) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier(post, reason)
        except Exception:
            log.exception("could not tell moderators about post %s", post.id)


def _round_robin(claimed: list[ScheduledPost]) -> list[ScheduledPost]:
    """Due posts taken one server at a time in turn (each server's own in due order), so a server with
    thousands of due posts does not put them all ahead of another server's one."""
    by_guild: dict[int, list[ScheduledPost]] = {}
    for post in claimed:
        by_guild.setdefault(post.guild_id, []).append(post)
    queues = list(by_guild.values())
    ordered: list[ScheduledPost] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        ordered.extend(q[turn] for q in queues if turn < len(q))
    return ordered


async def _unknown(post: ScheduledPost) -> int | None:
    raise LookupError(f"no handler for {post.kind}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.Forbidden):
        return f"missing permissions ({exc.text or 'Forbidden'})"
    if isinstance(exc, discord.NotFound):
        return f"channel or message not found ({exc.text or 'Not Found'})"
    if isinstance(exc, discord.HTTPException):
        return f"Discord error {exc.status} ({exc.text or ''})".strip()
    return f"{type(exc).__name__}: {exc}"[:300]
