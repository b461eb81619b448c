"""Exceptions whose message is fit to show a member as it is.

The domain raises them; the one error handler (``bot.handlers``) turns them into
ephemeral replies. Keep messages short, plain, and say how to fix the problem.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a request that cannot be done; ``message`` is shown to the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotModerator(UserError):
    """A moderator command was used by someone who is not one."""

    def __init__(self, role_name: str | None = None) -> None:
        need = "the **Manage Server** permission"
        if role_name:
            need += f" or the **{role_name}** role"
        super().__init__(f"Only moderators can do that: it needs {need}.")


class NotSetUp(UserError):
    """A feature needs a channel that `/filmclub setup` has not set yet."""

    def __init__(self, what: str, option: str) -> None:
        super().__init__(
            f"This server has no {what} yet. A moderator can set one with `/filmclub setup {option}:`."
        )
