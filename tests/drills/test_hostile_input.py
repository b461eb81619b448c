"""Hostile input drill: every string option of every slash command, fed text a member could type.

The commands and their string options come from what the bot registered in the fake Discord
(``fake.commands(guild)``), so a new command is covered without touching this file. Values mix mentions
(``@everyone``, users, roles, channels), 6,000-character text, zero-width and right-to-left characters,
markdown, quotes and SQL-looking text; each is clipped to the option's ``max_length`` as Discord's client does.
When a command answers with a modal, its text inputs get hostile text too.

For every run: there is an answer; it is not "Something went wrong"; no message the bot sent pings anyone;
and the fake's validation answered no 400 (a message over Discord's limits). The fake's honesty check also
fails the test if discord.py logged an error.

``test_every_string_option`` sweeps each (command, option) pair once with one composite hostile value;
``test_hostile_strings_property`` lets Hypothesis pick command, option and text (a fixed small number of
examples in CI; ``FILMCLUB_DRILL_LONG=1`` runs many more).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Club
from tests.fakediscord.models import Message

LONG = os.environ.get("FILMCLUB_DRILL_LONG") == "1"
OPTION_MAX = 6000  # Discord's limit for a string option without max_length

PIECES = [
    "@everyone", "@here", "<@{alice}>", "<@!{alice}>", "<@&{role}>", "<#{channel}>", "@Film Club",
    "\u200b", "\u200d", "\ufeff", "\u202e", "\u2066", "\u061c",
    "**bold**", "__under__", "~~strike~~", "`code`", "```py\nprint(1)\n```", "> quote", "||spoiler||",
    "# heading", "-# small", "[link](https://example.com)", "<t:0:F>", ":popcorn:",
    "'", '"', "\\", "'; DROP TABLE screenings; --", "\" OR 1=1 --", "%s %d {0} {name}", "NULL",
    "\n", "\n\n\n", "   ", "👍🏽", "🇬🇧", "ﷺ", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
]
COMPOSITE = (
    "@everyone @here <@{alice}> <@&{role}> <#{channel}> \u200b\u202eevil\u2066 **x** `y` ||z|| "
    "'; DROP TABLE screenings; -- \"q\" " + "Ω" * 3000 + "a" * 3000
)


@dataclass(frozen=True)
class Target:
    command: str
    options: tuple[dict[str, Any], ...]

    @property
    def string_options(self) -> list[dict[str, Any]]:
        return [o for o in self.options if o["type"] == 3 and not o.get("choices")]


def targets(club: Club) -> list[Target]:
    out: list[Target] = []

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            out.append(Target(prefix, tuple(options)))
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options", []))

    for command in club.fake.commands(club.g.guild):
        if command.get("type", 1) == 1:
            walk(command["name"], command.get("options", []))
    return out


def fill(text: str, club: Club) -> str:
    return (text.replace("{alice}", str(club.g.alice.user.id)).replace("{role}", str(club.g.member_role.id))
            .replace("{channel}", str(club.g.general.id)))


def clip(text: str, option: dict[str, Any]) -> str:
    text = text[: option.get("max_length") or OPTION_MAX]
    if len(text) < max(1, option.get("min_length") or 0):
        text = text + "x" * max(1, option.get("min_length") or 1)
    return text


# Valid values for the other options, so the hostile one gets past the first checks into the feature.
GOOD = {
    "film": "Her (2013)", "films": "Her (2013)", "title": "Her", "when": "tomorrow 8pm", "closes": "in 2 hours",
    "nominees": "Popcorn; Nachos", "category": "Best Snack", "name": "Pip", "text": "Coming soon.",
    "pack": "her", "offsets": "1h", "timezone": "Europe/London", "reminders": "1h",
}


async def prime(club: Club) -> None:
    """Something for every id option to point at: screening #1, poll #1, installment #1, memorial Pip."""
    for command, options in [
        ("screening schedule", {"film": "Her (2013)", "when": "tomorrow 8pm"}),
        ("award open", {"category": "Best Snack", "nominees": "Popcorn; Nachos", "closes": "in 2 hours"}),
        ("installment add", {"film": "Her (2013)"}),
        ("basil memorial", {"name": "Pip", "passed": "2020-01-10"}),
    ]:
        h = await club.fake.slash(club.g.admin, club.g.general, command, **options)
        if await h.response(timeout=10) != 9:
            reply = await h.reply(timeout=10)
            assert "Something went wrong" not in reply.text()
    await club.fake.settle()


