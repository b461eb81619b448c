"""Basil's Corner end to end: the real bot against the fake Discord, with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from db import basil as repo
from db import scheduled_posts as posts_repo
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.models import Channel, ChannelType, Member, Message
from tests.fakediscord.permissions import P

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


# ----------------------------------------------------------------------------- helpers
async def memorial(club: Club, who: Member, name: str, story: str = "She loved the sofa.", **options: Any) -> Any:
    """Run /basil memorial and submit the story modal; return the modal's interaction handle."""
    h = await club.slash(who, club.g.general, "basil memorial", name=name, **options)
    modal = await h.wait_modal()
    assert modal["title"].startswith("Remembering")
    return await club.fake.submit_modal(who, h, {"Their story": story})


def cards(club: Club) -> list[Message]:
    return [m for m in club.fake.messages_in(club.basil) if m.embeds and not m.deleted]


def thread_of(club: Club, card: Message) -> Channel:
    assert card.thread_id is not None, "the card has no thread"
    return club.fake.get_channel(card.thread_id)


def assert_nobody_pinged(club: Club) -> None:
    """Every message the bot sent anywhere (channel, threads, DMs, replies) pings nobody."""
    for msg in club.fake.all_messages(include_deleted=True):
        if msg.author.id == club.fake.bot_user.id:
            assert not msg.pings_anyone, f"message {msg.id} pinged: {msg.content!r}"


async def error_of(h: Any) -> str:
    reply = await h.reply()
    assert reply.ephemeral, "errors must be ephemeral"
    return str(reply.content)


async def only_memorials(club: Club) -> list[str]:
    rows = await club.bot.store.fetchall("SELECT name FROM basil_memorials ORDER BY id")
    return [r["name"] for r in rows]


# ----------------------------------------------------------------------------- creation
async def test_memorial_dates_take_day_words_and_ignore_a_time(club: Club) -> None:
    """The fake clock is Monday 2026-01-05: `yesterday` and a date with a time of day both read as days."""
    done = await memorial(club, club.g.alice, "Mochi", born="2012-03-14 08:00", passed="yesterday")
    reply = await done.reply()
    assert reply.ephemeral and "Basil's Corner" in reply.content, reply.content
    [card] = cards(club)
    fields = {f["name"]: f["value"] for f in card.embed["fields"]}
    assert fields["Dates"] == "14 March 2012 – 4 January 2026"
    h = await club.slash(club.g.bob, club.g.general, "basil memorial", name="Pip", passed="in 2 hours")
    assert "time from now" in await error_of(h)


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_memorial_with_photo_posts_a_gentle_card(club: Club) -> None:
    photo = club.fake.attachment("biscuit.png", PNG, "image/png")
    done = await memorial(
        club, club.g.alice, "Biscuit @everyone", story="Chased <@&1> and **pigeons**.", species="dog",
        born="14 March 2012", passed="2025-05-01", photo=photo,
    )
    reply = await done.reply()
    assert reply.ephemeral and "Basil's Corner" in reply.content
    [card] = cards(club)
    assert reply.content.endswith(card.jump_url)
    embed = card.embed
    assert embed is not None
    assert "Biscuit" in embed["title"]
    assert "crossed the rainbow bridge on 1 May 2025" in embed["description"]
    assert "\\*\\*pigeons\\*\\*" in embed["description"]  # user text escaped
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Species"] == "dog"
    assert fields["Dates"] == "14 March 2012 – 1 May 2025"
    assert fields["Shared by"] == f"<@{club.g.alice.user.id}>"
    # The photo is re-uploaded with the card and the embed points at the attachment.
    assert card.file_names() == ["memorial.png"]
    assert card.attachments[0].data == PNG
    assert embed["image"]["url"].endswith("memorial.png")
    # Reactions by the bot, a thread for tributes, the tribute button.
    assert club.fake.bot_user.id in card.reaction_users("🌈")
    assert club.fake.bot_user.id in card.reaction_users("🐾")
    thread = thread_of(club, card)
    assert thread.name == "Memories of Biscuit @everyone"
    assert [b["label"] for b in card.buttons()] == ["Leave a tribute"]
    assert_nobody_pinged(club)


async def test_tribute_is_posted_in_the_thread_and_kept(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="2025-05-01")).reply()
    [card] = cards(club)
    h = await club.fake.click(club.g.bob, card, "Leave a tribute")
    modal = await h.wait_modal()
    assert "Pip" in modal["title"]
    done = await club.fake.submit_modal(club.g.bob, h, {"Your tribute": "Goodbye @everyone, <@123> was a good dog"})
    reply = await done.reply()
    assert reply.ephemeral and "Thank you" in reply.content
    thread = thread_of(club, card)
    [tribute] = [m for m in club.fake.messages_in(thread) if m.embeds]
    assert club.g.bob.display_name in tribute.embed["author"]["name"]  # type: ignore[index]
    assert "Goodbye" in tribute.embed["description"]  # type: ignore[index]
    memorial_row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert memorial_row is not None
    [kept] = await repo.list_tributes(club.bot.store, memorial_row.id)
    assert kept.author_id == club.g.bob.user.id and kept.message_id == tribute.id
    assert_nobody_pinged(club)


