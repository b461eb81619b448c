"""The PostgreSQL store: an asyncpg pool behind the same surface as the SQLite :class:`~db.store.Store`.

``FILMCLUB_DB=postgresql://user:pass@host:port/db`` (or ``postgres://``) selects it (see :func:`db.make_store`).
Every statement goes through :func:`db.dialect.to_postgres` (placeholders, ``lastrowid``), so the repositories
are the SQLite ones, unchanged.

Units of work keep the SQLite semantics inside one process: a per-process lock around each unit of work (and
each write outside one), so one task's transaction never interleaves with another task's statements, and a
read outside a unit of work waits for the one in flight instead of overtaking it. Reads outside a unit of work
otherwise go straight to the pool. Across processes (several clusters on one database) safety comes from
atomic single statements (the scheduler's ``UPDATE ... WHERE status = 'pending' RETURNING``) and from each
cluster owning disjoint servers; PostgreSQL's default READ COMMITTED isolation is enough for both.

:meth:`version` is always None: another process may write at any time, so ``db.cache`` never serves a cached
answer from a PostgreSQL store. The password never appears in :attr:`label`, ``repr``, a log line or an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from db import dialect
from db.store import ExecResult, IntegrityError, Params, Row, StorageUnavailable, Store, StoreError, Tx

log = logging.getLogger(__name__)

POOL_MIN, POOL_MAX = 1, 10
CONNECT_TIMEOUT = 10.0


def _decode_numeric(text: str) -> int | float:
    """SUM() of integers is NUMERIC on PostgreSQL: an int as on SQLite; AVG() and other fractions a float."""
    if "." in text or "e" in text or "E" in text or text in ("NaN", "Infinity", "-Infinity"):
        return float(text)
    return int(text)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_decode_numeric, format="text"
    )


def _error(exc: BaseException, label: str) -> StoreError:
    """An asyncpg error as the store's own (the message never holds the URL, so never the password)."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(str(exc))
    if isinstance(exc, (asyncpg.DiskFullError, asyncpg.ReadOnlySQLTransactionError,
                        asyncpg.InsufficientResourcesError, asyncpg.CannotConnectNowError,
                        asyncpg.ConnectionDoesNotExistError, ConnectionError, OSError)):
        return StorageUnavailable(f"The database {label} cannot be written now: {exc}")
    return StoreError(str(exc))


