"""The trivia feature: ``cog.py`` (commands), the rest beside it."""

from cogs.trivia.cog import setup

__all__ = ["setup"]