async def test_tribute_button_works_after_restart(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip")).reply()
    [card] = cards(club)
    await club.restart()
    h = await club.fake.click(club.g.carol, card, "Leave a tribute")
    done = await club.fake.submit_modal(club.g.carol, h, {"Your tribute": "Still thinking of you."})
    assert "Thank you" in (await done.reply()).content
    assert [m.embed["description"] for m in club.fake.messages_in(thread_of(club, card)) if m.embed] == [
        "Still thinking of you."
    ]


# ----------------------------------------------------------------------------- approval
async def turn_on_approval(club: Club) -> None:
    h = await club.slash(club.g.admin, club.g.general, "filmclub setup", memorial_approval=True)
    await h.reply()
    assert (await club.bot.settings.get(club.guild_id)).basil_approval


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_approval_queue_approve_and_decline(club: Club) -> None:
    await turn_on_approval(club)
    closed = club.fake.add_member(club.g.guild, "dana", [club.g.member_role], dms_closed=True)
    waiting = await (await memorial(club, club.g.alice, "Pip", passed="2025-05-01")).reply()
    assert waiting.ephemeral and "moderator" in waiting.content
    await (await memorial(club, closed, "Mog", species="cat")).reply()
    assert cards(club) == []  # nothing is posted before approval
    notice = club.fake.last_message(club.g.announcements)
    assert notice is not None and "/basil queue" in notice.content

    # A member who is not a moderator cannot see the queue.
    refused = await club.slash(club.g.bob, club.g.general, "basil queue")
    assert "Only moderators" in await error_of(refused)

    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    assert queue.ephemeral and "1 of 2" in queue.content
    assert "Pip" in queue.embed["title"]  # type: ignore[index]
    # Someone else clicking Approve is refused (buttons check the moderator server-side).
    bad = await club.fake.click(club.g.bob, queue, "Approve")
    assert "Only moderators" in (await bad.followup() if bad.followups else await bad.reply()).content
    assert cards(club) == []

    approved = await club.fake.click(club.mod, queue, "Approve")
    await approved.reply()
    await club.fake.settle()
    [card] = cards(club)
    assert "Pip" in card.embed["title"]  # type: ignore[index]
    assert card.thread_id is not None
    assert "1 of 1" in queue.content and "Mog" in queue.embed["title"]  # type: ignore[index]
    dm = [m for m in club.fake.messages_in(club.fake.dm_channel(club.g.alice))]
    assert len(dm) == 1 and "Pip" in dm[0].content and card.jump_url in dm[0].content

    declined = await club.fake.click(club.mod, queue, "Decline")
    await declined.reply()
    await club.fake.settle()
    assert "Nothing is waiting" in queue.content and queue.buttons() == []
    assert len(cards(club)) == 1
    assert await only_memorials(club) == ["Pip"]
    # Dana's DMs are closed: she is told privately on her next /basil command.
    assert club.fake.messages_in(club.fake.dm_channel(closed)) == []
    wall = await club.slash(closed, club.g.general, "basil wall")
    await wall.reply()
    told = await wall.followup()
    assert told.ephemeral and "Mog" in told.content and "not added" in told.content
    again = await club.slash(closed, club.g.general, "basil wall")
    await again.reply()
    await club.fake.settle()
    assert again.followups == []  # told once
    assert_nobody_pinged(club)


async def test_moderators_skip_the_queue(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.mod, "Rex")).reply()
    assert len(cards(club)) == 1


# ----------------------------------------------------------------------------- wall
@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_wall_pages_over_many_memorials(club: Club) -> None:
    names = [f"Pet {i:02d}" for i in range(26)]
    for i, name in enumerate(names):
        created = await repo.create(
            club.bot.store, guild_id=club.guild_id, name=name, name_key=name.casefold(), species="cat",
            born=None, passed=datetime(2000 + i % 20, 1, 1 + i).date(), story="", author_id=club.g.alice.user.id,
            status=repo.APPROVED, anniversaries=False, now=club.bot.now_ts(),
        )
        assert created is not None
    await repo.create(
        club.bot.store, guild_id=club.guild_id, name="Hidden", name_key="hidden", species=None, born=None,
        passed=None, story="", author_id=club.g.bob.user.id, status=repo.PENDING, anniversaries=False,
        now=club.bot.now_ts(),
    )
    wall = await (await club.slash(club.g.carol, club.g.general, "basil wall")).reply()
    assert wall.ephemeral
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert wall.embed is not None
        assert f"Page {pages} of 3" in wall.embed["footer"]["text"]
        seen += [n for n in names if n in wall.embed["description"]]
        nxt = next(b for b in wall.buttons() if "Next" in b["label"])
        if nxt.get("disabled"):
            break
        # Only the member who asked can page.
        other = await club.fake.click(club.g.bob, wall, "Next ▶")
        assert (await other.reply()).ephemeral
        assert f"Page {pages} of 3" in wall.embed["footer"]["text"]
        await (await club.fake.click(club.g.carol, wall, "Next ▶")).reply()
    assert pages == 3
    assert sorted(seen) == names
    assert "Hidden" not in " ".join(str(e) for e in wall.history)


# ----------------------------------------------------------------------------- anniversaries
@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_anniversary_fires_once_and_not_again_after_restart(club: Club) -> None:
    # Fake time starts on Monday 5 January 2026, 12:00 UTC; the server is in Europe/London.
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    [card] = cards(club)
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    [pending] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:")
    assert pending.key == f"basil:{row.id}:anniv:2026" and pending.kind == "basil.anniversary"
    assert pending.due_at == int(datetime(2026, 1, 10, 10, tzinfo=UTC).timestamp())

    await club.restart()  # a restart before the day does not lose or double it
    await club.clock.advance_to(datetime(2026, 1, 10, 9, 59, tzinfo=UTC))
    assert len(club.fake.messages_in(club.basil)) == 1
    await club.clock.advance_to(datetime(2026, 1, 10, 10, 1, tzinfo=UTC))
    await club.fake.settle()
    posts = [m for m in club.fake.messages_in(club.basil) if m.id != card.id]
    assert len(posts) == 1
    assert "one year since Pip crossed the rainbow bridge" in posts[0].content
    assert card.jump_url in posts[0].content
    # Next year's is queued, exactly once.
    [nxt] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:")
    assert nxt.key == f"basil:{row.id}:anniv:2027"

    await club.restart()
    await club.clock.advance(3 * 86400)
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if m.id != card.id]) == 1
    [nxt2] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:")
    assert nxt2.id == nxt.id
    notes = await repo.anniversaries_since(club.bot.store, club.guild_id, 0)
    assert [(n.name, n.years, n.anniversary_message_id) for n in notes] == [("Pip", 1, posts[0].id)]
    assert_nobody_pinged(club)


