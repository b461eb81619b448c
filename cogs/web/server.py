"""The aiohttp web server inside the bot process: the club's pages and calendar feeds (read only).

Routes (``T`` a server's token, ``P`` a member's personal feed token):

- ``/c/T/`` home · ``/c/T/spreadsheet`` (+ ``spreadsheet.png``) · ``/c/T/ratings`` (+ ``ratings.png``)
- ``/c/T/awards`` (+ ``awards/N.png``) · ``/c/T/basil`` (+ ``basil/N/photo``)
- ``/c/T/newsletters`` (+ ``newsletters/N``)
- ``/c/T/screenings.ics`` the server's feed · ``/m/P.ics`` a member's feed

Only GET and HEAD exist. A wrong or rotated token, pages turned off, or an unknown path all answer the same
bare 404, so a stranger cannot tell whether a server exists. Every answer is cached per (route, server) until
the database changes (``db.cache.ReadCache``, keyed by ``Store.version()``) and carries an ``ETag``: a calendar
app polling an unchanged feed gets 304 Not Modified for the cost of a token lookup. Each client address has a
token bucket (feeds and pages alike), so one client polling in a loop cannot take the bot's time from others.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from cogs.web import feed, views
from cogs.web.service import WebService
from db.cache import ReadCache
from db.web import Site

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
ICS = "text/calendar; charset=utf-8"
PNG = "image/png"
PHOTO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
PAGE_BUCKET = 3600  # pages show "upcoming" things: recomputed at least hourly even when nothing is written
NOT_FOUND = b"Not found\n"


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str
    etag: str
    cache_control: str = "private, no-cache"


def answer(body: bytes, content_type: str, cache_control: str = "private, no-cache") -> Answer:
    return Answer(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', cache_control)


class RateLimiter:
    """A token bucket per client address: ``burst`` requests at once, then ``rate`` per second."""

    def __init__(self, rate: float = 2.0, burst: float = 60.0, max_clients: int = 10_000,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)

    def allow(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = self._now()
        tokens, then = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        if client not in self._buckets and len(self._buckets) >= self.max_clients:
            self._prune(now)
        self._buckets[client] = (tokens - 1, now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget clients whose bucket has refilled (they lose nothing); if none has, the oldest half."""
        full = [c for c, (t, w) in self._buckets.items() if t + (now - w) * self.rate >= self.burst]
        for client in full:
            del self._buckets[client]
        if len(self._buckets) >= self.max_clients:
            for client in sorted(self._buckets, key=lambda c: self._buckets[c][1])[: self.max_clients // 2]:
                del self._buckets[client]


def client_address(request: web.Request) -> str:
    """The client's address; behind a reverse proxy on this machine, the one it forwards."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        try:
            if ipaddress.ip_address(peer).is_loopback:
                return forwarded.split(",")[-1].strip() or peer
        except ValueError:
            pass
    return peer


class WebApp:
    """Builds the aiohttp application over a :class:`WebService`."""

    def __init__(self, service: WebService, limiter: RateLimiter | None = None) -> None:
        self.service = service
        self.limiter = limiter or RateLimiter()
        self.cache: ReadCache[tuple[object, ...], Answer | None] = ReadCache(service.store, size=4096)
        self.feeds = feed.FeedBuilder(service.worker.run)
        self.app = web.Application(middlewares=[self._middleware])
        r = self.app.router
        r.add_get("/c/{token}/", self.home)
        r.add_get("/c/{token}/spreadsheet", self.spreadsheet)
        r.add_get("/c/{token}/spreadsheet.png", self.spreadsheet_png)
        r.add_get("/c/{token}/ratings", self.ratings)
        r.add_get("/c/{token}/ratings.png", self.ratings_png)
        r.add_get("/c/{token}/awards", self.awards)
        r.add_get(r"/c/{token}/awards/{poll:\d{1,12}}.png", self.award_png)
        r.add_get("/c/{token}/basil", self.basil)
        r.add_get(r"/c/{token}/basil/{memorial:\d{1,12}}/photo", self.photo)
        r.add_get("/c/{token}/newsletters", self.newsletters)
        r.add_get(r"/c/{token}/newsletters/{newsletter:\d{1,12}}", self.newsletter)
        r.add_get("/c/{token}/screenings.ics", self.server_feed)
        r.add_get("/m/{token}.ics", self.member_feed)

    # ------------------------------------------------------------------ plumbing
    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        wait = self.limiter.allow(client_address(request))
        if wait:
            response: web.StreamResponse = web.Response(
                status=429, body=b"Too many requests; try again later.\n", content_type="text/plain",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        elif request.method not in ("GET", "HEAD"):
            response = web.Response(status=405, body=b"Read only.\n", content_type="text/plain",
                                    headers={"Allow": "GET, HEAD"})
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                # aiohttp's own 404/405 pages name the framework; ours are the same bare text everywhere.
                response = self._not_found() if exc.status in (404, 405) else exc
            except Exception:
                # Never the path itself: it carries the token.
                log.exception("web request failed (%s)", request.match_info.route.resource.canonical
                              if request.match_info.route.resource else "no route")
                response = web.Response(status=500, body=b"Something went wrong.\n", content_type="text/plain")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @staticmethod
    def _not_found() -> web.Response:
        return web.Response(status=404, body=NOT_FOUND, content_type="text/plain")

    def _send(self, request: web.Request, found: Answer | None) -> web.Response:
        if found is None:
            return self._not_found()
        headers = {"ETag": found.etag, "Cache-Control": found.cache_control}
        if found.etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            return web.Response(status=304, headers=headers)
        return web.Response(body=found.body, headers={**headers, "Content-Type": found.content_type})

    async def _site(self, request: web.Request) -> Site | None:
        return await self.service.find_site(request.match_info["token"])

    async def _cached(
        self, request: web.Request, key: tuple[object, ...], compute: Callable[[Site], Awaitable[Answer | None]]
    ) -> web.Response:
        site = await self._site(request)
        if site is None:
            return self._not_found()
        bucket = self.service.now() // PAGE_BUCKET
        # The site's token hash is in the key: nothing cached under an old token is served after a rotation.
        found = await self.cache.get((*key, site.guild_id, site.token_hash, bucket), lambda: compute(site))
        return self._send(request, found)

    def _page(self, template: str, page: str, site: Site, **context: object) -> Answer:
        token = self.service.site_token(site)
        body = views.render(template, page=page, base=f"/c/{token}/", **context)
        return answer(body, HTML)

    # ------------------------------------------------------------------ pages
    async def home(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            return self._page("home.html", "", site, data=await self.service.home(site))

        return await self._cached(request, ("home",), compute)

    async def spreadsheet(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            data = await self.service.sheet(site)
            chart = await self._chart(site, ("spreadsheet.png",), self.service.sheet_chart)
            version = chart.etag.strip('"') if chart else None
            return self._page("spreadsheet.html", "spreadsheet", site, data=data, chart=version)

        return await self._cached(request, ("sheet",), compute)

    async def spreadsheet_png(self, request: web.Request) -> web.Response:
        site = await self._site(request)
        if site is None:
            return self._not_found()
        return self._send(request, await self._chart(site, ("spreadsheet.png",), self.service.sheet_chart))

    async def ratings(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            data = await self.service.board(site)
            chart = await self._chart(site, ("ratings.png",), self.service.board_chart)
            version = chart.etag.strip('"') if chart else None
            return self._page("ratings.html", "ratings", site, data=data, chart=version)

        return await self._cached(request, ("ratings",), compute)

    async def ratings_png(self, request: web.Request) -> web.Response:
        site = await self._site(request)
        if site is None:
            return self._not_found()
        return self._send(request, await self._chart(site, ("ratings.png",), self.service.board_chart))

    async def awards(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            return self._page("awards.html", "awards", site, data=await self.service.awards(site))

        return await self._cached(request, ("awards",), compute)

    async def award_png(self, request: web.Request) -> web.Response:
        site = await self._site(request)
        if site is None:
            return self._not_found()
        poll_id = int(request.match_info["poll"])

        async def draw(s: Site) -> bytes | None:
            return await self.service.award_chart(s, poll_id)

        return self._send(request, await self._chart(site, ("award.png", poll_id), draw))

    async def _chart(
        self, site: Site, key: tuple[object, ...], draw: Callable[[Site], Awaitable[bytes | None]]
    ) -> Answer | None:
        async def compute() -> Answer | None:
            png = await draw(site)
            # The page links the chart with its hash in the query: a changed chart is a new URL, so the image
            # itself can be kept by the browser for a day.
            return answer(png, PNG, "private, max-age=86400") if png is not None else None

        return await self.cache.get((*key, site.guild_id, site.token_hash), compute)

    async def basil(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            return self._page("basil.html", "basil", site, data=await self.service.basil(site))

        return await self._cached(request, ("basil",), compute)

    async def photo(self, request: web.Request) -> web.Response:
        site = await self._site(request)
        if site is None:
            return self._not_found()
        found = await self.service.photo(site, int(request.match_info["memorial"]))
        if found is None or found[0] not in PHOTO_TYPES:
            return self._not_found()
        content_type, data, updated_at = found
        etag = f'"{site.guild_id:x}-{request.match_info["memorial"]}-{updated_at:x}"'
        return self._send(request, Answer(data, content_type, etag, "private, max-age=3600"))

    async def newsletters(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            return self._page("newsletters.html", "newsletters", site, data=await self.service.newsletters(site))

        return await self._cached(request, ("newsletters",), compute)

    async def newsletter(self, request: web.Request) -> web.Response:
        newsletter_id = int(request.match_info["newsletter"])

        async def compute(site: Site) -> Answer | None:
            item = await self.service.newsletter(site, newsletter_id)
            if item is None:
                return None
            return self._page("newsletter.html", "newsletters", site, item=item,
                              club=self.service.club_name(site.guild_id))

        return await self._cached(request, ("newsletter", newsletter_id), compute)

    # ------------------------------------------------------------------ feeds
    async def server_feed(self, request: web.Request) -> web.Response:
        async def compute(site: Site) -> Answer:
            screenings = await self.service.feed_screenings(site)
            name = f"{self.service.club_name(site.guild_id)}: screenings"
            body = await self.feeds.build(name, screenings, where=self.service.where,
                                          page_url=self.service.page_url(self.service.site_token(site)))
            return answer(body, ICS)

        return await self._cached(request, ("feed",), compute)

    async def member_feed(self, request: web.Request) -> web.Response:
        found = await self.service.find_member(request.match_info["token"])
        if found is None:
            return self._not_found()
        site, user_id = found

        async def compute() -> Answer:
            screenings = await self.service.member_feed_screenings(site, user_id)
            name = f"{self.service.club_name(site.guild_id)}: my screenings"
            return answer(await self.feeds.build(name, screenings, where=self.service.where), ICS)

        bucket = self.service.now() // PAGE_BUCKET
        key = ("member", site.guild_id, site.token_hash, user_id, request.match_info["token"], bucket)
        return self._send(request, await self.cache.get(key, compute))


class WebServer:
    """Starts and stops the site on a host and port."""

    def __init__(self, webapp: WebApp, host: str, port: int) -> None:
        self.webapp = webapp
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.webapp.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:  # the system chose one (tests)
            self.port = int(self._runner.addresses[0][1])
        log.info("web pages and calendar feeds on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
