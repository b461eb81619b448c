"""The async SQLite store: one connection, WAL, foreign keys, a unit of work.

Every repository function takes an :class:`Executor`: either the :class:`Store`
itself (each statement is its own transaction) or a :class:`Tx` from
``async with store.transaction() as tx`` (all statements commit together).

PostgreSQL (``db.pgstore.PgStore``) is a subclass with the same public surface, so everything typed
``Store``/``Tx`` takes either; :func:`db.make_store` picks one from ``FILMCLUB_DB``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]


class StoreError(Exception):
    """The store cannot be used as asked (newer schema, unreadable file...)."""


class StorageUnavailable(StoreError):
    """A write failed because the disk is full, read-only or locked."""


class DatabaseDamaged(StoreError):
    """The database file is corrupt, truncated or not an SQLite database at all."""


class Row(Protocol):
    """A result row, read by column name or by index (``sqlite3.Row`` and asyncpg's ``Record`` both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> Any: ...


class IntegrityError(StoreError, sqlite3.IntegrityError):
    """A constraint refused a write on PostgreSQL (unique, foreign key, check). Also SQLite's own, so a
    repository catches ``sqlite3.IntegrityError`` once for both backends."""


class Executor(Protocol):
    """What a repository needs: run a statement and read rows."""

    async def execute(self, sql: str, params: Params = ()) -> ExecResult: ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...


class ExecResult:
    """Row count and last row id of one statement."""

    __slots__ = ("lastrowid", "rowcount")

    def __init__(self, rowcount: int, lastrowid: int | None) -> None:
        self.rowcount = rowcount
        self.lastrowid = lastrowid


def _storage_error(exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if any(word in text for word in ("readonly", "read-only", "disk is full", "disk i/o", "locked", "full")):
        return StorageUnavailable(str(exc))
    return StoreError(str(exc))


def _run_fetchall(conn: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    cur = conn.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def _run_fetchone(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    cur = conn.execute(sql, params)
    try:
        return cur.fetchone()  # type: ignore[no-any-return]
    finally:
        cur.close()


class Tx:
    """A unit of work: statements run on the store's connection inside BEGIN ... COMMIT.

    Reads are one round trip to aiosqlite's thread (``execute_fetchall``: the statement, its rows and closing
    the cursor happen together there), which matters when a vote storm or a burst of scheduled posts arrives;
    a write is two (the statement, then closing its cursor). Only aiosqlite's public API is used.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._undo: list[Callable[[], None]] = []

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Run ``undo`` if this unit of work rolls back: for in-memory state changed along with its rows (the
        scheduler's timer jobs), so a failure leaves both as they were. Undos run newest first."""
        self._undo.append(undo)

    def _rolled_back(self) -> None:
        for undo in reversed(self._undo):
            try:
                undo()
            except Exception:
                log.exception("undo after rollback failed")
        self._undo.clear()

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        try:
            cursor = await self._conn.execute(sql, params)
            try:
                return ExecResult(cursor.rowcount, cursor.lastrowid)
            finally:
                await cursor.close()
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from exc

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self._conn.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        # One round trip to aiosqlite's thread: the statement, its rows and closing the cursor happen there.
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.OperationalError as exc:
            raise _storage_error(exc) from exc


class Store:
    """The one connection manager of the bot."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # Plain SELECTs outside a unit of work read through a second, read-only connection on the event
        # loop's own thread: in WAL mode a reader never waits for the writer, and a small indexed read costs
        # microseconds, far less than a hop to aiosqlite's worker thread and back.
        self._reader: sqlite3.Connection | None = None
        # One connection serves every task; the lock keeps one task's transaction
        # from interleaving with another task's statements.
        self._lock = asyncio.Lock()
        # Bumped whenever a write through this store ends (committed or not): with SQLite's data_version it
        # tells read models (db/cache.py) whether what they computed may still be served.
        self._writes = 0

    @property
    def label(self) -> str:
        """What messages call this database (a file path; for PostgreSQL a URL without its password)."""
        return str(self.path)

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("The store is not open.")
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        """Open (creating the folder and file if needed) and set the pragmas."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc
        # From here on any error closes what was opened: a half-open aiosqlite connection keeps its worker
        # thread (and so the whole process) alive, which a supervisor would take for a healthy bot.
        reader: sqlite3.Connection | None = None
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA busy_timeout=5000")
            await self._check(conn)
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
            if str(self.path) != ":memory:":
                reader = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
                reader.row_factory = sqlite3.Row
                reader.execute("PRAGMA query_only=ON")
                reader.execute("PRAGMA busy_timeout=50")
        except BaseException as exc:
            if reader is not None:
                reader.close()
            try:
                await conn.close()
            except Exception:  # already broken: nothing more to release
                pass
            if isinstance(exc, sqlite3.Error):
                raise self._damaged(exc) from exc
            raise
        self._conn = conn
        self._reader = reader

    async def _check(self, conn: aiosqlite.Connection) -> None:
        """Read the schema and run SQLite's quick integrity check; raise on a damaged or foreign file."""
        await conn.execute("SELECT count(*) FROM sqlite_master")
        async with conn.execute("PRAGMA quick_check(1)") as cur:
            row = await cur.fetchone()
        if row is None or str(row[0]).lower() != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")

    def _damaged(self, exc: sqlite3.Error) -> StoreError:
        """The one-line explanation for a database file that cannot be used, naming the newest backup."""
        if isinstance(_storage_error(exc), StorageUnavailable):
            return StorageUnavailable(f"Cannot open the database {self.path}: {exc}")
        backups = sorted(self.path.parent.glob(f"{self.path.name}.bak-v*"), key=lambda p: p.stat().st_mtime)
        if backups:
            advice = (
                f"stop the bot and restore the copy made before the last upgrade ({backups[-1]}) "
                f"by copying it over {self.path.name}, or move the damaged file away to start empty"
            )
        else:
            advice = "restore it from your own backup, or move it away to start with an empty database"
        return DatabaseDamaged(f"The database {self.path} is damaged or not a filmclub database ({exc}); {advice}.")

    async def close(self) -> None:
        """Wait for the current unit of work, then close the connection."""
        async with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._conn is not None:
                try:
                    await self._conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass
                await self._conn.close()
                self._conn = None

    def version(self) -> tuple[int, int] | None:
        """Changes whenever anything may have been written to the database, by this store or any other
        connection; None when that cannot be told (an in-memory database, or the reader is unusable)."""
        if self._reader is None:
            return None
        try:
            row = self._reader.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return (self._writes, int(row[0]))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """``async with store.transaction() as tx:`` commits on success, rolls back on error."""
        async with self._lock:
            conn = self.conn
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _storage_error(exc) from exc
            try:
                tx = Tx(conn)
                try:
                    yield tx
                except BaseException:
                    try:
                        await conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.exception("rollback failed")
                    tx._rolled_back()
                    raise
                try:
                    await conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    try:
                        await conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                    tx._rolled_back()
                    raise _storage_error(exc) from exc
            finally:
                self._writes += 1

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async with self._lock:
            try:
                return await Tx(self.conn).execute(sql, params)
            finally:
                self._writes += 1

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    def _read_now(self, fn: Any, sql: str, params: Params) -> tuple[bool, Any]:
        """Run a plain SELECT on the reader; (False, None) when it must go through the writer instead."""
        # Only when no write is in flight, so a read never overtakes a write issued before it.
        if self._reader is None or self._lock.locked() or sql.lstrip()[:6].upper() != "SELECT":
            return False, None
        try:
            return True, fn(self._reader, sql, params)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                return False, None  # a checkpoint in progress: take the writer's path (it waits politely)
            raise _storage_error(exc) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        done, row = self._read_now(_run_fetchone, sql, params)
        if done:
            return row  # type: ignore[no-any-return]
        async with self._lock:
            return await Tx(self.conn).fetchone(sql, params)

    async def fetchall_bulk(self, sql: str, params: Params = ()) -> list[Row]:
        """A big read (thousands of rows, megabytes of text) through the store's worker thread, never on the event
        loop: :meth:`fetchall` reads small results on the loop's own thread, where 2,000 long rows took 20 ms."""
        async with self._lock:
            return await Tx(self.conn).fetchall(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        done, rows = self._read_now(_run_fetchall, sql, params)
        if done:
            return rows  # type: ignore[no-any-return]
        async with self._lock:
            return await Tx(self.conn).fetchall(sql, params)
