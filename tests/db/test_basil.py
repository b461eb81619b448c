"""Basil's Corner repository: memorials, photos, tributes, anniversaries, notices, newsletter reads."""

from __future__ import annotations

from datetime import date

from db import basil as repo
from db.store import Store

G = 111




async def make(store: Store, name: str, *, guild: int = G, status: str = repo.APPROVED, now: int = 1000,
               author: int = 5, photo: repo.Photo | None = None, passed: date | None = date(2024, 5, 1),
               anniversaries: bool = True) -> repo.Memorial:
    memorial = await repo.create(
        store, guild_id=guild, name=name, name_key=name.casefold(), species="dog", born=date(2012, 3, 14),
        passed=passed, story="Loved the sofa.", author_id=author, status=status, anniversaries=anniversaries,
        now=now, photo=photo,
    )
    assert memorial is not None
    return memorial


async def test_create_and_read_back(store: Store) -> None:
    photo = repo.Photo("memorial.png", "image/png", b"\x89PNG fake")
    m = await make(store, "Biscuit", photo=photo)
    assert (m.name, m.species, m.born, m.passed, m.story) == ("Biscuit", "dog", date(2012, 3, 14), date(2024, 5, 1),
                                                              "Loved the sofa.")
    assert m.is_approved and m.anniversaries and m.approved_at == 1000
    assert m.card_url is None
    assert await repo.get_photo(store, m.id) == photo
    assert await repo.get_by_key(store, G, "biscuit") == m
    assert await repo.get_by_key(store, G + 1, "biscuit") is None


async def test_duplicate_name_in_a_server_returns_none(store: Store) -> None:
    await make(store, "Biscuit")
    again = await repo.create(
        store, guild_id=G, name="BISCUIT", name_key="biscuit", species=None, born=None, passed=None, story="",
        author_id=6, status=repo.APPROVED, anniversaries=True, now=2000,
    )
    assert again is None
    assert await repo.count(store, G) == 1
    assert await repo.name_taken(store, G, "biscuit")
    assert not await repo.name_taken(store, G, "biscuit", except_id=(await repo.get_by_key(store, G, "biscuit")).id)  # type: ignore[union-attr]
    await make(store, "Biscuit", guild=G + 1)  # other servers may
    assert await repo.count(store, G + 1) == 1


async def test_approval_is_claimed_once(store: Store) -> None:
    m = await make(store, "Pip", status=repo.PENDING)
    assert m.approved_at is None
    assert [p.id for p in await repo.list_pending(store, G)] == [m.id]
    assert await repo.claim_approval(store, m.id, 42, 3000)
    assert not await repo.claim_approval(store, m.id, 43, 3001)
    got = await repo.get(store, m.id)
    assert got is not None and got.is_approved and got.approved_by == 42 and got.approved_at == 3000
    await repo.mark_pending(store, m.id)
    got = await repo.get(store, m.id)
    assert got is not None and not got.is_approved and got.approved_by is None


async def test_wall_order_and_search(store: Store) -> None:
    await make(store, "Old", passed=date(2001, 1, 1))
    await make(store, "Recent", passed=date(2024, 1, 1))
    await make(store, "Unknown", passed=None)
    await make(store, "Waiting", status=repo.PENDING, author=9)
    assert [m.name for m in await repo.list_approved(store, G)] == ["Recent", "Old", "Unknown"]
    assert [m.name for m in await repo.search(store, G, "")] == ["Old", "Recent", "Unknown"]
    assert [m.name for m in await repo.search(store, G, "", member_id=9)] == ["Old", "Recent", "Unknown", "Waiting"]
    assert [m.name for m in await repo.search(store, G, "ec")] == ["Recent"]
    assert await repo.search(store, G, "%") == []  # LIKE wildcards are literal


async def test_card_edit_and_delete_cascade(store: Store) -> None:
    m = await make(store, "Biscuit", photo=repo.Photo("memorial.png", "image/png", b"x"))
    await repo.set_card(store, m.id, channel_id=2, message_id=3, thread_id=4)
    got = await repo.get(store, m.id)
    assert got is not None and got.card_url == f"https://discord.com/channels/{G}/2/3" and got.thread_id == 4
    updated = await repo.update_details(store, m.id, species="cat", born=None, passed=date(2023, 1, 1), story="new",
                                        anniversaries=False, now=5000)
    assert updated is not None
    assert (updated.species, updated.born, updated.passed, updated.story, updated.anniversaries) == (
        "cat", None, date(2023, 1, 1), "new", False)
    t = await repo.add_tribute(store, memorial_id=m.id, author_id=8, author_name="Sam", text="good boy",
                               message_id=77, now=6000)
    assert await repo.list_tributes(store, m.id) == [t]
    await repo.record_anniversary(store, memorial_id=m.id, year=2024, years=1, channel_id=2, message_id=9, now=7000)
    assert await repo.delete(store, m.id)
    assert await repo.get(store, m.id) is None
    assert await repo.get_photo(store, m.id) is None
    assert await repo.list_tributes(store, m.id) == []
    assert not await repo.anniversary_sent(store, m.id, 2024)