async def test_anniversary_resent_after_a_crash_is_deduplicated(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    await club.clock.advance_to(datetime(2026, 1, 10, 10, 0, 30, tzinfo=UTC))
    await club.fake.settle()
    assert len(club.fake.messages_in(club.basil)) == 2
    # Pretend the process died after Discord got the message but before it was marked sent.
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    post = await posts_repo.get_by_key(club.bot.store, f"basil:{row.id}:anniv:2026")
    assert post is not None and post.status == "sent"
    await club.bot.store.execute("UPDATE scheduled_posts SET status = 'sending' WHERE id = ?", (post.id,))
    await club.bot.store.execute("DELETE FROM basil_anniversaries WHERE memorial_id = ?", (row.id,))
    await club.restart()
    await club.clock.advance(60)
    await club.fake.settle()
    assert len(club.fake.messages_in(club.basil)) == 2  # the nonce kept Discord from posting it twice
    again = await posts_repo.get(club.bot.store, post.id)
    assert again is not None and again.status == "sent"


async def test_anniversaries_can_be_turned_off_and_on(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025", anniversaries=False)).reply()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    prefix = f"basil:{row.id}:anniv:"
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix) == []
    h = await club.slash(club.g.alice, club.g.general, "basil anniversaries", name="Pip", state="on")
    assert "on" in (await h.reply()).content
    assert len(await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix)) == 1
    # Someone else may not change it.
    h = await club.slash(club.g.bob, club.g.general, "basil anniversaries", name="Pip", state="off")
    assert "Only the member who shared" in await error_of(h)
    h = await club.slash(club.g.alice, club.g.general, "basil anniversaries", name="Pip", state="off")
    assert "off" in (await h.reply()).content
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix) == []
    # On again before the day: this year's post is queued afresh and sent once.
    h = await club.slash(club.g.alice, club.g.general, "basil anniversaries", name="Pip", state="on")
    await h.reply()
    await club.clock.advance_to(datetime(2026, 1, 11, tzinfo=UTC))
    await club.fake.settle()
    assert len(club.fake.messages_in(club.basil)) == 2


# ----------------------------------------------------------------------------- remember, edit, remove
async def test_remember_shows_the_card_again_with_autocomplete(club: Club) -> None:
    photo = club.fake.attachment("pip.jpg", PNG, "image/jpeg")
    await (await memorial(club, club.g.alice, "Pip", photo=photo)).reply()
    await (await memorial(club, club.g.alice, "Pepper")).reply()
    choices = await club.fake.autocomplete(club.g.bob, club.g.general, "basil remember", "name", "pi")
    assert [c["value"] for c in choices] == ["Pip"]
    shown = await (await club.slash(club.g.bob, club.g.general, "basil remember", name="pip")).reply()
    assert shown.ephemeral and "Pip" in shown.embed["title"]  # type: ignore[index]
    assert shown.file_names() == ["memorial.jpg"]
    h = await club.slash(club.g.bob, club.g.general, "basil remember", name="Nobody")
    assert "can't find" in await error_of(h)


async def test_edit_by_author_and_moderator_only(club: Club) -> None:
    photo = club.fake.attachment("pip.png", PNG, "image/png")
    await (await memorial(club, club.g.alice, "Pip", story="Old story.", passed="2025-05-01", photo=photo)).reply()
    [card] = cards(club)
    # Someone else: refused before any modal, nothing changed.
    h = await club.slash(club.g.bob, club.g.general, "basil edit", name="Pip", species="cat")
    assert "Only the member who shared" in await error_of(h)
    # The author: the modal is prefilled with the story.
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", species="whippet",
                         passed="2025-06-01")
    modal = await h.wait_modal()
    assert "Old story." in str(modal)
    done = await club.fake.submit_modal(club.g.alice, h, {"Their story": "New story."})
    assert "Saved" in (await done.reply()).content
    await club.fake.settle()
    embed = card.embed
    assert embed is not None and "New story." in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Species"] == "whippet"
    assert "1 June 2025" in embed["description"]
    assert card.file_names() == ["memorial.png"] and embed["image"]["url"].endswith("memorial.png")
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    [post] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:")
    assert post.due_at == int(datetime(2026, 6, 1, 9, tzinfo=UTC).timestamp())  # 10:00 BST
    # A moderator may edit too.
    h = await club.slash(club.mod, club.g.general, "basil edit", name="Pip")
    done = await club.fake.submit_modal(club.mod, h, {"Their story": "Moderated."})
    assert "Saved" in (await done.reply()).content
    assert "Moderated." in card.embed["description"]  # type: ignore[index]
    # `none` removes a species or date; without a passing date no anniversary is queued.
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", species="none", passed="none")
    await (await club.fake.submit_modal(club.g.alice, h, {})).reply()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and (row.species, row.passed, row.story) == (None, None, "Moderated.")
    assert "Species" not in [f["name"] for f in card.embed["fields"]]  # type: ignore[index]
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:") == []
    assert_nobody_pinged(club)


async def test_remove_needs_permission_and_confirmation(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="2025-05-01")).reply()
    [card] = cards(club)
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    h = await club.slash(club.g.bob, club.g.general, "basil remove", name="Pip")
    assert "Only the member who shared" in await error_of(h)
    ask = await (await club.slash(club.g.alice, club.g.general, "basil remove", name="Pip")).reply()
    assert ask.ephemeral and "can't be undone" in ask.content
    keep = await club.fake.click(club.g.alice, ask, "Keep it")
    assert "Nothing was changed" in (await keep.reply()).content
    assert not card.deleted and await only_memorials(club) == ["Pip"]

    ask = await (await club.slash(club.mod, club.g.general, "basil remove", name="Pip")).reply()
    done = await club.fake.click(club.mod, ask, "Remove the memorial")
    await done.reply()
    await club.fake.settle()
    assert "was removed" in ask.content
    assert card.deleted
    assert await only_memorials(club) == []
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:") == []
    # The name is free again; the anniversary never fires.
    await club.clock.advance_to(datetime(2026, 5, 2, tzinfo=UTC))
    await club.fake.settle()
    assert [m for m in club.fake.messages_in(club.basil) if not m.deleted] == []


