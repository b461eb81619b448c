"""The one place where the repositories' SQL (written for SQLite, kept portable) becomes PostgreSQL.

Repositories write ``?`` placeholders and portable SQL. :func:`to_postgres` turns a statement into what asyncpg
runs: ``$1..$n`` placeholders (a ``?`` inside a string literal, a quoted name or a comment is left alone),
``:name`` placeholders when the parameters are a mapping, ``INSERT OR IGNORE`` as ``ON CONFLICT DO NOTHING``,
and ``RETURNING id`` on an INSERT into a table with an identity ``id`` so the caller gets ``lastrowid`` as on
SQLite. What cannot be translated mechanically (``INSERT OR REPLACE``, ``COLLATE NOCASE``, a bare ``?`` used
as a boolean, scalar ``max(a, b)``) is written portably in the repository instead; :func:`to_postgres` refuses
the first two loudly rather than guess.

:func:`schema_to_postgres` does the same for a migration file: Discord ids exceed 2^31, so ``INTEGER`` becomes
``BIGINT``; ``INTEGER PRIMARY KEY AUTOINCREMENT`` an identity column; ``BLOB`` ``BYTEA``; ``REAL`` ``DOUBLE
PRECISION``; ``TEXT`` compares byte-wise (``COLLATE "C"``, as SQLite's default BINARY collation does, so
``ORDER BY`` gives the same order on both); ``WITHOUT ROWID`` is dropped. A migration that needs more ships a
``NNN-name.postgres.sql`` next to it (see ``db.migrate``).

Pure functions, no database: tested in ``tests/db/test_dialect.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+(\w+)\s+)?INTO\s+(\w+)", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^(\s*INSERT\s+)OR\s+IGNORE\s+", re.IGNORECASE)
_NOCASE = re.compile(r"\bCOLLATE\s+NOCASE\b", re.IGNORECASE)
_AUTOINCREMENT_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(\s*id\s+INTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT",
    re.IGNORECASE,
)


class DialectError(ValueError):
    """A statement uses SQLite-only SQL that must be written portably in its repository."""


@dataclass(frozen=True, slots=True)
class PgStatement:
    """A statement as PostgreSQL runs it."""

    sql: str
    names: tuple[str, ...]  # for mapping parameters: the name of each $n, in order; () for positional ones
    returns_rows: bool  # it has a RETURNING clause (ours or the caller's) or is a query
    added_returning_id: bool  # RETURNING id was appended to give lastrowid


def _scan(sql: str) -> Iterable[tuple[bool, str]]:
    """Split ``sql`` into (is_code, text) pieces; string literals, quoted names and comments are not code."""
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            if i > start:
                yield True, sql[start:i]
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # '' or "" inside: an escaped quote
                        j += 2
                        continue
                    break
                j += 1
            yield False, sql[i : j + 1]
            i = start = j + 1
        elif c == "-" and sql.startswith("--", i):
            if i > start:
                yield True, sql[start:i]
            j = sql.find("\n", i)
            j = n if j < 0 else j
            yield False, sql[i:j]
            i = start = j
        elif c == "/" and sql.startswith("/*", i):
            if i > start:
                yield True, sql[start:i]
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            yield False, sql[i:j]
            i = start = j
        else:
            i += 1
    if start < n:
        yield True, sql[start:]


_QUERY = re.compile(r"\s*(SELECT|WITH|VALUES|SHOW|TABLE)\b", re.IGNORECASE)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=2048)
def to_postgres(sql: str, named: bool = False, identity_tables: frozenset[str] = frozenset()) -> PgStatement:
    """Translate one statement (see the module docstring); cached, so a hot statement costs a dict lookup."""
    insert = _INSERT.match(sql)
    if insert and insert.group(1) and insert.group(1).upper() != "IGNORE":
        raise DialectError(
            f"INSERT OR {insert.group(1).upper()} is SQLite-only: write INSERT ... ON CONFLICT (...) DO UPDATE"
        )
    pieces: list[str] = []
    names: list[str] = []
    count = 0
    for is_code, text in _scan(sql):
        if not is_code:
            pieces.append(text)
            continue
        if _NOCASE.search(text):
            raise DialectError("COLLATE NOCASE is SQLite-only: compare lower(a) = lower(b) instead")
        if named:
            def _name(m: re.Match[str]) -> str:
                names.append(m.group(1))
                return f"${len(names)}"

            text = _NAMED.sub(_name, text)
        elif "?" in text:
            parts = text.split("?")
            out = [parts[0]]
            for part in parts[1:]:
                count += 1
                out.append(f"${count}")
                out.append(part)
            text = "".join(out)
        pieces.append(text)
    out_sql = "".join(pieces).rstrip().rstrip(";")
    has_returning = _RETURNING.search(out_sql) is not None
    added = False
    if insert:
        if insert.group(1):  # OR IGNORE
            out_sql = _OR_IGNORE.sub(r"\1", out_sql)
            if has_returning:
                head, sep, tail = out_sql.rpartition(" RETURNING ")
                out_sql = f"{head} ON CONFLICT DO NOTHING{sep}{tail}"
            else:
                out_sql += " ON CONFLICT DO NOTHING"
        if not has_returning and insert.group(2).lower() in identity_tables:
            out_sql += " RETURNING id"
            added = has_returning = True
    query = _QUERY.match(out_sql) is not None
    return PgStatement(out_sql, tuple(names), has_returning or query, added)


def is_plain_query(sql: str) -> bool:
    """A SELECT that writes nothing (no RETURNING, no FOR UPDATE): it may run beside a unit of work."""
    return re.match(r"\s*SELECT\b", sql, re.IGNORECASE) is not None and not re.search(
        r"\bRETURNING\b|\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b", sql, re.IGNORECASE
    )


def bind(statement: PgStatement, params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any]:
    """The arguments in ``$n`` order."""
    if isinstance(params, Mapping):
        return [params[name] for name in statement.names]
    return params


def rowcount_from_status(status: str) -> int:
    """asyncpg's command tag (``UPDATE 3``, ``INSERT 0 1``, ``DELETE 0``) -> rows affected; -1 when it has none."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


