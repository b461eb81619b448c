"""A server's worth of club data written through the repositories (tests of the web pages, and the web bench)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from PIL import Image

from bot.domain.awards import Ballot, tally
from db import awards as awards_repo
from db import basil as basil_repo
from db import installments as installments_repo
from db import newsletter as newsletter_repo
from db import screenings as screenings_repo
from db import spreadsheet as sheet_repo
from db import theme as theme_repo
from db.store import Executor

HOSTILE = '<script>alert("x")</script>'
ALICE, BOB, CAROL, MOD = 310000000000000101, 310000000000000102, 310000000000000103, 310000000000000900


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Seeded:
    next_id: int  # the next screening (upcoming)
    later_id: int  # another upcoming screening alice said nothing to
    hostile_id: int  # an upcoming screening with a hostile title
    finished_id: int
    poll_id: int
    memorial_id: int
    newsletter_id: int


async def seed(db: Executor, guild_id: int, now: int, *, hostile: bool = True, channel: int = 5000) -> Seeded:
    """Screenings (upcoming and finished) with RSVPs, ratings, sheet comments, a closed award poll, a memorial with
    a photo, a theme shelf, the queue and a published newsletter. ``hostile`` puts ``<script>`` in user text."""
    evil = f" {HOSTILE}" if hostile else ""
    day = 86400

    async def screening(key: str, title: str, year: int, starts: int) -> screenings_repo.Screening:
        return await screenings_repo.create_screening(
            db, guild_id=guild_id, film_key=key, title=title, year=year, runtime=120, starts_at=starts,
            channel_id=channel, created_by=MOD, now=now - 10 * day, location="Kim's living room",
        )

    her = await screening("her-2013", "Her", 2013, now + 2 * day)
    await screenings_repo.set_message(db, her.id, 777000 + her.id, now - 10 * day)
    later = await screening("rocky-1976", "Rocky", 1976, now + 9 * day)
    odd = await screening("custom:odd-2020", f"Odd film{evil}", 2020, now + 5 * day)
    done = await screening("parasite-2019", "Parasite", 2019, now - 3 * day)
    await screenings_repo.mark_finished(db, done.id, now - 3 * day + 7200)
    await screenings_repo.set_rsvp(db, her.id, ALICE, "going", now)
    await screenings_repo.set_rsvp(db, her.id, BOB, "maybe", now)
    await screenings_repo.set_rsvp(db, odd.id, ALICE, "maybe", now)
    await screenings_repo.set_rsvp(db, later.id, BOB, "going", now)
    await screenings_repo.set_rsvp(db, later.id, ALICE, "cant", now)
    await screenings_repo.add_interest(db, her.id, CAROL, now)
    for user, thumbs in ((ALICE, 5), (BOB, 4), (CAROL, 4)):
        await screenings_repo.set_rating(db, guild_id, "parasite-2019", user, thumbs, None, now,
                                         title="Parasite", year=2019, screening_id=done.id)
    await screenings_repo.set_rating(db, guild_id, "her-2013", ALICE, 3, f"Lovely{evil}", now,
                                     title="Her", year=2013)
    await sheet_repo.set_comment(db, guild_id, "parasite-2019", ALICE, f"Stairs!{evil}", now)
    await sheet_repo.set_comment(db, guild_id, "parasite-2019", BOB, "The peach scene", now)
    await sheet_repo.set_check(db, guild_id, "moonlight-2016", watched=True, watched_at=now - 30 * day, set_by=MOD,
                               now=now)
    poll = await awards_repo.create_poll(
        db, guild_id=guild_id, channel_id=channel, category=f"Best snack{evil}", nominees=("Popcorn", f"Nachos{evil}"),
        film_title="Parasite", film_key="parasite-2019", show_counts=False, opened_by=MOD, now=now - 2 * day,
        closes_at=now - day,
    )
    ballots = {ALICE: Ballot(1, now - day), BOB: Ballot(1, now - day), CAROL: Ballot(0, now - day)}
    await awards_repo.close(db, poll.id, now=now - day, ballots=ballots,
                            result=tally([b.choice for b in ballots.values()], 2), void=0)
    memorial = await basil_repo.create(
        db, guild_id=guild_id, name=f"Basil{evil}", name_key=f"basil{evil}".casefold(), species="cat",
        born=date(2010, 4, 1), passed=date(2024, 5, 1), story=f"The best cat.{evil}", author_id=ALICE,
        status=basil_repo.APPROVED, anniversaries=True, now=now,
        photo=basil_repo.Photo("basil.png", "image/png", tiny_png()),
    )
    assert memorial is not None
    await theme_repo.set_theme(db, guild_id, f"Cats on film{evil}", [theme_repo.ShelfFilm("her-2013", "Her", 2013)],
                               set_by=MOD, now=now)
    await installments_repo.add(db, guild_id=guild_id, film_key="rocky-1976", title="Rocky", year=1976, runtime=120,
                                note=None, position=1, added_by=MOD, now=now)
    letter = await newsletter_repo.create_draft(
        db, guild_id=guild_id, film_key="parasite-2019", film_title="Parasite", film_year=2019,
        screening_id=done.id, title=f"Parasite night{evil}", intro="We watched it.", sections="[]",
        covers_since=now - 5 * day, covers_until=now, created_by=MOD, now=now,
    )
    await newsletter_repo.claim_publish(db, letter.id, channel_id=channel, published_by=MOD, now=now, lease=60)
    body = (f"# Parasite night\n\nWe watched it on {{{{t:{now}}}}}.\n\n## Verdicts\n\n**Alice**: *Stairs!*{evil}\n"
            f"**Bob**: \\*not\\* bold \\<b\\>\n")
    await newsletter_repo.finish_publish(db, letter.id, body_md=body, published_by=MOD, now=now)
    return Seeded(her.id, later.id, odd.id, done.id, poll.id, memorial.id, letter.id)
