"""The admin feature: ``cog.py`` (commands), the rest beside it."""

from cogs.admin.cog import setup

__all__ = ["setup"]