# ----------------------------------------------------------------------------- bad input
async def assert_refused(club: Club, who: Member, text: str, **options: Any) -> None:
    before = len(club.fake.messages_in(club.basil))
    h = await club.slash(who, club.g.general, "basil memorial", **options)
    assert text in await error_of(h)
    assert h.modal is None
    assert len(club.fake.messages_in(club.basil)) == before


async def test_bad_input_is_refused_and_changes_nothing(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Biscuit")).reply()
    alice = club.g.alice
    await assert_refused(club, alice, "in the future", name="Pip", passed="2026-02-01")
    await assert_refused(club, alice, "before the birth date", name="Pip", born="2020-05-01", passed="2019-05-01")
    await assert_refused(club, alice, "passing date", name="Pip", passed="sometime last spring")
    await assert_refused(club, alice, "80 or fewer", name="P" * 81)
    text_file = club.fake.attachment("story.txt", b"hello", "text/plain")
    await assert_refused(club, alice, "image", name="Pip", photo=text_file)
    disguised = club.fake.attachment("pip.exe", PNG, "image/png")
    await assert_refused(club, alice, "image", name="Pip", photo=disguised)
    await assert_refused(club, club.g.bob, "tells them apart", name="  biscuit ")
    assert await only_memorials(club) == ["Biscuit"]
    # Editing with a bad date changes nothing either.
    h = await club.slash(alice, club.g.general, "basil edit", name="Biscuit", passed="2030-01-01")
    assert "future" in await error_of(h)
    row = await repo.get_by_key(club.bot.store, club.guild_id, "biscuit")
    assert row is not None and row.passed is None
    assert_nobody_pinged(club)


async def test_no_basil_channel_says_how_to_set_it_up(make_club: Any) -> None:
    club = await make_club(setup=False)
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Pip")
    assert "/filmclub setup basil:" in await error_of(h)




# ----------------------------------------------------------------------------- hardening: input
async def test_photo_refusals_by_type_extension_and_size(club: Club) -> None:
    alice = club.g.alice
    cases = [
        (club.fake.attachment("pip.png", b"hello", "text/plain"), "image file"),
        (club.fake.attachment("pip.png", b"<svg/>", "image/svg+xml"), "PNG, JPEG, GIF or WebP"),
        (club.fake.attachment("pip", PNG, "image/png"), "image file"),
        (club.fake.attachment("pip.gif.exe", PNG, "application/octet-stream"), "image file"),
        (club.fake.attachment("huge.png", PNG + b"\x00" * (9 * 1024 * 1024), "image/png"), "at most 8 MB"),
        (club.fake.attachment("empty.png", b"", "image/png"), "empty"),
    ]
    for attachment, words in cases:
        await assert_refused(club, alice, words, name="Pip", photo=attachment)
    assert await only_memorials(club) == []
    assert await club.bot.store.fetchall("SELECT id FROM basil_drafts") == []


async def test_a_whole_4000_character_story_fits_on_the_card(club: Club) -> None:
    story = ("Biscuit *loved* the sofa_cushions. " * 200)[:4000]
    assert len(story) == 4000
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Biscuit", passed="2025-05-01",
                         species="dog", photo=club.fake.attachment("b.png", PNG, "image/png"))
    assert (await h.wait_modal())["components"]  # the story box takes 4,000 characters
    await (await club.fake.submit_modal(club.g.alice, h, {"Their story": story})).reply()
    [card] = cards(club)
    embed = card.embed
    assert embed is not None
    assert "crossed the rainbow bridge on 1 May 2025" in embed["description"]
    # Every word of the story is on the card, in order (continued in fields when the description is full).
    shown = embed["description"] + " " + " ".join(f["value"] for f in embed["fields"] if f["name"] == "\u200b")
    assert " ".join(story.split()) in " ".join(shown.replace("\\", "").split())
    assert "…" not in shown
    assert {f["name"]: f["value"] for f in embed["fields"]}["Species"] == "dog"
    row = await repo.get_by_key(club.bot.store, club.guild_id, "biscuit")
    assert row is not None and row.story == story.strip()
    # The same with a story made only of markdown characters: nothing is lost either.
    marks = "*_" * 2000
    await (await memorial(club, club.g.alice, "Pip", story=marks)).reply()
    pip = cards(club)[-1].embed
    assert pip is not None and "…" not in pip["description"]
    assert_nobody_pinged(club)


async def test_names_dates_and_long_text_refused_with_clear_replies(club: Club) -> None:
    alice = club.g.alice
    await assert_refused(club, alice, "name", name="   ")
    await assert_refused(club, alice, "80 or fewer", name="x" * 6000)
    await assert_refused(club, alice, "40 characters", name="Pip", species="s" * 6000)
    for text in ("sometime last spring", "x" * 6000, "31 February 2024", "May 2024", "05/01/2024"):
        h = await club.slash(alice, club.g.general, "basil memorial", name="Pip", passed=text)
        reply = await h.reply()
        assert reply.ephemeral and "passing date" in reply.content and len(reply.content) < 2000
        assert "2024-05-01" in reply.content  # an example to copy
    await assert_refused(club, alice, "in the future", name="Pip", born="2030-01-01")
    await assert_refused(club, alice, "too long ago", name="Pip", passed="0001-01-01")
    # The day after today in the server's time zone is refused, today is fine.
    await assert_refused(club, alice, "in the future", name="Pip", passed="6 January 2026")
    assert await only_memorials(club) == []
    # The three accepted forms.
    for name, when in (("Ada", "2024-05-01"), ("Bo", "May 1 2024"), ("Cy", "1 May 2024")):
        await (await memorial(club, alice, name, passed=when)).reply()
    assert [r.passed for r in await repo.list_approved(club.bot.store, club.guild_id)] == [
        datetime(2024, 5, 1).date()
    ] * 3
    # (Three memorials a day per member: Bob shares the next two.)
    await (await memorial(club, club.g.bob, "Today", passed="5 January 2026")).reply()
    await (await memorial(club, club.g.bob, "N" * 80)).reply()
    assert len(cards(club)) == 5
    assert_nobody_pinged(club)


