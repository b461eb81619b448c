"""The club's web pages and calendar feeds: `/filmclub calendar`, `/filmclub web`, the aiohttp server."""

from cogs.web.cog import setup

__all__ = ["setup"]
