"""The installment newsletter end to end, through the fake Discord with a fake clock.

The clock starts Monday 2026-01-05 12:00 UTC; the club's time zone is Europe/London (GMT in January), so
"tomorrow 8pm" is Tuesday 2026-01-06 20:00 UTC.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain import newsletter as dom
from bot.domain.awards import KEYCAPS
from db import newsletter as repo
from db import screenings as screenings_repo
from db.migrate import migrate
from db.settings import SettingsRepo
from db.store import Store
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.interactions import FakeDiscordUsageError
from tests.fakediscord.models import Member, Message
from tests.fakediscord.permissions import P
from tests.fakediscord.server import FakeDiscord

HER_START = datetime(2026, 1, 6, 20, 0, tzinfo=UTC)
HER_END = HER_START + timedelta(minutes=126)
ROCKY_START = datetime(2026, 1, 13, 20, 0, tzinfo=UTC)
HER_PREVIEWS = {
    "alice": "A man falls for his phone? I expect it to be odd, but Joaquin Phoenix usually sells odd.",
    "bob": "I have heard it is basically a longer Black Mirror episode. We will see if that holds up.",
    "carol": "Scarlett Johansson as a voice only. Curious how that works without a face on screen.",
}


# --------------------------------------------------------------------------- helpers


async def reply_of(club: Club, who: Member, command: str, **options: Any) -> Message:
    handle = await club.slash(who, club.g.general, command, **options)
    return await handle.reply()


async def schedule(club: Club, film: str, when: str) -> None:
    reply = await reply_of(club, club.mod, "screening schedule", film=film, when=when)
    assert reply.ephemeral, reply.content


async def preview(club: Club, who: Member, text: str, film: str = "her-2013") -> Message:
    h = await club.slash(who, club.g.general, "preview", film=film)
    modal = await h.wait_modal()
    assert modal["title"] == "Preview: Her (2013)"
    done = await club.fake.submit_modal(who, h, {"Your expectations": text})
    return await done.reply()


async def verdict(club: Club, who: Member, thumbs: int, text: str = "", film: str = "her-2013") -> Message:
    h = await club.slash(who, club.g.general, "verdict", film=film)
    await h.wait_modal()
    done = await club.fake.submit_modal(who, h, {"Thumbs (1 to 5)": [str(thumbs)], "Your take": text})
    return await done.reply()


async def draft(club: Club, **options: Any) -> Message:
    reply = await reply_of(club, club.mod, "newsletter draft", **options)
    assert reply.ephemeral, reply.content
    return reply


def posts_titled(club: Club, prefix: str) -> list[Message]:
    return [
        m for m in club.fake.all_messages()
        if m.author.id == club.fake.bot_user.id and not m.ephemeral and not m.deleted and m.embeds
        and str(m.embeds[0].get("title", "")).startswith(prefix)
    ]


def announcements(club: Club) -> list[Message]:
    return [m for m in club.fake.bot_messages(club.g.announcements) if not m.deleted]


def embed_text(message: Message) -> str:
    return "\n".join(f"{e.get('title', '')}\n{e.get('description', '')}" for e in message.embeds)


def section(message: Message, heading: str) -> str:
    """The description(s) of the embeds of ``heading`` (continued ones included)."""
    return "\n\n".join(
        str(e.get("description", "")) for e in message.embeds if str(e.get("title", "")).startswith(heading)
    )


def embeds_size(message: Message) -> int:
    return sum(len(str(e.get("title", ""))) + len(str(e.get("description", ""))) for e in message.embeds)


async def her_club(club: Club) -> None:
    """Her and Rocky queued; Her scheduled tomorrow, Rocky a week later."""
    for film in ("Her (2013)", "Rocky (1976)"):
        r = await reply_of(club, club.mod, "installment add", film=film)
        assert "Her" in r.content or "Rocky" in r.content, r.content
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    await schedule(club, "Rocky (1976)", "2026-01-13 20:00")


async def close_award(club: Club) -> None:
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Snack in a Leading Role",
                         nominees="Popcorn; Nachos; Pretzels", closes="in 2 hours", film="Her (2013)")
    reply = await h.reply()
    assert "is open" in reply.content, reply.content
    poll = [m for m in club.fake.bot_messages(club.polls) if m.embeds][-1]
    await club.fake.react(club.g.alice, poll, KEYCAPS[0])
    await club.fake.react(club.g.bob, poll, KEYCAPS[0])
    await club.fake.react(club.g.carol, poll, KEYCAPS[1])
    await club.clock.advance(2 * 3600 + 5)


async def add_memorial(club: Club, name: str = "Biscuit") -> None:
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name=name, species="dog",
                         passed="2025-12-20")
    await h.wait_modal()
    done = await club.fake.submit_modal(club.g.alice, h, {"Their story": "Guarded the popcorn bowl."})
    assert "Basil's Corner" in (await done.reply()).content
    await club.clock.advance(60)


# --------------------------------------------------------------------------- the whole story


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_previews_verdicts_draft_publish_and_no_second_publish(club: Club) -> None:
    fake, g = club.fake, club.g
    await her_club(club)

    # Previews from three members, posted in the screening's thread (made on its announcement) and kept.
    for who in (g.alice, g.bob, g.carol):
        r = await preview(club, who, "First thoughts." if who is g.alice else HER_PREVIEWS[who.user.username])
        assert r.ephemeral and "Saved your preview of *Her* (2013)" in r.content
    screenings = await screenings_repo.list_screenings(club.bot.store, club.guild_id)
    her = next(s for s in screenings if s.film_key == "her-2013")
    assert her.film_key == "her-2013" and her.thread_id is not None
    thread = fake.channels[her.thread_id]
    assert thread.parent_id == g.screenings.id and thread.name == "Her: watch party"
    assert f"<#{her.thread_id}>" in r.content
    posted = posts_titled(club, "🔮")
    assert len(posted) == 3 and all(m.channel_id == her.thread_id for m in posted)
    assert [m.embeds[0]["title"] for m in posted] == [
        f"🔮 {who.display_name}'s preview: Her (2013)" for who in (g.alice, g.bob, g.carol)]
    assert posted[1].embeds[0]["description"] == HER_PREVIEWS["bob"]
    assert not any(m.pings_anyone for m in posted)
    # Alice edits hers before the start: the modal is pre-filled and her post is edited in place.
    h = await club.slash(g.alice, g.general, "preview", film="Her (2013)")
    modal = await h.wait_modal()
    assert modal["components"][0]["component"]["value"] == "First thoughts."
    done = await fake.submit_modal(g.alice, h, {"Your expectations": HER_PREVIEWS["alice"]})
    assert "Updated your preview" in (await done.reply()).content
    posted = posts_titled(club, "🔮")
    assert len(posted) == 3
    assert HER_PREVIEWS["alice"] in posted[0].embeds[0]["description"]

    # The screening runs and finishes; previews are now closed.
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    her = (await screenings_repo.list_screenings(club.bot.store, club.guild_id, statuses=("finished",)))[0]
    late = await reply_of(club, g.bob, "preview", film="her-2013")
    assert late.ephemeral and "previews are closed" in late.content
    assert (await repo.get_preview(club.bot.store, club.guild_id, "her-2013", g.bob.user.id)).text == (  # type: ignore[union-attr]
        HER_PREVIEWS["bob"])

    # Verdicts from three members: they set the ratings and go to the discussion thread.
    takes = {g.alice.user.id: (5, "Far warmer than I feared. The letters scenes got me."),
             g.bob.user.id: (4, "Not Black Mirror at all. Gentler, and sadder."),
             g.carol.user.id: (2, "")}
    for who in (g.alice, g.bob, g.carol):
        thumbs, text = takes[who.user.id]
        r = await verdict(club, who, thumbs, text)
        assert r.ephemeral and f"({thumbs}/5)" in r.content and "rating is set" in r.content
    for who in (g.alice, g.bob, g.carol):
        rating = await screenings_repo.get_rating(club.bot.store, club.guild_id, "her-2013", who.user.id)
        assert rating is not None and rating.thumbs == takes[who.user.id][0]
    verdict_posts = posts_titled(club, "🎬 ")
    verdict_posts = [m for m in verdict_posts if "verdict" in m.embeds[0]["title"]]
    assert len(verdict_posts) == 3
    assert {m.channel_id for m in verdict_posts} == {her.thread_id}

    # An award poll closed, a memorial added; the queue has Rocky next (Her was marked watched).
    await close_award(club)
    await add_memorial(club)

    # The draft (default: the last finished screening's film).
    preview_msg = await draft(club)
    assert preview_msg.file_names() and preview_msg.file_names()[0].endswith(".md")
    assert [b["label"] for b in preview_msg.buttons()] == ["Edit intro", "Publish", "Discard"]
    ids = [b["custom_id"] for b in preview_msg.buttons()]
    assert all(re.fullmatch(r"nl:\d+:(intro|publish|discard)", i) for i in ids)
    titles = [str(e.get("title")) for e in preview_msg.embeds]
    assert titles == ["📰 Film Club Newsletter: Her (2013)", "🔮 Previews", "🎬 Verdicts", "🧠 Trivia", "🍿 Awards",
                      "🐾 Basil's Corner", "⏭️ Next time"]
    previews = section(preview_msg, "🔮 Previews")
    for who in (g.alice, g.bob, g.carol):
        assert HER_PREVIEWS[who.user.username] in previews
        assert f"**{who.display_name}** expected" in previews
    verdicts = section(preview_msg, "🎬 Verdicts")
    assert "The club's average: **3.7/5**" in verdicts and "from 3 members" in verdicts
    assert f"**{g.alice.display_name}**: 👍👍👍👍👍 (5/5)\n> Far warmer than I feared." in verdicts
    assert f"**{g.carol.display_name}**: 👍👍 (2/5)" in verdicts
    trivia = section(preview_msg, "🧠 Trivia")
    facts = [line for line in trivia.split("\n\n") if line.startswith("• ")]
    assert len(facts) == dom.FACTS and all(f.endswith(".") and "?" not in f for f in facts)
    awards = section(preview_msg, "🍿 Awards")
    assert "**Best Snack in a Leading Role**" in awards
    assert "Nominees: Popcorn, Nachos and Pretzels." in awards
    assert "And the winner is **Popcorn** with 2 of 3 votes!" in awards
    assert "Ernst & Yum" in awards and "3 ballots counted" in awards
    basil = section(preview_msg, "🐾 Basil's Corner")
    assert "**Biscuit** (dog)" in basil and "discord.com/channels" in basil
    nxt = section(preview_msg, "⏭️ Next time")
    unix = int(ROCKY_START.timestamp())
    assert "**Rocky (1976)**, directed by John G. Avildsen" in nxt and f"<t:{unix}:F> (<t:{unix}:R>)" in nxt

    # Edit the intro with the button's modal; the private preview updates.
    h = await fake.click(club.mod, preview_msg, "Edit intro")
    await h.wait_modal()
    done = await fake.submit_modal(club.mod, h, {"Intro": "Dear readers: Her, at last."})
    updated = await done.reply()
    assert updated.id == preview_msg.id and updated.embeds[0]["description"] == "Dear readers: Her, at last."

    # Publish: posted in the announcements channel, Markdown attached, nobody pinged, recorded.
    before = len(announcements(club))
    h = await fake.click(club.mod, preview_msg, "Publish")
    result = await h.reply()
    assert "Published newsletter #" in result.content and not result.buttons()
    posts = announcements(club)[before:]
    assert len(posts) == 1
    post = posts[0]
    assert post.embeds[0]["title"] == "📰 Film Club Newsletter: Her (2013)"
    assert post.embeds[0]["description"] == "Dear readers: Her, at last."
    assert not post.pings_anyone
    assert post.nonce is not None
    [md_name] = post.file_names()
    md = post.attachments[0].data.decode()
    assert md_name.endswith(".md") and md.startswith("# 📰 Film Club Newsletter: Her (2013)")
    for heading in ("## 🔮 Previews", "## 🎬 Verdicts", "## 🧠 Trivia", "## 🍿 Awards", "## 🐾 Basil's Corner",
                    "## ⏭️ Next time"):
        assert heading in md
    assert "Tuesday 13 January 2026, 20:00 (Europe/London)" in md and "<t:" not in md
    row = (await repo.list_published(club.bot.store, club.guild_id))[0]
    assert row.message_ids == (post.id,) and row.channel_id == g.announcements.id and row.body_md == md

    # Publishing twice is refused and posts nothing.
    again = await fake.click(club.mod, preview_msg, "Publish") if preview_msg.buttons() else None
    if again is None:  # the buttons were removed: a stale copy of the custom id still gets refused
        again = await fake.click(club.mod, _with_buttons(preview_msg), f"nl:{row.id}:publish")
    refusal = await again.reply()
    assert refusal.ephemeral and "already published" in refusal.content
    assert len(announcements(club)) == before + 1

    # list / show
    listed = await reply_of(club, g.bob, "newsletter list")
    assert f"**#{row.id}** *Her* (2013)" in listed.embeds[0]["description"]
    shown = await reply_of(club, g.bob, "newsletter show", id=row.id)
    assert shown.ephemeral and shown.embeds[0]["title"] == "📰 Film Club Newsletter: Her (2013)"
    assert shown.file_names() == [md_name]

    # A second newsletter for the same installment is refused, and changes nothing.
    r = await reply_of(club, club.mod, "newsletter draft")
    assert r.ephemeral and f"already published as #{row.id}" in r.content
    assert f"/newsletter show id:{row.id}" in r.content
    assert await repo.list_drafts(club.bot.store, club.guild_id) == []

    # The next newsletter starts after this one: Biscuit is not repeated in Basil's Corner.
    second = await draft(club, film="Rocky (1976)")
    assert "🐾 Basil's Corner" not in [e.get("title") for e in second.embeds]
    await add_memorial(club, "Pickle")
    third = await draft(club, film="Rocky (1976)")
    assert "**Pickle** (dog)" in section(third, "🐾 Basil's Corner")
    assert "Biscuit" not in section(third, "🐾 Basil's Corner")


def _with_buttons(message: Message) -> Message:
    """The draft message as a moderator's stale client still shows it (buttons and all)."""
    for state in reversed(message.history):
        if state.get("components"):
            message.components = state["components"]
            return message
    raise AssertionError("the draft never had buttons")


