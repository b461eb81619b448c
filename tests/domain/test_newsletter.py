"""The newsletter's pure logic: checks, compiling, trivia statements, Markdown, splitting into embeds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import newsletter as nl
from bot.domain.trivia import load_shipped_packs
from bot.errors import UserError

# --------------------------------------------------------------------------- checks


def test_preview_text_is_trimmed_and_limited() -> None:
    assert nl.check_preview("  Can't wait.  ") == "Can't wait."
    assert nl.check_preview("x" * 1500) == "x" * 1500
    with pytest.raises(UserError, match="at most 1,500 characters; yours has 1,501"):
        nl.check_preview("x" * 1501)
    with pytest.raises(UserError, match="Write a few words"):
        nl.check_preview("   ")


@pytest.mark.parametrize(("typed", "expected"), [("4", 4), (" 5 ", 5), ("1", 1), ("4/5", 4), ("👍👍👍", 3), (2, 2)])
def test_verdict_thumbs_accepts_numbers_and_thumbs(typed: str | int, expected: int) -> None:
    assert nl.check_verdict(typed, " Loved it. ") == (expected, "Loved it.")


@pytest.mark.parametrize("typed", ["0", "6", "", "four", "4 or 5", "-1"])
def test_verdict_thumbs_out_of_range_is_refused(typed: str) -> None:
    with pytest.raises(UserError, match="from 1 to 5"):
        nl.check_verdict(typed, "text")


def test_verdict_text_limit_and_empty_take() -> None:
    assert nl.check_verdict("3", "   ") == (3, None)
    assert nl.check_verdict("3", "y" * 1500)[1] == "y" * 1500
    with pytest.raises(UserError, match="at most 1,500 characters; yours has 1,600"):
        nl.check_verdict("3", "y" * 1600)


def test_intro_limit() -> None:
    assert nl.check_intro("  Hello  ") == "Hello"
    with pytest.raises(UserError, match="intro"):
        nl.check_intro("z" * 1501)


# --------------------------------------------------------------------------- compiling


def full_source() -> nl.Source:
    return nl.Source(
        film_title="Her",
        film_year=2013,
        previews=[nl.PreviewItem(1, "Ellen", "A man and his phone? Sounds odd."),
                  nl.PreviewItem(2, "Tyler", "Expecting a long Black Mirror episode.")],
        verdicts=[nl.VerdictItem(1, "Ellen", 5, "Far warmer than I feared."),
                  nl.VerdictItem(2, "Tyler", 4, None),
                  nl.VerdictItem(3, "Basil", 2, "Not enough dogs.")],
        facts=["Spike Jonze wrote and directed Her.", "Joaquin Phoenix plays Theodore."],
        awards=[nl.AwardItem("Best Snack", ("Popcorn", "Nachos", "Pretzels"), ("Popcorn",), False, 5,
                             (3, 1, 1), certified="Certified by Ernst & Yum: 5 ballots counted.")],
        basil=[nl.BasilItem("Biscuit", "dog", None, "https://discord.com/channels/1/2/3", when=20),
               nl.BasilItem("Mittens", "cat", 2, None, when=10)],
        next_time=nl.NextItem("Rocky", 1976, starts_at=1_800_000_000, note="Bring gloves."),
    )


def test_compile_has_every_section_in_order_with_its_content() -> None:
    letter = nl.compile_newsletter(full_source())
    assert letter.keys == ("previews", "verdicts", "trivia", "awards", "basil", "next")
    assert letter.title == "📰 Film Club Newsletter: Her (2013)"
    assert "*Her (2013)*" in letter.intro

    previews = letter.section("previews")
    assert previews is not None and previews.heading == "🔮 Previews"
    assert previews.paragraphs[0] == "**Ellen** expected:\n> A man and his phone? Sounds odd."
    assert "Tyler" in previews.paragraphs[1] and "Black Mirror" in previews.paragraphs[1]

    verdicts = letter.section("verdicts")
    assert verdicts is not None
    assert verdicts.paragraphs[0] == "The club's average: **3.7/5** 👍👍👍👍 from 3 members."
    assert verdicts.paragraphs[1] == "**Ellen**: 👍👍👍👍👍 (5/5)\n> Far warmer than I feared."
    assert verdicts.paragraphs[2] == "**Tyler**: 👍👍👍👍 (4/5)"  # a rating without a take
    assert verdicts.paragraphs[3].startswith("**Basil**: 👍👍 (2/5)")

    trivia = letter.section("trivia")
    assert trivia is not None and trivia.paragraphs == (
        "• Spike Jonze wrote and directed Her.", "• Joaquin Phoenix plays Theodore.")

    awards = letter.section("awards")
    assert awards is not None
    text = awards.paragraphs[0]
    assert text.startswith("**Best Snack**\nNominees: Popcorn, Nachos and Pretzels.")
    assert "And the winner is **Popcorn** with 3 of 5 votes!" in text
    assert text.endswith("*Certified by Ernst & Yum: 5 ballots counted.*")

    basil = letter.section("basil")
    assert basil is not None
    # oldest first: the anniversary (when=10) before the memorial (when=20)
    assert "2 years since **Mittens** (cat)" in basil.paragraphs[0]
    assert "goodbye to **Biscuit** (dog)" in basil.paragraphs[1]
    assert "(https://discord.com/channels/1/2/3)" in basil.paragraphs[1]

    nxt = letter.section("next")
    assert nxt is not None
    assert nxt.paragraphs[0] == "Next installment: **Rocky (1976)**.\nScreening {{t:1800000000}}."
    assert nxt.paragraphs[-1] == "📝 Bring gloves."


def test_empty_sections_are_left_out() -> None:
    letter = nl.compile_newsletter(nl.Source("Rocky", 1976, facts=["Rocky is set in Philadelphia."]))
    assert letter.keys == ("trivia",)
    assert nl.compile_newsletter(nl.Source("Rocky", 1976)).sections == ()


def test_tied_and_empty_awards() -> None:
    tie = nl.AwardItem("Crunchiest", ("Chips", "Nuts"), ("Chips", "Nuts"), True, 4, (2, 2))
    none = nl.AwardItem("Saltiest", ("Pretzels",), (), False, 0)
    letter = nl.compile_newsletter(nl.Source("Her", 2013, awards=[tie, none]))
    awards = letter.section("awards")
    assert awards is not None
    assert "A tie between **Chips** and **Nuts**, with 4 ballots counted." in awards.paragraphs[0]
    assert "No votes were cast" in awards.paragraphs[1]


def test_next_time_without_a_screening_says_so() -> None:
    letter = nl.compile_newsletter(nl.Source("Her", 2013, next_time=nl.NextItem("Rocky", 1976)))
    nxt = letter.section("next")
    assert nxt is not None and "not scheduled yet" in nxt.paragraphs[0]


def test_custom_intro_is_kept() -> None:
    letter = nl.compile_newsletter(full_source(), intro="Hello, dear readers.")
    assert letter.intro == "Hello, dear readers."


def test_sections_round_trip_through_json() -> None:
    letter = nl.compile_newsletter(full_source())
    assert nl.sections_from_json(nl.sections_to_json(letter.sections)) == letter.sections


# --------------------------------------------------------------------------- times


def test_time_tokens_render_for_discord_and_for_the_file() -> None:
    text = "Screening " + nl.time_token(1_700_000_000) + "."
    assert nl.discord_times(text) == "Screening <t:1700000000:F> (<t:1700000000:R>)."
    # 2023-11-14 22:13:20 UTC = 2023-11-14 22:13 in London (GMT)
    assert nl.plain_times(text, "Europe/London") == "Screening Tuesday 14 November 2023, 22:13 (Europe/London)."
    assert nl.plain_times(text, "America/New_York") == (
        "Screening Tuesday 14 November 2023, 17:13 (America/New_York).")


# --------------------------------------------------------------------------- markdown


def test_markdown_has_title_intro_headings_and_plain_times() -> None:
    md = nl.render_markdown(nl.compile_newsletter(full_source()), "UTC")
    assert md.startswith("# 📰 Film Club Newsletter: Her (2013)\n\n")
    for heading in ("## 🔮 Previews", "## 🎬 Verdicts", "## 🧠 Trivia", "## 🍿 Awards", "## 🐾 Basil's Corner",
                    "## ⏭️ Next time"):
        assert heading in md
    assert md.index("## 🔮 Previews") < md.index("## 🎬 Verdicts") < md.index("## ⏭️ Next time")
    assert "{{t:" not in md and "<t:" not in md
    assert "2027" in md  # 1_800_000_000 is in January 2027
    assert md.endswith("\n") and not md.endswith("\n\n")


# --------------------------------------------------------------------------- splitting


def sentence_text(n: int, seed: int = 0) -> str:
    words = ["popcorn", "screen", "velvet", "reel", "credits", "usher", "matinee", "trailer"]
    out = []
    for i in range(n):
        w = [words[(seed + i + j) % len(words)] for j in range(6 + (i + seed) % 7)]
        out.append(" ".join(w).capitalize() + ".")
    return " ".join(out)


def check_limits(messages: list[list[nl.EmbedPart]]) -> None:
    for message in messages:
        assert 1 <= len(message) <= nl.EMBEDS_PER_MESSAGE
        assert sum(e.size for e in message) <= nl.MESSAGE_EMBED_TOTAL
        for embed in message:
            assert len(embed.description) <= nl.EMBED_DESCRIPTION_LIMIT
            assert len(embed.title or "") <= nl.EMBED_TITLE_LIMIT


def test_short_newsletter_is_one_message_one_embed_per_section() -> None:
    letter = nl.compile_newsletter(full_source())
    messages = nl.split_messages(letter)
    assert len(messages) == 1
    titles = [e.title for e in messages[0]]
    assert titles == [letter.title, *[s.heading for s in letter.sections]]
    assert "<t:1800000000:F> (<t:1800000000:R>)" in messages[0][-1].description


def test_long_newsletter_splits_within_limits_on_section_boundaries() -> None:
    previews = [nl.PreviewItem(i, f"Member {i}", sentence_text(18, i)[:1500]) for i in range(8)]
    verdicts = [nl.VerdictItem(i, f"Member {i}", 1 + i % 5, sentence_text(18, i + 3)[:1500]) for i in range(8)]
    src = nl.Source("Her", 2013, previews=previews, verdicts=verdicts, facts=["Fact one.", "Fact two."])
    letter = nl.compile_newsletter(src)
    messages = nl.split_messages(letter)
    check_limits(messages)
    assert len(messages) >= 3
    embeds = [e for m in messages for e in m]
    # every paragraph is found whole, exactly once, in the embeds of its own section
    for section in letter.sections:
        own = [e for e in embeds if e.title and e.title.startswith(section.heading)]
        assert own[0].title == section.heading
        assert all(e.title == f"{section.heading} (continued)" for e in own[1:])
        joined = "\n\n".join(e.description for e in own)
        for paragraph in section.paragraphs:
            assert joined.count(paragraph) == 1
    # a message never starts in the middle of a section when the section would fit whole
    trivia_index = next(i for i, m in enumerate(messages) if any(e.title == "🧠 Trivia" for e in m))
    assert messages[trivia_index][-1].title == "🧠 Trivia"


def test_a_paragraph_longer_than_an_embed_is_cut_between_sentences() -> None:
    long_para = sentence_text(120)
    assert len(long_para) > nl.EMBED_DESCRIPTION_LIMIT
    chunks = nl.chunk_paragraphs(["Short one.", long_para])
    assert all(len(c) <= nl.EMBED_DESCRIPTION_LIMIT for c in chunks)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.rstrip().endswith(".")  # never mid-sentence
    assert re.sub(r"\s+", " ", " ".join(chunks)) == re.sub(r"\s+", " ", "Short one. " + long_para)


def test_ten_embed_limit_starts_a_new_message() -> None:
    awards = [nl.AwardItem(f"Award {i}", ("A", "B"), ("A",), False, 1, (1, 0)) for i in range(3)]
    facts = ["A fact."]
    sections = tuple(nl.Section(f"s{i}", f"Section {i}", ("Tiny.",)) for i in range(12))
    letter = nl.Newsletter("Title", "Intro.", sections)
    messages = nl.split_messages(letter)
    check_limits(messages)
    assert [len(m) for m in messages] == [10, 3]
    assert nl.compile_newsletter(nl.Source("X", None, awards=awards, facts=facts)).keys == ("trivia", "awards")


@settings(max_examples=60, deadline=None)
@given(
    paragraphs=st.lists(
        st.lists(st.text(alphabet="abc defg.!?\n", min_size=1, max_size=900), min_size=1, max_size=8),
        min_size=0, max_size=8,
    ),
    intro=st.text(alphabet="abc .", max_size=1500),
)
def test_split_always_respects_discord_limits(paragraphs: list[list[str]], intro: str) -> None:
    sections = tuple(nl.Section(f"k{i}", f"Heading {i}", tuple(ps)) for i, ps in enumerate(paragraphs))
    messages = nl.split_messages(nl.Newsletter("T" * 300, intro, sections))
    check_limits(messages)
    assert messages and messages[0][0].title is not None


def test_unbreakable_text_is_cut_between_words_as_a_last_resort() -> None:
    blob = ("word " * 1200).strip()  # no sentence end at all, 5,999 characters
    chunks = nl.chunk_paragraphs([blob])
    assert all(len(c) <= nl.EMBED_DESCRIPTION_LIMIT for c in chunks)
    assert all(not c.startswith(" ") and c.split(" ")[-1] == "word" for c in chunks)


# --------------------------------------------------------------------------- trivia facts


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        ("Who directed Rocky?", "John G. Avildsen", "John G. Avildsen directed Rocky."),
        ("Which actor plays Theodore?", "Joaquin Phoenix", "Joaquin Phoenix plays Theodore."),
        ("What is Rocky's surname?", "Balboa", "Rocky's surname is Balboa."),
        ("Spike Jonze is a nickname. What is the filmmaker's real name?", "Adam Spiegel",
         "Spike Jonze is a nickname. The filmmaker's real name is Adam Spiegel."),
        ("In which year was Her first released?", "2013", "Her was first released in 2013."),
        ("In which city is Rocky set?", "Philadelphia", "Rocky is set in Philadelphia."),
        ("How many Academy Awards did Rocky win?", "3", "Rocky won 3 Academy Awards."),
        ("How many rounds does the title fight last?", "15", "The title fight lasts 15 rounds."),
        ("12 Years a Slave is based on the memoir of which man?", "Solomon Northup",
         "12 Years a Slave is based on the memoir of Solomon Northup."),
        ("Samantha admits she talks to how many others while she talks to Theodore?", "8,316",
         "Samantha admits she talks to 8,316 others while she talks to Theodore."),
        ("Amy Adams plays Theodore's old college friend. What is the character called?", "Amy",
         "Amy Adams plays Theodore's old college friend. The character is called Amy."),
    ],
)
def test_statement_rewrites_question_and_answer(question: str, answer: str, expected: str) -> None:
    assert nl.statement(question, answer) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What does Rocky gulp down raw before his early-morning run?",  # needs do-support
        "Whose voice do we hear as Samantha in the finished film?",
        "On which day is the championship bout held?",
        "At Paulie's workplace, what does Rocky use as a punching bag?",
        "Which 2015 spin-off, directed by Ryan Coogler, carried on the story?",
        "Who plays Adonis, Apollo's son, in that spin-off?",  # "that" needs the previous question
        "Not a question at all.",
    ],
)
def test_statement_declines_questions_it_cannot_rewrite(question: str) -> None:
    assert nl.statement(question, "Answer") is None


def test_shipped_packs_give_facts_for_her_and_rocky() -> None:
    packs = {name: [nl.QA(q.text, q.answer) for q in pack.questions] for name, pack in load_shipped_packs().items()}
    her = nl.questions_for_film(packs, "her-2013", "Her")
    # the film's own pack, plus best-picture questions whose answer is the film
    assert len(her) > len(packs["her"])
    assert any(qa.answer == "Her" for qa in her)
    facts = nl.pick_facts(her, seed="her-2013")
    assert len(facts) == nl.FACTS
    assert all(f.endswith(".") and "?" not in f for f in facts)
    assert facts == nl.pick_facts(her, seed="her-2013")  # stable for a film
    rocky = nl.pick_facts(nl.questions_for_film(packs, "rocky-1976", "Rocky"), seed="rocky-1976", count=3)
    assert len(rocky) == 3
    # a film with no pack of its own only gets questions that name it
    argo = nl.questions_for_film(packs, "argo-2012", "Argo")
    assert argo and all("Argo" in qa.question or qa.answer == "Argo" for qa in argo)
    assert nl.questions_for_film(packs, "custom:home-movie-2020", "Home Movie") == []


def test_pack_names_for_keys() -> None:
    assert nl.pack_names_for("her-2013") == ["her-2013", "her"]
    assert nl.pack_names_for("custom:best-picture-1999") == ["best-picture-1999", "best-picture"]


# --------------------------------------------------------------------------- members' text is shown as typed


def test_names_and_nominees_are_escaped_and_never_mass_mention() -> None:
    src = nl.Source(
        "Her", 2013,
        previews=[nl.PreviewItem(1, "**Bold** _x_ @everyone", "Fine.")],
        verdicts=[nl.VerdictItem(1, "[link](https://e.vil)", 3, None)],
        awards=[nl.AwardItem("Best *Snack*", ("Pop_corn", "@here"), ("Pop_corn",), False, 1, (1, 0))],
        basil=[nl.BasilItem("Bis~cuit", "d`og", None)],
        next_time=nl.NextItem("Rocky", 1976, note="Bring {{t:0}} *gloves*", director="John G. Avildsen", runtime=120),
    )
    letter = nl.compile_newsletter(src)
    text = "\n".join(p for s in letter.sections for p in s.paragraphs)
    assert r"**\*\*Bold\*\* \_x\_ @" + "\u200b" + "everyone** expected:" in text
    assert r"**\[link\](https://e.vil)**: 👍👍👍 (3/5)" in text
    assert r"**Best \*Snack\***" in text and r"Nominees: Pop\_corn and @" + "\u200bhere." in text
    assert r"**Bis\~cuit** (d\`og)" in text
    nxt = letter.section("next")
    assert nxt is not None
    assert nxt.paragraphs[0].startswith("Next installment: **Rocky (1976)**, directed by John G. Avildsen, 2 h.")
    assert nxt.paragraphs[-1] == "📝 Bring {\u200b{t:0}} \\*gloves\\*"
    assert "<t:0" not in nl.discord_times(nxt.paragraphs[-1])  # a member can't forge one of our time tokens


def test_an_unclosed_code_fence_cannot_swallow_the_rest() -> None:
    letter = nl.compile_newsletter(nl.Source("Her", 2013, previews=[
        nl.PreviewItem(1, "A", "```python\nno end"), nl.PreviewItem(2, "B", "```ok```"),
    ]))
    previews = letter.section("previews")
    assert previews is not None
    assert previews.paragraphs[0] == "**A** expected:\n> \\`\\`\\`python\n> no end"
    assert previews.paragraphs[1] == "**B** expected:\n> ```ok```"
