"""filmclub: a Discord bot for film clubs."""

__version__ = "0.1.0"
