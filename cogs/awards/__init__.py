"""The awards feature: ``cog.py`` (commands), the rest beside it."""

from cogs.awards.cog import setup

__all__ = ["setup"]