# --------------------------------------------------------------------------- splitting


@pytest.mark.usefixtures("short_rate_windows")  # dozens of posts in one channel
async def test_long_newsletter_is_split_within_discord_limits_with_the_file(club: Club) -> None:
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    members = [fake.add_member(g.guild, f"critic{i}", [g.member_role]) for i in range(9)]
    long_text = " ".join(f"Sentence number {n} about longing, letters and lonely lifts." for n in range(40))[:1460]
    long_text = long_text[: long_text.rfind(".") + 1]
    for i, who in enumerate(members):
        r = await preview(club, who, f"Critic {i} says: {long_text}")
        assert "Saved your preview" in r.content
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    for i, who in enumerate(members):
        await verdict(club, who, 1 + i % 5, f"Critic {i} verdict: {long_text}")

    preview_msg = await draft(club, film="her-2013")
    assert "Publishing posts" in preview_msg.content and "Below: the first message." in preview_msg.content
    # Two moderators press Publish at the same moment: exactly one wins.
    first = await fake.click(club.mod, preview_msg, "Publish")
    second = await fake.click(g.admin, preview_msg, "Publish")
    replies = [await first.reply(), await second.reply()]
    answers = [m.content for m in replies]
    assert sum("Published newsletter" in a for a in answers) == 1
    [refusal] = [m for m in replies if "Published newsletter" not in m.content]
    assert refusal.ephemeral
    assert "is being published right now" in refusal.content or "already published" in refusal.content
    posts = announcements(club)
    assert len(posts) >= 3
    for post in posts:
        assert 1 <= len(post.embeds) <= 10
        assert embeds_size(post) <= 6000
        assert all(len(str(e.get("description", ""))) <= 4096 for e in post.embeds)
        assert not post.pings_anyone
    assert [bool(p.file_names()) for p in posts] == [False] * (len(posts) - 1) + [True]
    assert len({p.nonce for p in posts}) == len(posts)
    # Sections are continued, never cut mid-sentence: every preview and verdict is found whole.
    everything = "\n\n".join(embed_text(p) for p in posts)
    for i in range(9):
        assert f"Critic {i} says: {long_text}" in everything
        assert f"Critic {i} verdict: {long_text}" in everything
    assert "🔮 Previews (continued)" in everything and "🎬 Verdicts (continued)" in everything
    for p in posts:
        for e in p.embeds:
            assert str(e.get("description", "")).rstrip().endswith((".", ")", "!"))
    md = posts[-1].attachments[0].data.decode()
    assert all(f"Critic {i} says: {long_text}" in md for i in range(9))
    row = (await repo.list_published(club.bot.store, club.guild_id))[0]
    assert list(row.message_ids) == [p.id for p in posts]

    # /newsletter show pages through every embed, with the file.
    shown = await reply_of(club, g.bob, "newsletter show", id=row.id)
    parts = sum(len(p.embeds) for p in posts)
    assert shown.ephemeral and shown.embeds[0]["footer"]["text"] == f"Part 1 of {parts}"
    assert shown.file_names() == posts[-1].file_names()
    shown = await (await fake.click(g.bob, shown, "Next ▶")).reply()
    assert shown.embeds[0]["footer"]["text"] == f"Part 2 of {parts}"
    assert shown.embeds[0]["description"] == [e for p in posts for e in p.embeds][1]["description"]


