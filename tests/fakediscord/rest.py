"""REST API under /api/v10: routing, auth, fault injection, and every route a bot uses."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .core import (
    ApiError,
    FakeCore,
    Intents,
    RestCall,
    UploadedFile,
    form_error,
    json_response,
    missing_permissions,
    unknown,
)
from .models import (
    Channel,
    ChannelType,
    Guild,
    Message,
    MessageFlag,
    Reaction,
    Role,
    ScheduledEvent,
    emoji_key,
    parse_emoji,
)
from .permissions import P
from .process import process_tag
from .ratelimits import RateLimiter


@dataclass
class Req:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile] = field(default_factory=list)
    call: RestCall | None = None

    def int(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError as exc:
            raise form_error(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.") from exc

    @property
    def body(self) -> dict[str, Any]:
        return self.json if isinstance(self.json, dict) else {}


Handler = Callable[[Req], Awaitable[Any]]


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile("^" + pattern + "$")


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# Discord's recurrence rules (docs: Resources > Guild Scheduled Event, "Guild Scheduled Event Recurrence Rule
# Object", its structure, "System limitations" and the Frequency / Weekday / N_Weekday / Month tables).
_YEARLY, _MONTHLY, _WEEKLY, _DAILY = 0, 1, 2, 3
_DAILY_WEEKDAY_SETS = ({0, 1, 2, 3, 4}, {1, 2, 3, 4, 5}, {6, 0, 1, 2, 3}, {4, 5}, {5, 6}, {6, 0})
_RULE_FIELDS = frozenset({"start", "end", "frequency", "interval", "by_weekday", "by_n_weekday", "by_month",
                          "by_month_day", "by_year_day", "count"})


def _rule_error(field: str, message: str) -> ApiError:
    return form_error(f"recurrence_rule.{field}", "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE", message)


def _int_list(rule: dict[str, Any], key: str, low: int, high: int) -> list[int] | None:
    value = rule.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise _rule_error(key, "Must be a list of integers.")
    if not all(low <= v <= high for v in value):
        raise _rule_error(key, f"Values must be between {low} and {high}.")
    return value


def _check_recurrence(rule: Any) -> dict[str, Any] | None:
    """A recurrence rule as Discord accepts it from an application, or the 400 it answers."""
    if rule is None:
        return None
    if not isinstance(rule, dict):
        raise form_error("recurrence_rule", "MODEL_TYPE_CONVERT", "Must be an object.")
    unknown_keys = set(rule) - _RULE_FIELDS
    if unknown_keys:
        raise _rule_error(sorted(unknown_keys)[0], "Unknown field.")
    for key in ("count", "end", "by_year_day"):  # "cannot be set by the client / application"
        if rule.get(key) is not None:
            raise _rule_error(key, "This field cannot be set by an application.")
    for key in ("start", "frequency", "interval"):
        if rule.get(key) is None:
            raise _rule_error(key, "This field is required")
    try:
        start = _parse_time(rule["start"])
    except ValueError:
        raise _rule_error("start", "Must be an ISO8601 timestamp.") from None
    if start is None or start.tzinfo is None:
        raise _rule_error("start", "Must be an ISO8601 timestamp with a time zone.")
    frequency, interval = rule["frequency"], rule["interval"]
    if frequency not in (_YEARLY, _MONTHLY, _WEEKLY, _DAILY) or isinstance(frequency, bool):
        raise _rule_error("frequency", "Value must be one of (0, 1, 2, 3).")
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise _rule_error("interval", "Must be a positive integer.")
    if interval != 1 and not (frequency == _WEEKLY and interval == 2):  # only "every other week"
        raise _rule_error("interval", "Only a weekly rule may have an interval, and only 2.")
    by_weekday = _int_list(rule, "by_weekday", 0, 6)
    by_month = _int_list(rule, "by_month", 1, 12)
    by_month_day = _int_list(rule, "by_month_day", 1, 31)
    by_n_weekday = rule.get("by_n_weekday")
    if by_n_weekday is not None:
        if not isinstance(by_n_weekday, list) or not all(
            isinstance(x, dict) and set(x) == {"n", "day"} and isinstance(x["n"], int) and isinstance(x["day"], int)
            for x in by_n_weekday
        ):
            raise _rule_error("by_n_weekday", "Must be a list of {n, day} objects.")
        if not all(1 <= x["n"] <= 5 and 0 <= x["day"] <= 6 for x in by_n_weekday):
            raise _rule_error("by_n_weekday", "n must be 1-5 and day 0-6.")
    used = [by_weekday is not None, by_n_weekday is not None, by_month is not None or by_month_day is not None]
    if sum(used) > 1:
        raise _rule_error("by_weekday", "by_weekday, by_n_weekday and by_month + by_month_day are mutually exclusive.")
    if by_weekday is not None:
        if frequency == _DAILY:
            if set(by_weekday) not in _DAILY_WEEKDAY_SETS or len(set(by_weekday)) != len(by_weekday):
                raise _rule_error("by_weekday", "A daily rule takes one of the known sets of weekdays.")
        elif frequency == _WEEKLY:
            if len(by_weekday) != 1:
                raise _rule_error("by_weekday", "A weekly rule takes exactly one weekday.")
        else:
            raise _rule_error("by_weekday", "Only daily and weekly rules take by_weekday.")
    if by_n_weekday is not None:
        if frequency != _MONTHLY:
            raise _rule_error("by_n_weekday", "Only monthly rules take by_n_weekday.")
        if len(by_n_weekday) != 1:
            raise _rule_error("by_n_weekday", "A monthly rule takes exactly one nth weekday.")
    if by_month is not None or by_month_day is not None:
        if frequency != _YEARLY:
            raise _rule_error("by_month", "Only yearly rules take by_month and by_month_day.")
        if by_month is None or by_month_day is None or len(by_month) != 1 or len(by_month_day) != 1:
            raise _rule_error("by_month", "A yearly rule takes exactly one month and one day of the month.")
    return {
        "start": start.isoformat(), "end": None, "frequency": frequency, "interval": interval,
        "by_weekday": by_weekday, "by_n_weekday": by_n_weekday, "by_month": by_month,
        "by_month_day": by_month_day, "by_year_day": None, "count": None,
    }


class Response:
    """A non-JSON-body answer (status + optional JSON)."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status = status
        self.body = body


NO_CONTENT = Response(204)


