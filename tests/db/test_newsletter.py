"""Newsletter repository: previews, verdicts, drafts, the one-winner publish, the since marker."""

from __future__ import annotations

import asyncio

import pytest

from db import newsletter as repo
from db import screenings as screenings_repo
from db.store import Store

G = 111




async def draft(store: Store, *, guild: int = G, until: int = 500, film: str = "her-2013") -> repo.NewsletterRow:
    return await repo.create_draft(
        store, guild_id=guild, film_key=film, film_title="Her", film_year=2013, screening_id=None,
        title="Newsletter: Her (2013)", intro="Hello.", sections="[]", covers_since=0, covers_until=until,
        created_by=7, now=until,
    )


async def test_preview_is_one_per_member_per_film_and_editable(store: Store) -> None:
    first, new = await repo.save_preview(
        store, guild_id=G, film_key="her-2013", user_id=1, text="Odd premise.", screening_id=None, now=10
    )
    assert new and first.text == "Odd premise." and first.message_id is None
    await repo.set_preview_message(store, G, "her-2013", 1, 55, 66)
    again, new = await repo.save_preview(
        store, guild_id=G, film_key="her-2013", user_id=1, text="Changed my mind.", screening_id=None, now=20
    )
    assert not new
    assert (again.text, again.created_at, again.updated_at) == ("Changed my mind.", 10, 20)
    assert (again.channel_id, again.message_id) == (55, 66)  # the posted message is remembered
    await repo.save_preview(store, guild_id=G, film_key="her-2013", user_id=2, text="Hmm.", screening_id=None, now=15)
    await repo.save_preview(store, guild_id=G, film_key="rocky-1976", user_id=2, text="Boxing!",
                            screening_id=None, now=16)
    await repo.save_preview(store, guild_id=999, film_key="her-2013", user_id=3, text="Elsewhere.",
                            screening_id=None, now=17)
    previews = await repo.previews_for_film(store, G, "her-2013")
    assert [(p.user_id, p.text) for p in previews] == [(1, "Changed my mind."), (2, "Hmm.")]


async def test_preview_screening_link_is_cleared_when_the_screening_goes(store: Store) -> None:
    s = await screenings_repo.create_screening(
        store, guild_id=G, film_key="her-2013", title="Her", year=2013, runtime=126, starts_at=10_000,
        channel_id=5, created_by=7, now=1,
    )
    await repo.save_preview(store, guild_id=G, film_key="her-2013", user_id=1, text="x", screening_id=s.id, now=2)
    await screenings_repo.delete_screening(store, s.id)
    preview = await repo.get_preview(store, G, "her-2013", 1)
    assert preview is not None and preview.screening_id is None


async def test_verdict_upsert_and_listing(store: Store) -> None:
    v, new = await repo.save_verdict(
        store, guild_id=G, film_key="her-2013", user_id=1, thumbs=4, text="Lovely.", title="Her", year=2013,
        screening_id=None, now=10,
    )
    assert new and (v.thumbs, v.text) == (4, "Lovely.")
    await repo.set_verdict_message(store, G, "her-2013", 1, 8, 9)
    v, new = await repo.save_verdict(
        store, guild_id=G, film_key="her-2013", user_id=1, thumbs=2, text=None, title="Her", year=2013,
        screening_id=None, now=20,
    )
    assert not new and (v.thumbs, v.text, v.message_id, v.created_at) == (2, None, 9, 10)
    assert [x.user_id for x in await repo.verdicts_for_film(store, G, "her-2013")] == [1]
    assert await repo.verdicts_for_film(store, G, "rocky-1976") == []


async def test_verdict_thumbs_are_checked_by_the_schema(store: Store) -> None:
    with pytest.raises(Exception, match=r"(?i)check"):
        await repo.save_verdict(
            store, guild_id=G, film_key="her-2013", user_id=1, thumbs=6, text=None, title="Her", year=2013,
            screening_id=None, now=10,
        )


async def publish(store: Store, newsletter_id: int, now: int, channel: int = 42, by: int = 7) -> bool:
    if not await repo.claim_publish(store, newsletter_id, channel_id=channel, published_by=by, now=now, lease=900):
        return False
    return await repo.finish_publish(store, newsletter_id, body_md="# md", published_by=by, now=now)