def benign(option: dict[str, Any], club: Club) -> Any:
    kind = option["type"]
    if option.get("choices"):
        return option["choices"][0]["value"]
    if kind == 3:
        return clip(GOOD.get(option["name"], "test"), option)
    if kind == 4:
        return max(1, int(option.get("min_value") or 1))
    if kind == 10:
        return float(option.get("min_value") or 1.0)
    if kind == 5:
        return False
    if kind == 6:
        return club.g.alice
    if kind == 7:
        types = option.get("channel_types") or [0]
        return club.g.voice if 0 not in types and 2 in types else club.g.general
    if kind == 8:
        return club.g.member_role
    if kind == 11:
        return club.fake.attachment("notes.csv", b"Name,Year\nHer,2013\n", "text/csv")
    raise AssertionError(f"unhandled option type {kind}")


def modal_inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(component: dict[str, Any]) -> None:
        if component.get("type") == 4:
            found.append(component)
        for child in component.get("components", []):
            walk(child)
        if isinstance(component.get("component"), dict):
            walk(component["component"])

    for component in modal.get("components", []):
        walk(component)
    return found


async def run_hostile(club: Club, target: Target, option: dict[str, Any], text: str) -> None:
    fake = club.fake
    await fake.settle()
    bot_id = fake.bot_user.id
    seen = {m.id for m in fake.all_messages()}
    calls_before = len(fake.rest_log)
    options = {o["name"]: benign(o, club) for o in target.options if o.get("required") and o is not option}
    options[option["name"]] = clip(fill(text, club), option)
    h = await fake.slash(club.g.admin, club.g.general, target.command, **options)
    answers: list[Message] = []
    if await h.response(timeout=10) == 9:
        assert h.modal is not None
        values = {c["custom_id"]: clip(fill(text, club), {"max_length": c.get("max_length") or 4000,
                                                           "min_length": c.get("min_length")})
                  for c in modal_inputs(h.modal)}
        submitted = await fake.submit_modal(club.g.admin, h, values)
        answers.append(await submitted.reply(timeout=10))
        answers += submitted.messages
    else:
        answers.append(await h.reply(timeout=10))
        answers += h.messages
    await fake.settle()
    where = f"/{target.command} {option['name']}={text[:60]!r}"
    for message in answers:
        assert "Something went wrong" not in message.text(), f"{where}: {message.text()[:300]}"
    for message in fake.all_messages():
        if message.author.id == bot_id and message.id not in seen:
            assert not message.pings_anyone, f"{where}: pinged {message.pinged_user_ids} {message.pinged_role_ids}"
    rejected = [c for c in fake.rest_log[calls_before:] if c.status == 400]
    assert not rejected, f"{where}: Discord refused {[(c.method, c.path, c.response) for c in rejected]}"


async def test_every_string_option(club: Club) -> None:
    await prime(club)
    pairs = [(t, o) for t in targets(club) for o in t.string_options]
    assert len(pairs) >= 40  # the sweep really reaches the command tree
    for target, option in pairs:
        await run_hostile(club, target, option, COMPOSITE)


hostile_text = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(min_size=1, max_size=40), st.just("x" * 6000)),
    min_size=1, max_size=6,
).map("".join)


@settings(max_examples=400 if LONG else 25, deadline=None, database=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
async def test_hostile_strings_property(club: Club, data: st.DataObject) -> None:
    pairs = [(t, o) for t in targets(club) for o in t.string_options]
    target, option = data.draw(st.sampled_from(pairs), label="option")
    text = data.draw(hostile_text, label="text")
    await run_hostile(club, target, option, text)
