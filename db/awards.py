"""Snack-award polls and ballots (SQL only; the rules live in ``bot.domain.awards``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain import markers
from bot.domain.awards import Ballot, Tally
from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

OPEN, CLOSED, CANCELLED = "open", "closed", "cancelled"

_COLUMNS = (
    "id, guild_id, channel_id, message_id, category, nominees, film_title, film_key, show_counts, status, "
    "opened_by, created_at, closes_at, closed_at, counts, winners, ballots, void_ballots, is_tie, "
    "results_message_id, runoff_of"
)


@dataclass(frozen=True)
class Poll:
    id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    category: str
    nominees: tuple[str, ...]
    film_title: str | None
    film_key: str | None
    show_counts: bool
    status: str
    opened_by: int
    created_at: int
    closes_at: int
    closed_at: int | None = None
    counts: tuple[int, ...] | None = None
    winners: tuple[int, ...] = ()
    ballots: int | None = None
    void_ballots: int = 0
    is_tie: bool = False
    results_message_id: int | None = None
    runoff_of: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def tally(self) -> Tally | None:
        if self.counts is None:
            return None
        return Tally(self.counts, self.winners)

    @property
    def close_key_prefix(self) -> str:
        return markers.award_key_prefix(self.id)

    @property
    def close_key(self) -> str:
        return markers.award_close_key(self.id)


@dataclass(frozen=True)
class PollResult:
    """A closed poll as the newsletter needs it."""

    poll_id: int
    category: str
    film_title: str | None
    film_key: str | None
    nominees: tuple[str, ...]
    counts: tuple[int, ...]
    winners: tuple[str, ...]
    is_tie: bool
    ballots: int
    closed_at: int
    runoff_of: int | None


def _from_row(row: Row) -> Poll:
    return Poll(
        id=row["id"], guild_id=row["guild_id"], channel_id=row["channel_id"], message_id=row["message_id"],
        category=row["category"], nominees=tuple(json.loads(row["nominees"])), film_title=row["film_title"],
        film_key=row["film_key"], show_counts=bool(row["show_counts"]), status=row["status"],
        opened_by=row["opened_by"], created_at=row["created_at"], closes_at=row["closes_at"],
        closed_at=row["closed_at"],
        counts=tuple(json.loads(row["counts"])) if row["counts"] is not None else None,
        winners=tuple(json.loads(row["winners"])) if row["winners"] is not None else (),
        ballots=row["ballots"], void_ballots=row["void_ballots"], is_tie=bool(row["is_tie"]),
        results_message_id=row["results_message_id"], runoff_of=row["runoff_of"],
    )


_UPSERT_BALLOT = (
    "INSERT INTO award_ballots (poll_id, user_id, choice, seen_mask, void, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (poll_id, user_id) DO UPDATE SET choice = excluded.choice, seen_mask = excluded.seen_mask, "
    "void = excluded.void, updated_at = excluded.updated_at"
)

# --------------------------------------------------------------------------- polls


async def create_poll(
    db: Executor, *, guild_id: int, channel_id: int, category: str, nominees: tuple[str, ...],
    film_title: str | None, film_key: str | None, show_counts: bool, opened_by: int, now: int,
    closes_at: int, runoff_of: int | None = None,
) -> Poll:
    result = await db.execute(
        "INSERT INTO award_polls (guild_id, channel_id, category, nominees, film_title, film_key, show_counts, "
        "opened_by, created_at, closes_at, runoff_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, channel_id, category, json.dumps(list(nominees)), film_title, film_key, int(show_counts),
         opened_by, now, closes_at, runoff_of),
    )
    assert result.lastrowid is not None
    poll = await get(db, result.lastrowid)
    assert poll is not None
    return poll


async def set_message(db: Executor, poll_id: int, message_id: int) -> None:
    await db.execute("UPDATE award_polls SET message_id = ? WHERE id = ?", (message_id, poll_id))


async def delete(db: Executor, poll_id: int) -> None:
    await db.execute("DELETE FROM award_polls WHERE id = ?", (poll_id,))


async def get(db: Executor, poll_id: int) -> Poll | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM award_polls WHERE id = ?", (poll_id,))
    return _from_row(row) if row else None


async def get_in_guild(db: Executor, guild_id: int, poll_id: int) -> Poll | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM award_polls WHERE id = ? AND guild_id = ?", (poll_id, guild_id)
    )
    return _from_row(row) if row else None


async def list_open(db: Executor, *, shards: ShardRange | None = None) -> list[Poll]:
    """Every open poll of every server, or of the servers of ``shards`` (the bot keeps them in memory to route
    reactions)."""
    mine, params = owned(shards)
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM award_polls WHERE status = 'open'{mine} ORDER BY id", params)
    return [_from_row(r) for r in rows]


async def list_for_guild(db: Executor, guild_id: int, *, closed_since: int, limit: int = 25) -> list[Poll]:
    """Open polls (soonest to close first), then polls closed since ``closed_since`` (latest first)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM award_polls WHERE guild_id = ? AND status = 'open' ORDER BY closes_at, id LIMIT ?",
        (guild_id, limit),
    )
    closed = await db.fetchall(
        f"SELECT {_COLUMNS} FROM award_polls WHERE guild_id = ? AND status = 'closed' AND closed_at >= ? "
        "ORDER BY closed_at DESC, id DESC LIMIT ?",
        (guild_id, closed_since, limit),
    )
    return [_from_row(r) for r in rows] + [_from_row(r) for r in closed]