async def test_draft_lifecycle_intro_publish_and_refusals(store: Store) -> None:
    d = await draft(store)
    assert d.is_draft and d.message_ids == () and d.jump_url is None
    assert await repo.get(store, d.id, guild_id=999) is None
    assert await repo.set_intro(store, d.id, "New intro.", 600)
    assert (await repo.get(store, d.id)).intro == "New intro."  # type: ignore[union-attr]

    assert await repo.claim_publish(store, d.id, channel_id=42, published_by=7, now=700, lease=900)
    # While the lease runs: no second claim, no intro change, no discard; still a draft.
    assert not await repo.claim_publish(store, d.id, channel_id=42, published_by=8, now=701, lease=900)
    assert not await repo.set_intro(store, d.id, "Too late.", 702)
    assert not await repo.discard(store, d.id, 703)
    mid = await repo.get(store, d.id)
    assert mid is not None and mid.is_draft and mid.is_publishing(704) and mid.publishing_by == 7
    assert await repo.since_marker(store, G) == 0  # not published until every message is out
    await repo.set_message_ids(store, d.id, [1001, 1002])
    assert await repo.finish_publish(store, d.id, body_md="# md", published_by=7, now=710)
    assert not await repo.finish_publish(store, d.id, body_md="# md", published_by=7, now=711)
    assert not await repo.claim_publish(store, d.id, channel_id=42, published_by=8, now=712, lease=900)
    got = await repo.get(store, d.id)
    assert got is not None and got.is_published and not got.is_publishing(712)
    assert (got.published_by, got.published_at, got.body_md, got.intro) == (7, 710, "# md", "New intro.")
    assert got.message_ids == (1001, 1002)
    assert got.jump_url == f"https://discord.com/channels/{G}/42/1001"
    assert (await repo.published_for_screening(store, G, 5)) is None


async def test_concurrent_publish_has_exactly_one_winner(store: Store) -> None:
    d = await draft(store)
    results = await asyncio.gather(*[
        repo.claim_publish(store, d.id, channel_id=42, published_by=i, now=700, lease=900) for i in range(5)
    ])
    assert sorted(results) == [False, False, False, False, True]


async def test_lease_expires_and_is_cleared_at_start(store: Store) -> None:
    d = await draft(store)
    assert await repo.claim_publish(store, d.id, channel_id=42, published_by=7, now=700, lease=900)
    assert not await repo.claim_publish(store, d.id, channel_id=42, published_by=8, now=1599, lease=900)
    assert await repo.claim_publish(store, d.id, channel_id=42, published_by=8, now=1600, lease=900)  # expired
    assert await repo.clear_leases(store) == 1
    assert await repo.set_intro(store, d.id, "Free again.", 1601)


async def test_discard_and_release(store: Store) -> None:
    d = await draft(store)
    assert await repo.discard(store, d.id, 600)
    assert not await repo.discard(store, d.id, 601)
    assert not await repo.claim_publish(store, d.id, channel_id=1, published_by=7, now=602, lease=900)
    other = await draft(store)
    assert await repo.claim_publish(store, other.id, channel_id=1, published_by=7, now=700, lease=900)
    await repo.set_message_ids(store, other.id, [5])
    assert await repo.release_publish(store, other.id, 701)
    back = await repo.get(store, other.id)
    assert back is not None and back.is_draft and back.published_at is None and back.message_ids == (5,)
    assert not back.is_publishing(701)
    assert [r.id for r in await repo.list_drafts(store, G)] == [other.id]
    # A retry in the same channel keeps what was posted (resume); in another channel it starts over.
    assert await repo.claim_publish(store, other.id, channel_id=1, published_by=7, now=800, lease=900)
    assert (await repo.get(store, other.id)).message_ids == (5,)  # type: ignore[union-attr]
    assert await repo.release_publish(store, other.id, 801)
    assert await repo.claim_publish(store, other.id, channel_id=2, published_by=7, now=802, lease=900)
    moved = await repo.get(store, other.id)
    assert moved is not None and moved.message_ids == () and moved.channel_id == 2


async def test_since_marker_follows_the_latest_published_newsletter(store: Store) -> None:
    assert await repo.since_marker(store, G) == 0
    first = await draft(store, until=1000)
    await draft(store, until=5000)  # a draft never moves the marker
    assert await repo.since_marker(store, G) == 0
    assert await publish(store, first.id, 1100)
    assert await repo.since_marker(store, G) == 1001
    second = await draft(store, until=2000)
    assert await publish(store, second.id, 2100)
    assert await repo.since_marker(store, G) == 2001
    assert await repo.since_marker(store, 999) == 0
    assert [r.id for r in await repo.list_published(store, G)] == [second.id, first.id]
    assert [r.id for r in await repo.list_published(store, G, limit=1, offset=1)] == [first.id]
    assert await repo.count_published(store, G) == 2 and await repo.count_published(store, 999) == 0