_PG_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class PgTx(Tx):
    """A unit of work on one pooled connection inside BEGIN ... COMMIT (``isinstance(tx, Tx)`` holds)."""

    def __init__(self, conn: asyncpg.Connection, store: PgStore) -> None:
        self._undo: list[Callable[[], None]] = []
        self._pg = conn
        self._store = store

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        return await self._store._execute_on(self._pg, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._store._executemany_on(self._pg, sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._store._fetch_on(self._pg, sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._store._fetch_on(self._pg, sql, params)


class PgStore(Store):
    """A PostgreSQL database behind the :class:`Store` surface (see the module docstring)."""

    def __init__(self, url: str, *, backup_done: str | None = None, pool_max: int = POOL_MAX) -> None:
        # Not Store.__init__: there is no file. ``path`` stays unset on purpose (nothing may be written beside it).
        self._url = url.strip()
        self._label = dialect.redact_url(self._url)
        #: The operator's confirmation that a dump of the current schema exists (``FILMCLUB_PG_BACKUP_DONE``).
        self.backup_done = backup_done
        self._pool: asyncpg.Pool | None = None
        self._pool_max = pool_max
        self._lock = asyncio.Lock()
        self._writes = 0
        self._identity: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"PgStore({self._label})"

    @property
    def label(self) -> str:
        return self._label

    @property
    def url(self) -> str:
        """The full URL, password included: for connecting only, never for a message."""
        return self._url

    @property
    def conn(self) -> Any:
        raise StoreError("A PostgreSQL store has no single connection; use transaction() or the pool.")

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("The store is not open.")
        return self._pool

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self) -> None:
        """Connect the pool (and check the server answers)."""
        from db.migrate import load_migrations  # the identity tables come from the shipped schema

        self._identity = dialect.identity_tables(m.sql for m in load_migrations())
        # asyncpg reads postgres:// and postgresql:// alike.
        try:
            pool = await asyncpg.create_pool(
                self._url, min_size=POOL_MIN, max_size=self._pool_max, init=_init_connection,
                timeout=CONNECT_TIMEOUT, command_timeout=60,
            )
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
            raise StoreError(f"PostgreSQL refused the login to {self._label}: {exc}") from exc
        except asyncpg.InvalidCatalogNameError as exc:
            raise StoreError(f"The database {self._label} does not exist: {exc}. Create it (createdb) first.") from exc
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            text = str(exc).replace(self._url, self._label)
            raise StorageUnavailable(f"Cannot open the database {self._label}: {type(exc).__name__}: {text}") from exc
        assert pool is not None
        self._pool = pool

    def learn_identity_tables(self, sql: Iterable[str]) -> None:
        """Tables added by migrations beyond the shipped ones (tests) whose INSERTs report ``lastrowid``."""
        self._identity = self._identity | dialect.identity_tables(sql)

    @property
    def identity_tables(self) -> frozenset[str]:
        """Tables whose ``id`` PostgreSQL numbers itself (identity columns)."""
        return self._identity

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                try:
                    await asyncio.wait_for(pool.close(), timeout=10)
                except (TimeoutError, *_PG_ERRORS):
                    pool.terminate()

    def version(self) -> tuple[int, int] | None:
        return None  # another cluster may write at any time: read models never cache on PostgreSQL

    # ------------------------------------------------------------------ statements on one connection
    def _translate(self, sql: str, params: Params) -> tuple[dialect.PgStatement, Any]:
        stmt = dialect.to_postgres(sql, isinstance(params, dict), self._identity)
        return stmt, dialect.bind(stmt, params)

    async def _execute_on(self, conn: asyncpg.Connection, sql: str, params: Params) -> ExecResult:
        stmt, args = self._translate(sql, params)
        try:
            if stmt.returns_rows:
                rows = await conn.fetch(stmt.sql, *args)
                lastrowid = int(rows[-1][0]) if stmt.added_returning_id and rows else None
                return ExecResult(len(rows), lastrowid)
            status = await conn.execute(stmt.sql, *args)
            return ExecResult(dialect.rowcount_from_status(status), None)
        except _PG_ERRORS as exc:
            raise _error(exc, self._label) from exc

    async def _executemany_on(self, conn: asyncpg.Connection, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)
        if not batch:
            return
        stmt = dialect.to_postgres(sql, isinstance(batch[0], dict), frozenset())  # no RETURNING in a batch
        try:
            await conn.executemany(stmt.sql, [dialect.bind(stmt, r) for r in batch])
        except _PG_ERRORS as exc:
            raise _error(exc, self._label) from exc

    async def _fetch_on(self, conn: asyncpg.Connection | asyncpg.Pool, sql: str, params: Params) -> list[Row]:
        stmt, args = self._translate(sql, params)
        try:
            return list(await conn.fetch(stmt.sql, *args))
        except _PG_ERRORS as exc:
            raise _error(exc, self._label) from exc

    # ------------------------------------------------------------------ the Store surface
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """``async with store.transaction() as tx:`` commits on success, rolls back on error."""
        async with self._lock:
            try:
                async with self.pool.acquire() as conn:
                    tx = PgTx(conn, self)
                    pg_tx = conn.transaction()
                    try:
                        await pg_tx.start()
                    except _PG_ERRORS as exc:
                        raise _error(exc, self._label) from exc
                    try:
                        yield tx
                    except BaseException:
                        try:
                            await pg_tx.rollback()
                        except _PG_ERRORS:
                            log.exception("rollback failed")
                        tx._rolled_back()
                        raise
                    try:
                        await pg_tx.commit()
                    except _PG_ERRORS as exc:
                        try:
                            await pg_tx.rollback()
                        except _PG_ERRORS:
                            pass
                        tx._rolled_back()
                        raise _error(exc, self._label) from exc
            finally:
                self._writes += 1

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async with self._lock:
            try:
                async with self.pool.acquire() as conn:
                    return await self._execute_on(conn, sql, params)
            finally:
                self._writes += 1

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def _read(self, sql: str, params: Params) -> list[Row]:
        # A read issued while a unit of work is in flight waits for it, as on SQLite (never overtakes a write
        # issued before it); otherwise it runs at once on any pooled connection. A write with RETURNING read
        # through fetchone/fetchall outside a unit of work takes the lock like any write.
        stmt = dialect.to_postgres(sql, isinstance(params, dict), self._identity)
        if self._lock.locked() or not dialect.is_plain_query(stmt.sql):
            async with self._lock:
                return await self._fetch_on(self.pool, sql, params)
        return await self._fetch_on(self.pool, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._read(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._read(sql, params)

    async def fetchall_bulk(self, sql: str, params: Params = ()) -> list[Row]:
        """A big read: asyncpg decodes off the loop's Python code paths in C; the same as :meth:`fetchall`."""
        return await self._read(sql, params)