# --------------------------------------------------------------------------- schema (migrations)

_TYPE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.IGNORECASE),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\b", re.IGNORECASE), ")"),
)


def schema_to_postgres(sql: str) -> str:
    """A migration written for SQLite, as PostgreSQL DDL (comments and string literals are left alone)."""
    out: list[str] = []
    for is_code, text in _scan(sql):
        if is_code:
            for pattern, replacement in _TYPE_RULES:
                text = pattern.sub(replacement, text)
        out.append(text)
    return "".join(out)


def identity_tables(migration_sql: Iterable[str]) -> frozenset[str]:
    """Tables whose ``id`` is ``INTEGER PRIMARY KEY AUTOINCREMENT`` (an INSERT into them gets ``RETURNING id``)."""
    found: set[str] = set()
    for sql in migration_sql:
        found.update(m.group(1).lower() for m in _AUTOINCREMENT_TABLE.finditer(sql))
    return frozenset(found)


# --------------------------------------------------------------------------- URLs


def is_postgres_url(value: str) -> bool:
    return value.strip().lower().startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (also one given as ``?password=``): safe for logs."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "postgresql://<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}" if ":" in userinfo else f"{user}@{hostinfo}"
    query = re.sub(r"(?i)(^|&)(password)=[^&]*", r"\1\2=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_without_password(url: str) -> str:
    """The URL with no password at all (for a command the operator runs; the tool asks for it)."""
    redacted = redact_url(url)
    return re.sub(r"^([a-z]+://[^:/@]*):\*\*\*@", r"\1@", redacted).replace("password=***&", "").replace(
        "?password=***", ""
    ).replace("&password=***", "")
