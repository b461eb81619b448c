"""The permissions the bot asks for when it is invited, and why: one list that the README's invite link, the
setup check and every "I need ..." message follow.

Discord's permission model since 2026-02-23: pinning needs **Pin Messages** (1<<51) and creating scheduled
events needs **Create Events** (1<<44); Manage Messages and Manage Events alone no longer grant them. Create
Events also lets the bot edit and end the events it created, so it does not ask for Manage Events.
"""

from __future__ import annotations

from typing import Final

import discord

#: permission flag (discord.py's name) -> why the bot needs it
INVITE: Final[dict[str, str]] = {
    "view_channel": "see the channels it posts in",
    "send_messages": "every post",
    "embed_links": "every post is an embed",
    "attach_files": "charts, calendar files, newsletters, memorial photos",
    "read_message_history": "reconciling poll reactions, editing announcements",
    "add_reactions": "poll number reactions, 🌈 🐾 on memorial cards",
    "manage_messages": "removing a member's previous poll vote (optional: votes still count without it)",
    "pin_messages": "pinning the theme shelf (optional: the shelf is posted without it)",
    "create_events": "native Discord events for screenings, and moving or ending them (optional)",
    "create_public_threads": "next-day discussion threads, \"Memories of ...\" threads",
    "send_messages_in_threads": "reminders and discussions in those threads",
    "manage_threads": "deleting a removed memorial's tributes thread (optional: the card still goes)",
}


def invite_permissions() -> discord.Permissions:
    return discord.Permissions(**dict.fromkeys(INVITE, True))


INVITE_VALUE: Final[int] = invite_permissions().value
