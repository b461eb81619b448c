"""The installments feature: ``cog.py`` (commands), the rest beside it."""

from cogs.installments.cog import setup

__all__ = ["setup"]
