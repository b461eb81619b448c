"""A fake clock implementing ``bot.clock.Clock``: time only moves when a test advances it.

APScheduler (the bot's timer) reads the wall clock itself (``datetime.now`` when it looks for due jobs, when a
job is added, and when it decides whether a job is too late). While a timer is tracked (:meth:`FakeClock.track`,
which the scheduler service calls when it starts), a ``time-machine`` traveller holds the process's wall clock at
the fake time, without ticking, so APScheduler sees exactly what the bot's own code sees. ``advance`` then steps
through the sleepers' and the timers' due times in order, moving the traveller and waking each timer
(``wakeup()``) at its next job time, as it wakes sleepers. ``time.monotonic`` (the event loop's clock) is not
touched: real timers and timeouts keep working.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from bot.clock import Timer

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
        self._timers: list[Timer] = []
        self._traveller: Any = None  # time_machine.travel while a timer is tracked
        self._coordinates: Any = None
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

    def track(self, timer: Timer) -> None:
        """``timer`` (APScheduler) runs on this clock: hold the wall clock at the fake time and wake the timer at
        its due times as time advances."""
        if timer not in self._timers:
            self._timers.append(timer)
        if self._traveller is None:
            self._traveller = time_machine.travel(self._now, tick=False)
            self._coordinates = self._traveller.start()
            _ACTIVE.add(self)

    def untrack(self, timer: Timer) -> None:
        if timer in self._timers:
            self._timers.remove(timer)
        if not self._timers:
            self.close()

    def close(self) -> None:
        """Give the process its real wall clock back (when the last timer stops, and at the end of a test)."""
        self._timers.clear()
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = None
            self._coordinates = None
        _ACTIVE.discard(self)

    def _move(self, when: datetime) -> None:
        self._now = when
        if self._coordinates is not None:
            self._coordinates.move_to(when)

    # ------------------------------------------------------------------ test controls
    @property
    def pending(self) -> int:
        """How many sleepers are waiting."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_wakeup(self) -> datetime | None:
        """The earliest time a sleeper or a tracked timer waits for."""
        times = [when for when, _, f in self._sleepers if not f.done()]
        times += [t for timer in self._timers if (t := timer.next_wakeup()) is not None]
        return min(times) if times else None

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
        woken_at: dict[int, datetime] = {}
        while True:
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            sleeper = self._sleepers[0][0] if self._sleepers else None
            timers = [(when, timer) for timer in self._timers if (when := timer.next_wakeup()) is not None
                      and woken_at.get(id(timer)) != when]
            due = min([when for when, _ in timers] + ([sleeper] if sleeper is not None else []), default=None)
            if due is None or due > target:
                break
            self._move(max(self._now, due))
            # Wake everyone due at exactly this instant, then let them run.
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, f = heapq.heappop(self._sleepers)
                if not f.done():
                    f.set_result(None)
            for when, timer in timers:
                if when <= self._now:
                    # Once per due time: a timer that still reports the same time after waking (its jobs ran but
                    # the time it reports did not move) is not woken again in a loop.
                    woken_at[id(timer)] = when
                    timer.wakeup()
            await self.settle()
        self._move(target)
        await self.settle()

    def set(self, when: datetime) -> None:
        """Jump to ``when`` without waking anyone (e.g. to set the scene before the bot starts)."""
        if when.tzinfo is None:
            raise ValueError("set needs a timezone-aware datetime")
        self._move(when.astimezone(UTC))


#: Clocks holding the wall clock right now (the test plugin gives it back after every test, even a failed one).
_ACTIVE: set[FakeClock] = set()


def release_all() -> None:
    for clock in list(_ACTIVE):
        clock.close()
