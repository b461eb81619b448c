"""Small wording rules shared by every feature (pure)."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 memorial``, ``2 memorials``, ``1,000 votes`` (``many`` for irregular plurals)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
