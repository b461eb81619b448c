"""The schedule feature: ``cog.py`` (commands), the rest beside it."""

from cogs.schedule.cog import setup

__all__ = ["setup"]
