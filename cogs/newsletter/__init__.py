"""The newsletter feature: ``cog.py`` (commands), the rest beside it."""

from cogs.newsletter.cog import setup

__all__ = ["setup"]