async def list_unposted(db: Executor, *, closed_since: int, shards: ShardRange | None = None) -> list[Poll]:
    """Polls closed since ``closed_since`` whose results post is not recorded (a crash in between); only the
    servers of ``shards`` when given."""
    mine, params = owned(shards)
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM award_polls WHERE status = 'closed' AND results_message_id IS NULL "
        f"AND closed_at >= ?{mine} ORDER BY id",
        (closed_since, *params),
    )
    return [_from_row(r) for r in rows]


async def history(db: Executor, guild_id: int, category: str | None = None, limit: int = 50) -> list[Poll]:
    """Closed polls, latest first; ``category`` matches case-insensitively anywhere in the name."""
    sql = f"SELECT {_COLUMNS} FROM award_polls WHERE guild_id = ? AND status = 'closed'"
    params: list[object] = [guild_id]
    if category:
        sql += " AND lower(category) LIKE lower(?) ESCAPE '\\'"
        params.append("%" + category.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    sql += " ORDER BY closed_at DESC, id DESC LIMIT ?"
    params.append(limit)
    return [_from_row(r) for r in await db.fetchall(sql, params)]


async def categories(db: Executor, guild_id: int, prefix: str = "", limit: int = 25) -> list[str]:
    rows = await db.fetchall(
        "SELECT category, MAX(created_at) AS latest FROM award_polls WHERE guild_id = ? "
        "AND lower(category) LIKE lower(?) ESCAPE '\\' GROUP BY category ORDER BY latest DESC LIMIT ?",
        (guild_id, "%" + prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit),
    )
    return [str(r["category"]) for r in rows]


async def runoff_for(db: Executor, poll_id: int) -> Poll | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM award_polls WHERE runoff_of = ?", (poll_id,))
    return _from_row(row) if row else None


async def cancel(db: Executor, guild_id: int, poll_id: int, now: int) -> bool:
    """Cancel an open poll; False if it is not open (or not this server's)."""
    result = await db.execute(
        "UPDATE award_polls SET status = 'cancelled', closed_at = ? WHERE id = ? AND guild_id = ? AND status = 'open'",
        (now, poll_id, guild_id),
    )
    return result.rowcount == 1


async def reopen(db: Executor, guild_id: int, poll_id: int, closes_at: int) -> bool:
    """Open a cancelled poll again (its ballots were kept); False if it is not cancelled (or not this server's)."""
    result = await db.execute(
        "UPDATE award_polls SET status = 'open', closed_at = NULL, closes_at = ? "
        "WHERE id = ? AND guild_id = ? AND status = 'cancelled'",
        (closes_at, poll_id, guild_id),
    )
    return result.rowcount == 1


async def close(
    db: Executor, poll_id: int, *, now: int, ballots: Mapping[int, Ballot], result: Tally, void: int
) -> bool:
    """Store the reconciled ballots and the tally, and mark the poll closed (run it in one transaction).

    Returns False (and changes nothing) when the poll was not open: closing twice is harmless.
    """
    changed = await db.execute(
        "UPDATE award_polls SET status = 'closed', closed_at = ?, counts = ?, winners = ?, ballots = ?, "
        "void_ballots = ?, is_tie = ? WHERE id = ? AND status = 'open'",
        (now, json.dumps(list(result.counts)), json.dumps(list(result.winners)), result.ballots, void,
         int(result.is_tie), poll_id),
    )
    if changed.rowcount != 1:
        return False
    await db.executemany(
        _UPSERT_BALLOT,
        [(poll_id, user, b.choice, b.seen, int(b.void), now) for user, b in ballots.items()],
    )
    return True


async def set_results_message(db: Executor, poll_id: int, message_id: int | None) -> None:
    await db.execute("UPDATE award_polls SET results_message_id = ? WHERE id = ?", (message_id, poll_id))


# --------------------------------------------------------------------------- ballots


async def save_ballots(db: Executor, rows: Mapping[tuple[int, int], tuple[Ballot, int]]) -> None:
    """Store ballot states, ``(poll_id, user_id) -> (ballot, updated_at)``, in one statement.

    The states are absolute (the rules were applied by ``bot.domain.awards``), so a batch holds the
    latest state of each member and writing it twice is harmless.
    """
    if not rows:
        return
    await db.executemany(
        _UPSERT_BALLOT,
        [(poll_id, user_id, b.choice, b.seen, int(b.void), at) for (poll_id, user_id), (b, at) in rows.items()],
    )


async def ballots(db: Executor, poll_id: int) -> dict[int, Ballot]:
    rows = await db.fetchall(
        "SELECT user_id, choice, seen_mask, void FROM award_ballots WHERE poll_id = ?", (poll_id,)
    )
    return {int(r["user_id"]): Ballot(r["choice"], r["seen_mask"], bool(r["void"])) for r in rows}


async def count_ballots(db: Executor, poll_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM award_ballots WHERE poll_id = ? AND choice IS NOT NULL", (poll_id,)
    )
    return int(row["n"]) if row else 0


async def live_counts(db: Executor, poll_id: int, nominees: int) -> tuple[int, ...]:
    rows = await db.fetchall(
        "SELECT choice, COUNT(*) AS n FROM award_ballots WHERE poll_id = ? AND choice IS NOT NULL GROUP BY choice",
        (poll_id,),
    )
    counts = [0] * nominees
    for r in rows:
        if 0 <= r["choice"] < nominees:
            counts[r["choice"]] = int(r["n"])
    return tuple(counts)


# --------------------------------------------------------------------------- for the newsletter


def _result(poll: Poll) -> PollResult:
    counts = poll.counts or tuple(0 for _ in poll.nominees)
    return PollResult(
        poll_id=poll.id, category=poll.category, film_title=poll.film_title, film_key=poll.film_key,
        nominees=poll.nominees, counts=counts, winners=tuple(poll.nominees[i] for i in poll.winners),
        is_tie=poll.is_tie, ballots=poll.ballots or 0, closed_at=poll.closed_at or 0, runoff_of=poll.runoff_of,
    )


async def closed_polls_for_film(
    db: Executor, guild_id: int, *, film_key: str | None = None, film_title: str | None = None
) -> list[PollResult]:
    """Closed polls of a film (by catalogue key, else by title, case-insensitively), oldest first.

    Runoffs are included (``runoff_of`` says which poll they settled).
    """
    if film_key is None and film_title is None:
        raise ValueError("give film_key or film_title")
    clauses: list[str] = []
    params: list[object] = [guild_id]
    if film_key is not None:
        clauses.append("film_key = ?")
        params.append(film_key)
    if film_title is not None:
        clauses.append("lower(film_title) = lower(?)")
        params.append(film_title.strip())
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM award_polls WHERE guild_id = ? AND status = 'closed' "
        f"AND ({' OR '.join(clauses)}) ORDER BY closed_at, id",
        params,
    )
    return [_result(_from_row(r)) for r in rows]