# --------------------------------------------------------------------------- bad input


async def test_bad_inputs_are_refused_and_change_nothing(club: Club) -> None:
    fake, g = club.fake, club.g
    store = club.bot.store

    # A draft for a film with no screening (and with none finished at all).
    r = await reply_of(club, club.mod, "newsletter draft")
    assert r.ephemeral and "No screening has finished" in r.content
    r = await reply_of(club, club.mod, "newsletter draft", film="Rocky (1976)")
    assert r.ephemeral and "has no screening here" in r.content
    assert await repo.list_drafts(store, club.guild_id) == []
    # Members can't draft.
    r = await reply_of(club, g.bob, "newsletter draft", film="Rocky (1976)")
    assert r.ephemeral and "Only moderators" in r.content

    # A preview for a film with no screening.
    r = await reply_of(club, g.alice, "preview", film="Rocky (1976)")
    assert r.ephemeral and "no screening scheduled" in r.content
    # An unknown film, however long or odd the text: a short clear error, no ping.
    for odd in ("@everyone " + "x" * 5990, "   ", f"<@{g.bob.user.id}> **Nope**"):
        r = await reply_of(club, g.alice, "preview", film=odd)
        assert r.ephemeral and "I don't know the film" in r.content and len(r.content) <= 2000, r.content
        assert not r.pings_anyone and "@everyone" not in r.content.replace("@\u200beveryone", "")

    # A preview over the limit: Discord's client stops it (the modal says 1,500) ...
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    h = await club.slash(g.alice, g.general, "preview", film="her-2013")
    modal = await h.wait_modal()
    inputs = [c["component"] for c in modal["components"] if c.get("type") == 18]
    assert inputs[0]["max_length"] == 1500
    with pytest.raises(FakeDiscordUsageError, match="too long"):
        await fake.submit_modal(g.alice, h, {"Your expectations": "x" * 1501})
    # ... and a client that ignores the limit is refused by the bot.
    loose = {**modal, "components": [{**c, "component": {**c["component"], "max_length": 4000}}
                                     for c in modal["components"]]}
    done = await fake.submit_modal(g.alice, loose, {"Your expectations": "x" * 1501}, channel=g.general)
    r = await done.reply()
    assert r.ephemeral and "at most 1,500 characters; yours has 1,501" in r.content
    h = await club.slash(g.alice, g.general, "preview", film="her-2013")
    await h.wait_modal()
    r = await (await fake.submit_modal(g.alice, h, {"Your expectations": "  \n  "})).reply()
    assert r.ephemeral and "Write a few words" in r.content
    assert await repo.get_preview(store, club.guild_id, "her-2013", g.alice.user.id) is None
    assert posts_titled(club, "🔮") == []

    # A verdict before the screening finished: kept, but it says so and sets no rating.
    r = await verdict(club, g.carol, 3, "Trailer looked good.")
    assert r.ephemeral and "hasn't finished yet" in r.content and "does not set your rating" in r.content
    assert await screenings_repo.get_rating(store, club.guild_id, "her-2013", g.carol.user.id) is None

    # A verdict over the limit, the same way.
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    h = await club.slash(g.bob, g.general, "verdict", film="her-2013")
    modal = await h.wait_modal()
    loose = {**modal, "components": [{**c, "component": {**c["component"], "max_length": 4000}}
                                     if c["component"].get("type") == 4 else c for c in modal["components"]]}
    done = await fake.submit_modal(g.bob, loose, {"Thumbs (1 to 5)": ["3"], "Your take": "y" * 1600},
                                   channel=g.general)
    r = await done.reply()
    assert r.ephemeral and "at most 1,500 characters; yours has 1,600" in r.content
    assert await repo.get_verdict(store, club.guild_id, "her-2013", g.bob.user.id) is None
    assert await screenings_repo.get_rating(store, club.guild_id, "her-2013", g.bob.user.id) is None

    # A verdict for a film the club has not screened: allowed, but it says so (and sets no rating).
    r = await verdict(club, g.carol, 4, "Saw it at home years ago.", film="Rocky (1976)")
    assert r.ephemeral and "hasn't screened *Rocky* (1976)" in r.content
    assert (await repo.get_verdict(store, club.guild_id, "rocky-1976", g.carol.user.id)) is not None
    assert await screenings_repo.get_rating(store, club.guild_id, "rocky-1976", g.carol.user.id) is None

    # An intro over the limit is refused and the draft keeps its intro.
    preview_msg = await draft(club)
    h = await fake.click(club.mod, preview_msg, "Edit intro")
    modal = await h.wait_modal()
    loose = {**modal, "components": [{**c, "component": {**c["component"], "max_length": 4000}}
                                     for c in modal["components"]]}
    done = await fake.submit_modal(club.mod, loose, {"Intro": "z" * 1501}, channel=g.general)
    r = await done.reply()
    assert r.ephemeral and "intro can be at most 1,500" in r.content
    [row] = await repo.list_drafts(store, club.guild_id)
    assert row.intro == dom.default_intro("Her", 2013)

    # Members can't press the draft's buttons; a discarded draft can't be published.
    r = await (await fake.click(g.bob, preview_msg, "Publish")).reply()
    assert r.ephemeral and "Only moderators" in r.content
    r = await (await fake.click(club.mod, preview_msg, "Discard")).reply()
    assert "discarded" in r.content and not r.buttons()
    stale = _with_buttons(preview_msg)
    r = await (await fake.click(club.mod, stale, "Publish")).reply()
    assert r.ephemeral and "was discarded" in r.content
    assert announcements(club) == []
    assert (await repo.get(store, row.id)).status == "discarded"  # type: ignore[union-attr]

    # A newsletter that doesn't exist (or isn't published) can't be shown to members.
    r = await reply_of(club, g.bob, "newsletter show", id=row.id)
    assert r.ephemeral and "no published newsletter" in r.content
    r = await reply_of(club, g.bob, "newsletter list")
    assert r.ephemeral and "No newsletter has been published" in r.content