async def test_duplicate_names_ignore_case_and_spaces_and_say_what_to_do(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Mister  Biscuit")).reply()
    for attempt in ("mister biscuit", "  MISTER   BISCUIT ", "Ｍｉｓｔｅｒ Biscuit"):
        h = await club.slash(club.g.bob, club.g.general, "basil memorial", name=attempt)
        text = await error_of(h)
        assert "already" in text and "tells them apart" in text and "the cat" in text
        assert h.modal is None
    await turn_on_approval(club)
    await (await memorial(club, club.g.bob, "Mog")).reply()
    h = await club.slash(club.g.carol, club.g.general, "basil memorial", name="MOG")
    assert "waiting for approval" in await error_of(h)
    # A distinguishing word makes it welcome.
    await (await memorial(club, club.mod, "Mister Biscuit the cat")).reply()
    assert await only_memorials(club) == ["Mister Biscuit", "Mog", "Mister Biscuit the cat"]


async def test_two_members_racing_for_a_name_get_one_memorial(club: Club) -> None:
    h1 = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Pip")
    h2 = await club.slash(club.g.bob, club.g.general, "basil memorial", name="pip")
    await h1.wait_modal()
    await h2.wait_modal()
    first = await club.fake.submit_modal(club.g.alice, h1, {"Their story": "First."})
    assert "Basil's Corner" in (await first.reply()).content
    second = await club.fake.submit_modal(club.g.bob, h2, {"Their story": "My own words."})
    assert "tells them apart" in (await second.reply()).content
    await club.fake.settle()
    assert any("My own words." in (m.embed or {}).get("description", "") for m in second.followups)
    assert await only_memorials(club) == ["Pip"] and len(cards(club)) == 1


# ----------------------------------------------------------------------------- hardening: restarts, doubles
async def test_story_form_survives_a_restart(club: Club) -> None:
    photo = club.fake.attachment("pip.webp", PNG, "image/webp")
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Pip", passed="2025-05-01",
                         photo=photo, species="cat")
    await h.wait_modal()
    await club.restart()
    done = await club.fake.submit_modal(club.g.alice, h, {"Their story": "Written across a restart."})
    reply = await done.reply()
    assert reply.ephemeral and "Basil's Corner" in reply.content
    [card] = cards(club)
    assert "Written across a restart." in card.embed["description"]  # type: ignore[index]
    assert card.file_names() == ["memorial.webp"] and card.attachments[0].data == PNG
    # Sending the same form again does not make a second memorial; the words come back.
    again = await club.fake.submit_modal(club.g.alice, h, {"Their story": "Twice?"})
    assert "already sent" in (await again.reply()).content
    await club.fake.settle()
    assert "Twice?" in again.followups[-1].embed["description"]  # type: ignore[index]
    assert len(cards(club)) == 1


async def test_tribute_and_edit_forms_survive_a_restart(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", story="Old.")).reply()
    [card] = cards(club)
    tribute = await club.fake.click(club.g.bob, card, "Leave a tribute")
    await tribute.wait_modal()
    edit = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", species="dog")
    await edit.wait_modal()
    await club.restart()
    t = await club.fake.submit_modal(club.g.bob, tribute, {"Your tribute": "Still here."})
    assert "Thank you" in (await t.reply()).content
    e = await club.fake.submit_modal(club.g.alice, edit, {"Their story": "New."})
    assert "Saved" in (await e.reply()).content
    await club.fake.settle()
    assert "New." in card.embed["description"]  # type: ignore[index]
    assert {f["name"]: f["value"] for f in card.embed["fields"]}["Species"] == "dog"  # type: ignore[index]
    assert [m.embed["description"] for m in club.fake.messages_in(thread_of(club, card)) if m.embed] == ["Still here."]


async def test_remove_confirmation_survives_a_restart_and_a_double_click(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="2025-05-01")).reply()
    [card] = cards(club)
    thread = thread_of(club, card)
    ask = await (await club.slash(club.g.alice, club.g.general, "basil remove", name="Pip")).reply()
    await club.restart()
    first, second = await asyncio.gather(
        club.fake.click(club.g.alice, ask, "Remove the memorial"),
        club.fake.click(club.g.alice, ask, "Remove the memorial"),
    )
    await first.reply()
    await club.fake.settle()
    assert "was removed" in ask.content
    assert "already removed" in (await second.followup()).content
    assert card.deleted and thread.deleted
    assert await only_memorials(club) == []


async def test_double_decline_tells_the_author_once(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.g.alice, "Pip")).reply()
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    a, b = await asyncio.gather(
        club.fake.click(club.mod, queue, "Decline"), club.fake.click(club.g.admin, queue, "Decline")
    )
    await club.fake.settle()
    await a.reply()
    await b.reply()
    texts = [m.content for h in (a, b) for m in h.followups]
    assert sum("Declined" in t for t in texts) == 1
    assert sum("already approved or declined" in t for t in texts) == 1
    assert len(club.fake.messages_in(club.fake.dm_channel(club.g.alice))) == 1
    assert cards(club) == [] and await only_memorials(club) == []


