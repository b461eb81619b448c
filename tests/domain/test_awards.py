"""Award rules: nominees, keycaps, ballots, reconciliation and the tally."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import awards as aw
from bot.domain.awards import AwardError, Ballot, Tally
from bot.errors import UserError

# --------------------------------------------------------------------------- nominees


def test_nominees_split_on_semicolons_and_new_lines() -> None:
    assert aw.parse_nominees("Cheese pizza; Coke ;Churros") == ("Cheese pizza", "Coke", "Churros")
    assert aw.parse_nominees("Cheese pizza\nCoke\r\n\nChurros\n") == ("Cheese pizza", "Coke", "Churros")
    assert aw.parse_nominees("a;b;") == ("a", "b")  # one trailing separator is forgiven
    assert aw.parse_nominees("  Big   gulp ;  nachos ") == ("Big gulp", "nachos")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Cheese pizza", "at least 2"),
        ("", "at least 2"),
        (";".join(str(i) for i in range(11)), "At most 10"),
        ("Coke; coke", "nominated twice"),
        ("Cheese  Pizza;cheese pizza", "nominated twice"),
        ("a;;b", "Nominee 2 is empty"),
        ("a; ;b", "Nominee 2 is empty"),
        ("a;" + "x" * 101, "Nominee 2 is 101 characters"),
    ],
)
def test_bad_nominees_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(AwardError) as info:
        aw.parse_nominees(text)
    assert fragment in info.value.message
    assert isinstance(info.value, UserError)


def test_nominee_limits_are_inclusive() -> None:
    assert len(aw.parse_nominees(";".join(f"n{i}" for i in range(10)))) == 10
    assert aw.parse_nominees("a;" + "x" * 100)[1] == "x" * 100


def test_category_and_film() -> None:
    assert aw.clean_category("  Best  Snacktor ") == "Best Snacktor"
    with pytest.raises(AwardError):
        aw.clean_category("   ")
    with pytest.raises(AwardError):
        aw.clean_category("x" * 101)
    assert aw.clean_film(None) is None
    assert aw.clean_film("  ") is None
    assert aw.clean_film(" Rocky ") == "Rocky"
    with pytest.raises(AwardError):
        aw.clean_film("x" * 151)


# --------------------------------------------------------------------------- keycaps


def test_keycaps_round_trip() -> None:
    assert aw.keycap(0) == "1️⃣" and aw.keycap(9) == "🔟"
    for i in range(10):
        assert aw.keycap_index(aw.keycap(i)) == i
    assert aw.keycap_index("1⃣") == 0  # without the variation selector
    assert aw.keycap_index("3️⃣", nominees=2) is None  # beyond the nominees
    assert aw.keycap_index("🍕") is None
    assert aw.keycap_index("#️⃣") is None


# --------------------------------------------------------------------------- ballots


def test_change_of_mind_marks_the_old_reaction_stale() -> None:
    first = aw.apply_add(None, 0)
    assert first.ballot == Ballot(0, 0b1) and first.stale == ()
    second = aw.apply_add(first.ballot, 2)
    assert second.ballot == Ballot(2, 0b101) and second.stale == (0,)


def test_bot_clean_up_does_not_withdraw_the_new_vote() -> None:
    changed = aw.apply_add(aw.apply_add(None, 0).ballot, 1).ballot
    after_cleanup = aw.apply_remove(changed, 0)  # the REMOVE event of the bot's own clean-up
    assert after_cleanup == Ballot(1, 0b10)


def test_removing_the_current_reaction_withdraws() -> None:
    ballot = aw.apply_add(None, 3).ballot
    assert aw.apply_remove(ballot, 3) == Ballot(None, 0)
    assert aw.apply_remove(None, 3) is None  # never voted: nothing to do


def test_without_clean_up_an_older_reaction_does_not_come_back() -> None:
    ballot = aw.apply_add(aw.apply_add(None, 0).ballot, 1).ballot  # reactions 1 and 2 both stay
    withdrawn = aw.apply_remove(ballot, 1)
    assert withdrawn == Ballot(None, 0b1)


# --------------------------------------------------------------------------- reconcile


def test_reconcile_counts_votes_cast_while_offline() -> None:
    result = aw.reconcile({}, {7: aw.mask_of([2])})
    assert result.ballots[7].choice == 2
    assert result.counted_offline == 1 and not result.void


def test_reconcile_drops_votes_withdrawn_while_offline() -> None:
    result = aw.reconcile({7: Ballot(1, 0b10)}, {})
    assert result.ballots[7] == Ballot(None, 0)
    assert result.withdrawn_offline == 1


def test_reconcile_keeps_a_standing_vote() -> None:
    result = aw.reconcile({7: Ballot(1, 0b10)}, {7: 0b10})
    assert result.ballots[7] == Ballot(1, 0b10)
    assert result.counted_offline == result.withdrawn_offline == 0


def test_reconcile_change_of_mind_while_offline() -> None:
    # Voted 1️⃣ while the bot listened, added 3️⃣ while it was away: the latest counts.
    result = aw.reconcile({7: Ballot(0, 0b1)}, {7: 0b101})
    assert result.ballots[7] == Ballot(2, 0b101)


def test_reconcile_several_unseen_reactions_keep_the_standing_vote() -> None:
    result = aw.reconcile({7: Ballot(0, 0b1)}, {7: 0b111})
    assert result.ballots[7].choice == 0
    assert not result.void


def test_reconcile_several_unseen_reactions_without_standing_vote_are_void() -> None:
    result = aw.reconcile({}, {7: 0b110})
    assert result.ballots[7].choice is None
    assert result.void == frozenset({7})
    gone = aw.reconcile({8: Ballot(0, 0b1)}, {8: 0b110})  # their vote was removed, two new ones added
    assert gone.ballots[8].choice is None and gone.void == frozenset({8})


def test_reconcile_superseded_reaction_does_not_revive() -> None:
    # No Manage Messages: 1️⃣ then 2️⃣ (vote 2), then 2️⃣ removed while the bot was away.
    result = aw.reconcile({7: Ballot(1, 0b11)}, {7: 0b1})
    assert result.ballots[7].choice is None
    assert result.withdrawn_offline == 1


def test_reconcile_marks_void_and_a_void_ballot_stays_void_until_the_member_acts() -> None:
    first = aw.reconcile({}, {7: 0b110})  # on reconnecting: two numbers added while away
    assert first.ballots[7] == Ballot(None, 0b110, void=True)
    # Closing later with nothing new: still void (reported as such), not a withdrawal.
    later = aw.reconcile(first.ballots, {7: 0b110})
    assert later.void == frozenset({7}) and later.ballots[7].choice is None
    # One more number added while away again: that is the latest act.
    assert aw.reconcile(first.ballots, {7: 0b111}).ballots[7] == Ballot(0, 0b111)
    # Adding a number live settles it; removing every reaction ends it.
    assert aw.apply_add(first.ballots[7], 0).ballot == Ballot(0, 0b111)
    assert aw.apply_add(first.ballots[7], 0).stale == (1, 2)
    one_left = aw.apply_remove(first.ballots[7], 1)
    assert one_left == Ballot(None, 0b100, void=True)
    assert aw.apply_remove(one_left, 2) == Ballot(None, 0)
    assert aw.reconcile(first.ballots, {}).ballots[7] == Ballot(None, 0)


def test_reconnect_then_live_change_beats_the_offline_reaction() -> None:
    # Voted 1 live; 3 added while away; reconnecting makes 3 the vote (and 1 stale)...
    caught_up = aw.reconcile({7: Ballot(0, 0b1)}, {7: 0b101}).ballots[7]
    assert caught_up == Ballot(2, 0b101) and caught_up.stale == (0,)
    # ...then a live 2 is the latest: the offline 3 is stale, and the close keeps 2.
    live = aw.apply_add(aw.apply_remove(caught_up, 0), 1)
    assert live.ballot.choice == 1 and live.stale == (2,)
    assert aw.reconcile({7: live.ballot}, {7: 0b110}).ballots[7].choice == 1


@given(
    st.dictionaries(
        st.integers(0, 20),
        st.tuples(st.one_of(st.none(), st.integers(0, 4)), st.integers(0, 31)),
        max_size=15,
    ),
    st.dictionaries(st.integers(0, 20), st.integers(0, 31), max_size=15),
)
def test_reconcile_invariants(stored_raw: dict[int, tuple[int | None, int]], actual: dict[int, int]) -> None:
    stored = {m: Ballot(c, seen | (1 << c if c is not None else 0)) for m, (c, seen) in stored_raw.items()}
    result = aw.reconcile(stored, actual)
    for member, ballot in result.ballots.items():
        have = actual.get(member, 0)
        assert ballot.seen == have  # after reconciling, the bot has seen exactly what is there
        if ballot.choice is not None:
            assert have & (1 << ballot.choice)  # a vote always stands on a reaction present
        fresh = bin(have & ~stored.get(member, Ballot()).seen).count("1")
        if fresh == 1:
            assert ballot.choice is not None  # one unseen reaction is always the latest vote
        if member in result.void:
            assert ballot.choice is None and fresh >= 2
        elif ballot.choice is None and have:
            assert fresh == 0  # withdrawn: only reactions the bot had already seen superseded


# --------------------------------------------------------------------------- tally


def test_tally_single_winner() -> None:
    result = aw.tally([0, 1, 1, None, 2, 1], 3)
    assert result.counts == (1, 3, 1)
    assert result.winners == (1,)
    assert not result.is_tie
    assert result.ballots == 5
    assert result.percentages() == (20.0, 60.0, 20.0)


def test_tally_tie_gives_co_winners() -> None:
    result = aw.tally([0, 2, 2, 0, 1], 3)
    assert result.winners == (0, 2)
    assert result.is_tie
    assert aw.runoff_nominees(("Pizza", "Coke", "Churros"), result) == ("Pizza", "Churros")


def test_tally_no_votes_has_no_winner() -> None:
    result = aw.tally([None, None], 2)
    assert result.winners == () and not result.is_tie and result.ballots == 0
    assert result.percentages() == (0.0, 0.0)
    with pytest.raises(AwardError):
        aw.runoff_nominees(("a", "b"), result)


def test_runoff_refused_without_tie() -> None:
    with pytest.raises(AwardError, match="clear winner"):
        aw.runoff_nominees(("a", "b"), Tally((2, 1), (0,)))


def test_tally_after_changes_of_mind_and_withdrawals() -> None:
    ballots: dict[int, Ballot | None] = {}
    events = [
        (1, "add", 0), (2, "add", 0), (3, "add", 1),
        (1, "add", 1),  # member 1 changes their mind
        (1, "remove", 0),  # the bot's clean-up of member 1's old reaction
        (2, "remove", 0),  # member 2 withdraws
        (4, "add", 2), (4, "remove", 2), (4, "add", 2),  # withdraws, then votes again
    ]  # fmt: skip
    for member, kind, index in events:
        if kind == "add":
            ballots[member] = aw.apply_add(ballots.get(member), index).ballot
        else:
            ballots[member] = aw.apply_remove(ballots.get(member), index)
    result = aw.tally((b.choice if b else None for b in ballots.values()), 3)
    assert result.counts == (0, 2, 1)
    assert result.winners == (1,)


def test_tally_rejects_out_of_range_votes() -> None:
    with pytest.raises(ValueError):
        aw.tally([3], 3)


def test_percentages_round_to_one_decimal() -> None:
    assert aw.percentages([1, 1, 1]) == (33.3, 33.3, 33.3)
    assert aw.format_percent(66.666) == "66.7%"


def test_certification_footer() -> None:
    text = aw.certification(3, 30)
    assert "Ernst & Yum" in text and "30 ballots counted" in text
    assert "1 ballot counted" in aw.certification(1, 1)
    assert "2 void ballots" in aw.certification(1, 5, void=2)
    assert aw.certification(1, 5) != aw.certification(2, 5)  # the wording varies