async def test_discord_refusing_the_post_keeps_the_draft_for_a_retry(club: Club) -> None:
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    await verdict(club, g.alice, 2, "Too slow for me.")
    first_post = posts_titled(club, "🎬 ")[-1]
    # Changing a verdict edits the same post and the rating.
    r = await verdict(club, g.alice, 4, "Grew on me overnight.")
    assert "Updated your verdict" in r.content
    assert posts_titled(club, "🎬 ")[-1].id == first_post.id
    assert "Grew on me overnight." in first_post.embeds[0]["description"]
    rating = await screenings_repo.get_rating(club.bot.store, club.guild_id, "her-2013", g.alice.user.id)
    assert rating is not None and rating.thumbs == 4

    preview_msg = await draft(club)
    fake.inject("POST", rf"/channels/{g.announcements.id}/messages$", 403)
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert r.ephemeral and "missing a permission" in r.content
    [row] = await repo.list_drafts(club.bot.store, club.guild_id)
    assert row.is_draft and row.message_ids == () and announcements(club) == []
    # Once fixed, Publish works and posts the newsletter once.
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert "Published newsletter" in r.content
    assert len(announcements(club)) == 1
    verdicts = section(announcements(club)[0], "🎬 Verdicts")
    assert f"**{g.alice.display_name}**: 👍👍👍👍 (4/5)\n> Grew on me overnight." in verdicts