# ----------------------------------------------------------------------------- hardening: approval switched off
async def test_queue_still_works_when_approval_is_turned_off(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.g.alice, "Pip", photo=club.fake.attachment("pip.gif", PNG, "image/gif"))).reply()
    await (await memorial(club, club.g.bob, "Mog")).reply()
    # Waiting memorials: the author (and moderators) can find them, nobody else.
    assert [c["value"] for c in await club.fake.autocomplete(club.g.carol, club.g.general, "basil remember",
                                                              "name", "")] == []
    assert [c["value"] for c in await club.fake.autocomplete(club.mod, club.g.general, "basil remember",
                                                              "name", "")] == ["Mog", "Pip"]
    mine = await (await club.slash(club.g.alice, club.g.general, "basil remember", name="pip")).reply()
    assert "waiting" in mine.content and mine.buttons() == []
    h = await club.slash(club.g.carol, club.g.general, "basil remember", name="Pip")
    assert "can't find" in await error_of(h)
    h = await club.slash(club.g.admin, club.g.general, "filmclub setup", memorial_approval=False)
    await h.reply()
    # New memorials go straight up now; the waiting ones stay in the queue for a moderator.
    await (await memorial(club, club.g.carol, "Rex")).reply()
    assert ["Rex" in c.embed["title"] for c in cards(club)] == [True]  # type: ignore[index]
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    assert "1 of 2" in queue.content and "approval is off now" in queue.content
    assert queue.file_names() == ["memorial.gif"]
    await (await club.fake.click(club.mod, queue, "Approve")).reply()
    await club.fake.settle()
    assert len(cards(club)) == 2 and "Mog" in queue.embed["title"]  # type: ignore[index]
    assert queue.file_names() == []
    pip = next(c for c in cards(club) if "Pip" in c.embed["title"])  # type: ignore[index]
    assert pip.file_names() == ["memorial.gif"] and pip.attachments[0].data == PNG
    await (await club.fake.click(club.mod, queue, "Decline")).reply()
    await club.fake.settle()
    assert "Nothing is waiting" in queue.content
    assert await only_memorials(club) == ["Pip", "Rex"]
    assert_nobody_pinged(club)


# ----------------------------------------------------------------------------- hardening: deleted things
async def test_deleted_basil_channel_gives_a_clear_error_and_changes_nothing(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.g.alice, "Pip")).reply()
    club.fake.delete_channel(club.basil)
    await club.fake.settle()
    h = await club.slash(club.g.bob, club.g.general, "basil memorial", name="Mog")
    text = await error_of(h)
    assert "deleted" in text and "/filmclub setup basil:" in text and h.modal is None
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    approve = await club.fake.click(club.mod, queue, "Approve")
    await approve.reply()
    await club.fake.settle()
    [err] = approve.followups
    assert err.ephemeral and "/filmclub setup basil:" in err.content
    [row] = await repo.list_pending(club.bot.store, club.guild_id)
    assert row.name == "Pip"  # still waiting
    assert await only_memorials(club) == ["Pip"]


async def test_missing_permissions_in_basil_channel_are_named(club: Club) -> None:
    club.fake.set_overwrites(
        club.basil, [club.fake.overwrite(club.fake.bot_role(club.g.guild), deny=P.ADD_REACTIONS | P.ATTACH_FILES)]
    )
    await club.fake.settle()
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Pip",
                         photo=club.fake.attachment("p.png", PNG, "image/png"))
    text = await error_of(h)
    assert "Add Reactions" in text and "Attach Files" in text and h.modal is None
    assert await only_memorials(club) == []


