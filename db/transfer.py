"""Moving a club's database to another store: ``python -m bot migrate-store --from SRC --to DST``.

SRC and DST are each an SQLite file path or a PostgreSQL URL (``postgresql://user:pass@host/db``). The copy:

1. opens the source and refuses it unless its schema is exactly this bot's: every shipped migration applied and
   none newer (the operator starts the bot once on an older database, or upgrades the bot for a newer one);
2. refuses a target holding any table: it must be a new file or an empty database;
3. migrates the target to the same version, so its ``schema_migrations`` is its own;
4. copies every other table found in the source's schema (never a hand-kept list), parents before children so
   each foreign key finds its row, each table in primary-key order and in batches (BLOBs as bytes). A column
   pointing into its own table (a runoff poll's ``runoff_of``) is filled in after the table's rows, so the order
   of the rows cannot break it. Ids are copied as they are, so every reference still points at the same row;
5. sets each id sequence of the target past the highest id the source ever handed out (its sequence, not only the
   rows kept), so a row added after the move never takes an id that a deleted row once had;
6. counts every table on both sides, inside the same transactions as the copy (the source's is a snapshot that
   no writer can change under it), and commits only if every count matches.

Any failure leaves the target as it was. An SQLite target is built in a temporary file beside it and renamed into
place only once the copy is complete and counted; a PostgreSQL target has every table the move created dropped
again. A PostgreSQL URL's password never appears in what this module logs, returns or raises (:func:`describe`).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from db.dialect import is_postgres_url, redact_url
from db.migrate import load_migrations, migrate
from db.store import Store, StoreError

log = logging.getLogger(__name__)

#: Rows read and written per statement batch.
BATCH = 500
#: The migrations' own table: written by migrating the target, never copied.
MIGRATIONS_TABLE = "schema_migrations"


class TransferError(StoreError):
    """The move did not happen; the message is one line for the operator (never a password)."""

    exit_code = 1


class TransferRefused(TransferError):
    """The move was refused before anything was written (wrong schema version, target not empty, ...)."""

    exit_code = 2


class CountMismatch(TransferError):
    """The copy finished but a table's row count differs; nothing was kept."""

    def __init__(self, message: str, counts: list[TableCount]) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class TableCount:
    """One line of the final check: a table and its rows on each side."""

    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class TransferReport:
    """What a finished move did."""

    source: str  # described: a path, or a URL without its password
    target: str
    version: int
    counts: list[TableCount]

    @property
    def rows(self) -> int:
        return sum(c.target for c in self.counts if c.table != MIGRATIONS_TABLE)


def is_url(location: str) -> bool:
    """Whether a store location is a PostgreSQL URL rather than an SQLite file path."""
    return is_postgres_url(location)


