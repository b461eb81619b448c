"""Reading a file a member attached to a command: one size rule, one wording, for every feature."""

from __future__ import annotations

import discord

from bot.errors import UserError
from bot.render import clip, escape


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")
    return f"{max(1, round(n / 1024)):,} KB"


def check_size(file: discord.Attachment, max_bytes: int, hint: str) -> None:
    """Refuse before downloading when Discord says the file is too big (``hint``: what to do instead)."""
    if file.size > max_bytes:
        raise UserError(
            f"`{escape(clip(file.filename, 60))}` is {human_size(file.size)}; the limit is {human_size(max_bytes)}, "
            f"so nothing was read. {hint}"
        )


async def read_attachment(file: discord.Attachment, max_bytes: int, hint: str) -> bytes:
    """The attachment's bytes, at most ``max_bytes`` (checked before and after the download)."""
    check_size(file, max_bytes, hint)
    try:
        data = await file.read()
    except discord.HTTPException:
        raise UserError(
            f"I couldn't download `{escape(clip(file.filename, 60))}` from Discord. Attach it again in a moment."
        ) from None
    if len(data) > max_bytes:
        raise UserError(
            f"`{escape(clip(file.filename, 60))}` is larger than the limit of {human_size(max_bytes)}, so nothing "
            f"was read. {hint}"
        )
    return data
