"""CPU work a member can trigger runs here: off the event loop, one job at a time for the whole bot.

Reading trivia packs for a newsletter or drawing a chart runs in a worker thread (:meth:`Worker.run`) so the
event loop keeps answering other servers. One at a time, because Python threads share one interpreter lock:
ten CPU-bound threads at once (ten members importing 2 MB files) hold it most of the time and the loop, which
needs it too, stalled for 400 ms (docs/benchmarks.md, "Worst inputs"). Even one busy thread makes the loop wait
up to a switch interval (5 ms) each time it takes the lock back, so the heaviest job, parsing an uploaded file,
runs in a separate process instead (:meth:`Worker.run_isolated`, started on first use, one job at a time).
Jobs wait their turn in order.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
SWITCH_INTERVAL = 0.0005  # seconds


class Worker:
    """``await bot.worker.run(fn, *args, **kwargs)``: ``fn`` in a worker thread, one job at a time."""

    def __init__(self, slots: int = 1) -> None:
        # The loop takes the interpreter lock back from a busy worker thread after at most this long (Python's
        # default is 5 ms): a loop iteration that needs the lock several times no longer adds up to 50 ms.
        sys.setswitchinterval(SWITCH_INTERVAL)
        self._slots = asyncio.Semaphore(slots)
        self._process_slot = asyncio.Semaphore(1)
        self._pool: ProcessPoolExecutor | None = None
        self.busy = 0  # jobs waiting or running (tests wait for 0 before they look at what the bot sent)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        self.busy += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
        finally:
            self.busy -= 1

    async def run_isolated(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in the worker process (``fn``, its arguments and its result must pickle)."""
        self.busy += 1
        try:
            return await self._run_isolated(functools.partial(fn, *args, **kwargs))
        finally:
            self.busy -= 1

    async def _run_isolated(self, job: Callable[[], T]) -> T:
        async with self._process_slot:
            if self._pool is None:
                # spawn, not fork: the bot has threads (aiosqlite), and a forked child could inherit a held lock.
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