async def test_deleted_card_is_forgotten_and_edit_posts_it_again(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    [card] = cards(club)
    thread = thread_of(club, card)
    await club.fake.delete(card)
    await club.fake.settle()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and row.message_id is None and row.thread_id == thread.id
    shown = await (await club.slash(club.g.bob, club.g.general, "basil remember", name="Pip")).reply()
    assert "deleted" in shown.content and "/basil edit" in shown.content and shown.buttons() == []
    # The anniversary still comes, gently, without a dead link.
    await club.clock.advance_to(datetime(2026, 1, 10, 10, 1, tzinfo=UTC))
    await club.fake.settle()
    [post] = [m for m in club.fake.messages_in(club.basil) if not m.deleted]
    assert "one year since Pip" in post.content and "discord.com/channels" not in post.content
    # Editing posts the card again; tributes keep going to the same thread.
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip")
    reply = await (await club.fake.submit_modal(club.g.alice, h, {})).reply()
    assert "posted it again" in reply.content
    [new_card] = cards(club)
    assert new_card.id != card.id and reply.content.endswith(new_card.jump_url)
    assert club.fake.bot_user.id in new_card.reaction_users("🐾")
    t = await club.fake.click(club.g.bob, new_card, "Leave a tribute")
    await (await club.fake.submit_modal(club.g.bob, t, {"Your tribute": "Good dog."})).reply()
    assert [m.embed["description"] for m in club.fake.messages_in(thread) if m.embed] == ["Good dog."]
    assert_nobody_pinged(club)


async def test_deleted_thread_is_opened_again_for_the_next_tribute(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip")).reply()
    [card] = cards(club)
    old = thread_of(club, card)
    club.fake.delete_channel(old)
    await club.fake.settle()
    t = await club.fake.click(club.g.bob, card, "Leave a tribute")
    reply = await (await club.fake.submit_modal(club.g.bob, t, {"Your tribute": "Again."})).reply()
    assert "Thank you" in reply.content
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and row.thread_id not in (None, old.id)
    assert [m.embed["description"] for m in club.fake.messages_in(club.fake.get_channel(row.thread_id)) if m.embed] \
        == ["Again."]


async def test_a_stored_thread_id_that_is_not_a_thread_is_never_used(club: Club) -> None:
    """A memories-thread id naming a plain channel (a damaged row) is dropped: tributes and a card posted
    again get a real thread under the card, never the channel itself."""
    await (await memorial(club, club.g.alice, "Pip")).reply()
    [card] = cards(club)
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and row.channel_id is not None and row.message_id is not None
    await repo.set_card(club.bot.store, row.id, channel_id=row.channel_id, message_id=row.message_id,
                        thread_id=int(club.basil.id))
    t = await club.fake.click(club.g.bob, card, "Leave a tribute")
    reply = await (await club.fake.submit_modal(club.g.bob, t, {"Your tribute": "Good dog."})).reply()
    assert "Thank you" in reply.content
    assert [m for m in club.fake.messages_in(club.basil) if m.embeds] == [card]  # nothing posted in the channel
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and row.thread_id is not None
    thread = club.fake.get_channel(row.thread_id)
    assert thread.type == ChannelType.PUBLIC_THREAD and thread.parent_id == club.basil.id
    assert [m.embed["description"] for m in club.fake.messages_in(thread) if m.embed] == ["Good dog."]
    # The card deleted and posted again by an edit: the stale id is not carried over to the new card.
    await club.fake.delete(card)
    await club.fake.settle()
    await repo.set_card(club.bot.store, row.id, channel_id=row.channel_id, message_id=None,
                        thread_id=int(club.basil.id))
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip")
    assert "posted it again" in (await (await club.fake.submit_modal(club.g.alice, h, {})).reply()).content
    [new_card] = cards(club)
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None and row.thread_id not in (None, int(club.basil.id))
    assert row.thread_id == new_card.thread_id
    # Removing the memorial deletes its card and never the channel a damaged row names as its thread,
    # even where the bot's role may manage that channel.
    club.fake.set_overwrites(
        club.basil, [club.fake.overwrite(club.fake.bot_role(club.g.guild), allow=P.MANAGE_CHANNELS)]
    )
    await repo.set_card(club.bot.store, row.id, channel_id=row.channel_id, message_id=new_card.id,
                        thread_id=int(club.basil.id))
    ask = await (await club.slash(club.g.alice, club.g.general, "basil remove", name="Pip")).reply()
    await (await club.fake.click(club.g.alice, ask, "Remove the memorial")).reply()
    await club.fake.settle()
    assert "was removed" in ask.content and new_card.deleted
    assert club.fake.get_channel(club.basil.id) is club.basil and await only_memorials(club) == []


async def test_edit_can_change_the_photo(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip")).reply()
    [card] = cards(club)
    assert card.file_names() == [] and "image" not in card.embed  # type: ignore[operator]
    jpeg = b"\xff\xd8\xff" + b"\x00" * 32
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip",
                         photo=club.fake.attachment("new.JPEG", jpeg, "image/jpeg"))
    await (await club.fake.submit_modal(club.g.alice, h, {})).reply()
    await club.fake.settle()
    assert card.file_names() == ["memorial.jpg"] and card.attachments[0].data == jpeg
    assert card.embed["image"]["url"].endswith("memorial.jpg")  # type: ignore[index]
    bad = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip",
                           photo=club.fake.attachment("new.txt", b"x", "text/plain"))
    assert "image" in await error_of(bad)


# ----------------------------------------------------------------------------- hardening: anniversaries
async def test_anniversary_at_ten_local_across_dst_once_a_year(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="2025-04-01")).reply()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    prefix = f"basil:{row.id}:anniv:"
    [p] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix)
    assert p.due_at == int(datetime(2026, 4, 1, 9, tzinfo=UTC).timestamp())  # 10:00 BST (clocks went forward)
    await club.clock.advance_to(datetime(2026, 4, 1, 9, 0, 30, tzinfo=UTC))
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if "one year" in m.content]) == 1
    [p2] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix)
    assert p2.key == f"{prefix}2027" and p2.due_at == int(datetime(2027, 4, 1, 9, tzinfo=UTC).timestamp())
    # Restarts on and after the day do not post it again; the autumn change does not either.
    await club.restart()
    await club.clock.advance_to(datetime(2026, 10, 26, tzinfo=UTC))
    await club.restart()
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if "year" in m.content]) == 1


async def test_anniversary_while_the_bot_was_offline(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    await (await memorial(club, club.g.alice, "Mog", passed="12 January 2025")).reply()
    await club.stop()
    # Back three hours late: Pip's note still goes out, once.
    await club.clock.advance_to(datetime(2026, 1, 10, 13, tzinfo=UTC))
    await club.start()
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if "Pip crossed" in m.content]) == 1
    # Away for two days over Mog's: it is not posted late, next year's is queued, no duplicates later.
    await club.stop()
    await club.clock.advance_to(datetime(2026, 1, 14, tzinfo=UTC))
    await club.start()
    await club.fake.settle()
    assert not [m for m in club.fake.messages_in(club.basil) if "Mog crossed" in m.content]
    mog = await repo.get_by_key(club.bot.store, club.guild_id, "mog")
    assert mog is not None
    [nxt] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{mog.id}:anniv:")
    assert nxt.key.endswith(":2027")
    await club.restart()
    await club.clock.advance(86400)
    assert len([m for m in club.fake.messages_in(club.basil) if "crossed" in m.content]) == 1


async def test_opting_out_and_in_repeatedly_keeps_one_post(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    prefix = f"basil:{row.id}:anniv:"
    for state in ("off", "on", "off", "on", "on"):
        h = await club.slash(club.g.alice, club.g.general, "basil anniversaries", name="Pip", state=state)
        await h.reply()
        expected = 1 if state == "on" else 0
        assert len(await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix)) == expected
    await club.restart()
    await club.clock.advance_to(datetime(2026, 1, 11, tzinfo=UTC))
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if "one year" in m.content]) == 1
    # Opted out: next year's never comes.
    h = await club.slash(club.g.alice, club.g.general, "basil anniversaries", name="Pip", state="off")
    await h.reply()
    await club.restart()
    await club.clock.advance_to(datetime(2027, 1, 11, tzinfo=UTC))
    await club.fake.settle()
    assert len([m for m in club.fake.messages_in(club.basil) if "year" in m.content]) == 1


async def test_memorial_from_a_thread_and_markdown_mentions_in_every_text(club: Club) -> None:
    thread = club.fake.create_thread(club.g.alice, club.g.general, "pets chat")
    h = await club.slash(club.g.alice, thread, "basil memorial", name="**Rex** <@&1> @here", species="`dog`",
                         passed="2025-05-01")
    done = await club.fake.submit_modal(club.g.alice, h, {"Their story": "@everyone ||spoiler|| <@123456789012345678>"})
    reply = await done.reply()
    assert reply.ephemeral and not reply.pings_anyone
    [card] = cards(club)
    assert "\\*\\*Rex\\*\\*" in card.embed["title"]  # type: ignore[index]
    assert "@\u200beveryone" in card.embed["description"]  # type: ignore[index]
    assert [m for m in club.fake.messages_in(thread) if not m.ephemeral] == []  # nothing public there
    # The anniversary post and the DM-less replies escape the name too.
    await club.clock.advance_to(datetime(2026, 5, 1, 9, 1, tzinfo=UTC))
    [post] = [m for m in club.fake.messages_in(club.basil) if "one year" in m.content]
    assert "@\u200bhere" in post.content and "\\*\\*Rex" in post.content
    assert_nobody_pinged(club)


