"""Discord's rate limits in the fake: per-route buckets, the global limit, and their headers.

Source: Discord's API docs, Topics -> Rate Limits ("Header Format", "Exceeding A Rate Limit", "Global Rate Limit",
"Invalid Request Limit"). Discord does not publish per-route numbers (clients must read the headers); the numbers
in :data:`ROUTE_LIMITS` are this fake's choice, close to what Discord answers in practice.

Windows run on real monotonic time (the event loop's clock), not on the fake clock: discord.py reads
``X-RateLimit-Reset-After`` and sleeps on its own loop, so a window measured on a fake clock would never match.
"""

from __future__ import annotations

import collections
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

#: (limit, per seconds) per "METHOD template" (the fake's route templates). Everything else: DEFAULT_LIMIT.
ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": (1, 0.25),
    "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}": (1, 0.25),
    "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}": (5, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/threads": (5, 5.0),
    "POST /channels/{channel_id}/threads": (5, 5.0),
    "POST /users/@me/channels": (10, 1.0),
    "POST /guilds/{guild_id}/scheduled-events": (5, 5.0),
    "PATCH /guilds/{guild_id}/scheduled-events/{event_id}": (5, 5.0),
    "POST /webhooks/{app_id}/{token}": (5, 2.0),
    "PATCH /webhooks/{app_id}/{token}/messages/{message_id}": (5, 2.0),
}
DEFAULT_LIMIT: tuple[int, float] = (10, 1.0)
#: Requests per second across the whole bot (docs: "Global Rate Limit").
GLOBAL_LIMIT = 50
#: Routes that never count toward the global limit: interaction endpoints (docs: Interactions -> Receiving and
#: Responding, "Endpoints": the initial response and follow-ups are not bound to the bot's global rate limit).
GLOBAL_EXEMPT = (
    "POST /interactions/{iid}/{token}/callback",
    "POST /webhooks/{app_id}/{token}",
    "GET /webhooks/{app_id}/{token}/messages/{message_id}",
    "PATCH /webhooks/{app_id}/{token}/messages/{message_id}",
    "DELETE /webhooks/{app_id}/{token}/messages/{message_id}",
)
#: The top-level resources that split a bucket (docs: Rate Limits, intro): channel, guild, webhook id + token.
#: An interaction callback is split by its interaction (each interaction answers once).
MAJOR_PARAMETERS = ("channel_id", "guild_id", "app_id", "token", "iid")


@dataclass
class Bucket:
    limit: int
    per: float
    reset_at: float = 0.0
    used: int = 0

    def refresh(self, now: float) -> None:
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + self.per

    def headers(self, now: float, name: str) -> dict[str, str]:
        after = max(0.0, self.reset_at - now)
        after = math.ceil(after * 1000) / 1000  # never tell a client to come back before the window ends
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": f"{time.time() + after:.3f}",
            "X-RateLimit-Reset-After": f"{after:.3f}",
            "X-RateLimit-Bucket": name,
        }


@dataclass
class Verdict:
    """What the limiter says about one request: headers for the answer, and a 429 body if it is refused."""

    headers: dict[str, str]
    refused: dict[str, Any] | None = None
    scope: str | None = None


@dataclass
class RateLimiter:
    enabled: bool = True
    global_limit: int = GLOBAL_LIMIT
    route_limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(ROUTE_LIMITS))
    default_limit: tuple[int, float] = DEFAULT_LIMIT
    #: Per-route windows are multiplied by this (limits unchanged). A test that posts dozens of messages into one
    #: channel, and is not about rate limits, may shorten them by name (the ``short_rate_windows`` fixture):
    #: discord.py still has to read the headers and wait, so a bot that ignores a bucket still gets its 429.
    window_scale: float = 1.0
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _global: dict[str, collections.deque[float]] = field(default_factory=dict)
    #: Every 429 the limiter answered, as (route, scope).
    refusals: list[tuple[str, str]] = field(default_factory=list)

    def bucket_name(self, route: str) -> str:
        # Opaque like Discord's, stable per route, and never containing the top-level ids (docs: Header Format).
        return f"{zlib.crc32(route.encode()):08x}"

    def check(self, route: str, params: dict[str, str], *, token: str | None, now: float | None = None) -> Verdict:
        """Count one request to ``route`` ("METHOD template") with ``params``; ``token`` is the bot's token when
        the request is authenticated as a bot (it counts toward that bot's global limit)."""
        now = time.monotonic() if now is None else now
        limit, per = self.route_limits.get(route, self.default_limit)
        major = "+".join(params[k] for k in MAJOR_PARAMETERS if k in params)
        per *= self.window_scale
        bucket = self.buckets.get((route, major))
        if bucket is None:
            bucket = self.buckets[(route, major)] = Bucket(limit, per)
        bucket.per = per
        bucket.refresh(now)
        name = self.bucket_name(route)
        if not self.enabled:
            return Verdict(bucket.headers(now, name))
        if token is not None and route not in GLOBAL_EXEMPT:
            window = self._global.setdefault(token, collections.deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.global_limit:
                retry = max(0.001, window[0] + 1.0 - now)
                headers = bucket.headers(now, name)
                headers.update(_refusal_headers(retry, scope="global"))
                self.refusals.append((route, "global"))
                body = {"message": "You are being rate limited.", "retry_after": _ms(retry), "global": True,
                        "code": 0}
                return Verdict(headers, body, "global")
        if bucket.used >= bucket.limit:
            retry = max(0.001, bucket.reset_at - now)
            headers = bucket.headers(now, name)
            headers.update(_refusal_headers(retry, scope="user"))
            self.refusals.append((route, "user"))
            body = {"message": "You are being rate limited.", "retry_after": _ms(retry), "global": False, "code": 0}
            return Verdict(headers, body, "user")
        bucket.used += 1
        if token is not None and route not in GLOBAL_EXEMPT:
            self._global[token].append(now)
        return Verdict(bucket.headers(now, name))


def _ms(seconds: float) -> float:
    return math.ceil(seconds * 1000) / 1000


def _refusal_headers(retry: float, *, scope: str) -> dict[str, str]:
    headers = {
        "Retry-After": str(max(1, math.ceil(retry))),
        "X-RateLimit-Scope": scope,
        # discord.py takes a 429 without Via for Cloudflare's and raises instead of waiting (as Discord's own
        # answers carry it).
        "Via": "1.1 google",
    }
    if scope == "global":
        headers["X-RateLimit-Global"] = "true"
    return headers