# --------------------------------------------------------------------------- hardening


async def long_her(club: Club, critics: int = 9) -> list[Member]:
    """Her screened, with ``critics`` long previews and verdicts: a newsletter of several messages."""
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    members = [fake.add_member(g.guild, f"critic{i}", [g.member_role]) for i in range(critics)]
    text = " ".join(f"Sentence number {n} about longing, letters and lonely lifts." for n in range(40))[:1460]
    text = text[: text.rfind(".") + 1]
    for i, who in enumerate(members):
        await preview(club, who, f"Critic {i} says: {text}")
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    for i, who in enumerate(members):
        await verdict(club, who, 1 + i % 5, f"Critic {i} verdict: {text}")
    return members


def check_limits(post: Message) -> None:
    assert 1 <= len(post.embeds) <= 10
    assert embeds_size(post) <= 6000
    for e in post.embeds:
        assert len(str(e.get("title", ""))) <= 256 and len(str(e.get("description", ""))) <= 4096
    assert len(post.content or "") <= 2000
    assert not post.pings_anyone


@pytest.mark.usefixtures("short_rate_windows")  # dozens of posts in one channel
async def test_pathological_texts_many_members_markdown_and_mentions(club: Club) -> None:
    """One 1,500-character preview without a sentence break, Markdown and mentions in names and texts, and
    a crowd of members: every message within Discord's limits, every text whole, nobody pinged."""
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    blob = ("lonely " * 300)[:1500].strip()  # no sentence end at all
    assert len(blob) >= 1495 and "." not in blob
    odd = fake.add_member(g.guild, "odd", [g.member_role], nick="**Bold** _Sly_ @everyone [x](https://e.vil)")
    r = await preview(club, odd, blob)
    assert "Saved your preview" in r.content
    r = await preview(club, g.alice, f"<@{g.bob.user.id}> @everyone @here <@&{g.member_role.id}> ```unclosed fence")
    assert "Saved your preview" in r.content and not r.pings_anyone
    crowd = [fake.add_member(g.guild, f"fan{i}", [g.member_role]) for i in range(30)]
    sentence = "I hope it is tender. " * 70
    for i, who in enumerate(crowd):
        await preview(club, who, f"Fan {i}: {sentence}".strip()[:1500])
    thread_posts = posts_titled(club, "🔮")
    assert len(thread_posts) == 32 and not any(m.pings_anyone for m in thread_posts)
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    for i, who in enumerate(crowd):
        await verdict(club, who, 1 + i % 5, f"Fan {i} verdict: {sentence}".strip()[:1500])

    preview_msg = await draft(club, film="her-2013")
    assert "Below: the first message." in preview_msg.content
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert "Published newsletter" in r.content
    posts = announcements(club)
    assert len(posts) >= 4
    for post in posts:
        check_limits(post)
    descriptions = [str(e.get("description", "")) for p in posts for e in p.embeds]
    # The unbroken preview is whole, in one embed; the odd name is shown as typed, not as Markdown or a ping.
    assert sum(("> " + blob) in d for d in descriptions) == 1
    shown_name = r"**\*\*Bold\*\* \_Sly\_ @" + "\u200b" + r"everyone \[x\](https://e.vil)** expected:"
    assert sum(shown_name in d for d in descriptions) == 1
    # Alice's unclosed fence can't swallow the rest; her mentions stay text (embeds never ping anyway).
    assert any(r"\`\`\`unclosed fence" in d for d in descriptions)
    for i in range(30):
        assert sum(f"Fan {i}: I hope it is tender." in d for d in descriptions) == 1
        assert sum(f"Fan {i} verdict: I hope it is tender." in d for d in descriptions) == 1
    # Split between whole paragraphs, never mid-sentence.
    for d in descriptions[1:]:
        assert d.rstrip().endswith((".", "lonely", "fence", "!", ")", "(30 members).")), d[-80:]
    md = posts[-1].attachments[0].data.decode()
    assert blob in md and md.count("Fan 7: I hope") == 1


async def test_draft_buttons_work_after_a_restart(club: Club) -> None:
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    await verdict(club, g.alice, 4, "Lovely.")
    first = await draft(club)
    second = await draft(club)
    await club.restart()

    h = await fake.click(club.mod, first, "Edit intro")
    modal = await h.wait_modal()
    assert modal["title"].startswith("Newsletter #")
    done = await fake.submit_modal(club.mod, h, {"Intro": "Written after a restart."})
    assert (await done.reply()).embeds[0]["description"] == "Written after a restart."
    r = await (await fake.click(club.mod, second, "Discard")).reply()
    assert "discarded" in r.content and not r.buttons()
    r = await (await fake.click(club.mod, first, "Publish")).reply()
    assert "Published newsletter" in r.content
    [post] = announcements(club)
    assert post.embeds[0]["description"] == "Written after a restart."
    assert [d.status for d in [await repo.get(club.bot.store, i) for i in (1, 2)] if d] == ["published", "discarded"]