def passwords_of(location: str) -> list[str]:
    """The password of a PostgreSQL URL (as written and decoded; in the user part or as ``?password=``)."""
    if not is_url(location):
        return []
    try:
        parts = urlsplit(location.strip())
        found = [parts.password or ""] + [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
        found += re.findall(r"(?i)(?:^|&)password=([^&]*)", parts.query)
    except ValueError:
        return []
    return sorted({p for f in found if f for p in (f, unquote(f))}, key=len, reverse=True)


def describe(location: str) -> str:
    """A store location fit for output and logs: a PostgreSQL URL's password is replaced by ``***``."""
    return redact_url(location) if is_url(location) else location


def scrub(text: str, *locations: str) -> str:
    """``text`` with the password of every location in it replaced by ``***``."""
    for location in locations:
        for secret in passwords_of(location):
            text = text.replace(secret, "***")
    return text


def quote(name: str) -> str:
    """An identifier quoted for both SQLite and PostgreSQL (names come from the schema, never from users)."""
    return '"' + name.replace('"', '""') + '"'


# ----------------------------------------------------------------------------------------------- schema model


@dataclass(frozen=True)
class Column:
    name: str
    pk: int  # position in the primary key (1-based), 0 when not part of it
    notnull: bool


@dataclass(frozen=True)
class Table:
    """A table as read from a store's catalogue."""

    name: str
    columns: tuple[Column, ...]
    parents: frozenset[str] = frozenset()  # other tables its foreign keys point at
    self_refs: tuple[str, ...] = ()  # columns pointing into this same table
    identity: str | None = None  # the column a sequence hands values out for
    identity_always: bool = False  # PostgreSQL's GENERATED ALWAYS: explicit ids need OVERRIDING SYSTEM VALUE

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key(self) -> list[str]:
        """The primary key's columns in key order (all columns when there is none)."""
        pk = sorted((c for c in self.columns if c.pk), key=lambda c: c.pk)
        return [c.name for c in pk] or self.column_names


def copy_order(tables: Iterable[Table]) -> list[Table]:
    """The tables with every table after the tables its foreign keys point at (ties by name)."""
    pending = {t.name: t for t in tables}
    done: list[Table] = []
    while pending:
        ready = sorted(n for n, t in pending.items() if not (t.parents & pending.keys()))
        if not ready:
            raise TransferError(
                "The tables' foreign keys form a cycle (" + ", ".join(sorted(pending)) + "); cannot order the copy."
            )
        for name in ready:
            done.append(pending.pop(name))
    return done


class Executor(Protocol):
    """What the copy needs of a store or of one of its units of work (either backend)."""

    async def fetchall(self, sql: str, params: Any = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Any = ()) -> Any: ...

    async def execute(self, sql: str, params: Any = ()) -> Any: ...

    async def executemany(self, sql: str, rows: Iterable[Any]) -> None: ...


# ------------------------------------------------------------------------------------------------- the sides


class Side:
    """One end of the move: a store of one backend, and the catalogue queries that backend needs."""

    kind = ""

    def __init__(self, location: str) -> None:
        self.location = location
        self.label = describe(location)
        self.store: Store | None = None

    async def open_source(self) -> None:
        raise NotImplementedError

    async def open_target(self) -> None:
        """Open the target, refusing it unless it holds no table at all."""
        raise NotImplementedError

    async def migrate(self) -> int:
        raise NotImplementedError

    @property
    def _store(self) -> Store:
        if self.store is None:
            raise StoreError("The store is not open.")
        return self.store

    @property
    def db(self) -> Executor:
        """The open store, for reads outside the copy's transaction."""
        return self._store

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def snapshot(self, ex: Executor) -> None:
        """Run first in the source's transaction: make every read of the copy see one moment."""

    async def commit_target(self) -> None:
        """Called once the copy is committed and counted: make the target the real one."""

    async def discard_target(self) -> None:
        """Called after any failure once the target was opened: leave it as it was found."""

    async def tables(self, ex: Executor) -> list[str]:
        raise NotImplementedError

    async def table(self, ex: Executor, name: str) -> Table:
        raise NotImplementedError

    async def high_water(self, ex: Executor, table: Table) -> int:
        """The highest id the table's sequence has handed out (0 when none or no sequence)."""
        return 0

    async def set_high_water(self, ex: Executor, table: Table, value: int) -> None:
        """Make the table's sequence hand out ids above ``value`` next."""

    def insert_sql(self, table: Table, columns: Sequence[str]) -> str:
        cols = ", ".join(quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        return f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks})"

    def adapt(self, value: Any) -> Any:
        """A value read from the other side, as this side stores it."""
        if isinstance(value, memoryview | bytearray):
            return bytes(value)
        return value

    async def applied_versions(self, ex: Executor) -> set[int]:
        if MIGRATIONS_TABLE not in await self.tables(ex):
            return set()
        rows = await ex.fetchall(f"SELECT version FROM {quote(MIGRATIONS_TABLE)}")
        return {int(r[0]) for r in rows}


