"""State objects of the fake Discord and their Discord-shaped JSON payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .permissions import P

DISCORD_EPOCH_MS = 1420070400000


class ChannelType:
    TEXT = 0
    DM = 1
    VOICE = 2
    GROUP_DM = 3
    CATEGORY = 4
    ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    STAGE = 13
    FORUM = 15

    BY_NAME = {
        "text": TEXT,
        "voice": VOICE,
        "category": CATEGORY,
        "announcement": ANNOUNCEMENT,
        "news": ANNOUNCEMENT,
        "stage": STAGE,
        "forum": FORUM,
        "public_thread": PUBLIC_THREAD,
        "private_thread": PRIVATE_THREAD,
    }
    THREADS = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
    MESSAGEABLE = (TEXT, DM, VOICE, GROUP_DM, ANNOUNCEMENT, ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, STAGE)


class MessageFlag:
    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat()


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


@dataclass(eq=False)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_closed: bool = False
    avatar: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def display_name(self) -> str:
        return self.global_name or self.username

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }


@dataclass(eq=False)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class Member:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return f"<@{self.user.id}>"

    @property
    def display_name(self) -> str:
        return self.nick or self.user.display_name

    def to_dict(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_dict()
        return data


@dataclass
class Overwrite:
    """A permission overwrite; ``type`` 0 = role, 1 = member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(eq=False)
class Channel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    nsfw: bool = False
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    # Threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: datetime | None = None
    create_timestamp: datetime | None = None
    member_ids: list[int] = field(default_factory=list)
    message_count: int = 0
    total_message_sent: int = 0
    starter_message_id: int | None = None
    # DMs
    recipient_ids: list[int] = field(default_factory=list)
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREADS

    @property
    def is_dm(self) -> bool:
        return self.type in (ChannelType.DM, ChannelType.GROUP_DM)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_dict(self, users: dict[int, User] | None = None) -> dict[str, Any]:
        if self.is_dm:
            recipients = [users[r].to_dict() for r in self.recipient_ids] if users else []
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": str(self.last_message_id) if self.last_message_id else None,
                "recipients": recipients,
                "flags": 0,
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                {
                    "owner_id": str(self.owner_id) if self.owner_id else None,
                    "message_count": self.message_count,
                    "member_count": len(self.member_ids),
                    "total_message_sent": self.total_message_sent,
                    "thread_metadata": {
                        "archived": self.archived,
                        "auto_archive_duration": self.auto_archive_duration,
                        "archive_timestamp": iso(self.archive_timestamp or self.create_timestamp),
                        "locked": self.locked,
                        "invitable": self.invitable,
                        "create_timestamp": iso(self.create_timestamp),
                    },
                }
            )
            return data
        data.update(
            {
                "position": self.position,
                "permission_overwrites": [ow.to_dict() for ow in self.overwrites],
                "nsfw": self.nsfw,
            }
        )
        if self.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM):
            data["topic"] = self.topic
            data["default_auto_archive_duration"] = 1440
            data["default_thread_rate_limit_per_user"] = 0
        if self.type == ChannelType.FORUM:
            data["available_tags"] = []
            data["default_reaction_emoji"] = None
            data["default_sort_order"] = None
            data["default_forum_layout"] = 0
        if self.type in (ChannelType.VOICE, ChannelType.STAGE):
            data["bitrate"] = 64000
            data["user_limit"] = 0
            data["rtc_region"] = None
            data["video_quality_mode"] = 1
        return data


@dataclass(eq=False)
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""
    ephemeral: bool = False
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "flags": 0,
        }
        if self.content_type:
            out["content_type"] = self.content_type
        if self.description:
            out["description"] = self.description
        if self.ephemeral:
            out["ephemeral"] = True
        if self.width is not None and self.height is not None:
            out["width"] = self.width
            out["height"] = self.height
        return out


@dataclass
class Reaction:
    emoji_name: str
    emoji_id: int | None = None
    animated: bool = False
    user_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return emoji_key(self.emoji_name, self.emoji_id)

    def emoji_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.emoji_id) if self.emoji_id else None, "name": self.emoji_name}
        if self.emoji_id:
            data["animated"] = self.animated
        return data

    def to_dict(self, viewer_id: int | None) -> dict[str, Any]:
        return {
            "count": len(self.user_ids),
            "count_details": {"burst": 0, "normal": len(self.user_ids)},
            "me": viewer_id in self.user_ids,
            "me_burst": False,
            "emoji": self.emoji_dict(),
            "burst_colors": [],
        }


def emoji_key(name: str, emoji_id: int | None) -> str:
    return f"{name}:{emoji_id}" if emoji_id else name


_CUSTOM_EMOJI = re.compile(r"^<?(a)?:?([A-Za-z0-9_~]+):(\d+)>?$")