async def test_announcements_channel_gone_or_closed_at_publish(club: Club) -> None:
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    await club.clock.advance_to(HER_END + timedelta(seconds=5))
    await verdict(club, g.alice, 4, "Lovely.")
    preview_msg = await draft(club)

    # The bot may not attach files there: refused before anything is posted, naming the permission.
    fake.set_overwrites(g.announcements, [fake.overwrite(g.bot_role, deny=P.ATTACH_FILES)])
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert r.ephemeral and "missing Attach Files" in r.content and "draft is kept" in r.content
    assert announcements(club) == []
    fake.set_overwrites(g.announcements, [])

    # The channel was deleted: a clear error, the draft is kept as it was.
    fake.delete_channel(g.announcements)
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert r.ephemeral and "is gone" in r.content and "/filmclub setup announcements:" in r.content
    [row] = await repo.list_drafts(club.bot.store, club.guild_id)
    assert row.is_draft and row.message_ids == () and not row.is_publishing(club.bot.now_ts())
    assert await repo.list_published(club.bot.store, club.guild_id) == []

    # A moderator sets a new channel; Publish works there.
    news = fake.create_channel(g.guild, "news")
    r = await reply_of(club, g.admin, "filmclub setup", announcements=news)
    assert r.ephemeral
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert "Published newsletter" in r.content and f"<#{news.id}>" in r.content
    assert len([m for m in fake.bot_messages(news) if m.embeds and m.embeds[0].get("title", "").startswith("📰")]) == 1


@pytest.mark.usefixtures("short_rate_windows")  # dozens of posts in one channel
async def test_posting_stopped_midway_resumes_or_discards_cleanly(club: Club) -> None:
    fake, g = club.fake, club.g
    await long_her(club)
    path = rf"/channels/{g.announcements.id}/messages$"

    # Discord refuses the second message: one is out, the draft is kept and says so.
    first_draft = await draft(club, film="her-2013")
    fake.after_request("POST", path, lambda call: fake.inject("POST", path, 403))
    r = await (await fake.click(club.mod, first_draft, "Publish")).reply()
    assert r.ephemeral and "Publishing stopped" in r.content and "missing a permission" in r.content
    assert re.search(r"1 of \d+ messages are posted; Publish posts the rest", r.content), r.content
    assert len(announcements(club)) == 1
    # Discard removes the part that was posted: no half newsletter is left behind.
    r = await (await fake.click(club.mod, first_draft, "Discard")).reply()
    assert "Removed the 1 message" in r.content
    assert announcements(club) == []

    # Again, with a resume: the intro is frozen once part of it is out; Publish posts only the rest.
    second_draft = await draft(club, film="her-2013")
    fake.after_request("POST", path, lambda call: fake.inject("POST", path, 403))
    r = await (await fake.click(club.mod, second_draft, "Publish")).reply()
    assert "Publishing stopped" in r.content
    [row] = await repo.list_drafts(club.bot.store, club.guild_id)
    assert len(row.message_ids) == 1
    shown = await reply_of(club, club.mod, "newsletter show", id=row.id)
    assert "An earlier Publish stopped after 1 of" in shown.content
    r = await (await fake.click(club.mod, second_draft, "Edit intro")).reply()
    assert r.ephemeral and "intro can't change now" in r.content
    r = await (await fake.click(club.mod, second_draft, "Publish")).reply()
    assert "Published newsletter" in r.content
    posts = announcements(club)
    assert posts[0].id == row.message_ids[0] and len(posts) >= 3
    assert len({p.nonce for p in posts}) == len(posts)
    assert [bool(p.file_names()) for p in posts] == [False] * (len(posts) - 1) + [True]
    everything = "\n\n".join(embed_text(p) for p in posts)
    assert everything.count("📰 Film Club Newsletter: Her (2013)") == 1
    for i in range(9):
        assert everything.count(f"Critic {i} says:") == 1
    [published] = await repo.list_published(club.bot.store, club.guild_id)
    assert list(published.message_ids) == [p.id for p in posts]


@pytest.mark.usefixtures("short_rate_windows")  # dozens of posts in one channel
async def test_channel_deleted_midway_starts_over_in_the_new_channel(club: Club) -> None:
    fake, g = club.fake, club.g
    await long_her(club)
    preview_msg = await draft(club, film="her-2013")
    path = rf"/channels/{g.announcements.id}/messages$"
    fake.after_request("POST", path, lambda call: fake.delete_channel(g.announcements))
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert r.ephemeral and "was deleted" in r.content and "/filmclub setup announcements:" in r.content
    assert "The draft is kept" in r.content
    assert await repo.list_published(club.bot.store, club.guild_id) == []
    news = fake.create_channel(g.guild, "news")
    await reply_of(club, g.admin, "filmclub setup", announcements=news)
    r = await (await fake.click(club.mod, preview_msg, "Publish")).reply()
    assert "Published newsletter" in r.content
    posts = [m for m in fake.bot_messages(news) if m.embeds]
    assert posts[0].embeds[0]["title"] == "📰 Film Club Newsletter: Her (2013)"  # whole, from the start
    assert posts[-1].file_names() and len(posts) >= 3
    [published] = await repo.list_published(club.bot.store, club.guild_id)
    assert published.channel_id == news.id and list(published.message_ids) == [p.id for p in posts]