class SqliteSide(Side):
    """An SQLite file. As a target it is built in a temporary file beside the real one, renamed in at the end."""

    kind = "sqlite"

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.path = Path(location)
        self.building: Path | None = None
        self.made_folders: list[Path] = []

    async def open_source(self) -> None:
        if not self.path.is_file():
            raise TransferRefused(f"The source {self.path} does not exist (give the bot's database file).")
        if self.path.stat().st_size == 0:
            raise TransferRefused(f"The source {self.path} is empty: it is not a filmclub database.")
        self.store = Store(self.path)
        await self.store.open()

    async def open_target(self) -> None:
        if self.path.is_dir():
            raise TransferRefused(f"The target {self.path} is a folder; give a new database file's path.")
        if self.path.exists() and self.path.stat().st_size > 0:
            names = _sqlite_tables_of(self.path)
            if names is None:
                raise TransferRefused(f"The target {self.path} exists and is not an SQLite database; "
                                      "give a new file's path.")
            if names:
                raise TransferRefused(
                    f"The target {self.path} is not empty ({len(names)} tables, e.g. {names[0]}); "
                    "migrate-store only fills a new file or an empty database."
                )
        for suffix in ("-wal", "-journal"):
            if Path(f"{self.path}{suffix}").exists():
                raise TransferRefused(f"The target {self.path} has a {suffix[1:]} file beside it: it is in use "
                                      "or was not closed cleanly; give a new file's path.")
        self.building = self.path.with_name(f".{self.path.name}.migrate-store-{os.getpid()}")
        _remove_sqlite_files(self.building)
        # Folders the store creates for the new file, removed again if the move fails.
        self.made_folders = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.store = Store(self.building)
        await self.store.open()

    async def migrate(self) -> int:
        return await migrate(self._store)

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return self._store.transaction()

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()

    async def commit_target(self) -> None:
        assert self.building is not None
        # Fold the write-ahead log into the file, so the file alone is the whole database when renamed.
        await self._store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await self.close()
        wal = Path(f"{self.building}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise TransferError(f"The new database's write-ahead log was not folded in ({wal}).")
        os.replace(self.building, self.path)
        _remove_sqlite_files(self.building)
        self.building = None

    async def discard_target(self) -> None:
        await self.close()
        if self.building is not None:
            _remove_sqlite_files(self.building)
            self.building = None
        for folder in self.made_folders:  # innermost first
            try:
                folder.rmdir()
            except OSError:
                break

    async def tables(self, ex: Executor) -> list[str]:
        rows = await ex.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "ORDER BY name"
        )
        return [str(r[0]) for r in rows]

    async def table(self, ex: Executor, name: str) -> Table:
        cols = await ex.fetchall("SELECT name, pk, \"notnull\", type FROM pragma_table_info(?) ORDER BY cid", (name,))
        fks = await ex.fetchall('SELECT "table", "from" FROM pragma_foreign_key_list(?)', (name,))
        ddl = await ex.fetchone("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        columns = tuple(Column(str(c[0]), int(c[1]), bool(c[2])) for c in cols)
        identity = None
        pk = [c for c in cols if int(c[1])]
        autoincrement = "AUTOINCREMENT" in str(ddl[0] if ddl else "").upper()
        if len(pk) == 1 and str(pk[0][3]).upper() == "INTEGER" and autoincrement:
            identity = str(pk[0][0])
        return Table(
            name=name,
            columns=columns,
            parents=frozenset(str(f[0]) for f in fks if str(f[0]) != name),
            self_refs=tuple(str(f[1]) for f in fks if str(f[0]) == name),
            identity=identity,
        )

    async def high_water(self, ex: Executor, table: Table) -> int:
        if table.identity is None:
            return 0
        row = await ex.fetchone("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,))
        return int(row[0]) if row and row[0] is not None else 0

    async def set_high_water(self, ex: Executor, table: Table, value: int) -> None:
        if table.identity is None or value <= 0:
            return
        # Inserting explicit ids already moved the sequence to the highest id copied; raise it to the source's.
        done = await ex.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?",
                                (value, table.name, value))
        if done.rowcount == 0 and await ex.fetchone("SELECT 1 FROM sqlite_sequence WHERE name = ?",
                                                    (table.name,)) is None:
            await ex.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, value))

    def adapt(self, value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return super().adapt(value)


def _sqlite_tables_of(path: Path) -> list[str] | None:
    """The table names in an existing SQLite file, or None when it is not one (read-only, nothing changed)."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name").fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(f"{path}{suffix}").unlink()
        except FileNotFoundError:
            pass


class PgSide(Side):
    """A PostgreSQL database (its current schema). As a target, every table the move created is dropped again
    after a failure; the copy itself is one transaction, so a failure midway leaves no rows behind either."""

    kind = "postgres"

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.created = False

    async def _open(self) -> None:
        try:
            from db.pgstore import PgStore
        except ImportError as exc:  # asyncpg missing: say so instead of a traceback
            raise TransferRefused(f"PostgreSQL support is not installed ({exc}).") from exc
        store = PgStore(self.location)
        await store.open()
        self.store = store

    async def open_source(self) -> None:
        await self._open()

    async def open_target(self) -> None:
        await self._open()
        names = await self._relations(self.db)
        if names:
            raise TransferRefused(
                f"The target {self.label} is not empty ({len(names)} tables, sequences or views, e.g. {names[0]}); "
                "migrate-store only fills an empty database (createdb a new one)."
            )
        self.created = True

    async def migrate(self) -> int:
        return await migrate(self._store)

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return self._store.transaction()

    async def commit_target(self) -> None:
        try:
            await self._store.execute("ANALYZE")  # planner statistics for the freshly loaded tables
        except StoreError as exc:  # the copy is committed and counted: autovacuum will catch up
            log.warning("ANALYZE after the move failed: %s", exc)

    async def snapshot(self, ex: Executor) -> None:
        # The first statement of the source's transaction: every read sees the database as of one moment.
        await ex.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def discard_target(self) -> None:
        if not self.created:
            return
        if self.store is None:
            await self._open()
        names = await self.tables(self.db)
        if names:
            await self._store.execute("DROP TABLE IF EXISTS " + ", ".join(quote(n) for n in names) + " CASCADE")
        left = await self._relations(self.db)
        if left:
            log.warning("the target %s still holds %s after the failed move", self.label, ", ".join(left))

    async def _relations(self, ex: Executor) -> list[str]:
        """Every table, view, sequence or other relation in the database's current schema."""
        rows = await ex.fetchall(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    async def tables(self, ex: Executor) -> list[str]:
        rows = await ex.fetchall(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    async def table(self, ex: Executor, name: str) -> Table:
        cols = await ex.fetchall(
            "SELECT column_name, is_nullable, identity_generation, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (name,),
        )
        keys = await ex.fetchall(
            "SELECT a.attname, k.pos FROM pg_constraint c"
            " CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, pos)"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum"
            " WHERE c.contype = 'p' AND c.conrelid = ("
            "  SELECT oid FROM pg_class WHERE relname = ? AND relnamespace = current_schema()::regnamespace)",
            (name,),
        )
        fks = await ex.fetchall(
            "SELECT p.relname, a.attname FROM pg_constraint c"
            " JOIN pg_class p ON p.oid = c.confrelid"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.conrelid = ("
            "  SELECT oid FROM pg_class WHERE relname = ? AND relnamespace = current_schema()::regnamespace)",
            (name,),
        )
        pk = {str(k[0]): int(k[1]) for k in keys}
        columns = tuple(Column(str(c[0]), pk.get(str(c[0]), 0), str(c[1]) == "NO") for c in cols)
        identity = next(
            (str(c[0]) for c in cols if c[2] is not None or str(c[3] or "").startswith("nextval(")), None
        )
        always = any(str(c[0]) == identity and str(c[2] or "").upper() == "ALWAYS" for c in cols)
        return Table(
            name=name,
            columns=columns,
            parents=frozenset(str(f[0]) for f in fks if str(f[0]) != name),
            self_refs=tuple(str(f[1]) for f in fks if str(f[0]) == name),
            identity=identity,
            identity_always=always,
        )

    async def high_water(self, ex: Executor, table: Table) -> int:
        if table.identity is None:
            return 0
        row = await ex.fetchone(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(?, ?)::regclass)", (quote(table.name), table.identity)
        )
        return int(row[0]) if row and row[0] is not None else 0

    async def set_high_water(self, ex: Executor, table: Table, value: int) -> None:
        if table.identity is None or value <= 0:
            return  # a fresh sequence already starts at 1
        await ex.fetchone(
            "SELECT setval(pg_get_serial_sequence(?, ?), ?, true)", (quote(table.name), table.identity, value)
        )

    def insert_sql(self, table: Table, columns: Sequence[str]) -> str:
        sql = super().insert_sql(table, columns)
        if table.identity_always and table.identity in columns:
            sql = sql.replace(") VALUES (", ") OVERRIDING SYSTEM VALUE VALUES (", 1)
        return sql


SIDES: dict[str, Callable[[str], Side]] = {"sqlite": SqliteSide, "postgres": PgSide}


def side_for(location: str) -> Side:
    """The side for a location: a PostgreSQL URL or an SQLite file path."""
    if is_url(location):
        return SIDES["postgres"](location)
    if not location.strip():
        raise TransferRefused("Give a database: an SQLite file path or a postgresql:// URL.")
    return SqliteSide(location)


# -------------------------------------------------------------------------------------------------- the move


@dataclass
class _Plan:
    tables: list[Table]
    high_water: dict[str, int] = field(default_factory=dict)


async def transfer(source: str, target: str, *, batch: int = BATCH) -> TransferReport:
    """Copy the filmclub database at ``source`` into the empty store at ``target`` (see the module docstring).

    Raises :class:`TransferRefused` before anything is written, :class:`TransferError` (or its
    :class:`CountMismatch`) when the copy failed and the target was left as it was found.
    """
    src, dst = side_for(source), side_for(target)
    if src.kind == dst.kind == "sqlite" and _same_file(source, target):
        raise TransferRefused("The source and the target are the same file.")
    if src.kind == dst.kind and src.kind != "sqlite" and source.strip() == target.strip():
        raise TransferRefused("The source and the target are the same database.")
    try:
        return await _transfer(src, dst, batch)
    except TransferError as exc:
        exc.args = (scrub(str(exc), source, target),)
        raise
    except StoreError as exc:
        raise TransferRefused(scrub(str(exc), source, target)) from None


def _same_file(a: str, b: str) -> bool:
    pa, pb = Path(a).resolve(), Path(b).resolve()
    if pa == pb:
        return True
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


async def _transfer(src: Side, dst: Side, batch: int) -> TransferReport:
    shipped = {m.version for m in load_migrations()}
    latest = max(shipped)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(src.close)
        await src.open_source()
        applied = await src.applied_versions(src.db)
        _check_version(src.label, applied, shipped, latest)

        stack.push_async_callback(dst.close)
        await dst.open_target()
        try:
            version = await dst.migrate()
            if version != latest:
                raise TransferError(f"Migrating the target stopped at version {version}, not {latest}.")
            counts = await _copy(src, dst, batch)
            await dst.commit_target()
        except BaseException as exc:
            try:
                await dst.discard_target()
            except Exception as cleanup:
                log.exception("could not clean up the target %s", dst.label)
                raise TransferError(
                    f"The copy failed ({_one_line(exc)}) and so did emptying the target ({_one_line(cleanup)}): "
                    f"{dst.label} may hold part of the copy; empty it (drop its tables, or delete the file) before "
                    "trying again."
                ) from exc
            if isinstance(exc, TransferError) or not isinstance(exc, Exception):
                raise
            hint = " (is the bot still running? stop it first)" if "locked" in str(exc).lower() else ""
            raise TransferError(f"The copy failed and the target was left empty: {_one_line(exc)}{hint}") from exc
    return TransferReport(src.label, dst.label, latest, counts)


def _check_version(label: str, applied: set[int], shipped: set[int], latest: int) -> None:
    if not applied:
        raise TransferRefused(f"The source {label} is not a filmclub database (it has no schema version).")
    newer = sorted(v for v in applied if v not in shipped)
    if newer:
        raise TransferRefused(
            f"The source {label} has schema version {max(applied)}, newer than this filmclub knows ({latest}): "
            "upgrade the bot, then run migrate-store again."
        )
    missing = sorted(shipped - applied)
    if missing:
        raise TransferRefused(
            f"The source {label} has schema version {max(applied)}, older than this filmclub's ({latest}): "
            "start the bot once on it (FILMCLUB_DB) so it migrates, stop it, then run migrate-store again."
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


async def _copy(src: Side, dst: Side, batch: int) -> list[TableCount]:
    async with src.transaction() as stx, dst.transaction() as dtx:
        await src.snapshot(stx)
        source_names = [n for n in await src.tables(stx) if n != MIGRATIONS_TABLE]
        target_names = [n for n in await dst.tables(dtx) if n != MIGRATIONS_TABLE]
        if set(source_names) != set(target_names):
            only_source = sorted(set(source_names) - set(target_names))
            only_target = sorted(set(target_names) - set(source_names))
            raise TransferError(
                "The source's tables differ from this filmclub's schema"
                + (f"; only in the source: {', '.join(only_source)}" if only_source else "")
                + (f"; only in the target: {', '.join(only_target)}" if only_target else "")
            )
        counts: list[TableCount] = []
        for name in [t.name for t in copy_order([await src.table(stx, n) for n in source_names])]:
            source_table = await src.table(stx, name)
            target_table = await dst.table(dtx, name)
            if set(source_table.column_names) != set(target_table.column_names):
                raise TransferError(f"The table {name} has other columns in the source than this filmclub's.")
            copied = await _copy_table(stx, dtx, dst, source_table, target_table, batch)
            high = max(await src.high_water(stx, source_table), copied.max_id)
            await dst.set_high_water(dtx, target_table, high)
            counts.append(TableCount(name, await _count(stx, name), await _count(dtx, name)))
            log.info("copied %s: %d rows", name, copied.rows)
        counts.append(TableCount(MIGRATIONS_TABLE, await _count(stx, MIGRATIONS_TABLE),
                                 await _count(dtx, MIGRATIONS_TABLE)))
        counts.sort(key=lambda c: c.table)
        bad = [c for c in counts if not c.ok]
        if bad:
            raise CountMismatch(
                "Row counts differ (" + ", ".join(f"{c.table}: {c.source} -> {c.target}" for c in bad)
                + "); nothing was kept in the target.",
                counts,
            )
        return counts


@dataclass
class _Copied:
    rows: int = 0
    max_id: int = 0


async def _count(ex: Executor, table: str) -> int:
    row = await ex.fetchone(f"SELECT count(*) FROM {quote(table)}")
    return int(row[0]) if row else 0


async def _copy_table(
    stx: Executor, dtx: Executor, dst: Side, table: Table, target: Table, batch: int
) -> _Copied:
    """Copy one table in key order, ``batch`` rows at a time. Nullable columns pointing into the table itself are
    written after all its rows, so no row has to come before the row it points at."""
    columns = table.column_names
    not_null = {c.name for c in table.columns if c.notnull}
    later = [c for c in table.self_refs if c in columns and c not in not_null and c not in table.key]
    first_pass = [c for c in columns if c not in later]
    insert = dst.insert_sql(target, first_pass)
    key = table.key
    keyed = any(c.pk for c in table.columns)
    key_at = [columns.index(k) for k in key]
    later_at = [columns.index(c) for c in later]
    first_at = [columns.index(c) for c in first_pass]
    identity_at = columns.index(target.identity) if target.identity in columns else None
    select = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table.name)}"
    order = " ORDER BY " + ", ".join(quote(k) for k in key) + f" LIMIT {int(batch)}"
    # Keyset pages on the primary key; a table without one is paged by offset (the source is a snapshot).
    after = (
        f" WHERE {quote(key[0])} > ?" if len(key) == 1
        else " WHERE (" + ", ".join(quote(k) for k in key) + ") > (" + ", ".join("?" for _ in key) + ")"
    )
    copied = _Copied()
    fixups: list[list[Any]] = []
    last: list[Any] | None = None
    while True:
        if last is None:
            rows = await stx.fetchall(select + order + ("" if keyed else " OFFSET 0"))
        elif keyed:
            rows = await stx.fetchall(select + after + order, tuple(last))
        else:
            rows = await stx.fetchall(select + order + f" OFFSET {int(copied.rows)}")
        if not rows:
            break
        values = [[dst.adapt(v) for v in row] for row in rows]
        await dtx.executemany(insert, [[v[i] for i in first_at] for v in values])
        for v in values:
            if later_at and any(v[i] is not None for i in later_at):
                fixups.append([v[i] for i in later_at] + [v[i] for i in key_at])
            if identity_at is not None and isinstance(v[identity_at], int):
                copied.max_id = max(copied.max_id, v[identity_at])
        copied.rows += len(rows)
        last = [rows[-1][i] for i in key_at]
        if len(rows) < batch:
            break
    if fixups:
        sets = ", ".join(f"{quote(c)} = ?" for c in later)
        where = " AND ".join(f"{quote(k)} = ?" for k in key)
        update = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
        for start in range(0, len(fixups), batch):
            await dtx.executemany(update, fixups[start : start + batch])
    return copied
