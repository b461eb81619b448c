"""The web feature's work: tokens, the on/off switch, display names, and gathering what each page shows.

**Tokens.** A server's link carries a token of 192 random-looking bits: ``HMAC-SHA256(key, guild id + nonce)``,
where ``key`` is 32 random bytes in a file beside the database (``<db>.webkey``, created on first use, mode 0600)
and ``nonce`` a random value in ``web_sites``. The database keeps only the token's SHA-256, so a copied database
or one of its backups reveals no link, while the bot can still show the link again to whoever asks. Rotating
draws a new nonce: the old token's hash is gone at once, so old links get 404 from the next request on.
Personal feed tokens are derived the same way (and include the server's nonce, so a rotation ends them too).

**Bounded work.** Every page reads a fixed handful of bounded queries (no query per row); charts are drawn in
the bot's worker; the server (``server.py``) caches each answer until the database changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.clock import Clock
from bot.domain import awards as award_rules
from bot.domain import screenings as screening_rules
from bot.domain.films import load_catalogue
from bot.domain.newsletter import plain_times
from bot.domain.screenings import Screening
from bot.domain.spreadsheet import Check, Sheet, build_sheet, club_watched, format_average
from bot.worker import Worker
from cogs.web.views import newsletter_html
from db import awards as awards_repo
from db import installments as installments_repo
from db import newsletter as newsletter_repo
from db import screenings as screenings_repo
from db import spreadsheet as sheet_repo
from db import theme as theme_repo
from db import web as repo
from db.awards import Poll
from db.settings import SettingsRepo
from db.store import Store
from db.web import MemberToken, Site

if TYPE_CHECKING:
    from bot.app import FilmClubBot
    from cogs.web.server import WebServer

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
FEED_PAST = 60 * 86400  # the feed keeps screenings that started in the last 60 days
FEED_LIMIT = 300  # events per feed
HOME_UPCOMING = 10
AWARDS_SHOWN = 50
NEWSLETTERS_SHOWN = 25
MEMORIALS_SHOWN = 200
COMMENTS_SHOWN = 20  # per film on the Spreadsheet page
QUEUE_SHOWN = 10
CHART_FILMS = 20
NAMES_REMEMBERED = 50_000  # (server, member) pairs the process remembers it has written
FORMER_MEMBER = "a club member"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebKeys:
    """Derives tokens from the key file's secret."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the web key must be at least 32 bytes")
        self._key = key

    @classmethod
    def load_or_create(cls, path: Path) -> WebKeys:
        """The key in ``path``, created (mode 0600) when missing."""
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return cls(path.read_bytes())
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return cls(key)

    def _token(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()[:24]  # 192 bits
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def site_token(self, guild_id: int, nonce: str) -> str:
        return self._token(f"site:{guild_id}:{nonce}")

    def member_token(self, guild_id: int, user_id: int, site_nonce: str, nonce: str) -> str:
        return self._token(f"member:{guild_id}:{user_id}:{site_nonce}:{nonce}")


class Directory(Protocol):
    """What the bot knows from Discord's cache (never a REST call from a web request)."""

    def guild_name(self, guild_id: int) -> str | None: ...

    def member_name(self, guild_id: int, user_id: int) -> str | None: ...

    def channel_name(self, channel_id: int) -> str | None: ...


# --------------------------------------------------------------------------- what pages show


@dataclass(frozen=True)
class When:
    iso: str
    text: str  # in the server's time zone, with the zone's abbreviation


@dataclass(frozen=True)
class UpcomingScreening:
    title: str
    when: When
    where: str | None
    going: int
    maybe: int
    status: str
    url: str | None


@dataclass(frozen=True)
class Home:
    club: str
    timezone: str
    upcoming: tuple[UpcomingScreening, ...]
    theme_title: str | None
    theme_films: tuple[str, ...]
    queue: tuple[str, ...]


@dataclass(frozen=True)
class SheetComment:
    name: str
    text: str


@dataclass(frozen=True)
class SheetLine:
    title: str
    winner: bool
    watched: bool
    watched_on: str | None
    average: str
    ratings: int
    comments: tuple[SheetComment, ...]


@dataclass(frozen=True)
class SheetYear:
    title: str
    watched: int
    total: int
    lines: tuple[SheetLine, ...]


@dataclass(frozen=True)
class SheetPage:
    club: str
    progress: str
    years: tuple[SheetYear, ...]


@dataclass(frozen=True)
class BoardLine:
    title: str
    average: str
    count: int
    distribution: tuple[int, ...]


@dataclass(frozen=True)
class BoardPage:
    club: str
    lines: tuple[BoardLine, ...]
    chart_version: str | None  # None: no chart (no ratings)


@dataclass(frozen=True)
class AwardLine:
    id: int
    category: str
    film: str | None
    closed: When
    winners: tuple[str, ...]
    tie: bool
    ballots: int
    nominees: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AwardsPage:
    club: str
    polls: tuple[AwardLine, ...]


@dataclass(frozen=True)
class MemorialCard:
    id: int
    name: str
    species: str | None
    dates: str
    story: str
    author: str
    photo: bool


@dataclass(frozen=True)
class BasilPage:
    club: str
    memorials: tuple[MemorialCard, ...]


@dataclass(frozen=True)
class NewsletterItem:
    id: int
    title: str
    published: When
    body: Markup | None = None


@dataclass(frozen=True)
class NewslettersPage:
    club: str
    items: tuple[NewsletterItem, ...]


class BotDirectory:
    """Names from the bot's Discord cache (no REST call is ever made for a web request)."""

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    def guild_name(self, guild_id: int) -> str | None:
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild else None

    def member_name(self, guild_id: int, user_id: int) -> str | None:
        guild = self.bot.get_guild(guild_id)
        member = guild.get_member(user_id) if guild else None
        return member.display_name if member else None

    def channel_name(self, channel_id: int) -> str | None:
        channel = self.bot.get_channel(channel_id)
        return getattr(channel, "name", None)


class WebService:
    """``bot.web``: the switch, tokens, names and page data; with ``port`` set, :meth:`load` also starts the
    web server (``server.py``) and :meth:`close` stops it."""

    def __init__(
        self, store: Store, settings: SettingsRepo, clock: Clock, worker: Worker, keys: WebKeys | Path,
        directory: Directory, base_url: str, *, host: str = "127.0.0.1", port: int | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.worker = worker
        self._keys = keys
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.port = port
        self.server: WebServer | None = None
        self.enabled: set[int] = set()
        self._names_written: dict[tuple[int, int], str] = {}

    @classmethod
    def for_bot(cls, bot: FilmClubBot) -> WebService:
        config = bot.config
        return cls(
            bot.store, bot.settings, bot.clock, bot.worker, config.web_key_path,
            BotDirectory(bot), config.public_url or "", host=config.web_host, port=config.web_port,
        )

    @property
    def keys(self) -> WebKeys:
        """The token key, read (or made) on first use: a bot with the pages off never writes a key file."""
        if isinstance(self._keys, Path):
            self._keys = WebKeys.load_or_create(self._keys)
        return self._keys

    @keys.setter
    def keys(self, keys: WebKeys) -> None:
        self._keys = keys

    @property
    def running(self) -> bool:
        return self.server is not None

    async def load(self) -> None:
        self.enabled = set(await repo.enabled_guilds(self.store))
        if self.port is None:
            return
        from cogs.web.server import WebApp, WebServer

        try:
            self.keys  # noqa: B018 (a key file that cannot be used stops the pages, not the bot)
        except (OSError, ValueError) as exc:
            log.error("web pages are off: the key file %s cannot be used (%s); move it away to make a new one "
                      "(every link then changes)", self._keys, exc)
            return
        server = WebServer(WebApp(self), self.host, self.port)
        try:
            await server.start()
        except OSError as exc:
            log.error("web pages could not start on %s:%s (%s); the bot runs without them", self.host, self.port, exc)
            return
        self.server = server
        if not self.base_url:
            self.base_url = f"http://{self.host}:{server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    # ------------------------------------------------------------------ the switch and tokens
    async def site(self, guild_id: int) -> Site | None:
        return await repo.get_site(self.store, guild_id)

    async def switch(self, guild_id: int, on: bool, by: int) -> Site:
        """Turn the pages on or off (a first turn-on makes the token)."""
        site = await self.site(guild_id)
        async with self.store.transaction() as tx:
            if site is None:
                nonce = secrets.token_urlsafe(16)
                site = await repo.save_site(
                    tx, guild_id, enabled=on, nonce=nonce, token_hash=token_hash(self.keys.site_token(guild_id, nonce)),
                    by=by, now=self.now(), rotated=True,
                )
            else:
                site = await repo.save_site(
                    tx, guild_id, enabled=on, nonce=site.nonce, token_hash=site.token_hash, by=by, now=self.now(),
                    rotated=False,
                )
        (self.enabled.add if on else self.enabled.discard)(guild_id)
        return await self.ensure_token(site)

    async def rotate(self, guild_id: int, by: int) -> Site:
        """A new token: the old server link and every personal feed link stop working at once."""
        site = await self.site(guild_id)
        nonce = secrets.token_urlsafe(16)
        async with self.store.transaction() as tx:
            site = await repo.save_site(
                tx, guild_id, enabled=site.enabled if site else False, nonce=nonce,
                token_hash=token_hash(self.keys.site_token(guild_id, nonce)), by=by, now=self.now(), rotated=True,
            )
        return site

    async def ensure_token(self, site: Site) -> Site:
        """The site whose stored hash matches the token this key derives. When the key file was lost (a database
        moved without it) the old links are unrecoverable: a new token is made so the link shown works."""
        if token_hash(self.keys.site_token(site.guild_id, site.nonce)) == site.token_hash:
            return site
        log.warning("web key changed for guild %s: making a new token", site.guild_id)
        return await self.rotate(site.guild_id, site.updated_by)

    def site_token(self, site: Site) -> str:
        return self.keys.site_token(site.guild_id, site.nonce)

    async def member_token(self, site: Site, user_id: int) -> str:
        """The member's personal feed token (made on first ask)."""
        mine = await repo.member_token(self.store, site.guild_id, user_id)
        if mine is not None:
            token = self.keys.member_token(site.guild_id, user_id, site.nonce, mine.nonce)
            if token_hash(token) == mine.token_hash:
                return token
        nonce = secrets.token_urlsafe(12)
        token = self.keys.member_token(site.guild_id, user_id, site.nonce, nonce)
        await repo.save_member_token(
            self.store, MemberToken(token_hash(token), site.guild_id, user_id, nonce, self.now())
        )
        return token

    # ------------------------------------------------------------------ links
    def page_url(self, token: str, page: str = "") -> str:
        return f"{self.base_url}/c/{token}/{page}"

    def feed_url(self, token: str) -> str:
        return f"{self.base_url}/c/{token}/screenings.ics"

    def member_feed_url(self, token: str) -> str:
        return f"{self.base_url}/m/{token}.ics"

    @staticmethod
    def webcal(url: str) -> str:
        return "webcal://" + url.split("://", 1)[-1]

    @classmethod
    def google_url(cls, url: str) -> str:
        """Google Calendar's "add by URL" link for a feed."""
        return "https://calendar.google.com/calendar/render?cid=" + quote(cls.webcal(url), safe="")

    # ------------------------------------------------------------------ resolving requests
    async def find_site(self, token: str) -> Site | None:
        """The enabled site of a page/feed token, else None (wrong, rotated or turned off: all look the same)."""
        if not TOKEN_RE.match(token):
            return None
        site = await repo.site_by_token_hash(self.store, token_hash(token))
        return site if site is not None and site.enabled else None

    async def find_member(self, token: str) -> tuple[Site, int] | None:
        if not TOKEN_RE.match(token):
            return None
        mine = await repo.member_by_token_hash(self.store, token_hash(token))
        if mine is None:
            return None
        site = await repo.get_site(self.store, mine.guild_id)
        if site is None or not site.enabled:
            return None
        return site, mine.user_id

    # ------------------------------------------------------------------ names
    async def note_member(self, guild_id: int, user_id: int, name: str) -> None:
        """Keep a member's display name for the pages of a server whose pages are on (written when it changed)."""
        if guild_id not in self.enabled:
            return
        key = (guild_id, user_id)
        if self._names_written.get(key) == name:
            return
        # Not written by this process yet: read first, so a restart does not rewrite every name (a write
        # makes every read model compute again).
        if key not in self._names_written and (await repo.names(self.store, guild_id, [user_id])).get(user_id) == name:
            self._names_written[key] = name
            return
        await repo.remember_names(self.store, [(guild_id, user_id, name, self.now())])
        if len(self._names_written) >= NAMES_REMEMBERED:
            self._names_written.clear()
        self._names_written[key] = name

    async def names(self, guild_id: int, user_ids: Sequence[int]) -> dict[int, str]:
        """Display names only: from Discord's cache, else as last seen; never an id."""
        found: dict[int, str] = {}
        missing: list[int] = []
        for uid in set(user_ids):
            name = self.directory.member_name(guild_id, uid)
            if name:
                found[uid] = name
            else:
                missing.append(uid)
        if missing:
            found.update(await repo.names(self.store, guild_id, missing))
        return found

    def club_name(self, guild_id: int) -> str:
        return self.directory.guild_name(guild_id) or "Film club"

    async def zone(self, guild_id: int) -> ZoneInfo:
        try:
            return ZoneInfo((await self.settings.get(guild_id)).timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    @staticmethod
    def when(ts: int, zone: ZoneInfo, *, with_time: bool = True) -> When:
        local = datetime.fromtimestamp(ts, UTC).astimezone(zone)
        day = f"{local.day} {local:%b %Y}"
        text = f"{local:%a} {day}, {local:%H:%M %Z}" if with_time else day
        return When(local.isoformat(timespec="minutes"), text)

    def where(self, s: Screening) -> str | None:
        parts = []
        if s.voice_channel_id:
            name = self.directory.channel_name(s.voice_channel_id)
            parts.append(f"#{name}" if name else "the server's voice channel")
        if s.location:
            parts.append(s.location)
        return " · ".join(parts) or None

    # ------------------------------------------------------------------ feeds
    async def feed_screenings(self, site: Site) -> list[Screening]:
        return await repo.feed_screenings(self.store, site.guild_id, since=self.now() - FEED_PAST, limit=FEED_LIMIT)

    async def member_feed_screenings(self, site: Site, user_id: int) -> list[Screening]:
        return await repo.member_feed_screenings(
            self.store, site.guild_id, user_id, since=self.now() - FEED_PAST, limit=FEED_LIMIT
        )

    # ------------------------------------------------------------------ pages
    async def home(self, site: Site) -> Home:
        gid = site.guild_id
        zone = await self.zone(gid)
        upcoming = await screenings_repo.list_upcoming(self.store, gid, limit=HOME_UPCOMING)
        counts = await repo.rsvp_counts(self.store, [s.id for s in upcoming])
        theme = await theme_repo.get_theme(self.store, gid)
        queue = await installments_repo.queue(self.store, gid)
        return Home(
            club=self.club_name(gid),
            timezone=str(zone),
            upcoming=tuple(
                UpcomingScreening(
                    s.label, self.when(s.starts_at, zone), self.where(s), *counts.get(s.id, (0, 0)),
                    "now showing" if s.status == screenings_repo.LIVE else "upcoming", s.jump_url,
                )
                for s in upcoming
            ),
            theme_title=theme.title if theme else None,
            theme_films=tuple(screening_rules.film_label(f.title, f.year) for f in theme.films) if theme else (),
            queue=tuple(screening_rules.film_label(i.title, i.year) for i in queue[:QUEUE_SHOWN]),
        )

    async def _sheet(self, gid: int) -> tuple[Sheet, list[int]]:
        finished = await screenings_repo.finished_screenings(self.store, gid)
        checks = await sheet_repo.list_checks(self.store, gid)
        ratings = await screenings_repo.ratings_for_guild(self.store, gid)
        comments = await sheet_repo.list_comments(self.store, gid)
        starts: dict[str, list[int]] = {}
        ends: dict[str, list[int]] = {}
        for s in finished:
            starts.setdefault(s.film_key, []).append(s.starts_at)
            ends.setdefault(s.film_key, []).append(s.ends_at)
        watched_at: dict[str, int] = {}
        for key in set(starts) | set(checks):
            mark = checks.get(key)
            when = club_watched(
                starts.get(key, []), ends.get(key, []),
                Check(mark.watched, mark.set_at, mark.watched_at) if mark else None,
            )
            if when is not None:
                watched_at[key] = when
        sheet = build_sheet(
            load_catalogue(), club_watched_at=watched_at,
            ratings=[(r.film_key, r.user_id, r.thumbs) for r in ratings],
            comments=[(c.film_key, c.user_id, c.body) for c in comments],
        )
        return sheet, [c.user_id for c in comments]

    async def sheet(self, site: Site) -> SheetPage:
        gid = site.guild_id
        zone = await self.zone(gid)
        sheet, commenters = await self._sheet(gid)
        names = await self.names(gid, commenters)
        years = []
        for group in sheet.groups:
            lines = []
            for row in group.rows:
                lines.append(SheetLine(
                    title=row.film.label, winner=row.film.is_winner, watched=row.watched,
                    watched_on=self.when(row.watched_at, zone, with_time=False).text if row.watched_at else None,
                    average=format_average(row.average), ratings=len(row.ratings),
                    comments=tuple(
                        SheetComment(names.get(uid, FORMER_MEMBER), text)
                        for uid, text in sorted(row.comments.items(), key=lambda kv: names.get(kv[0], ""))
                    )[:COMMENTS_SHOWN],
                ))
            years.append(SheetYear(group.title, group.watched, group.total, tuple(lines)))
        return SheetPage(self.club_name(gid), sheet.progress_line, tuple(years))

    async def sheet_chart(self, site: Site) -> bytes:
        """The progress picture `/spreadsheet view` posts."""
        from bot.progress_image import Cell, progress_png

        sheet, _ = await self._sheet(site.guild_id)
        rows = [(str(group.ceremony), [Cell(row.watched, row.film.is_winner) for row in group.rows])
                for group in sheet.groups]
        return await self.worker.run(progress_png, "The club's Best Picture journey", rows)

    async def board(self, site: Site) -> BoardPage:
        films = await screenings_repo.rating_distributions(self.store, site.guild_id)
        rows = sorted(
            ((screening_rules.film_label(title, year),
              screening_rules.summarize(t for t, n in enumerate(dist, start=1) for _ in range(n)))
             for _, title, year, dist in films),
            key=lambda row: (-row[1].average, -row[1].count, row[0].lower()),
        )
        lines = tuple(BoardLine(label, s.average_text, s.count, s.distribution) for label, s in rows)
        return BoardPage(self.club_name(site.guild_id), lines, "1" if lines else None)

    async def board_chart(self, site: Site) -> bytes | None:
        """The same chart `/ratings board` posts: average thumbs of the top films, the best in gold."""
        from bot.charts import bar_chart_png
        from bot.render import clip

        page = await self.board(site)
        if not page.lines:
            return None
        leaders = page.lines[:CHART_FILMS]
        best = leaders[0].average
        title = "Average thumbs per film" if len(page.lines) <= CHART_FILMS else f"Average thumbs: top {CHART_FILMS}"
        return await self.worker.run(
            bar_chart_png, title, [clip(line.title, 40) for line in leaders],
            [float(line.average) for line in leaders],
            highlight={i for i, line in enumerate(leaders) if line.average == best},
        )

    async def awards(self, site: Site) -> AwardsPage:
        zone = await self.zone(site.guild_id)
        polls = await awards_repo.history(self.store, site.guild_id, limit=AWARDS_SHOWN)
        lines = []
        for poll in polls:
            result = poll.tally
            counts = result.counts if result else tuple(0 for _ in poll.nominees)
            winners = tuple(poll.nominees[i] for i in (result.winners if result else ()))
            lines.append(AwardLine(
                poll.id, poll.category, poll.film_title, self.when(poll.closed_at or poll.closes_at, zone),
                winners, bool(result and result.is_tie), result.ballots if result else 0,
                tuple(zip(poll.nominees, counts, strict=True)),
            ))
        return AwardsPage(self.club_name(site.guild_id), tuple(lines))

    async def award_chart(self, site: Site, poll_id: int) -> bytes | None:
        """The results chart the bot posts when a poll closes."""
        from bot.charts import bar_chart_png
        from bot.render import clip

        poll: Poll | None = await awards_repo.get_in_guild(self.store, site.guild_id, poll_id)
        if poll is None or poll.status != "closed" or poll.tally is None:
            return None
        result: award_rules.Tally = poll.tally
        return await self.worker.run(
            bar_chart_png, clip(poll.category, 60), [f"{i + 1}. {n}" for i, n in enumerate(poll.nominees)],
            list(result.counts), highlight=set(result.winners),
        )

    async def basil(self, site: Site) -> BasilPage:
        gid = site.guild_id
        memorials = await repo.approved_memorials(self.store, gid, MEMORIALS_SHOWN)
        photos = await repo.memorials_with_photos(self.store, gid)
        names = await self.names(gid, [m.author_id for m in memorials])
        cards = []
        for m in memorials:
            born = f"{m.born.day} {m.born:%b %Y}" if m.born else None
            passed = f"{m.passed.day} {m.passed:%b %Y}" if m.passed else None
            dates = " – ".join(x for x in (born, passed) if x) if (born or passed) else ""
            cards.append(MemorialCard(
                m.id, m.name, m.species, dates, m.story, names.get(m.author_id, FORMER_MEMBER), m.id in photos
            ))
        return BasilPage(self.club_name(gid), tuple(cards))

    async def photo(self, site: Site, memorial_id: int) -> tuple[str, bytes, int] | None:
        return await repo.approved_photo(self.store, site.guild_id, memorial_id)

    async def newsletters(self, site: Site) -> NewslettersPage:
        zone = await self.zone(site.guild_id)
        rows = await newsletter_repo.list_published(self.store, site.guild_id, limit=NEWSLETTERS_SHOWN)
        return NewslettersPage(self.club_name(site.guild_id), tuple(
            NewsletterItem(r.id, r.title, self.when(r.published_at or r.updated_at, zone)) for r in rows
        ))

    async def newsletter(self, site: Site, newsletter_id: int) -> NewsletterItem | None:
        row = await newsletter_repo.get(self.store, newsletter_id, site.guild_id)
        if row is None or not row.is_published:
            return None
        zone = await self.zone(site.guild_id)
        body = newsletter_html(plain_times(row.body_md or row.intro, str(zone)))
        return NewsletterItem(row.id, row.title, self.when(row.published_at or row.updated_at, zone), body)

