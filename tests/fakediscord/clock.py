"""A fake clock implementing ``bot.clock.Clock``: time only moves when a test advances it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

#: Default start: Monday 5 January 2026, 12:00 UTC.
DEFAULT_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    """``now()`` / ``await sleep(s)`` / ``await sleep_until(dt)`` driven by ``await advance(...)``.

    Sleepers are woken one due time at a time, in order; after each wake-up the event loop runs until
    quiescent (plus any ``settle_hooks``, e.g. ``FakeDiscord.settle`` so REST calls made by the woken code
    complete) before the next sleeper is considered.
    """

    def __init__(self, start: datetime | None = None, *, spins: int = 50) -> None:
        start = start or DEFAULT_START
        if start.tzinfo is None:
            raise ValueError("FakeClock start must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self.spins = spins
        self.settle_hooks: list[Callable[[], Awaitable[None]]] = []

    # ------------------------------------------------------------------ Clock protocol
    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + timedelta(seconds=max(0.0, seconds)))

    async def sleep_until(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("sleep_until needs a timezone-aware datetime")
        if when <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._counter), fut))
        await fut

    # ------------------------------------------------------------------ test controls
    @property
    def pending(self) -> int:
        """How many sleepers are waiting."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_wakeup(self) -> datetime | None:
        for when, _, f in sorted(self._sleepers):
            if not f.done():
                return when
        return None

    async def settle(self) -> None:
        """Let the event loop run until nothing more happens right now."""
        for _ in range(self.spins):
            await asyncio.sleep(0)
        for hook in self.settle_hooks:
            await hook()
            for _ in range(self.spins // 5):
                await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking due sleepers in order."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        await self.advance_to(self._now + timedelta(seconds=seconds))

    async def advance_to(self, target: datetime) -> None:
        """Move time forward to ``target`` (aware), waking due sleepers in order."""
        if target.tzinfo is None:
            raise ValueError("advance_to needs a timezone-aware datetime")
        if target < self._now:
            raise ValueError(f"cannot go back in time: {target} < {self._now}")
        await self.settle()
        while self._sleepers:
            when, _, fut = self._sleepers[0]
            if fut.done():
                heapq.heappop(self._sleepers)
                continue
            if when > target:
                break
            self._now = max(self._now, when)
            # Wake everyone due at exactly this instant, then let them run.
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, f = heapq.heappop(self._sleepers)
                if not f.done():
                    f.set_result(None)
            await self.settle()
        self._now = target
        await self.settle()

    def set(self, when: datetime) -> None:
        """Jump to ``when`` without waking anyone (e.g. to set the scene before the bot starts)."""
        if when.tzinfo is None:
            raise ValueError("set needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)
