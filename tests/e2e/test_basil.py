"""Basil's Corner end to end: the real bot against the fake Discord, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db import basil as repo
from db import scheduled_posts as posts_repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Channel, Member, Message

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