def parse_emoji(text: str) -> tuple[str, int | None, bool]:
    """Parse a unicode emoji, ``name:id``, ``<:name:id>`` or ``<a:name:id>``."""
    m = _CUSTOM_EMOJI.match(text)
    if m:
        return m.group(2), int(m.group(3)), bool(m.group(1))
    return text, None, False


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(eq=False)
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    nonce: str | None = None
    tts: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    edited_timestamp: datetime | None = None
    pinned: bool = False
    pinned_at: datetime | None = None
    reactions: dict[str, Reaction] = field(default_factory=dict)
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    allowed_mentions: dict[str, Any] | None = None
    thread_id: int | None = None
    deleted: bool = False
    #: ids of users mentioned in the content that Discord resolved into the ``mentions`` array
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    #: Who actually got notified when the message was created (edits never ping).
    pinged_user_ids: set[int] = field(default_factory=set)
    pinged_role_ids: set[int] = field(default_factory=set)
    pings_everyone: bool = False
    #: Full history of (content, embeds) states, oldest first, for assertions.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The interaction this message answers (if any), as the handle object.
    interaction: Any = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & MessageFlag.LOADING)

    @property
    def pings_anyone(self) -> bool:
        return bool(self.pinged_user_ids or self.pinged_role_ids or self.pings_everyone)

    @property
    def created_at(self) -> datetime:
        return self.timestamp

    @property
    def jump_url(self) -> str:
        return f"https://discord.com/channels/{self.guild_id or '@me'}/{self.channel_id}/{self.id}"

    # --- convenience for assertions ---------------------------------------
    @property
    def embed(self) -> dict[str, Any] | None:
        return self.embeds[0] if self.embeds else None

    def text(self) -> str:
        """Content plus every embed's title/description/fields/footer, for loose text assertions."""
        parts = [self.content]
        for e in self.embeds:
            for key in ("title", "description"):
                if e.get(key):
                    parts.append(str(e[key]))
            if e.get("author", {}).get("name"):
                parts.append(str(e["author"]["name"]))
            for f in e.get("fields", []):
                parts.append(f"{f.get('name', '')}\n{f.get('value', '')}")
            if e.get("footer", {}).get("text"):
                parts.append(str(e["footer"]["text"]))
        parts.extend(_component_texts(self.components))
        return "\n".join(p for p in parts if p)

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") == 2]

    def selects(self) -> list[dict[str, Any]]:
        return [c for c in walk_components(self.components) if c.get("type") in (3, 5, 6, 7, 8)]

    def reaction_users(self, emoji: str) -> list[int]:
        name, eid, _ = parse_emoji(emoji)
        r = self.reactions.get(emoji_key(name, eid))
        return list(r.user_ids) if r else []

    def file_names(self) -> list[str]:
        return [a.filename for a in self.attachments]

    def to_dict(
        self,
        *,
        viewer_id: int | None,
        users: dict[int, User],
        member: Member | None = None,
        redact: bool = False,
        referenced: dict[str, Any] | None = None,
        thread: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        mentions = []
        for uid in self.mention_user_ids:
            u = users.get(uid)
            if u is not None:
                mentions.append(u.to_dict())
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.to_dict(),
            "content": "" if redact else self.content,
            "timestamp": iso(self.timestamp),
            "edited_timestamp": iso(self.edited_timestamp),
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": mentions,
            "mention_roles": [str(r) for r in self.mention_role_ids],
            "mention_channels": [],
            "attachments": [] if redact else [a.to_dict() for a in self.attachments],
            "embeds": [] if redact else list(self.embeds),
            "components": [] if redact else list(self.components),
            "reactions": [r.to_dict(viewer_id) for r in self.reactions.values() if r.user_ids],
            "pinned": self.pinned,
            "type": self.type,
            "flags": self.flags,
        }
        if not data["reactions"]:
            del data["reactions"]
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if member is not None:
            data["member"] = member.to_dict(with_user=False)
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
            data["referenced_message"] = referenced
        if thread is not None:
            data["thread"] = thread
        return data


def walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in components:
        out.append(c)
        if "components" in c:
            out.extend(walk_components(c["components"]))
        if "component" in c:
            out.extend(walk_components([c["component"]]))
        if "accessory" in c:
            out.extend(walk_components([c["accessory"]]))
    return out


def _component_texts(components: list[dict[str, Any]]) -> list[str]:
    return [str(c["content"]) for c in walk_components(components) if c.get("type") == 10 and c.get("content")]


@dataclass(eq=False)
class ScheduledEvent:
    id: int
    guild_id: int
    name: str
    scheduled_start_time: datetime
    entity_type: int
    creator_id: int | None = None
    channel_id: int | None = None
    description: str | None = None
    scheduled_end_time: datetime | None = None
    privacy_level: int = 2
    status: int = 1
    location: str | None = None
    image: str | None = None
    subscriber_ids: list[int] = field(default_factory=list)
    deleted: bool = False
    recurrence_rule: dict[str, Any] | None = None

    def to_dict(self, users: dict[int, User], *, with_user_count: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id) if self.channel_id else None,
            "creator_id": str(self.creator_id) if self.creator_id else None,
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": iso(self.scheduled_start_time),
            "scheduled_end_time": iso(self.scheduled_end_time),
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": self.location} if self.entity_type == 3 else None,
            "image": self.image,
            "recurrence_rule": self.recurrence_rule,
        }
        if self.creator_id and self.creator_id in users:
            data["creator"] = users[self.creator_id].to_dict()
        if with_user_count:
            data["user_count"] = len(self.subscriber_ids)
        return data


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def role(self, name: str) -> Role:
        for r in self.roles.values():
            if r.name == name:
                return r
        raise KeyError(f"no role named {name!r} in guild {self.name!r}")

    def channel(self, name: str) -> Channel:
        for c in self.channels.values():
            if c.name == name and not c.deleted:
                return c
        raise KeyError(f"no channel named {name!r} in guild {self.name!r}")

    def member_named(self, name: str) -> Member:
        for m in self.members.values():
            if name in (m.user.username, m.nick, m.user.global_name):
                return m
        raise KeyError(f"no member named {name!r} in guild {self.name!r}")

    def live_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if not c.deleted and not c.is_thread]

    def live_threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if not c.deleted and c.is_thread and not c.archived]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.to_dict() for r in self.roles.values()],
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
        }


def default_bot_permissions() -> int:
    return P.DEFAULT_BOT