class RestMixin(FakeCore):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.routes: list[Route] = []
        self.global_commands: list[dict[str, Any]] = []
        self._guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._nonces: dict[tuple[int, int, str], Message] = {}
        #: Per-route buckets and the global limit (``ratelimits.py``); strict unless a test turns it off.
        self.limiter = RateLimiter()
        self._event_tasks: dict[int, asyncio.Task[None]] = {}
        self._command_creates: dict[int | None, list[datetime]] = {}
        self._register_routes()

    @property
    def rate_limits(self) -> bool:
        """Whether the fake enforces rate limits (answers 429). Headers are sent either way. A test that needs
        leniency says so by name: ``fake.rate_limits = False``."""
        return self.limiter.enabled

    @rate_limits.setter
    def rate_limits(self, on: bool) -> None:
        self.limiter.enabled = on

    @property
    def rate_limited(self) -> list[RestCall]:
        """Every call answered 429 so far (by the limits or by an injected fault)."""
        return [c for c in self.rest_log if c.status == 429]

    # ------------------------------------------------------------------ routing
    def route(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        self.routes.append(Route(method, template, _compile(template), handler, auth))

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in self.routes:
            if r.method != method:
                continue
            m = r.regex.match(path)
            if m:
                return r, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        count: int = 1,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next ``count`` calls matching ``method`` (or "*") and ``path_regex`` (re.search against
        the path after /api/v10, e.g. r"/channels/\\d+/messages$") answer ``status`` (429, 403, 404, 500...)."""
        from .core import Injection

        self.injections.append(
            Injection(
                method=method.upper(),
                pattern=re.compile(path_regex),
                status=status,
                remaining=count,
                retry_after=retry_after,
                is_global=is_global,
                code=code,
                message=message,
            )
        )

    def after_request(
        self, method: str, path_regex: str, callback: Callable[[RestCall], Any], count: int = 1
    ) -> None:
        """Run ``callback(call)`` after the next ``count`` matching calls were served (their effect, e.g. a
        created message, exists) but before the response goes back: a crash test can SIGKILL the bot there."""
        self.after_hooks.append([method, re.compile(path_regex), callback, count])

    async def _run_after_hooks(self, call: RestCall) -> None:
        for hook in self.after_hooks:
            method, pattern, callback, remaining = hook
            if remaining <= 0 or method not in ("*", call.method) or not pattern.search(call.path):
                continue
            hook[3] = remaining - 1
            outcome = callback(call)
            if asyncio.iscoroutine(outcome):
                await outcome

    def _injected(self, method: str, path: str, call: RestCall | None = None) -> web.Response | None:
        for inj in self.injections:
            if inj.remaining <= 0:
                continue
            if inj.method not in ("*", method) or not inj.pattern.search(path):
                continue
            inj.remaining -= 1
            inj.hits += 1
            if inj.status == 429:
                body = {
                    "message": inj.message or "You are being rate limited.",
                    "retry_after": inj.retry_after,
                    "global": inj.is_global,
                    "code": inj.code or 0,
                }
                headers = {
                    "Retry-After": str(max(1, round(inj.retry_after))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{self.now().timestamp() + inj.retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{inj.retry_after:.3f}",
                    "X-RateLimit-Bucket": "fakebucket" + re.sub(r"\W", "", inj.pattern.pattern)[:16],
                    "X-RateLimit-Scope": "global" if inj.is_global else "user",
                    "Via": "1.1 google",
                }
                if inj.is_global:
                    headers["X-RateLimit-Global"] = "true"
                if call is not None:
                    call.scope = headers["X-RateLimit-Scope"]
                    call.response = body
                return json_response(body, status=429, headers=headers)
            defaults = {
                400: (50035, "Invalid Form Body"),
                401: (0, "401: Unauthorized"),
                403: (50013, "Missing Permissions"),
                404: (0, "404: Not Found"),
                500: (0, "500: Internal Server Error"),
                502: (0, "502: Bad Gateway"),
                503: (0, "503: Service Unavailable"),
            }
            code, msg = defaults.get(inj.status, (0, f"{inj.status}"))
            return json_response(
                {"message": inj.message or msg, "code": inj.code if inj.code is not None else code},
                status=inj.status,
            )
        return None

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            payload: Any = None
            files: list[UploadedFile] = []
            while True:
                part = await reader.next()
                if part is None:
                    break
                name = getattr(part, "name", None) or ""
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    payload = json.loads(bytes(data).decode())
                else:
                    files.append(
                        UploadedFile(
                            field=name,
                            filename=getattr(part, "filename", None) or name,
                            data=bytes(data),
                            content_type=part.headers.get("Content-Type"),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        query = {k: v for k, v in request.query.items()}
        body, files = await self._read_body(request)
        call = RestCall(method=method, path=path, query=query, json=body, files=files,
                        process=process_tag(request.headers.get("User-Agent", "")))
        self.rest_log.append(call)
        self.in_flight += 1
        self.touch()
        try:
            resp = await self._serve(request, call, body, files)
            call.status = resp.status
            return resp
        finally:
            self.in_flight -= 1
            self.touch()

    async def _serve(self, request: web.Request, call: RestCall, body: Any, files: list[UploadedFile]) -> web.Response:
        found = self._match(call.method, call.path)
        if found is None:
            self.unknown_routes.append(call)
            call.response = {"message": "404: Not Found", "code": 0}
            return json_response(call.response, status=404)
        route, params = found
        call.route = f"{route.method} {route.template}"
        is_bot = request.headers.get("Authorization") == f"Bot {self.token}"
        if route.auth and not is_bot:
            call.authorized = False
            call.response = {"message": "401: Unauthorized", "code": 0}
            return json_response(call.response, status=401)
        injected = self._injected(call.method, call.path, call)  # a fault a test asked for uses up no bucket
        if injected is not None:
            return injected
        verdict = self.limiter.check(
            call.route, params, token=self.token if is_bot else None, now=asyncio.get_running_loop().time()
        )
        if verdict.refused is not None:
            call.scope = verdict.scope
            call.response = verdict.refused
            return json_response(call.response, status=429, headers=verdict.headers)
        resp = await self._answer(route, params, call, body, files)
        for name, value in verdict.headers.items():
            resp.headers.setdefault(name, value)
        return resp

    async def _answer(
        self, route: Route, params: dict[str, str], call: RestCall, body: Any, files: list[UploadedFile]
    ) -> web.Response:
        req = Req(call.method, call.path, params, call.query, body, files, call)
        try:
            result = await route.handler(req)
        except ApiError as exc:
            call.response = exc.body()
            if exc.status == 429:
                call.scope = "user"
                return json_response(call.response, status=429, headers=exc.headers)
            return json_response(call.response, status=exc.status)
        if self.after_hooks:
            await self._run_after_hooks(call)
        if isinstance(result, Response):
            call.response = result.body
            if result.body is None:
                return web.Response(status=result.status)
            return json_response(result.body, status=result.status)
        call.response = result
        return json_response(result)

    async def handle_cdn(self, request: web.Request) -> web.StreamResponse:
        att = self.attachments.get(int(request.match_info["att_id"]))
        if att is None or att.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=att.data, content_type=att.content_type or "application/octet-stream")

    # ------------------------------------------------------------------ route table
    def _register_routes(self) -> None:
        r = self.route
        r("GET", "/gateway", self.r_gateway, auth=False)
        r("GET", "/gateway/bot", self.r_gateway_bot)
        r("GET", "/users/@me", self.r_me)
        r("GET", "/users/@me/guilds", self.r_my_guilds)
        r("POST", "/users/@me/channels", self.r_create_dm)
        r("GET", "/users/{user_id}", self.r_get_user)
        r("GET", "/applications/@me", self.r_app)
        r("GET", "/oauth2/applications/@me", self.r_app)
        # application commands
        r("GET", "/applications/{app_id}/commands", self.r_list_commands)
        r("PUT", "/applications/{app_id}/commands", self.r_put_commands)
        r("POST", "/applications/{app_id}/commands", self.r_upsert_command)
        r("GET", "/applications/{app_id}/commands/{cmd_id}", self.r_get_command)
        r("PATCH", "/applications/{app_id}/commands/{cmd_id}", self.r_edit_command)
        r("DELETE", "/applications/{app_id}/commands/{cmd_id}", self.r_delete_command)
        r("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.r_list_commands)
        r("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.r_put_commands)
        r("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self.r_upsert_command)
        r("GET", "/applications/{app_id}/guilds/{guild_id}/commands/permissions", self.r_command_perms)
        r("GET", "/applications/{app_id}/guilds/{guild_id}/commands/{cmd_id}", self.r_get_command)
        r("PATCH", "/applications/{app_id}/guilds/{guild_id}/commands/{cmd_id}", self.r_edit_command)
        r("DELETE", "/applications/{app_id}/guilds/{guild_id}/commands/{cmd_id}", self.r_delete_command)
        # channels & messages
        r("GET", "/channels/{channel_id}", self.r_get_channel)
        r("PATCH", "/channels/{channel_id}", self.r_edit_channel)
        r("DELETE", "/channels/{channel_id}", self.r_delete_channel)
        r("POST", "/channels/{channel_id}/typing", self.r_typing)
        r("GET", "/channels/{channel_id}/messages", self.r_history)
        r("POST", "/channels/{channel_id}/messages", self.r_send)
        r("POST", "/channels/{channel_id}/messages/bulk-delete", self.r_bulk_delete)
        r("GET", "/channels/{channel_id}/messages/pins", self.r_pins)
        r("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self.r_pin)
        r("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self.r_unpin)
        r("GET", "/channels/{channel_id}/pins", self.r_pins_legacy)
        r("PUT", "/channels/{channel_id}/pins/{message_id}", self.r_pin)
        r("DELETE", "/channels/{channel_id}/pins/{message_id}", self.r_unpin)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.r_get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.r_edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.r_delete_message)
        r("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self.r_add_reaction)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}", self.r_remove_reaction)
        r("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", self.r_reaction_users)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", self.r_clear_emoji)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions", self.r_clear_reactions)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.r_thread_from_message)
        r("POST", "/channels/{channel_id}/threads", self.r_thread)
        r("GET", "/channels/{channel_id}/threads/archived/public", self.r_archived_threads)
        r("GET", "/channels/{channel_id}/thread-members", self.r_thread_members)
        r("GET", "/channels/{channel_id}/thread-members/{user_id}", self.r_thread_member)
        r("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.r_thread_join)
        r("DELETE", "/channels/{channel_id}/thread-members/{user_id}", self.r_thread_leave)
        r("PUT", "/channels/{channel_id}/permissions/{target_id}", self.r_edit_overwrite)
        r("DELETE", "/channels/{channel_id}/permissions/{target_id}", self.r_delete_overwrite)
        # guilds
        r("GET", "/guilds/{guild_id}", self.r_get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.r_guild_channels)
        r("POST", "/guilds/{guild_id}/channels", self.r_create_channel)
        r("GET", "/guilds/{guild_id}/threads/active", self.r_active_threads)
        r("GET", "/guilds/{guild_id}/members", self.r_members)
        r("GET", "/guilds/{guild_id}/members/search", self.r_search_members)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.r_member)
        r("PATCH", "/guilds/{guild_id}/members/{user_id}", self.r_edit_member)
        r("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.r_add_role)
        r("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.r_remove_role)
        r("GET", "/guilds/{guild_id}/roles", self.r_roles)
        r("POST", "/guilds/{guild_id}/roles", self.r_create_role)
        r("GET", "/guilds/{guild_id}/scheduled-events", self.r_events)
        r("POST", "/guilds/{guild_id}/scheduled-events", self.r_create_event)
        r("GET", "/guilds/{guild_id}/scheduled-events/{event_id}", self.r_get_event)
        r("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", self.r_edit_event)
        r("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}", self.r_delete_event)
        r("GET", "/guilds/{guild_id}/scheduled-events/{event_id}/users", self.r_event_users)
        self._register_interaction_routes()

    def _register_interaction_routes(self) -> None:
        """Overridden by the interactions part."""

    # ------------------------------------------------------------------ misc
    async def r_gateway(self, req: Req) -> Any:
        return {"url": self.gateway_url}

    async def r_gateway_bot(self, req: Req) -> Any:
        shards = self.recommended_shards
        if shards is None:  # a shard holds at most 2,500 servers; Discord recommends about one per 1,000
            shards = max(1, -(-sum(1 for g in self.guilds.values() if self.bot_user.id in g.members) // 1000))
        return {
            "url": self.gateway_url,
            "shards": shards,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": self.max_concurrency,
            },
        }

    async def r_me(self, req: Req) -> Any:
        return {**self.bot_user.to_dict(), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}

    async def r_my_guilds(self, req: Req) -> Any:
        out: list[dict[str, Any]] = []
        for g in self.guilds.values():
            if self.bot_user.id not in g.members:
                continue
            out.append(
                {
                    "id": str(g.id),
                    "name": g.name,
                    "icon": None,
                    "banner": None,
                    "owner": False,
                    "permissions": str(self.perms_of(self.bot_user.id, None, g)),
                    "features": [],
                }
            )
        return out

    async def r_get_user(self, req: Req) -> Any:
        u = self.users.get(req.int("user_id"))
        if u is None:
            raise unknown("User")
        return u.to_dict()

    async def r_app(self, req: Req) -> Any:
        return {
            "id": str(self.application_id),
            "name": self.app_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "bot": self.bot_user.to_dict(),
            "verify_key": "0" * 64,
            "owner": self.owner_user.to_dict(),
            "team": None,
            "flags": self.application_flags(),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "integration_types_config": {"0": {}},
        }

    # ------------------------------------------------------------------ DMs
    async def r_create_dm(self, req: Req) -> Any:
        uid = int(req.body.get("recipient_id", 0))
        if uid not in self.users:
            raise unknown("User")
        return self.channel_json(self.dm_channel_for(uid))

    def dm_channel_for(self, user_id: int) -> Channel:
        ch = self.dm_channels.get(user_id)
        if ch is None:
            ch = Channel(id=self.next_id(), type=ChannelType.DM, recipient_ids=[user_id])
            self.channels[ch.id] = ch
            self.dm_channels[user_id] = ch
        return ch

    # ------------------------------------------------------------------ application commands
    def _check_app(self, req: Req) -> None:
        if req.int("app_id") != self.application_id:
            raise ApiError(403, 50001, "Missing Access")

    def _command_list(self, req: Req) -> list[dict[str, Any]]:
        self._check_app(req)
        if "guild_id" in req.params:
            gid = req.int("guild_id")
            if gid not in self.guilds:
                raise unknown("Guild")
            return self.guild_commands.setdefault(gid, [])
        return self.global_commands

    @property
    def guild_commands(self) -> dict[int, list[dict[str, Any]]]:
        return self._guild_commands

    def _normalise_command(
        self, raw: dict[str, Any], guild_id: int | None, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        name = raw.get("name")
        ctype = int(raw.get("type", 1))
        if not isinstance(name, str) or not name:
            raise form_error("name", "BASE_TYPE_REQUIRED", "This field is required")
        if ctype == 1:
            if not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower():
                raise form_error("name", "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")
            desc = raw.get("description", "")
            if not 1 <= len(desc) <= 100:
                raise form_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            self._validate_options(raw.get("options") or [], name)
        cmd = dict(raw)
        cmd["id"] = previous["id"] if previous else str(self.next_id())
        cmd["application_id"] = str(self.application_id)
        cmd["version"] = str(self.next_id())
        cmd["type"] = ctype
        cmd.setdefault("description", "")
        cmd.setdefault("default_member_permissions", None)
        cmd.setdefault("nsfw", False)
        cmd.setdefault("options", [])
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd.setdefault("dm_permission", True)
        return cmd

    def _validate_options(self, options: list[dict[str, Any]], where: str) -> None:
        if len(options) > 25:
            raise form_error("options", "BASE_TYPE_MAX_LENGTH", f"{where}: at most 25 options")
        seen_optional = False
        names = set()
        for o in options:
            n = o.get("name", "")
            if not re.fullmatch(r"[-_\w]{1,32}", n) or n != n.lower():
                raise form_error("options", "APPLICATION_COMMAND_INVALID_NAME", f"{where}: bad option name {n!r}")
            if n in names:
                raise form_error("options", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", f"{where}: {n}")
            names.add(n)
            if not 1 <= len(o.get("description", "")) <= 100:
                raise form_error("options", "BASE_TYPE_BAD_LENGTH", f"{where} {n}: description length")
            if o.get("type") in (1, 2):
                self._validate_options(o.get("options") or [], f"{where} {n}")
                continue
            if o.get("required"):
                if seen_optional:
                    raise form_error(
                        "options", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", f"{where}: required after optional"
                    )
            else:
                seen_optional = True
            if len(o.get("choices") or []) > 25:
                raise form_error("options", "BASE_TYPE_MAX_LENGTH", f"{where} {n}: at most 25 choices")

    async def r_list_commands(self, req: Req) -> Any:
        return list(self._command_list(req))

    async def r_put_commands(self, req: Req) -> Any:
        current = self._command_list(req)
        gid = req.int("guild_id") if "guild_id" in req.params else None
        if not isinstance(req.json, list):
            raise form_error("_", "BASE_TYPE_ARRAY", "Must be an array.")
        if len(req.json) > 100:
            raise form_error("_", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        by_key = {(c["name"], c["type"]): c for c in current}
        new = []
        keys = set()
        for raw in req.json:
            key = (raw.get("name"), int(raw.get("type", 1)))
            if key in keys:
                raise form_error("_", "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate command name {key[0]!r}")
            keys.add(key)
            new.append(self._normalise_command(raw, gid, by_key.get(key)))
        self._count_creates(gid, sum(1 for key in keys if key not in by_key))
        current[:] = new
        self.command_syncs.append((gid, new))
        return new

    #: Application command creates per day per scope (docs: Application Commands, "Registering a Command").
    DAILY_COMMAND_CREATES = 200

    def _count_creates(self, guild_id: int | None, count: int) -> None:
        """Count ``count`` new commands in a scope (the application's global commands or one guild's) against
        the 200 creates a day, over a rolling day of the fake's clock. Past it the whole request is refused with
        JSON code 30034; the docs give no status, and Discord answers it as HTTP 400 (bots' reports)."""
        if count <= 0:
            return
        now = self.now()
        day = [t for t in self._command_creates.get(guild_id, []) if (now - t).total_seconds() < 86400]
        if len(day) + count > self.DAILY_COMMAND_CREATES:
            self._command_creates[guild_id] = day
            raise ApiError(400, 30034, "Max number of daily application command creates has been reached (200)")
        self._command_creates[guild_id] = day + [now] * count

    async def r_upsert_command(self, req: Req) -> Any:
        current = self._command_list(req)
        gid = req.int("guild_id") if "guild_id" in req.params else None
        key = (req.body.get("name"), int(req.body.get("type", 1)))
        prev = next((c for c in current if (c["name"], c["type"]) == key), None)
        cmd = self._normalise_command(req.body, gid, prev)
        if prev is not None:
            current[current.index(prev)] = cmd
            return cmd
        self._count_creates(gid, 1)
        current.append(cmd)
        return Response(201, cmd)

    def _find_app_command(self, req: Req) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        current = self._command_list(req)
        for c in current:
            if c["id"] == req.params["cmd_id"]:
                return current, c
        raise unknown("application command")

    async def r_get_command(self, req: Req) -> Any:
        return self._find_app_command(req)[1]

    async def r_edit_command(self, req: Req) -> Any:
        current, cmd = self._find_app_command(req)
        merged = {**cmd, **req.body}
        gid = req.int("guild_id") if "guild_id" in req.params else None
        new = self._normalise_command(merged, gid, cmd)
        current[current.index(cmd)] = new
        return new

    async def r_delete_command(self, req: Req) -> Any:
        current, cmd = self._find_app_command(req)
        current.remove(cmd)
        return NO_CONTENT

    async def r_command_perms(self, req: Req) -> Any:
        self._check_app(req)
        return []

    # ------------------------------------------------------------------ channels
    def _channel(self, req: Req) -> Channel:
        return self.get_channel(req.int("channel_id"))

    def _visible_channel(self, req: Req) -> Channel:
        ch = self._channel(req)
        if ch.guild_id is not None and not self.bot_perms(ch) & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return ch

    async def r_get_channel(self, req: Req) -> Any:
        return self.channel_json(self._visible_channel(req))

    async def r_edit_channel(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        body = req.body
        if ch.is_thread:
            is_owner = ch.owner_id == self.bot_user.id
            if "locked" in body or "invitable" in body or not is_owner:
                self.require(ch, P.MANAGE_THREADS)
            # Same limits as creating one (docs: Channel, "Modify Channel", JSON Params (Thread)).
            self._validate_thread_body({"name": body.get("name", ch.name),
                                        "auto_archive_duration": body.get("auto_archive_duration", 1440)})
            for key in ("name", "archived", "locked", "invitable", "auto_archive_duration", "rate_limit_per_user"):
                if key in body:
                    setattr(ch, key, body[key])
            if "archived" in body:
                ch.archive_timestamp = self.now()
            payload = self.channel_json(ch)
            self.dispatch("THREAD_UPDATE", payload, intent=Intents.GUILDS, channel=ch)
            self.touch()
            return payload
        if ch.is_dm:
            raise ApiError(400, 50003, "Cannot execute action on a DM channel")
        self.require(ch, P.MANAGE_CHANNELS)
        for key in ("name", "topic", "nsfw", "position", "rate_limit_per_user", "parent_id"):
            if key in body:
                setattr(ch, key, body[key])
        payload = self.channel_json(ch)
        self.dispatch("CHANNEL_UPDATE", payload, intent=Intents.GUILDS)
        self.touch()
        return payload

    async def r_delete_channel(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        if ch.is_dm:
            return self.channel_json(ch)
        self.require(ch, P.MANAGE_THREADS if ch.is_thread else P.MANAGE_CHANNELS)
        payload = self.channel_json(ch)
        self.remove_channel(ch)
        return payload

    def remove_channel(self, ch: Channel) -> None:
        payload = self.channel_json(ch)
        visible = ch.guild_id is None or bool(self.bot_perms(ch) & P.VIEW_CHANNEL)
        ch.deleted = True
        if ch.guild_id is not None and visible:
            event = "THREAD_DELETE" if ch.is_thread else "CHANNEL_DELETE"
            if ch.is_thread:
                payload = {
                    "id": str(ch.id),
                    "guild_id": str(ch.guild_id),
                    "parent_id": str(ch.parent_id),
                    "type": ch.type,
                }
            self.dispatch(event, payload, intent=Intents.GUILDS)
        if not ch.is_thread and ch.guild_id is not None:
            guild = self.guilds[ch.guild_id]
            for t in list(guild.channels.values()):
                if t.is_thread and t.parent_id == ch.id and not t.deleted:
                    t.deleted = True
        self.touch()

    async def r_typing(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        self.require(ch, P.SEND_MESSAGES)
        return NO_CONTENT

    async def r_edit_overwrite(self, req: Req) -> Any:
        from .models import Overwrite

        ch = self._visible_channel(req)
        self.require(ch, P.MANAGE_ROLES)
        tid = req.int("target_id")
        ow = Overwrite(
            id=tid,
            type=int(req.body.get("type", 0)),
            allow=int(req.body.get("allow") or 0),
            deny=int(req.body.get("deny") or 0),
        )
        ch.overwrites = [o for o in ch.overwrites if o.id != tid] + [ow]
        self.dispatch("CHANNEL_UPDATE", self.channel_json(ch), intent=Intents.GUILDS)
        self.touch()
        return NO_CONTENT

    async def r_delete_overwrite(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        self.require(ch, P.MANAGE_ROLES)
        tid = req.int("target_id")
        ch.overwrites = [o for o in ch.overwrites if o.id != tid]
        self.dispatch("CHANNEL_UPDATE", self.channel_json(ch), intent=Intents.GUILDS)
        self.touch()
        return NO_CONTENT

    # ------------------------------------------------------------------ messages
    def _can_read_history(self, ch: Channel) -> bool:
        return bool(self.bot_perms(ch) & P.READ_MESSAGE_HISTORY)

    def rest_redact(self) -> bool:
        return not self.privileged_intents & Intents.MESSAGE_CONTENT

    def rest_message(self, msg: Message) -> dict[str, Any]:
        ch = self.channels.get(msg.channel_id)
        redact = (
            self.rest_redact()
            and msg.author.id != self.bot_user.id
            and not (ch is not None and ch.is_dm)
            and self.bot_user.id not in msg.mention_user_ids
        )
        return self.message_json(msg, redact=redact)

    async def r_history(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        if ch.type not in ChannelType.MESSAGEABLE:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        if not self._can_read_history(ch):
            return []
        limit = int(req.query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise form_error("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
        msgs = sorted((m for m in self.messages_in(ch) if not m.ephemeral), key=lambda m: m.id)
        if "before" in req.query:
            b = int(req.query["before"])
            page = [m for m in msgs if m.id < b][-limit:]
        elif "after" in req.query:
            a = int(req.query["after"])
            page = [m for m in msgs if m.id > a][:limit]
        elif "around" in req.query:
            c = int(req.query["around"])
            before = [m for m in msgs if m.id < c]
            at = [m for m in msgs if m.id == c]
            after = [m for m in msgs if m.id > c]
            half = limit // 2
            take_before = before[-half:] if half else []
            page = take_before + at + after[: max(0, limit - len(take_before) - len(at))]
        else:
            page = msgs[-limit:]
        return [self.rest_message(m) for m in reversed(page)]

    async def r_get_message(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        if not self._can_read_history(ch):
            raise missing_permissions()
        msg = self.get_message(ch, req.int("message_id"))
        if msg.ephemeral:
            raise unknown("Message")
        return self.rest_message(msg)

    def _check_send(self, ch: Channel, payload: dict[str, Any], files: list[UploadedFile]) -> None:
        if ch.type not in ChannelType.MESSAGEABLE:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        if ch.is_dm:
            uid = ch.recipient_ids[0] if ch.recipient_ids else 0
            user = self.users.get(uid)
            if user is None or user.dms_closed or user.bot:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        send_flag = P.SEND_MESSAGES_IN_THREADS if ch.is_thread else P.SEND_MESSAGES
        self.require(ch, send_flag)
        if payload.get("embeds"):
            self.require(ch, P.EMBED_LINKS)
        if files:
            self.require(ch, P.ATTACH_FILES)
        if payload.get("message_reference"):
            self.require(ch, P.READ_MESSAGE_HISTORY)
        if payload.get("tts"):
            self.require(ch, P.SEND_TTS_MESSAGES)
        if ch.is_thread:
            if ch.locked and not self.bot_perms(ch) & P.MANAGE_THREADS:
                raise ApiError(400, 50083, "Thread is archived")
            if ch.archived:
                ch.archived = False
                ch.archive_timestamp = self.now()
                self.dispatch("THREAD_UPDATE", self.channel_json(ch), intent=Intents.GUILDS, channel=ch)

    async def r_send(self, req: Req) -> Any:
        ch = self._channel(req)
        payload = req.body
        self._check_send(ch, payload, req.files)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            key = (ch.id, self.bot_user.id, str(nonce))
            prev = self._nonces.get(key)
            if prev is not None and (self.now() - prev.timestamp).total_seconds() < 300 and not prev.deleted:
                return self.rest_message(prev)
        if payload.get("flags"):
            # Only these flags can be set when creating a channel message; Discord ignores the rest.
            allowed = MessageFlag.SUPPRESS_EMBEDS | MessageFlag.SUPPRESS_NOTIFICATIONS | MessageFlag.IS_COMPONENTS_V2
            payload = {**payload, "flags": int(payload["flags"]) & allowed}
        msg = self.create_message(ch, self.bot_user, payload, req.files)
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[(ch.id, self.bot_user.id, str(nonce))] = msg
        return self.rest_message(msg)

    async def r_edit_message(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        msg = self.get_message(ch, req.int("message_id"))
        if msg.author.id != self.bot_user.id:
            if set(req.body) <= {"flags"}:
                self.require(ch, P.MANAGE_MESSAGES)
            else:
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if req.body.get("embeds"):
            self.require(ch, P.EMBED_LINKS)
        if req.files:
            self.require(ch, P.ATTACH_FILES)
        self.edit_message(msg, req.body, req.files)
        return self.rest_message(msg)

    async def r_delete_message(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        msg = self.get_message(ch, req.int("message_id"))
        if msg.author.id != self.bot_user.id and not ch.is_dm:
            self.require(ch, P.MANAGE_MESSAGES)
        elif msg.author.id != self.bot_user.id:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        self.delete_message_state(msg)
        return NO_CONTENT

    async def r_bulk_delete(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        self.require(ch, P.MANAGE_MESSAGES)
        ids = [int(i) for i in req.body.get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise form_error("messages", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
        deleted = []
        for mid in ids:
            m = self.messages_by_id.get(mid)
            if m is not None and m.channel_id == ch.id and not m.deleted:
                m.deleted = True
                deleted.append(str(mid))
        payload: dict[str, Any] = {"ids": deleted, "channel_id": str(ch.id)}
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
        self.dispatch("MESSAGE_DELETE_BULK", payload, intent=self.message_intent(ch), channel=ch)
        self.touch()
        return NO_CONTENT

    # ------------------------------------------------------------------ pins
    def _pinned(self, ch: Channel) -> list[Message]:
        pins = [m for m in self.messages_in(ch) if m.pinned]
        return sorted(pins, key=lambda m: m.pinned_at or m.timestamp, reverse=True)

    async def r_pins(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        if not self._can_read_history(ch):
            return {"items": [], "has_more": False}
        pins = self._pinned(ch)
        if "before" in req.query:
            before = _parse_time(req.query["before"])
            pins = [m for m in pins if before is None or (m.pinned_at or m.timestamp) < before]
        limit = int(req.query.get("limit", 50))
        page = pins[:limit]
        return {
            "items": [
                {"pinned_at": (m.pinned_at or m.timestamp).isoformat(), "message": self.rest_message(m)} for m in page
            ],
            "has_more": len(pins) > limit,
        }

    async def r_pins_legacy(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        if not self._can_read_history(ch):
            return []
        return [self.rest_message(m) for m in self._pinned(ch)]

    def _require_pin(self, ch: Channel) -> None:
        if ch.is_dm:
            return
        perms = self.bot_perms(ch)
        if not perms & P.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not perms & P.PIN_MESSAGES:  # since 2026-02-23 Manage Messages alone no longer allows pinning
            raise missing_permissions()

    async def r_pin(self, req: Req) -> Any:
        ch = self._channel(req)
        self._require_pin(ch)
        msg = self.get_message(ch, req.int("message_id"))
        if msg.pinned:
            return NO_CONTENT
        if len(self._pinned(ch)) >= self.max_pins:
            raise ApiError(400, 30003, f"Maximum number of pins reached ({self.max_pins})")
        msg.pinned = True
        msg.pinned_at = self.now()
        self._pins_update(ch)
        self.dispatch_message("MESSAGE_UPDATE", msg)
        self.create_message(
            ch,
            self.bot_user,
            {"content": "", "message_reference": {"message_id": msg.id, "channel_id": ch.id}},
            msg_type=6,
            validate=False,
        )
        return NO_CONTENT

    async def r_unpin(self, req: Req) -> Any:
        ch = self._channel(req)
        self._require_pin(ch)
        msg = self.get_message(ch, req.int("message_id"))
        if not msg.pinned:
            return NO_CONTENT
        msg.pinned = False
        msg.pinned_at = None
        self._pins_update(ch)
        self.dispatch_message("MESSAGE_UPDATE", msg)
        return NO_CONTENT

    def _pins_update(self, ch: Channel) -> None:
        pins = self._pinned(ch)
        payload: dict[str, Any] = {
            "channel_id": str(ch.id),
            "last_pin_timestamp": (pins[0].pinned_at or pins[0].timestamp).isoformat() if pins else None,
        }
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
        intent = Intents.DIRECT_MESSAGES if ch.is_dm else Intents.GUILDS
        self.dispatch("CHANNEL_PINS_UPDATE", payload, intent=intent, channel=ch)
        self.touch()

    # ------------------------------------------------------------------ reactions
    def _reaction_target(self, req: Req) -> tuple[Channel, Message, str, int | None, bool]:
        ch = self._visible_channel(req)
        msg = self.get_message(ch, req.int("message_id"))
        name, eid, animated = parse_emoji(req.params["emoji"])
        if not name:
            raise ApiError(400, 10014, "Unknown Emoji")
        return ch, msg, name, eid, animated

    def add_reaction_state(
        self, ch: Channel, msg: Message, user_id: int, name: str, eid: int | None, animated: bool = False
    ) -> bool:
        key = emoji_key(name, eid)
        reaction = msg.reactions.get(key)
        if reaction is None:
            reaction = msg.reactions[key] = Reaction(emoji_name=name, emoji_id=eid, animated=animated)
        if user_id in reaction.user_ids:
            return False
        reaction.user_ids.append(user_id)
        payload: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(ch.id),
            "message_id": str(msg.id),
            "emoji": reaction.emoji_dict(),
            "message_author_id": str(msg.author.id),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
            member = self.member_of(ch, user_id)
            if member is not None:
                payload["member"] = member.to_dict()
        self.dispatch("MESSAGE_REACTION_ADD", payload, intent=self.reaction_intent(ch), channel=ch)
        self.touch()
        return True

    def remove_reaction_state(self, ch: Channel, msg: Message, user_id: int, name: str, eid: int | None) -> bool:
        key = emoji_key(name, eid)
        reaction = msg.reactions.get(key)
        if reaction is None or user_id not in reaction.user_ids:
            return False
        reaction.user_ids.remove(user_id)
        if not reaction.user_ids:
            del msg.reactions[key]
        payload: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(ch.id),
            "message_id": str(msg.id),
            "emoji": reaction.emoji_dict(),
            "burst": False,
            "type": 0,
        }
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
        self.dispatch("MESSAGE_REACTION_REMOVE", payload, intent=self.reaction_intent(ch), channel=ch)
        self.touch()
        return True

    async def r_add_reaction(self, req: Req) -> Any:
        ch, msg, name, eid, animated = self._reaction_target(req)
        if not ch.is_dm:
            self.require(ch, P.READ_MESSAGE_HISTORY)
            existing = msg.reactions.get(emoji_key(name, eid))
            if existing is None or not existing.user_ids:
                self.require(ch, P.ADD_REACTIONS)
        if len(msg.reactions) >= 20 and emoji_key(name, eid) not in msg.reactions:
            raise ApiError(400, 30010, "Maximum number of reactions reached (20)")
        self.add_reaction_state(ch, msg, self.bot_user.id, name, eid, animated)
        return NO_CONTENT

    async def r_remove_reaction(self, req: Req) -> Any:
        ch, msg, name, eid, _ = self._reaction_target(req)
        target = req.params["user_id"]
        uid = self.bot_user.id if target == "@me" else req.int("user_id")
        if uid != self.bot_user.id:
            if ch.is_dm:
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            self.require(ch, P.MANAGE_MESSAGES)
        self.remove_reaction_state(ch, msg, uid, name, eid)
        return NO_CONTENT

    async def r_reaction_users(self, req: Req) -> Any:
        _ch, msg, name, eid, _ = self._reaction_target(req)
        reaction = msg.reactions.get(emoji_key(name, eid))
        limit = int(req.query.get("limit", 25))
        if not 1 <= limit <= 100:
            raise form_error("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
        ids = sorted(reaction.user_ids) if reaction else []
        if "after" in req.query:
            after = int(req.query["after"])
            ids = [i for i in ids if i > after]
        return [self.users[i].to_dict() for i in ids[:limit]]

    async def r_clear_reactions(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        msg = self.get_message(ch, req.int("message_id"))
        if ch.is_dm:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        self.require(ch, P.MANAGE_MESSAGES)
        msg.reactions.clear()
        payload: dict[str, Any] = {"channel_id": str(ch.id), "message_id": str(msg.id)}
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
        self.dispatch("MESSAGE_REACTION_REMOVE_ALL", payload, intent=self.reaction_intent(ch), channel=ch)
        self.touch()
        return NO_CONTENT

    async def r_clear_emoji(self, req: Req) -> Any:
        ch, msg, name, eid, _ = self._reaction_target(req)
        if ch.is_dm:
            raise ApiError(403, 50003, "Cannot execute action on a DM channel")
        self.require(ch, P.MANAGE_MESSAGES)
        reaction = msg.reactions.pop(emoji_key(name, eid), None)
        if reaction is not None:
            payload: dict[str, Any] = {
                "channel_id": str(ch.id),
                "message_id": str(msg.id),
                "emoji": reaction.emoji_dict(),
            }
            if ch.guild_id:
                payload["guild_id"] = str(ch.guild_id)
            self.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", payload, intent=self.reaction_intent(ch), channel=ch)
            self.touch()
        return NO_CONTENT

    # ------------------------------------------------------------------ threads
    def new_thread(
        self,
        parent: Channel,
        name: str,
        owner_id: int,
        *,
        thread_id: int | None = None,
        thread_type: int = ChannelType.PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
        invitable: bool = True,
    ) -> Channel:
        guild = self.guilds[parent.guild_id or 0]
        t = Channel(
            id=thread_id or self.next_id(),
            type=thread_type,
            name=name,
            guild_id=guild.id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            create_timestamp=self.now(),
            archive_timestamp=self.now(),
            member_ids=[owner_id],
            invitable=invitable,
        )
        self.channels[t.id] = t
        guild.channels[t.id] = t

        def payload(session: Any) -> dict[str, Any]:
            data = self.channel_json(t)
            data["newly_created"] = True
            return data

        self.dispatch("THREAD_CREATE", payload, intent=Intents.GUILDS, channel=t)
        self.touch()
        return t

    def _validate_thread_body(self, body: dict[str, Any]) -> tuple[str, int]:
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        dur = int(body.get("auto_archive_duration") or 1440)
        if dur not in (60, 1440, 4320, 10080):
            raise form_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080)."
            )
        return name, dur

    async def r_thread_from_message(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        msg = self.get_message(ch, req.int("message_id"))
        if ch.type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self.require(ch, P.CREATE_PUBLIC_THREADS, P.READ_MESSAGE_HISTORY)
        if msg.thread_id is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        name, dur = self._validate_thread_body(req.body)
        ttype = ChannelType.ANNOUNCEMENT_THREAD if ch.type == ChannelType.ANNOUNCEMENT else ChannelType.PUBLIC_THREAD
        t = self.new_thread(ch, name, self.bot_user.id, thread_id=msg.id, thread_type=ttype, auto_archive_duration=dur)
        t.starter_message_id = msg.id
        msg.thread_id = t.id
        self.dispatch_message("MESSAGE_UPDATE", msg)
        return self.channel_json(t)

    async def r_thread(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        body = req.body
        name, dur = self._validate_thread_body(body)
        if ch.type == ChannelType.FORUM:
            self.require(ch, P.SEND_MESSAGES)
            t = self.new_thread(ch, name, self.bot_user.id, auto_archive_duration=dur)
            message_payload = body.get("message") or {}
            starter = self.create_message(t, self.bot_user, message_payload, req.files, msg_id=t.id)
            data = self.channel_json(t)
            data["message"] = self.rest_message(starter)
            return Response(201, data)
        if ch.type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        ttype = int(body.get("type") or ChannelType.PRIVATE_THREAD)
        if ttype == ChannelType.PRIVATE_THREAD:
            self.require(ch, P.CREATE_PRIVATE_THREADS)
        else:
            self.require(ch, P.CREATE_PUBLIC_THREADS)
        t = self.new_thread(
            ch,
            name,
            self.bot_user.id,
            thread_type=ttype,
            auto_archive_duration=dur,
            invitable=bool(body.get("invitable", True)),
        )
        if ttype != ChannelType.PRIVATE_THREAD:
            self.create_message(
                ch,
                self.bot_user,
                {
                    "content": name,
                    "message_reference": {"message_id": t.id, "channel_id": t.id, "fail_if_not_exists": False},
                },
                msg_type=18,
                validate=False,
            )
        return Response(201, self.channel_json(t))

    def _thread(self, req: Req) -> Channel:
        ch = self._visible_channel(req)
        if not ch.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return ch

    async def r_thread_members(self, req: Req) -> Any:
        t = self._thread(req)
        with_member = req.query.get("with_member") in ("true", "1", "True")
        if not self.privileged_intents & Intents.GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        return [self.thread_member_json(t, uid, with_member) for uid in sorted(t.member_ids)]

    async def r_thread_member(self, req: Req) -> Any:
        t = self._thread(req)
        uid = req.int("user_id")
        if uid not in t.member_ids:
            raise unknown("Member")
        return self.thread_member_json(t, uid, req.query.get("with_member") in ("true", "1"))

    def thread_members_update(self, t: Channel, added: list[int], removed: list[int]) -> None:
        payload: dict[str, Any] = {
            "id": str(t.id),
            "guild_id": str(t.guild_id),
            "member_count": len(t.member_ids),
        }
        if added:
            payload["added_members"] = [self.thread_member_json(t, u, with_member=True) for u in added]
        if removed:
            payload["removed_member_ids"] = [str(u) for u in removed]

        def for_session(session: Any) -> dict[str, Any] | None:
            if session.has(Intents.GUILD_MEMBERS) or self.bot_user.id in added + removed:
                return payload
            return None

        self.dispatch("THREAD_MEMBERS_UPDATE", for_session, intent=Intents.GUILDS, channel=t)
        self.touch()

    async def r_thread_join(self, req: Req) -> Any:
        t = self._thread(req)
        target = req.params["user_id"]
        uid = self.bot_user.id if target == "@me" else req.int("user_id")
        if t.archived:
            raise ApiError(400, 50083, "Thread is archived")
        if uid != self.bot_user.id:
            self.require(t, P.SEND_MESSAGES_IN_THREADS)
            if t.type == ChannelType.PRIVATE_THREAD and not t.invitable and t.owner_id != self.bot_user.id:
                self.require(t, P.MANAGE_THREADS)
            guild = self.guild_of(t)
            if guild is None or uid not in guild.members:
                raise unknown("Member")
        if uid not in t.member_ids:
            t.member_ids.append(uid)
            self.thread_members_update(t, [uid], [])
        return NO_CONTENT

    async def r_thread_leave(self, req: Req) -> Any:
        t = self._thread(req)
        target = req.params["user_id"]
        uid = self.bot_user.id if target == "@me" else req.int("user_id")
        if uid != self.bot_user.id:
            self.require(t, P.MANAGE_THREADS)
        if uid in t.member_ids:
            t.member_ids.remove(uid)
            self.thread_members_update(t, [], [uid])
        return NO_CONTENT

    async def r_archived_threads(self, req: Req) -> Any:
        ch = self._visible_channel(req)
        self.require(ch, P.READ_MESSAGE_HISTORY)
        guild = self.guilds[ch.guild_id or 0]
        threads = [
            t
            for t in guild.channels.values()
            if t.is_thread and t.parent_id == ch.id and t.archived and not t.deleted and t.type != 12
        ]
        return {
            "threads": [self.channel_json(t) for t in threads],
            "members": [
                self.thread_member_json(t, self.bot_user.id) for t in threads if self.bot_user.id in t.member_ids
            ],
            "has_more": False,
        }

    async def r_active_threads(self, req: Req) -> Any:
        guild = self._guild(req)
        threads = [t for t in guild.live_threads() if self.bot_perms(t) & P.VIEW_CHANNEL]
        return {
            "threads": [self.channel_json(t) for t in threads],
            "members": [
                self.thread_member_json(t, self.bot_user.id) for t in threads if self.bot_user.id in t.member_ids
            ],
        }

    # ------------------------------------------------------------------ guilds
    def _guild(self, req: Req) -> Guild:
        g = self.get_guild(req.int("guild_id"))
        if self.bot_user.id not in g.members:
            raise ApiError(403, 50001, "Missing Access")
        return g

    async def r_get_guild(self, req: Req) -> Any:
        g = self._guild(req)
        data = g.to_dict()
        if req.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(g.members)
            data["approximate_presence_count"] = 0
        return data

    async def r_guild_channels(self, req: Req) -> Any:
        g = self._guild(req)
        return [self.channel_json(c) for c in g.live_channels()]

    async def r_create_channel(self, req: Req) -> Any:
        from .models import Overwrite

        g = self._guild(req)
        if not self.perms_of(self.bot_user.id, None, g) & P.MANAGE_CHANNELS:
            raise missing_permissions()
        body = req.body
        ch = self.create_channel(
            g,
            body.get("name", "channel"),
            kind=int(body.get("type", 0)),
            topic=body.get("topic"),
            parent=self.channels.get(int(body["parent_id"])) if body.get("parent_id") else None,
            overwrites=[
                Overwrite(int(o["id"]), int(o["type"]), int(o.get("allow") or 0), int(o.get("deny") or 0))
                for o in body.get("permission_overwrites", []) or []
            ],
        )
        return Response(201, self.channel_json(ch))

    async def r_members(self, req: Req) -> Any:
        g = self._guild(req)
        if not self.privileged_intents & Intents.GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        limit = int(req.query.get("limit", 1))
        if not 1 <= limit <= 1000:
            raise form_error("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 1000.")
        after = int(req.query.get("after", 0))
        ms = sorted((m for m in g.members.values() if m.user.id > after), key=lambda m: m.user.id)
        return [m.to_dict() for m in ms[:limit]]

    async def r_search_members(self, req: Req) -> Any:
        g = self._guild(req)
        q = req.query.get("query", "").lower()
        limit = int(req.query.get("limit", 1))
        ms = [
            m
            for m in g.members.values()
            if m.user.username.lower().startswith(q)
            or (m.nick or "").lower().startswith(q)
            or (m.user.global_name or "").lower().startswith(q)
        ]
        return [m.to_dict() for m in ms[:limit]]

    async def r_member(self, req: Req) -> Any:
        g = self._guild(req)
        m = g.members.get(req.int("user_id"))
        if m is None:
            raise unknown("Member")
        return m.to_dict()

    def _can_manage_role(self, g: Guild, role: Role) -> bool:
        if g.owner_id == self.bot_user.id:
            return True
        me = g.members[self.bot_user.id]
        top = max((g.roles[r].position for r in me.role_ids if r in g.roles), default=0)
        return role.position < top

    async def r_edit_member(self, req: Req) -> Any:
        g = self._guild(req)
        m = g.members.get(req.int("user_id"))
        if m is None:
            raise unknown("Member")
        perms = self.perms_of(self.bot_user.id, None, g)
        body = req.body
        if "nick" in body:
            if not perms & P.MANAGE_NICKNAMES and m.user.id != self.bot_user.id:
                raise missing_permissions()
            m.nick = body["nick"]
        if "roles" in body:
            if not perms & P.MANAGE_ROLES:
                raise missing_permissions()
            new_roles = [int(r) for r in body["roles"]]
            for rid in set(new_roles) ^ set(m.role_ids):
                role = g.roles.get(rid)
                if role is None:
                    raise unknown("Role")
                if not self._can_manage_role(g, role):
                    raise missing_permissions()
            m.role_ids = new_roles
        self.member_updated(g, m)
        return m.to_dict()

    def member_updated(self, g: Guild, m: Any) -> None:
        payload = {**m.to_dict(), "guild_id": str(g.id)}
        self.dispatch("GUILD_MEMBER_UPDATE", payload, intent=Intents.GUILD_MEMBERS)
        self.touch()

    async def _role_change(self, req: Req, add: bool) -> Any:
        g = self._guild(req)
        m = g.members.get(req.int("user_id"))
        if m is None:
            raise unknown("Member")
        role = g.roles.get(req.int("role_id"))
        if role is None:
            raise unknown("Role")
        if not self.perms_of(self.bot_user.id, None, g) & P.MANAGE_ROLES or not self._can_manage_role(g, role):
            raise missing_permissions()
        if add and role.id not in m.role_ids:
            m.role_ids.append(role.id)
            self.member_updated(g, m)
        elif not add and role.id in m.role_ids:
            m.role_ids.remove(role.id)
            self.member_updated(g, m)
        return NO_CONTENT

    async def r_add_role(self, req: Req) -> Any:
        return await self._role_change(req, True)

    async def r_remove_role(self, req: Req) -> Any:
        return await self._role_change(req, False)

    async def r_roles(self, req: Req) -> Any:
        g = self._guild(req)
        return [r.to_dict() for r in g.roles.values()]

    async def r_create_role(self, req: Req) -> Any:
        g = self._guild(req)
        if not self.perms_of(self.bot_user.id, None, g) & P.MANAGE_ROLES:
            raise missing_permissions()
        body = req.body
        role = self.create_role(
            g,
            body.get("name", "new role"),
            permissions=int(body.get("permissions") or 0),
            color=int(body.get("color") or 0),
            mentionable=bool(body.get("mentionable", False)),
            hoist=bool(body.get("hoist", False)),
        )
        return role.to_dict()

    # ------------------------------------------------------------------ scheduled events
    def _event(self, req: Req) -> tuple[Guild, ScheduledEvent]:
        g = self._guild(req)
        e = g.scheduled_events.get(req.int("event_id"))
        if e is None or e.deleted:
            raise unknown("Guild Scheduled Event")
        return g, e

    def _event_perm(self, g: Guild, channel: Channel | None, creating: bool, event: ScheduledEvent | None) -> None:
        perms = self.perms_of(self.bot_user.id, channel, g) if channel else self.perms_of(self.bot_user.id, None, g)
        # Since 2026-02-23 creating needs Create Events (Manage Events alone no longer allows it); Create Events
        # also allows editing and deleting one's own events, Manage Events everyone's.
        if creating:
            if perms & P.CREATE_EVENTS:
                return
        elif perms & P.MANAGE_EVENTS or (
            perms & P.CREATE_EVENTS and event is not None and event.creator_id == self.bot_user.id
        ):
            return
        raise missing_permissions()

    def _event_fields(self, g: Guild, body: dict[str, Any], event: ScheduledEvent | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        entity_type = int(body.get("entity_type", event.entity_type if event else 0))
        if entity_type not in (1, 2, 3):
            raise form_error("entity_type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3).")
        out["entity_type"] = entity_type
        channel_id = body.get("channel_id", event.channel_id if event and "entity_type" not in body else None)
        if entity_type == 3:
            if body.get("channel_id"):
                raise form_error("channel_id", "GUILD_SCHEDULED_EVENT_CHANNEL_NOT_ALLOWED", "Must be null for external")
            meta = body.get("entity_metadata")
            location = (meta or {}).get("location") if meta is not None else (event.location if event else None)
            if not location:
                raise form_error("entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required")
            if not isinstance(location, str) or len(location) > 100:
                raise form_error("entity_metadata.location", "BASE_TYPE_BAD_LENGTH",
                                 "Must be between 1 and 100 in length.")
            out["location"] = location
            out["channel_id"] = None
        else:
            if not channel_id:
                raise form_error("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
            ch = self.get_channel(int(channel_id))
            want = ChannelType.STAGE if entity_type == 1 else ChannelType.VOICE
            if ch.type != want or ch.guild_id != g.id:
                raise form_error("channel_id", "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL", "Invalid channel type")
            out["channel_id"] = ch.id
            out["location"] = None
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not 1 <= len(name) <= 100:
                raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            out["name"] = name
        if "description" in body:
            desc = body["description"]
            if desc is not None and not 1 <= len(desc) <= 1000:
                raise form_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1000 in length.")
            out["description"] = desc
        start = _parse_time(body["scheduled_start_time"]) if "scheduled_start_time" in body else None
        if start is not None:
            if start <= self.now() and (event is None or event.status == 1):
                raise form_error(
                    "scheduled_start_time", "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST", "Cannot schedule event in the past."
                )
            out["scheduled_start_time"] = start
        if "scheduled_end_time" in body:
            out["scheduled_end_time"] = _parse_time(body["scheduled_end_time"])
        end = out.get("scheduled_end_time", event.scheduled_end_time if event else None)
        begin = out.get("scheduled_start_time", event.scheduled_start_time if event else None)
        if entity_type == 3 and end is None:
            raise form_error("scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required for external events")
        if end is not None and begin is not None and end <= begin:
            raise form_error("scheduled_end_time", "GUILD_SCHEDULED_EVENT_END_BEFORE_START", "End before start")
        if "privacy_level" in body and int(body["privacy_level"]) != 2:
            raise form_error("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of (2,).")
        if "image" in body:
            out["image"] = None if body["image"] is None else f"{self.next_id():x}"
        if "recurrence_rule" in body:
            out["recurrence_rule"] = _check_recurrence(body["recurrence_rule"])
        return out

    async def r_events(self, req: Req) -> Any:
        g = self._guild(req)
        wuc = req.query.get("with_user_count") in ("true", "1", "True")
        return [e.to_dict(self.users, with_user_count=wuc) for e in g.scheduled_events.values() if not e.deleted]

    async def r_get_event(self, req: Req) -> Any:
        _, e = self._event(req)
        wuc = req.query.get("with_user_count") in ("true", "1", "True")
        return e.to_dict(self.users, with_user_count=wuc)

    async def r_create_event(self, req: Req) -> Any:
        g = self._guild(req)
        body = req.body
        for key in ("name", "scheduled_start_time", "entity_type", "privacy_level"):
            if key not in body:
                raise form_error(key, "BASE_TYPE_REQUIRED", "This field is required")
        fields = self._event_fields(g, body, None)
        ch = self.channels.get(fields["channel_id"]) if fields.get("channel_id") else None
        self._event_perm(g, ch, True, None)
        e = ScheduledEvent(
            id=self.next_id(),
            guild_id=g.id,
            name=fields["name"],
            scheduled_start_time=fields["scheduled_start_time"],
            scheduled_end_time=fields.get("scheduled_end_time"),
            entity_type=fields["entity_type"],
            creator_id=self.bot_user.id,
            channel_id=fields.get("channel_id"),
            description=fields.get("description"),
            location=fields.get("location"),
            image=fields.get("image"),
            recurrence_rule=fields.get("recurrence_rule"),
        )
        g.scheduled_events[e.id] = e
        self.dispatch("GUILD_SCHEDULED_EVENT_CREATE", e.to_dict(self.users), intent=Intents.GUILD_SCHEDULED_EVENTS)
        self.automate_event(e)
        self.touch()
        return e.to_dict(self.users)

    def automate_event(self, e: ScheduledEvent) -> None:
        """External events start and end by themselves (docs: Guild Scheduled Event, "Guild Scheduled Event
        Status Update Automation"): ACTIVE at ``scheduled_start_time``, COMPLETED at ``scheduled_end_time``, each
        with GUILD_SCHEDULED_EVENT_UPDATE. Timed on the fake clock when the fake has one (else real time)."""
        old = self._event_tasks.pop(e.id, None)
        if old is not None:
            old.cancel()
        if e.entity_type != 3 or e.deleted or e.status in (3, 4) or e.recurrence_rule:
            # A repeating event moves on to its next occurrence instead of completing; the fake leaves that to
            # the bot (which keeps it on the next night), so only one-off external events run themselves.
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the world built outside a running loop: nothing can watch the time there
            return
        self._event_tasks[e.id] = loop.create_task(
            self._run_event(e), name=f"fakediscord-event-{e.id}"
        )

    async def _run_event(self, e: ScheduledEvent) -> None:
        for status, when in ((2, e.scheduled_start_time), (3, e.scheduled_end_time)):
            if when is None or e.status >= status:
                continue
            if self.clock is not None:
                await self.clock.sleep_until(when)
            else:
                await asyncio.sleep(max(0.0, (when - self.now()).total_seconds()))
            if e.deleted or e.status in (3, 4) or e.status >= status:
                return
            e.status = status
            self.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", e.to_dict(self.users), intent=Intents.GUILD_SCHEDULED_EVENTS)
            self.touch()

    _STATUS_MOVES = {1: {1, 2, 4}, 2: {2, 3}, 3: {3}, 4: {4}}

    async def r_edit_event(self, req: Req) -> Any:
        g, e = self._event(req)
        ch = self.channels.get(e.channel_id) if e.channel_id else None
        self._event_perm(g, ch, False, e)
        body = req.body
        if e.status in (3, 4):
            raise ApiError(400, 180000, "Cannot modify a finished event")
        fields = self._event_fields(g, body, e)
        if "status" in body:
            new = int(body["status"])
            if new not in self._STATUS_MOVES.get(e.status, set()):
                raise form_error("status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION", "Invalid status change")
            e.status = new
        for key, value in fields.items():
            setattr(e, key, value)
        self.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", e.to_dict(self.users), intent=Intents.GUILD_SCHEDULED_EVENTS)
        self.automate_event(e)
        self.touch()
        return e.to_dict(self.users)

    async def r_delete_event(self, req: Req) -> Any:
        g, e = self._event(req)
        ch = self.channels.get(e.channel_id) if e.channel_id else None
        self._event_perm(g, ch, False, e)
        e.deleted = True
        self.automate_event(e)
        self.dispatch("GUILD_SCHEDULED_EVENT_DELETE", e.to_dict(self.users), intent=Intents.GUILD_SCHEDULED_EVENTS)
        self.touch()
        return NO_CONTENT

    async def r_event_users(self, req: Req) -> Any:
        g, e = self._event(req)
        limit = int(req.query.get("limit", 100))
        if not 1 <= limit <= 100:
            raise form_error("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
        with_member = req.query.get("with_member") in ("true", "1", "True")
        ids = sorted(e.subscriber_ids)
        if "before" in req.query:
            b = int(req.query["before"])
            ids = [i for i in ids if i < b][-limit:]
        elif "after" in req.query:
            a = int(req.query["after"])
            ids = [i for i in ids if i > a][:limit]
        else:
            ids = ids[-limit:]
        out = []
        for uid in reversed(ids):
            entry: dict[str, Any] = {"guild_scheduled_event_id": str(e.id), "user": self.users[uid].to_dict()}
            if with_member and uid in g.members:
                entry["member"] = g.members[uid].to_dict(with_user=False)
            out.append(entry)
        return out
