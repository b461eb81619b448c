"""Read models: what a view computed from the store, served again until the database changes.

``/screening list``, ``/award status`` and ``/ratings board`` read the same rows over and over while
nothing changes (docs/benchmarks.md, "Interaction latency"). A :class:`ReadCache` keeps the last answer per
key together with :meth:`Store.version` as it was when the computation *started*; the answer is served only
while the version is unchanged. The version moves whenever a write through the store ends (committed or
rolled back) and whenever SQLite's ``data_version`` says another connection committed, so a cached answer is
never older than the last write: there is nothing to invalidate by hand, and a write the cache does not know
about cannot leave a stale answer behind. The price is that any write anywhere empties every cache, which is
the safe side: during a vote storm these views cost what they cost without a cache.

Values are shared between callers and must be treated as read-only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from db.store import Store

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    """At most ``size`` answers, least recently used dropped first."""

    def __init__(self, store: Store, size: int = 256) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.store = store
        self.size = size
        self._entries: OrderedDict[K, tuple[tuple[int, int], V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """The answer for ``key``: the cached one if the database has not changed since it was computed,
        else ``await compute()`` (kept for next time when the version can be told)."""
        version = self.store.version()
        if version is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
        self.misses += 1
        value = await compute()
        if version is None:
            self._entries.pop(key, None)
            return value
        # Tagged with the version seen before computing: if anything was written meanwhile, the version has
        # moved on and this answer is never served.
        self._entries[key] = (version, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