async def test_list_pages_and_show_refuses_another_servers_newsletter(club: Club) -> None:
    fake, g = club.fake, club.g
    store = club.bot.store
    ids = []
    for n in range(23):
        row = await repo.create_draft(
            store, guild_id=club.guild_id, film_key=f"custom:film-{n}-2000", film_title=f"Film {n}", film_year=2000,
            screening_id=None, title=f"Newsletter {n}", intro="Hi.", sections="[]", covers_since=0,
            covers_until=1000 + n, created_by=1, now=1000 + n,
        )
        assert await repo.claim_publish(store, row.id, channel_id=int(g.announcements.id), published_by=1,
                                        now=2000 + n, lease=900)
        await repo.set_message_ids(store, row.id, [10_000 + n])
        assert await repo.finish_publish(store, row.id, body_md="# x", published_by=1, now=2000 + n)
        ids.append(row.id)
    elsewhere = await repo.create_draft(
        store, guild_id=999, film_key="her-2013", film_title="Secret", film_year=2013, screening_id=None,
        title="Another server's newsletter", intro="Private.", sections="[]", covers_since=0, covers_until=1,
        created_by=1, now=1,
    )
    await repo.claim_publish(store, elsewhere.id, channel_id=5, published_by=1, now=2, lease=900)
    await repo.finish_publish(store, elsewhere.id, body_md="# secret", published_by=1, now=2)

    open_draft = await repo.create_draft(
        store, guild_id=club.guild_id, film_key="her-2013", film_title="Her", film_year=2013, screening_id=None,
        title="Draft", intro="", sections="[]", covers_since=0, covers_until=5000, created_by=1, now=5000,
    )
    mod_view = await reply_of(club, club.mod, "newsletter list")
    assert f"Open drafts (moderators, `/newsletter show id` to review): #{open_draft.id} *Her* (2013)" in (
        mod_view.content)
    h = await club.slash(g.bob, g.general, "newsletter list")
    page = await h.reply()
    assert not page.content  # members don't see drafts
    assert page.ephemeral and "page 1 of 3" in page.embeds[0]["footer"]["text"]
    assert "23 published" in page.embeds[0]["footer"]["text"]
    lines = page.embeds[0]["description"].split("\n")
    assert len(lines) == 10 and lines[0].startswith(f"**#{ids[-1]}** *Film 22* (2000)")
    assert "Secret" not in page.embeds[0]["description"]
    page = await (await fake.click(g.bob, page, "Next ▶")).reply()
    page = await (await fake.click(g.bob, page, "Next ▶")).reply()
    assert "page 3 of 3" in page.embeds[0]["footer"]["text"]
    assert page.embeds[0]["description"].split("\n")[-1].startswith(f"**#{ids[0]}** *Film 0*")
    assert len(page.embeds[0]["description"].split("\n")) == 3

    for who in (g.bob, club.mod):
        r = await reply_of(club, who, "newsletter show", id=elsewhere.id)
        assert r.ephemeral and f"no published newsletter #{elsewhere.id} here" in r.content
        assert "Secret" not in r.text() and not r.file_names()
    r = await reply_of(club, g.bob, "newsletter show", id=10**12)
    assert r.ephemeral and "no published newsletter" in r.content


async def test_preview_kept_when_it_cannot_be_posted_and_closed_modal_refused(club: Club) -> None:
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    fake.set_overwrites(g.screenings, [
        fake.overwrite(g.bot_role, deny=P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS),
    ])
    r = await preview(club, g.alice, "Hoping for something gentle.")
    assert r.ephemeral and "Saved your preview" in r.content and "missing a permission" in r.content
    kept = await repo.get_preview(club.bot.store, club.guild_id, "her-2013", g.alice.user.id)
    assert kept is not None and kept.text == "Hoping for something gentle." and kept.message_id is None
    fake.set_overwrites(g.screenings, [])

    # A modal opened before the start but sent after it: refused, nothing saved.
    h = await club.slash(g.bob, g.general, "preview", film="her-2013")
    await h.wait_modal()
    await club.clock.advance_to(HER_START + timedelta(minutes=1))
    done = await fake.submit_modal(g.bob, h, {"Your expectations": "Too late?"})
    r = await done.reply()
    assert r.ephemeral and "previews are closed" in r.content
    assert await repo.get_preview(club.bot.store, club.guild_id, "her-2013", g.bob.user.id) is None


async def test_preview_of_a_screening_without_announcement_goes_to_its_channel(club: Club) -> None:
    """A crash between storing a screening and storing its announcement leaves no message to open a thread on:
    the preview is posted in the screening's channel instead of failing after it was saved."""
    fake, g = club.fake, club.g
    await schedule(club, "Her (2013)", "tomorrow 8pm")
    her = (await screenings_repo.list_screenings(club.bot.store, club.guild_id))[0]
    await club.bot.store.execute("UPDATE screenings SET message_id = NULL WHERE id = ?", (her.id,))
    r = await preview(club, g.alice, "Hoping for something gentle.")
    assert r.ephemeral and "Saved your preview" in r.content and f"posted it in <#{g.screenings.id}>" in r.content
    posted = posts_titled(club, "🔮")
    assert len(posted) == 1 and posted[0].channel_id == g.screenings.id
    assert not [c for c in fake.channels.values() if getattr(c, "parent_id", None) == g.screenings.id]


