"""The invite integer in the README is the one list of permissions the bot asks for, and every permission the
bot checks for itself is in it (Discord's 2026 model: Pin Messages and Create Events, not Manage Messages or
Manage Events, for pinning and creating events)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import discord

from bot.permissions import INVITE, INVITE_VALUE

ROOT = Path(__file__).resolve().parents[1]
FLAGS = set(discord.Permissions.VALID_FLAGS)


def test_readme_invite_integer_and_link_are_the_invite() -> None:
    readme = (ROOT / "README.md").read_text()
    integer = re.search(r"permissions integer\s+\*\*(\d+)\*\*", readme)
    assert integer is not None and int(integer.group(1)) == INVITE_VALUE
    links = re.findall(r"permissions=(\d+)", readme)
    assert links and all(int(n) == INVITE_VALUE for n in links)
    granted = discord.Permissions(INVITE_VALUE)
    assert granted.pin_messages and granted.create_events
    assert not granted.manage_events and not granted.administrator and not granted.mention_everyone


def _bot_permission_checks() -> set[str]:
    """Permission names the bot checks on its own behalf: the *NEEDS tuples, NICE_TO_HAVE, and attributes read
    from the bot's permissions (``perms.x`` where perms came from ``permissions_for(...me)``, ``app_permissions.x``)."""
    found: set[str] = set()
    for path in [*ROOT.joinpath("cogs").rglob("*.py"), *ROOT.joinpath("bot").rglob("*.py")]:
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and re.search(r"NEEDS$|NICE_TO_HAVE$", t.id) for t in node.targets
            ):
                for const in ast.walk(node.value):
                    if isinstance(const, ast.Constant) and const.value in FLAGS:
                        found.add(const.value)
            if isinstance(node, ast.Attribute) and node.attr in FLAGS:
                owner = ast.get_source_segment(source, node.value) or ""
                if owner in ("perms", "interaction.app_permissions") or owner.endswith(".me)"):
                    found.add(node.attr)
    return found


def test_every_permission_the_bot_checks_for_is_in_the_invite() -> None:
    checked = _bot_permission_checks()
    assert {"pin_messages", "create_events", "manage_messages", "send_messages"} <= checked
    assert checked <= set(INVITE), checked - set(INVITE)
    assert "manage_events" not in checked  # the 2026 model: Create Events creates and edits its own events
