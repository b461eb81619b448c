"""The awards repository: polls, single-statement ballot writes, idempotent close, newsletter reads."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.domain import awards as aw
from bot.domain.awards import Ballot
from db import awards as repo
from db.store import Store

G1, G2 = 1001, 2002




async def make_poll(store: Store, guild_id: int = G1, **kw: object) -> repo.Poll:
    args: dict[str, object] = {
        "guild_id": guild_id, "channel_id": 55, "category": "Best Snacktor",
        "nominees": ("Cheese pizza", "Coke", "Churros"), "film_title": None, "film_key": None,
        "show_counts": False, "opened_by": 9, "now": 1000, "closes_at": 5000,
    }
    args.update(kw)
    return await repo.create_poll(store, **args)  # type: ignore[arg-type]


async def test_create_and_read(store: Store) -> None:
    poll = await make_poll(store, film_title="Rocky", film_key="rocky-1976")
    assert poll.is_open and poll.message_id is None and poll.nominees == ("Cheese pizza", "Coke", "Churros")
    await repo.set_message(store, poll.id, 777)
    again = await repo.get_in_guild(store, G1, poll.id)
    assert again is not None and again.message_id == 777 and again.film_key == "rocky-1976"
    assert await repo.get_in_guild(store, G2, poll.id) is None  # another server's poll is invisible
    assert [p.id for p in await repo.list_open(store)] == [poll.id]


async def test_save_ballots_upserts_absolute_states(store: Store) -> None:
    poll = await make_poll(store)
    await repo.save_ballots(store, {(poll.id, 1): (Ballot(0, 0b1), 1100), (poll.id, 2): (Ballot(1, 0b10), 1100)})
    # A change of mind and a withdrawal: the latest states replace the old ones.
    await repo.save_ballots(store, {(poll.id, 1): (Ballot(2, 0b101), 1101), (poll.id, 2): (Ballot(None, 0), 1102)})
    await repo.save_ballots(store, {})  # nothing to do
    assert await repo.ballots(store, poll.id) == {1: Ballot(2, 0b101), 2: Ballot(None, 0)}
    assert await repo.count_ballots(store, poll.id) == 1
    assert await repo.live_counts(store, poll.id, 3) == (0, 0, 1)
    rows = await store.fetchall("SELECT user_id, updated_at FROM award_ballots ORDER BY user_id")
    assert [(r[0], r[1]) for r in rows] == [(1, 1101), (2, 1102)]


async def test_domain_rules_round_trip_through_the_table(store: Store) -> None:
    """Random add/remove streams applied by the domain and saved in batches read back identically."""
    poll = await make_poll(store, nominees=tuple(f"n{i}" for i in range(10)))
    rng = random.Random(7)
    model: dict[int, Ballot] = {}
    batch: dict[tuple[int, int], tuple[Ballot, int]] = {}
    for step in range(600):
        member = rng.randrange(12)
        index = rng.randrange(10)
        if rng.random() < 0.6:
            model[member] = aw.apply_add(model.get(member), index).ballot
        else:
            removed = aw.apply_remove(model.get(member), index)
            if removed is None:
                continue
            model[member] = removed
        batch[(poll.id, member)] = (model[member], step)
        if rng.random() < 0.2:
            async with store.transaction() as tx:
                await repo.save_ballots(tx, batch)
            batch = {}
            assert await repo.ballots(store, poll.id) == model
    await repo.save_ballots(store, batch)
    assert await repo.ballots(store, poll.id) == model


async def test_close_is_idempotent_and_atomic(store: Store) -> None:
    poll = await make_poll(store)
    await repo.save_ballots(store, {(poll.id, 1): (Ballot(0, 1), 1100)})
    result = aw.tally([0, 1, 1], 3)
    final = {1: Ballot(0, 1), 2: Ballot(1, 2), 3: Ballot(1, 2)}
    async with store.transaction() as tx:
        assert await repo.close(tx, poll.id, now=5000, ballots=final, result=result, void=1)
    async with store.transaction() as tx:
        assert not await repo.close(tx, poll.id, now=5001, ballots={}, result=aw.tally([], 3), void=0)
    closed = await repo.get(store, poll.id)
    assert closed is not None and closed.status == repo.CLOSED and closed.closed_at == 5000
    assert closed.counts == (1, 2, 0) and closed.winners == (1,) and closed.ballots == 3
    assert closed.void_ballots == 1 and not closed.is_tie
    assert await repo.ballots(store, poll.id) == final
    assert not await repo.cancel(store, G1, poll.id, 5002)  # closed polls cannot be cancelled


async def test_close_rolls_back_with_the_transaction(store: Store) -> None:
    poll = await make_poll(store)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await repo.close(tx, poll.id, now=5000, ballots={1: Ballot(0, 1)}, result=aw.tally([0], 3), void=0)
            raise RuntimeError("crash before commit")
    again = await repo.get(store, poll.id)
    assert again is not None and again.is_open and again.counts is None
    assert await repo.ballots(store, poll.id) == {}


async def test_cancel_only_own_open_polls(store: Store) -> None:
    poll = await make_poll(store)
    assert not await repo.cancel(store, G2, poll.id, 1500)
    assert await repo.cancel(store, G1, poll.id, 1500)
    assert not await repo.cancel(store, G1, poll.id, 1501)
    assert await repo.list_open(store) == []


async def test_lists_history_and_runoffs(store: Store) -> None:
    a = await make_poll(store, category="Best Snacktor")
    b = await make_poll(store, category="Best Beverage")
    c = await make_poll(store, category="Worst Crumb", closes_at=9000)
    for poll, votes, at in ((a, [0, 0, 1], 6000), (b, [1, 2], 7000)):
        async with store.transaction() as tx:
            await repo.close(tx, poll.id, now=at, ballots={}, result=aw.tally(votes, 3), void=0)
    listed = await repo.list_for_guild(store, G1, closed_since=6500)
    assert [p.id for p in listed] == [c.id, b.id]
    assert [p.id for p in await repo.history(store, G1)] == [b.id, a.id]
    assert [p.id for p in await repo.history(store, G1, "snack")] == [a.id]
    assert [p.id for p in await repo.history(store, G1, "100%")] == []
    assert await repo.history(store, G2) == []
    runoff = await make_poll(store, nominees=("Coke", "Churros"), runoff_of=b.id)
    found = await repo.runoff_for(store, b.id)
    assert found is not None and found.id == runoff.id
    with pytest.raises(Exception, match=r"(?i)unique"):
        await make_poll(store, runoff_of=b.id)
    assert "Best Beverage" in await repo.categories(store, G1, "bev")


async def test_closed_polls_for_film(store: Store) -> None:
    keyed = await make_poll(store, film_title="Rocky", film_key="rocky-1976")
    by_title = await make_poll(store, film_title="rocky")
    other = await make_poll(store, film_title="Her", film_key="her-2013")
    still_open = await make_poll(store, film_title="Rocky", film_key="rocky-1976")
    foreign = await make_poll(store, guild_id=G2, film_title="Rocky", film_key="rocky-1976")
    for i, poll in enumerate((keyed, by_title, other, foreign)):
        async with store.transaction() as tx:
            await repo.close(tx, poll.id, now=6000 + i, ballots={}, result=aw.tally([0, 1], 3), void=0)
    results = await repo.closed_polls_for_film(store, G1, film_key="rocky-1976", film_title="Rocky")
    assert [r.poll_id for r in results] == [keyed.id, by_title.id]
    first = results[0]
    assert first.winners == ("Cheese pizza", "Coke") and first.is_tie and first.ballots == 2
    assert first.counts == (1, 1, 0) and first.category == "Best Snacktor"
    assert [r.poll_id for r in await repo.closed_polls_for_film(store, G1, film_key="rocky-1976")] == [keyed.id]
    assert still_open.id not in [r.poll_id for r in results]
    with pytest.raises(ValueError):
        await repo.closed_polls_for_film(store, G1)


async def test_void_ballots_round_trip(store: Store) -> None:
    poll = await make_poll(store)
    await repo.save_ballots(
        store, {(poll.id, 1): (Ballot(None, 0b110, void=True), 1100), (poll.id, 2): (Ballot(0, 1), 1100)}
    )
    assert await repo.ballots(store, poll.id) == {1: Ballot(None, 0b110, True), 2: Ballot(0, 1, False)}
    assert await repo.count_ballots(store, poll.id) == 1


async def test_deleting_a_poll_drops_its_ballots(store: Store) -> None:
    poll = await make_poll(store)
    await repo.save_ballots(store, {(poll.id, 1): (Ballot(0, 1), 1100)})
    await repo.delete(store, poll.id)
    assert await repo.get(store, poll.id) is None
    assert await repo.ballots(store, poll.id) == {}


async def test_ballot_writer_group_commits_and_loses_nothing(store: Store) -> None:
    from cogs.awards.service import BallotWriter

    poll = await make_poll(store, nominees=tuple(f"n{i}" for i in range(10)))
    writer = BallotWriter(store)
    saves = [writer.save(poll.id, user, Ballot(user % 10, 1 << (user % 10)), 1100) for user in range(500)]
    await asyncio.gather(*saves)
    # Every save returned only after its row was committed...
    assert await repo.count_ballots(store, poll.id) == 500
    # ...and the burst went out in far fewer transactions than votes.
    assert 1 <= writer.commits < 50
    # The latest state of a member wins; flush waits for a commit under way.
    pending = asyncio.ensure_future(writer.save(poll.id, 3, Ballot(None, 0), 1200))
    await asyncio.sleep(0)
    await writer.flush()
    assert (await repo.ballots(store, poll.id))[3] == Ballot(None, 0)
    await pending
    await writer.close()


async def test_ballot_writer_reports_a_failed_commit(store: Store) -> None:
    from cogs.awards.service import BallotWriter

    writer = BallotWriter(store)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await writer.save(999, 1, Ballot(0, 1), 1100)  # no such poll
    poll = await make_poll(store)
    await writer.save(poll.id, 1, Ballot(0, 1), 1100)  # the writer carries on
    assert await repo.count_ballots(store, poll.id) == 1
    await writer.close()
