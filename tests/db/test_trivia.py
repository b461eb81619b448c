"""Trivia repository: durable scores per server/member/pack and the server's own questions."""

from __future__ import annotations

import pytest

from db import trivia as repo
from db.store import Store

G1, G2 = 111, 222
A, B, C = 1, 2, 3




async def test_results_add_up_per_server_member_and_pack(store: Store) -> None:
    async with store.transaction() as tx:
        await repo.record_results(
            tx, G1, "her", [repo.MemberResult(A, 1900, 2), repo.MemberResult(B, 500, 1)], now=100
        )
    async with store.transaction() as tx:
        await repo.record_results(
            tx, G1, "her", [repo.MemberResult(A, 100, 0), repo.MemberResult(C, 3000, 3)], now=200
        )
    async with store.transaction() as tx:
        await repo.record_results(tx, G1, "rocky", [repo.MemberResult(B, 4000, 4)], now=300)
        await repo.record_results(tx, G2, "her", [repo.MemberResult(A, 9999, 9)], now=300)

    her = await repo.leaderboard(store, G1, "her")
    assert [(r.member_id, r.points, r.correct, r.games) for r in her] == [
        (C, 3000, 3, 1),
        (A, 2000, 2, 2),
        (B, 500, 1, 1),
    ]
    overall = await repo.leaderboard(store, G1)
    assert [(r.member_id, r.points, r.games) for r in overall] == [(B, 4500, 2), (C, 3000, 1), (A, 2000, 2)]
    assert [r.member_id for r in await repo.leaderboard(store, G2)] == [A]
    assert await repo.member_score(store, G2, A, "her") == repo.ScoreRow(A, 9999, 9, 1)
    assert await repo.member_score(store, G2, B, "her") is None
    assert await repo.packs_played(store, G1) == ["her", "rocky"]


async def test_leaderboard_pages_and_ties(store: Store) -> None:
    results = [repo.MemberResult(member, 1000 if member < 5 else member, 1) for member in range(1, 26)]
    async with store.transaction() as tx:
        await repo.record_results(tx, G1, "her", results, now=1)
    first = await repo.leaderboard(store, G1, "her", limit=10)
    second = await repo.leaderboard(store, G1, "her", limit=10, offset=10)
    assert [r.member_id for r in first][:4] == [1, 2, 3, 4]  # ties: lower id first, stable
    assert len(first) == 10 and len(second) == 10
    assert not {r.member_id for r in first} & {r.member_id for r in second}


async def test_a_failed_session_write_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await repo.record_results(tx, G1, "her", [repo.MemberResult(A, 700, 1)], now=1)
            raise RuntimeError("crash mid-write")
    assert await repo.leaderboard(store, G1) == []


async def test_server_questions_upsert_by_normalised_text(store: Store) -> None:
    assert await repo.upsert_question(store, G1, "Who directed Her?", ["Spike Jonze", "Jonze"], A, 10)
    assert await repo.upsert_question(store, G1, "What is Rocky's dog called?", ["Butkus"], A, 11)
    assert await repo.upsert_question(store, G2, "Who directed Her?", ["Jonze"], B, 12)
    # Same question, other case and spacing: replaces the answers, keeps one row.
    assert not await repo.upsert_question(store, G1, "  who directed   HER? ", ["Adam Spiegel"], B, 20)

    mine = await repo.list_questions(store, G1)
    assert [(q.question, q.answers, q.added_by) for q in mine] == [
        ("  who directed   HER? ", ("Adam Spiegel",), B),
        ("What is Rocky's dog called?", ("Butkus",), A),
    ]
    assert mine[0].created_at == 10 and mine[0].updated_at == 20
    assert await repo.count_questions(store, G1) == 2
    assert await repo.count_questions(store, G2) == 1
    assert await repo.count_questions(store, 999) == 0


async def test_existing_keys(store: Store) -> None:
    await repo.upsert_question(store, G1, "Who played Adrian?", ["Talia Shire"], A, 1)
    keys = [repo.question_key("WHO played adrian?"), repo.question_key("Who trains Rocky?")]
    assert await repo.existing_keys(store, G1, keys) == {"who played adrian?"}
    assert await repo.existing_keys(store, G2, keys) == set()
    assert await repo.existing_keys(store, G1, []) == set()


async def test_unicode_answers_round_trip(store: Store) -> None:
    await repo.upsert_question(store, G1, "Qui a réalisé Amélie ?", ["Jean-Pierre Jeunet", "Jeunet ✨"], A, 1)
    (q,) = await repo.list_questions(store, G1)
    assert q.answers == ("Jean-Pierre Jeunet", "Jeunet ✨")


async def test_per_question_results_count_one_game(store: Store) -> None:
    # A session saves after every question: the member's first row counts the game, later ones don't.
    async with store.transaction() as tx:
        await repo.record_results(tx, G1, "her", [repo.MemberResult(A, 1000, 1, games=1)], now=1)
    async with store.transaction() as tx:
        await repo.record_results(tx, G1, "her", [repo.MemberResult(A, 750, 1, games=0)], now=2)
        await repo.record_results(tx, G1, "her", [], now=2)  # a question nobody tried
    assert await repo.member_score(store, G1, A, "her") == repo.ScoreRow(A, 1750, 2, 1)