async def test_anniversaries_recorded_once_and_listed_for_newsletter(store: Store) -> None:
    m = await make(store, "Biscuit", now=1000)
    await repo.set_card(store, m.id, channel_id=2, message_id=3, thread_id=None)
    assert await repo.record_anniversary(store, memorial_id=m.id, year=2025, years=1, channel_id=2, message_id=50,
                                         now=9000)
    assert not await repo.record_anniversary(store, memorial_id=m.id, year=2025, years=1, channel_id=2,
                                             message_id=51, now=9001)
    assert await repo.anniversary_sent(store, m.id, 2025)
    notes = await repo.anniversaries_since(store, G, 8000)
    assert len(notes) == 1
    note = notes[0]
    assert (note.name, note.years, note.year, note.anniversary_message_id, note.author_id) == (
        "Biscuit", 1, 2025, 50, 5)
    assert note.card_url == f"https://discord.com/channels/{G}/2/3" and note.passed == date(2024, 5, 1)
    assert await repo.anniversaries_since(store, G, 9001) == []
    assert await repo.anniversaries_since(store, G + 1, 0) == []


async def test_memorials_since_only_published(store: Store) -> None:
    published = await make(store, "Biscuit", now=1000)
    await repo.set_card(store, published.id, channel_id=2, message_id=3, thread_id=4)
    await make(store, "NoCardYet", now=1000)
    await make(store, "Waiting", status=repo.PENDING, now=1000)
    old = await make(store, "Old", now=10)
    await repo.set_card(store, old.id, channel_id=2, message_id=4, thread_id=None)
    notes = await repo.memorials_since(store, G, 500)
    assert [(n.name, n.species, n.passed, n.author_id, n.message_id) for n in notes] == [
        ("Biscuit", "dog", date(2024, 5, 1), 5, 3)]
    assert notes[0].card_url == f"https://discord.com/channels/{G}/2/3"


async def test_list_with_anniversaries(store: Store) -> None:
    yes = await make(store, "Yes")
    await make(store, "Off", anniversaries=False)
    await make(store, "NoDate", passed=None)
    await make(store, "Pending", status=repo.PENDING)
    assert [m.id for m in await repo.list_with_anniversaries(store)] == [yes.id]
    await repo.set_anniversaries(store, yes.id, False, 2000)
    assert await repo.list_with_anniversaries(store) == []


async def test_notices_are_taken_once(store: Store) -> None:
    await repo.add_notice(store, G, 5, "first", 1)
    await repo.add_notice(store, G, 5, "second", 2)
    await repo.add_notice(store, G, 6, "other", 3)
    async with store.transaction() as tx:
        taken = await repo.take_notices(tx, G, 5)
    assert [n.text for n in taken] == ["first", "second"]
    assert await repo.take_notices(store, G, 5) == []
    assert [n.text for n in await repo.take_notices(store, G, 6)] == ["other"]


# ----------------------------------------------------------------------------- added by the audit
async def test_drafts_are_taken_once_and_only_by_their_member(store: Store) -> None:
    draft_id = await repo.add_draft(
        store, guild_id=G, member_id=5, memorial_id=None, name="Pip", name_key="pip", species="cat", born=None,
        passed=date(2024, 5, 1), anniversaries=False, photo_url="https://cdn/x.png", photo_ext="png",
        photo_type="image/png", now=1000,
    )
    assert await repo.take_draft(store, draft_id, member_id=6) is None
    draft = await repo.take_draft(store, draft_id, member_id=5)
    assert draft is not None and (draft.name, draft.passed, draft.anniversaries, draft.photo_ext) == (
        "Pip", date(2024, 5, 1), False, "png"
    )
    assert await repo.take_draft(store, draft_id, member_id=5) is None
    old = await repo.add_draft(
        store, guild_id=G, member_id=5, memorial_id=None, name="Old", name_key="old", species=None, born=None,
        passed=None, anniversaries=True, photo_url=None, photo_ext=None, photo_type=None, now=10,
    )
    assert await repo.purge_drafts(store, before=500) == 1
    assert await repo.take_draft(store, old, member_id=5) is None


async def test_deleted_cards_threads_and_channels_are_forgotten(store: Store) -> None:
    a = await make(store, "A")
    b = await make(store, "B")
    await repo.set_card(store, a.id, channel_id=2, message_id=30, thread_id=40)
    await repo.set_card(store, b.id, channel_id=2, message_id=31, thread_id=41)
    assert await repo.forget_card(store, [30, 999]) == 1
    got = await repo.get(store, a.id)
    assert got is not None and (got.channel_id, got.message_id, got.thread_id) == (None, None, 40)
    assert await repo.forget_thread(store, 40) == 1
    assert await repo.forget_channel(store, 2) == 1
    got_b = await repo.get(store, b.id)
    assert got_b is not None and (got_b.channel_id, got_b.message_id, got_b.thread_id) == (None, None, None)


async def test_decline_deletes_only_a_waiting_memorial_and_photos_are_replaced(store: Store) -> None:
    waiting = await make(store, "Pip", status=repo.PENDING)
    approved = await make(store, "Rex")
    assert not await repo.delete_pending(store, approved.id)
    assert await repo.delete_pending(store, waiting.id)
    assert not await repo.delete_pending(store, waiting.id)
    await repo.set_photo(store, approved.id, repo.Photo("memorial.png", "image/png", b"1"))
    await repo.set_photo(store, approved.id, repo.Photo("memorial.jpg", "image/jpeg", b"2"))
    assert await repo.get_photo(store, approved.id) == repo.Photo("memorial.jpg", "image/jpeg", b"2")


async def test_search_shows_moderators_every_waiting_memorial(store: Store) -> None:
    await make(store, "Pip", status=repo.PENDING, author=5)
    await make(store, "Pepper")
    assert [m.name for m in await repo.search(store, G, "p", member_id=6)] == ["Pepper"]
    assert [m.name for m in await repo.search(store, G, "p", member_id=5)] == ["Pepper", "Pip"]
    assert [m.name for m in await repo.search(store, G, "p", member_id=6, all_pending=True)] == ["Pepper", "Pip"]
    assert [m.name for m in await repo.search(store, G, "%")] == []
