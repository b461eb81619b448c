"""Who a message really notifies, per Discord's allowed-mentions rules.

https://discord.com/developers/docs/resources/message#allowed-mentions-object
- No ``allowed_mentions`` at all: parse everything in the content (users, roles, @everyone/@here)
  and ping the author of a replied-to message.
- With ``allowed_mentions``: only what ``parse`` / ``users`` / ``roles`` allow; ``replied_user``
  defaults to false.
- @everyone/@here only ping if the author may Mention Everyone in the channel; a role pings only if
  it is mentionable or the author may Mention Everyone.
- Embeds never ping; ephemeral messages and SUPPRESS_NOTIFICATIONS ping nobody; edits never ping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .models import Guild, Message, MessageFlag
from .permissions import P

_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


@dataclass
class MentionResult:
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pinged_user_ids: set[int] = field(default_factory=set)
    pinged_role_ids: set[int] = field(default_factory=set)
    pings_everyone: bool = False


class AllowedMentionsError(ValueError):
    pass


def validate_allowed_mentions(am: Any) -> None:
    if am is None:
        return
    if not isinstance(am, dict):
        raise AllowedMentionsError("allowed_mentions must be an object")
    parse = am.get("parse", [])
    for p in parse:
        if p not in ("users", "roles", "everyone"):
            raise AllowedMentionsError(f"invalid parse type {p!r}")
    if "users" in parse and am.get("users"):
        raise AllowedMentionsError("parse:[users] and users: [ids] are mutually exclusive.")
    if "roles" in parse and am.get("roles"):
        raise AllowedMentionsError("parse:[roles] and roles: [ids] are mutually exclusive.")
    if len(am.get("users", []) or []) > 100 or len(am.get("roles", []) or []) > 100:
        raise AllowedMentionsError("at most 100 users/roles")


def compute_mentions(
    content: str,
    *,
    allowed_mentions: dict[str, Any] | None,
    guild: Guild | None,
    author_perms: int,
    known_user_ids: set[int],
    replied_author_id: int | None,
    author_id: int,
    flags: int,
) -> MentionResult:
    res = MentionResult()
    user_ids: list[int] = []
    for m in _USER.finditer(content or ""):
        uid = int(m.group(1))
        if uid in known_user_ids and uid not in user_ids:
            user_ids.append(uid)
    role_ids: list[int] = []
    if guild is not None:
        for m in _ROLE.finditer(content or ""):
            rid = int(m.group(1))
            if rid in guild.roles and rid not in role_ids and rid != guild.id:
                role_ids.append(rid)
    wants_everyone = bool(_EVERYONE.search(content or ""))

    if allowed_mentions is None:
        parse = {"users", "roles", "everyone"}
        allowed_users: set[int] | None = None
        allowed_roles: set[int] | None = None
        replied = True
    else:
        parse = set(allowed_mentions.get("parse", []) or [])
        allowed_users = {int(u) for u in allowed_mentions.get("users", []) or []}
        allowed_roles = {int(r) for r in allowed_mentions.get("roles", []) or []}
        replied = bool(allowed_mentions.get("replied_user", False))

    for uid in user_ids:
        if "users" in parse or (allowed_users is not None and uid in allowed_users):
            res.mention_user_ids.append(uid)
    can_everyone = bool(author_perms & P.MENTION_EVERYONE)
    for rid in role_ids:
        if "roles" in parse or (allowed_roles is not None and rid in allowed_roles):
            role = guild.roles[rid] if guild is not None else None
            if role is not None and (role.mentionable or can_everyone):
                res.mention_role_ids.append(rid)
    if wants_everyone and "everyone" in parse and can_everyone and guild is not None:
        res.mention_everyone = True
    if replied and replied_author_id is not None and replied_author_id != author_id:
        if replied_author_id not in res.mention_user_ids:
            res.mention_user_ids.append(replied_author_id)

    silent = bool(flags & (MessageFlag.EPHEMERAL | MessageFlag.SUPPRESS_NOTIFICATIONS))
    if not silent:
        res.pinged_user_ids = {u for u in res.mention_user_ids if u != author_id}
        res.pinged_role_ids = set(res.mention_role_ids)
        res.pings_everyone = res.mention_everyone
    return res


def apply_mentions(msg: Message, res: MentionResult, *, ping: bool) -> None:
    msg.mention_user_ids = res.mention_user_ids
    msg.mention_role_ids = res.mention_role_ids
    msg.mention_everyone = res.mention_everyone
    if ping:
        msg.pinged_user_ids = res.pinged_user_ids
        msg.pinged_role_ids = res.pinged_role_ids
        msg.pings_everyone = res.pings_everyone
