"""The trivia packs shipped in bot/data/trivia load and are fit to play."""

from __future__ import annotations

import random

import pytest

from bot.domain.trivia import (
    MAX_LABEL_LENGTH,
    MAX_ROUNDS,
    TriviaGame,
    TriviaPack,
    is_correct,
    load_shipped_packs,
    make_choices,
    normalize_answer,
)

EXPECTED = {"her", "rocky", "best-picture"}
PACKS = load_shipped_packs()


def test_the_three_packs_ship() -> None:
    assert EXPECTED <= set(PACKS)


@pytest.fixture(params=sorted(EXPECTED))
def pack(request: pytest.FixtureRequest) -> TriviaPack:
    return PACKS[request.param]


def test_pack_has_metadata_and_enough_questions(pack: TriviaPack) -> None:
    assert pack.author
    assert pack.description
    assert len(pack.questions) >= 35


def test_no_empty_answers_and_first_answer_fits_a_button(pack: TriviaPack) -> None:
    for question in pack.questions:
        assert question.text.strip()
        assert question.answers, question.text
        for answer in question.answers:
            assert answer.strip(), question.text
            assert normalize_answer(answer), (question.text, answer)
        assert len(question.answer) <= MAX_LABEL_LENGTH, question.text


def test_no_duplicate_questions(pack: TriviaPack) -> None:
    texts = [" ".join(q.text.casefold().split()) for q in pack.questions]
    assert len(texts) == len(set(texts))


def test_no_duplicate_alternatives_within_a_question(pack: TriviaPack) -> None:
    for question in pack.questions:
        assert len(question.answers) == len(set(question.answers)), question.text


def test_every_alternative_is_accepted_as_a_guess(pack: TriviaPack) -> None:
    for question in pack.questions:
        for answer in question.answers:
            assert is_correct(answer, question.answers)
            # and the player typing it in lower case with extra spaces still wins
            assert is_correct(f"  {answer.lower()}  ", question.answers)


def test_every_question_gets_four_good_choices(pack: TriviaPack) -> None:
    rng = random.Random(7)
    for question in pack.questions:
        for _ in range(3):
            choices, index = make_choices(question, pack, rng)
            assert len(choices) == 4, question.text
            assert choices[index] == question.answer
            assert len({normalize_answer(c) for c in choices}) == 4, choices
            assert all(len(c) <= MAX_LABEL_LENGTH for c in choices)
            wrong = [c for i, c in enumerate(choices) if i != index]
            assert not any(is_correct(w, question.answers) for w in wrong), (question.text, wrong)


def test_a_whole_game_can_be_played_on_each_pack(pack: TriviaPack) -> None:
    rounds = min(len(pack.questions), MAX_ROUNDS)
    game = TriviaGame(pack, rounds=rounds, mode="buttons", rng=random.Random(3))
    seen: set[str] = set()
    while not game.is_over:
        current = game.next_question()
        seen.add(current.question.text)
        assert current.correct_index is not None
        game.answer_button(1, current.correct_index, 1.0)
        game.close_question()
    assert len(seen) == rounds
    assert game.standings() == [(1, rounds * 975)]