async def test_draft_reads_the_trivia_packs_off_the_event_loop(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped packs (thousands of questions) are read and the facts chosen in the worker, never on the loop:
    any reading of the packs in this process must happen outside the loop's thread."""
    import threading

    from bot.domain.trivia import load_shipped_packs
    from cogs.newsletter import service

    readers: list[threading.Thread] = []

    def recording() -> Any:
        readers.append(threading.current_thread())
        return load_shipped_packs()

    monkeypatch.setattr(service, "load_shipped_packs", recording)
    service._shipped_qas.cache_clear()
    await her_club(club)
    reply = await draft(club, film="her-2013")
    assert "🧠 Trivia" in [str(e.get("title")) for e in reply.embeds], reply.content  # the facts were read
    loop_thread = threading.current_thread()  # the tests share the bot's event loop
    assert loop_thread not in readers
    service._shipped_qas.cache_clear()


# --------------------------------------------------------------------------- a real crash mid-publish


@pytest.mark.process
@pytest.mark.usefixtures("short_rate_windows")  # dozens of posts in one channel
async def test_sigkill_mid_publish_resumes_without_duplicates(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """SIGKILL while Discord answers the 2nd message: after a restart, Publish posts the rest, once each."""
    g = fake.standard_guild()
    db_path = tmp_path / "club.db"
    proc = bot_process("bot", env={"FILMCLUB_DB": str(db_path), "FILMCLUB_DEV_GUILD": str(g.guild.id)},
                       commands=True)
    await proc.start()
    await proc.stop()
    store = Store(db_path)
    await store.open()
    await migrate(store)
    guild_id = int(g.guild.id)
    await SettingsRepo(store).update(guild_id, 1, announcements_channel_id=int(g.announcements.id))
    text = " ".join(f"Sentence {n} about letters and lifts." for n in range(45))
    letter = dom.compile_newsletter(dom.Source(
        "Her", 2013, previews=[dom.PreviewItem(i, f"Critic {i}", f"Critic {i}: {text}") for i in range(10)],
    ))
    total = len(dom.split_messages(letter))
    assert total >= 3
    row = await repo.create_draft(
        store, guild_id=guild_id, film_key="her-2013", film_title="Her", film_year=2013, screening_id=None,
        title=letter.title, intro=letter.intro, sections=dom.sections_to_json(letter.sections), covers_since=0,
        covers_until=1, created_by=int(g.owner.user.id), now=1,
    )
    await store.close()

    path = rf"/channels/{g.announcements.id}/messages$"
    seen: list[int] = []

    def kill_on_second(call: object) -> None:
        seen.append(1)
        if len(seen) == 2:
            proc.kill()

    fake.after_request("POST", path, kill_on_second, count=2)
    await proc.start(commands=False)
    shown = await (await fake.slash(g.owner, g.general, "newsletter show", id=row.id)).reply()
    assert f"**Draft #{row.id}**" in shown.content
    await fake.click(g.owner, shown, "Publish")
    await fake.wait_until(lambda: not proc.running, timeout=15, what="the bot to be killed mid-publish")
    assert len(fake.bot_messages(g.announcements)) == 2  # the second exists, the bot never heard back

    await proc.start(commands=False)
    done = await (await fake.click(g.owner, shown, "Publish")).reply()
    assert "Published newsletter" in done.content, done.content
    posts = [m for m in fake.bot_messages(g.announcements) if m.embeds]
    assert len(posts) == total  # the second message was not posted twice (same nonce)
    assert posts[0].embeds[0]["title"] == letter.title
    assert [bool(p.file_names()) for p in posts] == [False] * (total - 1) + [True]
    await proc.stop()
    store = Store(db_path)
    await store.open()
    final = await repo.get(store, row.id)
    await store.close()
    assert final is not None and final.is_published and list(final.message_ids) == [p.id for p in posts]
    assert final.publishing_until is None


async def test_basil_anniversary_and_a_stale_draft(club: Club) -> None:
    """Basil's Corner tells memorials and anniversaries of its period; a draft made before another newsletter
    was published is refused rather than repeat them."""
    fake, g = club.fake, club.g
    await her_club(club)
    await add_memorial(club, "Pip")
    h = await club.slash(g.bob, g.general, "basil memorial", name="Old Tom", species="cat", passed="2025-01-06")
    await h.wait_modal()
    await (await fake.submit_modal(g.bob, h, {"Their story": "Sat on every remote."})).reply()
    await club.clock.advance_to(HER_END + timedelta(seconds=5))  # the anniversary (6 January, 10:00) goes out
    assert any("Old Tom" in m.content for m in fake.messages_in(club.basil))
    her_draft = await draft(club)
    rocky_draft = await draft(club, film="Rocky (1976)")
    corner = section(her_draft, "🐾 Basil's Corner")
    assert "goodbye to **Pip** (dog)" in corner and "goodbye to **Old Tom** (cat)" in corner
    assert "It has been 1 year since **Old Tom** (cat) crossed the rainbow bridge" in corner
    r = await (await fake.click(club.mod, her_draft, "Publish")).reply()
    assert "Published newsletter" in r.content
    r = await (await fake.click(club.mod, rocky_draft, "Publish")).reply()
    assert r.ephemeral and "Another newsletter was published after draft" in r.content
    assert len(posts_titled(club, "📰")) == 1
    fresh = await draft(club, film="Rocky (1976)")
    assert "🐾 Basil's Corner" not in [e.get("title") for e in fresh.embeds]


@pytest.mark.process
async def test_a_hostile_pack_in_another_server_does_not_stall_this_one(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """Server B's own pack: 1,920 long questions shaped to make a naive pattern backtrack. B's moderator drafts
    the newsletter for Her; meanwhile members of server A keep running a command, and every one is answered
    in time (the fake answers Unknown interaction to a callback later than 3 s). The bot runs as a real process,
    so its event loop can stall while the test keeps sending."""
    import sqlite3

    a = fake.standard_guild("Film Club")
    b = fake.standard_guild("Someone Else's Server")
    db = tmp_path / "club.db"
    proc = bot_process("bot", env={"FILMCLUB_DB": str(db)}, commands=True)
    await proc.start()
    for command, options in (
        ("filmclub setup", {"screenings": b.screenings, "announcements": b.announcements}),
        ("screening schedule", {"film": "Her (2013)", "when": "tomorrow 8pm"}),
    ):
        done = await (await fake.slash(b.admin, b.general, command, **options)).reply()
        assert done.ephemeral, done.content
    middle = " ".join(["did"] * 240)
    with sqlite3.connect(db) as conn:  # what 8 imports of B's own packs leave in the database
        conn.executemany(
            "INSERT INTO trivia_questions (guild_id, question_key, question, answers, added_by, created_at, "
            "updated_at) VALUES (?, ?, ?, '[\"12\"]', ?, 0, 0)",
            [(int(b.guild.id), f"q{n}", f"How many {n} {middle} Her!?", int(b.admin.user.id)) for n in range(1920)],
        )
    hostile = await fake.slash(b.admin, b.general, "newsletter draft", film="her-2013")
    await fake.wait_until(lambda: hostile.deferred, 10, "the draft deferred")  # it is compiling now
    probes = []
    for _ in range(8):
        probes.append(await fake.slash(a.alice, a.general, "filmclub about"))
        await asyncio.sleep(0.25)
    for probe in probes:
        reply = await probe.reply(timeout=10)
        assert reply.embeds and reply.embeds[0]["title"] == "filmclub", reply.content
    draft_reply = await hostile.reply(timeout=30)
    assert draft_reply.ephemeral and "Draft #1" in draft_reply.content
    await proc.stop()
