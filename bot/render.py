"""Small rendering helpers shared by the cogs (Discord-facing text, no I/O)."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.domain.words import plural as plural  # re-exported: the one plural of the project

CLUB_COLOUR = discord.Colour(0xE8A33D)  # warm popcorn gold
ERROR_COLOUR = discord.Colour(0xC0392B)
GENTLE_COLOUR = discord.Colour(0x9B8EC4)  # Basil's Corner


def _unix(when: datetime | int) -> int:
    return int(when.timestamp()) if isinstance(when, datetime) else int(when)


def ts(when: datetime | int, style: str = "F") -> str:
    """A Discord timestamp: every member sees it in their own time zone."""
    return f"<t:{_unix(when)}:{style}>"


def ts_full(when: datetime | int) -> str:
    """``<t:X:F> (<t:X:R>)``."""
    unix = _unix(when)
    return f"<t:{unix}:F> (<t:{unix}:R>)"


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def escape(text: str) -> str:
    """Escape markdown and neutralise mentions in user-typed text shown inside our own messages."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


PERMISSION_LABELS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
    "add_reactions": "Add Reactions",
    "read_message_history": "Read Message History",
    "manage_messages": "Manage Messages",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "manage_threads": "Manage Threads",
    "manage_events": "Manage Events",
    "create_events": "Create Events",
    "pin_messages": "Pin Messages",
    "mention_everyone": "Mention Everyone",
}


def missing_permissions(permissions: discord.Permissions, needed: tuple[str, ...]) -> list[str]:
    """Human names of the permissions in ``needed`` that ``permissions`` lacks."""
    return [PERMISSION_LABELS.get(name, name) for name in needed if not getattr(permissions, name)]