async def test_editing_the_date_after_this_years_note_queues_next_years(club: Club) -> None:
    await (await memorial(club, club.g.alice, "Pip", passed="10 January 2025")).reply()
    await club.clock.advance_to(datetime(2026, 1, 10, 10, 1, tzinfo=UTC))
    await club.fake.settle()
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", passed="1 March 2025")
    await (await club.fake.submit_modal(club.g.alice, h, {})).reply()
    row = await repo.get_by_key(club.bot.store, club.guild_id, "pip")
    assert row is not None
    [nxt] = await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, f"basil:{row.id}:anniv:")
    assert nxt.key.endswith(":2027") and nxt.due_at == int(datetime(2027, 3, 1, 10, tzinfo=UTC).timestamp())
    await club.clock.advance_to(datetime(2026, 12, 31, tzinfo=UTC))
    assert len([m for m in club.fake.messages_in(club.basil) if "year" in m.content]) == 1


async def test_double_approve_posts_one_card(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.g.alice, "Pip")).reply()
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    a, b = await asyncio.gather(
        club.fake.click(club.mod, queue, "Approve"), club.fake.click(club.g.admin, queue, "Approve")
    )
    await club.fake.settle()
    texts = [m.content for h in (a, b) for m in h.followups]
    assert sum("Approved" in t for t in texts) == 1
    assert sum("already approved or declined" in t for t in texts) == 1
    assert len(cards(club)) == 1
    assert len(club.fake.messages_in(club.fake.dm_channel(club.g.alice))) == 1
    assert "Nothing is waiting" in queue.content and queue.buttons() == []
    assert_nobody_pinged(club)


# ----------------------------------------------------------------------------- edits and limits under approval
async def test_an_approved_memorial_edited_by_its_author_waits_for_approval(club: Club) -> None:
    await turn_on_approval(club)
    await (await memorial(club, club.g.alice, "Pip", story="She loved the sofa.")).reply()
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    await (await club.fake.click(club.mod, queue, "Approve")).reply()
    await club.fake.settle()
    [card] = cards(club)
    before = card.embed
    # Alice edits: a new photo and a story with a spam link. The public card does not change.
    spam = club.fake.attachment("spam.png", PNG, "image/png")
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", species="cat", photo=spam)
    await h.wait_modal()
    done = await club.fake.submit_modal(club.g.alice, h, {"Their story": "Buy cheap pills at spam.invalid"})
    reply = await done.reply()
    assert reply.ephemeral and "wait for a moderator's approval" in reply.content
    await club.fake.settle()
    assert card.embed == before and "spam" not in str(card.embed)
    notices = [m for m in club.fake.bot_messages(club.g.announcements) if "Waiting for approval" in m.content]
    assert len(notices) == 1 and "1 edit" in notices[0].content
    # The queue shows the changes; a member cannot approve them; a moderator declines: the card stays.
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    assert "Changes waiting for approval: 1 of 1" in queue.content and "spam.invalid" in str(queue.embed)
    bad = await club.fake.click(club.g.bob, queue, "Approve the changes")
    assert "Only moderators" in (await bad.followup() if bad.followups else await bad.reply()).content
    await (await club.fake.click(club.mod, queue, "Decline the changes")).reply()
    await club.fake.settle()
    assert card.embed == before and "Nothing is waiting" in queue.content
    dm = club.fake.messages_in(club.fake.dm_channel(club.g.alice))
    assert "were not made" in dm[-1].content
    # A second edit, approved: now the card shows it.
    h = await club.slash(club.g.alice, club.g.general, "basil edit", name="Pip", species="whippet")
    await h.wait_modal()
    await (await club.fake.submit_modal(club.g.alice, h, {"Their story": "She loved the sofa and the sun."})).reply()
    queue = await (await club.slash(club.mod, club.g.general, "basil queue")).reply()
    await (await club.fake.click(club.mod, queue, "Approve the changes")).reply()
    await club.fake.settle()
    embed = card.embed
    assert embed is not None and "the sun" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Species"] == "whippet"
    # A moderator's own edit goes straight to the card.
    h = await club.slash(club.mod, club.g.general, "basil edit", name="Pip")
    await h.wait_modal()
    await (await club.fake.submit_modal(club.mod, h, {"Their story": "Moderated words."})).reply()
    await club.fake.settle()
    assert "Moderated words." in card.embed["description"]  # type: ignore[index]
    assert_nobody_pinged(club)


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_three_memorials_a_day_and_one_notice_for_the_whole_queue(club: Club) -> None:
    await turn_on_approval(club)
    for name in ("Ada", "Bo", "Cy"):
        reply = await (await memorial(club, club.g.alice, name)).reply()
        assert "moderator will look" in reply.content, reply.content
    h = await club.slash(club.g.alice, club.g.general, "basil memorial", name="Dot")
    assert "3 memorials in the last day" in await error_of(h)
    await club.fake.settle()  # the last edit of the notice follows the third memorial's reply
    notices = [m for m in club.fake.bot_messages(club.g.announcements) if "Waiting for approval" in m.content]
    assert len(notices) == 1 and "3 memorials" in notices[0].content  # one message, edited as the queue grew
    assert len(notices[0].history) == 3
    await club.clock.advance(86400 + 1)
    reply = await (await memorial(club, club.g.alice, "Dot")).reply()
    assert "moderator will look" in reply.content
    assert await only_memorials(club) == ["Ada", "Bo", "Cy", "Dot"]
