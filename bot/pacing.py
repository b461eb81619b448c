"""Keeping the bot under Discord's global rate limit (50 requests per second for the whole bot).

discord.py waits out each route's bucket by itself (it reads the ``X-RateLimit-*`` headers), but it does not
pace itself to the global limit: a bulk job (a reminder to hundreds of members, the catch-up after a restart)
would send hundreds of requests in a second and collect 429s, and every 429 counts toward Discord's
invalid-request limit (10,000 per 10 minutes, then the IP is blocked for an hour).

So every REST request takes a slot here just before it goes out (in the HTTP connector, so a request that first
waited for its route's bucket is counted when it is really sent, and discord.py's own retries are counted too):
at most ``rate`` requests in any ``per`` seconds, a margin under Discord's 50. Work inside :func:`bulk` takes a
slot only while the window has room for ``bulk_rate``, so commands and buttons answered meanwhile never queue
behind a bulk job. Bulk slots are also spread evenly (one every ``per / bulk_rate`` seconds) instead of
``bulk_rate`` at the start of each window: a slot is taken when the request is handed to the connection, and a
busy event loop can delay the sending of a whole clump of them until they meet the next window's clump at
Discord, which counts arrivals (measured: 29 to 33 global 429s in a burst of 1,000 scheduled posts with
clumps, none once spread; docs/benchmarks.md, "Scheduler on APScheduler"). Interaction answers
(``/interactions/...`` and the interaction webhooks) are exempt, as on Discord, and never wait: members get
their answer within Discord's 3 seconds whatever runs in the background.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
from yarl import URL

#: Discord's global limit for a bot, requests per second (docs: Rate Limits, "Global Rate Limit"); Discord raises
#: it for some large bots on request (FILMCLUB_GLOBAL_LIMIT).
GLOBAL_LIMIT = 50
#: Requests per second the bot allows itself in all, and for bulk jobs, under a limit of 50.
RATE = 45
BULK_RATE = 40


def rates(limit: int = GLOBAL_LIMIT, share: float = 1.0) -> tuple[int, int]:
    """(rate, bulk_rate) for a process that may use ``share`` of the bot's global ``limit``.

    The limit is the bot's, whatever number of processes use its token: clusters (FILMCLUB_SHARDS) split it in
    proportion to the shards they run, so two clusters of one bot do not send 90 requests a second between them
    (measured: 2,629 global 429s in a two-cluster restart at 2,000 servers before the split; docs/benchmarks.md).
    """
    budget = limit * share
    return max(1, int(budget * RATE / GLOBAL_LIMIT)), max(1, int(budget * BULK_RATE / GLOBAL_LIMIT))

_bulk: contextvars.ContextVar[bool] = contextvars.ContextVar("filmclub_bulk", default=False)


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Mark the requests made inside (and in tasks started inside) as a bulk job's: they yield to other work."""
    token = _bulk.set(True)
    try:
        yield
    finally:
        _bulk.reset(token)


class Pacer:
    """A sliding window of the last second's requests, shared by everything the bot sends."""

    def __init__(
        self, rate: int = RATE, bulk_rate: int = BULK_RATE, per: float = 1.0, time: Callable[[], float] | None = None
    ) -> None:
        self.rate = rate
        self.bulk_rate = min(bulk_rate, rate)
        self.per = per
        self._time = time
        self._sent: collections.deque[float] = collections.deque()
        self._last_bulk = float("-inf")
        self._lock = asyncio.Lock()
        self._bulk_lock = asyncio.Lock()
        #: Requests that had to wait for a slot, how many went out in all, and how many wait right now.
        self.waited = 0
        self.sent = 0
        self.waiting = 0

    def now(self) -> float:
        return self._time() if self._time is not None else asyncio.get_running_loop().time()

    async def acquire(self, *, is_bulk: bool | None = None) -> None:
        """Wait for a slot (bulk work leaves room for the rest) and take it."""
        is_bulk = _bulk.get() if is_bulk is None else is_bulk
        cap = self.bulk_rate if is_bulk else self.rate
        # One waiter per class at a time keeps each class in order; an interactive request never waits on bulk ones.
        self.waiting += 1
        try:
            async with self._bulk_lock if is_bulk else self._lock:
                waited = False
                while True:
                    now = self.now()
                    while self._sent and self._sent[0] <= now - self.per:
                        self._sent.popleft()
                    spaced = self._last_bulk + self.per / self.bulk_rate if is_bulk else now
                    if len(self._sent) < cap and now >= spaced:
                        self._sent.append(now)
                        if is_bulk:
                            self._last_bulk = now
                        self.sent += 1
                        self.waited += waited
                        return
                    waited = True
                    free = self._sent[len(self._sent) - cap] + self.per if len(self._sent) >= cap else now
                    await asyncio.sleep(max(free, spaced) - now + 0.001)
        finally:
            self.waiting -= 1


def exempt(url: URL) -> bool:
    """Requests that do not count toward the global limit: interaction answers and follow-ups, the gateway and
    the CDN (docs: Rate Limits, "Global Rate Limit"; Receiving and Responding, "Endpoints")."""
    path = url.path
    if "/api/" not in path:
        return True
    return "/interactions/" in path or "/webhooks/" in path


class PacedConnector(aiohttp.TCPConnector):
    """The HTTP connector discord.py sends through: each REST request waits for a :class:`Pacer` slot first."""

    def __init__(self, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        if not exempt(req.url):
            await self.pacer.acquire()
        return await super().connect(req, traces, timeout)
