"""Trivia storage: scores per server, member and pack; each server's own questions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

from db.store import Executor, Row, Store

SERVER_PACK = "server"
"""The pack key of a server's own questions (added with /trivia add and /trivia import)."""


@dataclass(frozen=True)
class MemberResult:
    """One member's result in a finished session."""

    member_id: int
    points: int
    correct: int
    games: int = 1
    """1 the first time a member shows up in a session, 0 for later questions of the same session."""


@dataclass(frozen=True)
class ScoreRow:
    member_id: int
    points: int
    correct: int
    games: int


@dataclass(frozen=True)
class CustomQuestion:
    id: int
    guild_id: int
    question: str
    answers: tuple[str, ...]
    added_by: int
    created_at: int
    updated_at: int


def question_key(text: str) -> str:
    """Two questions are the same when they differ only in case and spacing."""
    return " ".join(text.casefold().split())


# -- scores ---------------------------------------------------------------------------------


async def record_results(
    db: Executor, guild_id: int, pack: str, results: Sequence[MemberResult], now: int
) -> None:
    """Add results (a whole session's, or one question's) to the totals.

    Pass a transaction so all rows land or none. ``games`` of each result is added as given.
    """
    if not results:
        return
    await db.executemany(
        "INSERT INTO trivia_scores (guild_id, member_id, pack, points, correct, games, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id, member_id, pack) DO UPDATE SET "
        "points = trivia_scores.points + excluded.points, correct = trivia_scores.correct + excluded.correct, "
        "games = trivia_scores.games + excluded.games, updated_at = excluded.updated_at",
        [(guild_id, r.member_id, pack, r.points, r.correct, r.games, now) for r in results],
    )


def _score(row: Row) -> ScoreRow:
    return ScoreRow(int(row["member_id"]), int(row["points"]), int(row["correct"]), int(row["games"]))


async def leaderboard(
    db: Executor, guild_id: int, pack: str | None = None, *, limit: int = 100, offset: int = 0
) -> list[ScoreRow]:
    """Best first; ``pack=None`` adds up every pack. Ties: more correct answers, then fewer games."""
    if pack is None:
        rows = await db.fetchall(
            "SELECT member_id, SUM(points) AS points, SUM(correct) AS correct, SUM(games) AS games "
            "FROM trivia_scores WHERE guild_id = ? GROUP BY member_id "
            "ORDER BY points DESC, correct DESC, games ASC, member_id ASC LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
    else:
        rows = await db.fetchall(
            "SELECT member_id, points, correct, games FROM trivia_scores WHERE guild_id = ? AND pack = ? "
            "ORDER BY points DESC, correct DESC, games ASC, member_id ASC LIMIT ? OFFSET ?",
            (guild_id, pack, limit, offset),
        )
    return [_score(r) for r in rows]


async def member_score(db: Executor, guild_id: int, member_id: int, pack: str) -> ScoreRow | None:
    row = await db.fetchone(
        "SELECT member_id, points, correct, games FROM trivia_scores "
        "WHERE guild_id = ? AND member_id = ? AND pack = ?",
        (guild_id, member_id, pack),
    )
    return _score(row) if row else None


async def packs_played(db: Executor, guild_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT DISTINCT pack FROM trivia_scores WHERE guild_id = ? ORDER BY pack", (guild_id,)
    )
    return [str(r["pack"]) for r in rows]


# -- the server's own pack ------------------------------------------------------------------


def _question(row: Row) -> CustomQuestion:
    return CustomQuestion(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        question=str(row["question"]),
        answers=tuple(str(a) for a in json.loads(row["answers"])),
        added_by=int(row["added_by"]),
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
    )


async def upsert_question(
    db: Executor, guild_id: int, question: str, answers: Sequence[str], added_by: int, now: int
) -> bool:
    """Add a question, or replace the answers of the same question. True when it is new."""
    key = question_key(question)
    existing = await db.fetchone(
        "SELECT id FROM trivia_questions WHERE guild_id = ? AND question_key = ?", (guild_id, key)
    )
    payload = json.dumps(list(answers), ensure_ascii=False)
    if existing is not None:
        await db.execute(
            "UPDATE trivia_questions SET question = ?, answers = ?, added_by = ?, updated_at = ? WHERE id = ?",
            (question, payload, added_by, now, int(existing["id"])),
        )
        return False
    await db.execute(
        "INSERT INTO trivia_questions (guild_id, question_key, question, answers, added_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild_id, key, question, payload, added_by, now, now),
    )
    return True


async def list_questions(db: Executor, guild_id: int) -> list[CustomQuestion]:
    rows = await db.fetchall(
        "SELECT id, guild_id, question, answers, added_by, created_at, updated_at FROM trivia_questions "
        "WHERE guild_id = ? ORDER BY id",
        (guild_id,),
    )
    return [_question(r) for r in rows]


async def list_questions_bulk(store: Store, guild_id: int) -> list[CustomQuestion]:
    """:func:`list_questions` for a whole server pack (up to 2,000 long questions): read off the event loop."""
    rows = await store.fetchall_bulk(
        "SELECT id, guild_id, question, answers, added_by, created_at, updated_at FROM trivia_questions "
        "WHERE guild_id = ? ORDER BY id",
        (guild_id,),
    )
    # Decoding 2,000 rows' answers is ~15 ms of CPU: in a thread too.
    return await asyncio.to_thread(lambda: [_question(r) for r in rows])


async def count_questions(db: Executor, guild_id: int) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM trivia_questions WHERE guild_id = ?", (guild_id,))
    return int(row["n"]) if row else 0


async def existing_keys(db: Executor, guild_id: int, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` (see :func:`question_key`) the server's pack already has."""
    if not keys:
        return set()
    found: set[str] = set()
    chunk = 500
    for start in range(0, len(keys), chunk):
        part = list(keys[start : start + chunk])
        marks = ", ".join("?" for _ in part)
        rows = await db.fetchall(
            f"SELECT question_key FROM trivia_questions WHERE guild_id = ? AND question_key IN ({marks})",
            (guild_id, *part),
        )
        found.update(str(r["question_key"]) for r in rows)
    return found
