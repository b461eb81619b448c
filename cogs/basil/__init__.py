"""The basil feature: ``cog.py`` (commands), the rest beside it."""

from cogs.basil.cog import setup

__all__ = ["setup"]
