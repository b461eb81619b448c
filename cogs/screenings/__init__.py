"""The screenings feature: ``cog.py`` (commands), the rest beside it."""

from cogs.screenings.cog import setup

__all__ = ["setup"]
