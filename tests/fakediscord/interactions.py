"""Interactions: building INTERACTION_CREATE payloads from the registered command tree, the callback
endpoint, webhook follow-ups and ``@original``, and the handles tests await."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from .core import ApiError, form_error, unknown
from .models import Attachment, Channel, Member, Message, MessageFlag, Role, User, walk_components
from .permissions import P
from .rest import NO_CONTENT, Req, RestMixin


class FakeDiscordUsageError(AssertionError):
    """The test asked the fake for something a real Discord client could not do."""


TOKEN_LIFETIME = timedelta(minutes=15)


class InteractionHandle:
    """One interaction sent to the bot; await its response and the messages it produced.

    - ``await h.response()`` -> callback type (4 message, 5 deferred, 6 deferred update, 7 update, 8 choices,
      9 modal)
    - ``await h.reply()`` -> the :class:`Message` the user sees (handles defer + edit/follow-up)
    - ``await h.followup(i)`` -> i-th follow-up message
    - ``h.original``, ``h.followups``, ``h.modal``, ``h.choices``, ``h.response_data``
    """

    def __init__(
        self,
        fake: InteractionMixin,
        *,
        iid: int,
        token: str,
        itype: int,
        payload: dict[str, Any],
        user: User,
        channel: Channel,
        message: Message | None = None,
        name: str | None = None,
    ) -> None:
        self.fake = fake
        self.id = iid
        self.token = token
        self.type = itype
        self.payload = payload
        self.user = user
        self.channel = channel
        self.message = message
        self.name = name
        self.created = time.monotonic()
        self.created_at = fake.now()  # on the fake clock when there is one: tokens expire after 15 minutes
        self.response_type: int | None = None
        self.response_data: dict[str, Any] | None = None
        self.response_files: list[Any] = []
        self.responded_after: float | None = None
        self.original: Message | None = None
        self._original_edits_at_response = 0
        self.followups: list[Message] = []
        self.modal: dict[str, Any] | None = None
        self.choices: list[dict[str, Any]] | None = None
        self.original_deleted = False

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} name={self.name!r} response={self.response_type}>"

    @property
    def responded(self) -> bool:
        return self.response_type is not None

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    async def response(self, timeout: float = 5.0) -> int:
        """Wait for the bot's initial callback; return its type."""
        await self.fake.wait_until(lambda: self.responded, timeout, f"a response to {self!r}")
        assert self.response_type is not None
        return self.response_type

    async def reply(self, timeout: float = 5.0) -> Message:
        """The message the user sees: the direct reply, or the deferred message once edited / followed up,
        or (component interactions) the updated message."""
        rt = await self.response(timeout)
        if rt == 9:
            raise FakeDiscordUsageError(f"{self!r}: the bot answered with a modal; use h.modal / fake.submit_modal")
        if rt == 8:
            raise FakeDiscordUsageError(f"{self!r}: autocomplete has choices, not a message")
        if rt == 4 or rt == 7:
            assert self.original is not None
            return self.original
        if rt == 5:
            orig = self.original
            assert orig is not None
            await self.fake.wait_until(
                lambda: not orig.loading or orig.deleted, timeout, f"the deferred reply of {self!r} to be filled"
            )
            return orig

        # 6: deferred update: the component message gets edited, or a follow-up is sent.
        def done() -> bool:
            edited = self.original is not None and len(self.original.history) > self._original_edits_at_response
            return edited or bool(self.followups)

        await self.fake.wait_until(done, timeout, f"an edit or follow-up after {self!r}")
        if self.original is not None and len(self.original.history) > self._original_edits_at_response:
            return self.original
        return self.followups[0]

    async def followup(self, index: int = 0, timeout: float = 5.0) -> Message:
        await self.fake.wait_until(lambda: len(self.followups) > index, timeout, f"follow-up #{index} of {self!r}")
        return self.followups[index]

    async def wait_modal(self, timeout: float = 5.0) -> dict[str, Any]:
        rt = await self.response(timeout)
        if rt != 9 or self.modal is None:
            raise FakeDiscordUsageError(f"{self!r}: expected a modal, got callback type {rt}")
        return self.modal

    async def wait_choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        rt = await self.response(timeout)
        if rt != 8 or self.choices is None:
            raise FakeDiscordUsageError(f"{self!r}: expected autocomplete choices, got callback type {rt}")
        return self.choices

    @property
    def messages(self) -> list[Message]:
        """Messages this interaction produced: the reply (types 4/5) and the follow-ups, in order."""
        out: list[Message] = []
        if self.original is not None and self.response_type in (4, 5):
            out.append(self.original)
        out.extend(m for m in self.followups if m not in out)
        return out

    def _mark_original_baseline(self) -> None:
        self._original_edits_at_response = len(self.original.history) if self.original is not None else 0


def _opt_type_name(t: int) -> str:
    return {
        1: "subcommand",
        2: "group",
        3: "string",
        4: "integer",
        5: "boolean",
        6: "user",
        7: "channel",
        8: "role",
        9: "mentionable",
        10: "number",
        11: "attachment",
    }.get(t, str(t))


class InteractionMixin(RestMixin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interactions: dict[int, InteractionHandle] = {}
        self._by_token: dict[str, InteractionHandle] = {}
        #: Discord invalidates an interaction not answered within 3 s (real time).
        self.interaction_deadline = 3.0
        self.locale = "en-US"

    def _register_interaction_routes(self) -> None:
        r = self.route
        r("POST", "/interactions/{iid}/{token}/callback", self.r_callback, auth=False)
        r("POST", "/webhooks/{app_id}/{token}", self.r_followup, auth=False)
        r("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self.r_get_webhook_message, auth=False)
        r("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self.r_edit_webhook_message, auth=False)
        r("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self.r_delete_webhook_message, auth=False)

    # ------------------------------------------------------------------ attachments for options
    def attachment(self, filename: str, data: bytes, content_type: str | None = None) -> Attachment:
        """An uploaded file for an attachment option of :meth:`slash` (served on the fake CDN)."""
        return self.make_attachment(0, filename, data, content_type, ephemeral=True)

    # ------------------------------------------------------------------ building payloads
    def _actor(self, who: Member | User, channel: Channel) -> tuple[User, Member | None]:
        if isinstance(who, Member):
            if channel.guild_id is not None and who.guild_id != channel.guild_id:
                raise FakeDiscordUsageError(f"{who.display_name} is a member of another guild than #{channel.name}")
            return who.user, who
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            m = guild.members.get(who.id)
            if m is None:
                raise FakeDiscordUsageError(f"{who.username} is not a member of {guild.name}")
            return who, m
        return who, None

    def _interaction(
        self,
        itype: int,
        who: Member | User,
        channel: Channel,
        data: dict[str, Any] | None,
        *,
        message: Message | None = None,
        name: str | None = None,
    ) -> InteractionHandle:
        if channel.deleted:
            raise FakeDiscordUsageError(f"channel #{channel.name} was deleted")
        user, member = self._actor(who, channel)
        iid = self.next_id()
        token = "itok_" + secrets.token_hex(24)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "locale": self.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel.id),
            "channel": self.channel_json(channel),
            "app_permissions": str(self.bot_perms(channel) if not channel.is_dm else self.perms_of(0, channel)),
        }
        if data is not None:
            payload["data"] = data
        if channel.guild_id is not None:
            assert member is not None
            guild = self.guilds[channel.guild_id]
            perms = self.perms_of(user.id, channel, guild)
            if not perms & P.VIEW_CHANNEL:
                raise FakeDiscordUsageError(f"{user.username} cannot see #{channel.name}")
            payload["guild_id"] = str(guild.id)
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = {**member.to_dict(), "permissions": str(perms)}
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = user.to_dict()
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        if message is not None:
            payload["message"] = self.message_json(message)
        handle = InteractionHandle(
            self,
            iid=iid,
            token=token,
            itype=itype,
            payload=payload,
            user=user,
            channel=channel,
            message=message,
            name=name,
        )
        self.interactions[iid] = handle
        self._by_token[token] = handle
        return handle

    def _send_interaction(self, handle: InteractionHandle) -> None:
        handle.created = time.monotonic()
        self.dispatch("INTERACTION_CREATE", handle.payload)

    def _find_command(self, channel: Channel, name: str, ctype: int = 1) -> dict[str, Any]:
        candidates: list[dict[str, Any]] = []
        if channel.guild_id is not None:
            candidates += self.guild_commands.get(channel.guild_id, [])
        candidates += self.global_commands
        for c in candidates:
            if c["name"] == name and int(c.get("type", 1)) == ctype:
                return c
        registered = sorted({c["name"] for c in candidates if int(c.get("type", 1)) == ctype})
        raise FakeDiscordUsageError(f"no command {name!r} registered by the bot here (registered: {registered})")

    def _resolve_path(self, channel: Channel, path: str) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
        parts = path.split()
        if not parts:
            raise FakeDiscordUsageError("empty command name")
        cmd = self._find_command(channel, parts[0])
        option_defs: list[dict[str, Any]] = cmd.get("options") or []
        chain: list[str] = []
        for part in parts[1:]:
            sub = next((o for o in option_defs if o["name"] == part and o.get("type") in (1, 2)), None)
            if sub is None:
                subs = [o["name"] for o in option_defs if o.get("type") in (1, 2)]
                raise FakeDiscordUsageError(f"/{' '.join([parts[0], *chain])} has no subcommand {part!r} ({subs})")
            chain.append(part)
            option_defs = sub.get("options") or []
        if any(o.get("type") in (1, 2) for o in option_defs):
            subs = [o["name"] for o in option_defs if o.get("type") in (1, 2)]
            raise FakeDiscordUsageError(f"/{path} needs a subcommand: one of {subs}")
        return cmd, chain, option_defs

    def _check_can_use(self, cmd: dict[str, Any], who: Member | User, channel: Channel) -> None:
        user, _member = self._actor(who, channel)
        if channel.guild_id is None:
            contexts = cmd.get("contexts")
            if cmd.get("guild_id") or cmd.get("dm_permission") is False or (contexts is not None and 1 not in contexts):
                raise FakeDiscordUsageError(f"/{cmd['name']} is not available in DMs")
            return
        perms = self.perms_of(user.id, channel)
        if not perms & P.USE_APPLICATION_COMMANDS:
            raise FakeDiscordUsageError(f"{user.username} may not use application commands in #{channel.name}")
        needed = cmd.get("default_member_permissions")
        if needed is not None and int(needed) & perms != int(needed):
            raise FakeDiscordUsageError(
                f"{user.username} lacks default_member_permissions={needed} for /{cmd['name']} (Discord hides it)"
            )

    def _option_value(
        self, od: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], channel: Channel
    ) -> Any:
        t = int(od["type"])
        name = od["name"]
        tn = _opt_type_name(t)

        def bad(why: str) -> FakeDiscordUsageError:
            return FakeDiscordUsageError(f"option {name!r} ({tn}): {why}")

        if t == 3:
            if not isinstance(value, str):
                raise bad(f"expected str, got {value!r}")
            if "min_length" in od and len(value) < int(od["min_length"]):
                raise bad(f"shorter than min_length {od['min_length']}")
            if len(value) > int(od.get("max_length", 6000)):
                raise bad("longer than max_length")
            out: Any = value
        elif t == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(f"expected int, got {value!r}")
            out = value
        elif t == 10:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad(f"expected a number, got {value!r}")
            out = value
        elif t == 5:
            if not isinstance(value, bool):
                raise bad(f"expected bool, got {value!r}")
            out = value
        elif t in (6, 9) and isinstance(value, Member | User):
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(user.id)] = user.to_dict()
            guild = self.guild_of(channel)
            member = guild.members.get(user.id) if guild else None
            if member is not None:
                resolved.setdefault("members", {})[str(user.id)] = {
                    **member.to_dict(with_user=False),
                    "permissions": str(self.perms_of(user.id, channel)),
                }
            out = str(user.id)
        elif t in (8, 9) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_dict()
            out = str(value.id)
        elif t == 7 and isinstance(value, Channel):
            allowed = od.get("channel_types")
            if allowed and value.type not in allowed:
                raise bad(f"channel type {value.type} not in {allowed}")
            cd = {
                "id": str(value.id),
                "name": value.name,
                "type": value.type,
                "permissions": str(self.perms_of(self._current_user_id, value)),
                "guild_id": str(value.guild_id) if value.guild_id else None,
            }
            if value.is_thread:
                cd.update(
                    {
                        "parent_id": str(value.parent_id),
                        "owner_id": str(value.owner_id) if value.owner_id else None,
                        "thread_metadata": value.to_dict()["thread_metadata"],
                        "member_count": len(value.member_ids),
                        "message_count": value.message_count,
                    }
                )
            elif value.parent_id:
                cd["parent_id"] = str(value.parent_id)
            resolved.setdefault("channels", {})[str(value.id)] = cd
            out = str(value.id)
        elif t == 11 and isinstance(value, Attachment):
            resolved.setdefault("attachments", {})[str(value.id)] = value.to_dict()
            out = str(value.id)
        else:
            raise bad(f"cannot pass {value!r}")
        choices = od.get("choices")
        if choices:
            values = [c["value"] for c in choices]
            if out not in values:
                raise bad(f"{out!r} is not one of the choices {values}")
        if t in (4, 10):
            if "min_value" in od and out < od["min_value"]:
                raise bad(f"below min_value {od['min_value']}")
            if "max_value" in od and out > od["max_value"]:
                raise bad(f"above max_value {od['max_value']}")
        return out

    _current_user_id = 0

    def _build_options(
        self,
        option_defs: list[dict[str, Any]],
        kwargs: dict[str, Any],
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
        *,
        focused: str | None = None,
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in option_defs}
        for k in kwargs:
            if k not in by_name:
                raise FakeDiscordUsageError(f"unknown option {k!r}; the command has {sorted(by_name)}")
        out = []
        for od in option_defs:
            name = od["name"]
            if name not in kwargs or kwargs[name] is None:
                if od.get("required") and name != focused:
                    raise FakeDiscordUsageError(f"missing required option {name!r}")
                continue
            if name == focused:
                if not od.get("autocomplete"):
                    raise FakeDiscordUsageError(f"option {name!r} has no autocomplete")
                out.append({"name": name, "type": od["type"], "value": str(kwargs[name]), "focused": True})
                continue
            value = self._option_value(od, kwargs[name], resolved, channel)
            out.append({"name": name, "type": od["type"], "value": value})
        return out

    def _command_data(
        self,
        who: Member | User,
        channel: Channel,
        path: str,
        kwargs: dict[str, Any],
        *,
        focused: str | None = None,
    ) -> dict[str, Any]:
        cmd, chain, option_defs = self._resolve_path(channel, path)
        self._check_can_use(cmd, who, channel)
        user, _ = self._actor(who, channel)
        self._current_user_id = user.id
        resolved: dict[str, dict[str, Any]] = {}
        options = self._build_options(option_defs, kwargs, channel, resolved, focused=focused)
        # Wrap into subcommand (group) options.
        defs: list[dict[str, Any]] = cmd.get("options") or []
        nesting = []
        for part in chain:
            od = next(o for o in defs if o["name"] == part)
            nesting.append(od)
            defs = od.get("options") or []
        for od in reversed(nesting):
            options = [{"name": od["name"], "type": od["type"], "options": options}]
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": options}
        if resolved and focused is None:
            data["resolved"] = resolved
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return data

    # ------------------------------------------------------------------ driver: commands
    async def slash(self, who: Member | User, channel: Channel, command: str, /, **options: Any) -> InteractionHandle:
        """Invoke ``/command [group] [sub]`` as ``who`` in ``channel`` with typed options."""
        data = self._command_data(who, channel, command, options)
        handle = self._interaction(2, who, channel, data, name=command)
        self._send_interaction(handle)
        return handle

    async def autocomplete(
        self, who: Member | User, channel: Channel, command: str, option: str, typed: str, /, **others: Any
    ) -> list[dict[str, Any]]:
        """Send an autocomplete interaction for ``option`` with ``typed`` text; return the bot's choices."""
        data = self._command_data(who, channel, command, {**others, option: typed}, focused=option)
        handle = self._interaction(4, who, channel, data, name=command)
        self._send_interaction(handle)
        return await handle.wait_choices()

    async def context_menu(
        self, who: Member | User, channel: Channel, name: str, target: Member | User | Message
    ) -> InteractionHandle:
        """Invoke a user (type 2) or message (type 3) context-menu command."""
        ctype = 3 if isinstance(target, Message) else 2
        cmd = self._find_command(channel, name, ctype)
        self._check_can_use(cmd, who, channel)
        resolved: dict[str, Any] = {}
        if isinstance(target, Message):
            resolved["messages"] = {str(target.id): self.message_json(target)}
            target_id = target.id
        else:
            user = target.user if isinstance(target, Member) else target
            resolved["users"] = {str(user.id): user.to_dict()}
            guild = self.guild_of(channel)
            if guild and user.id in guild.members:
                resolved["members"] = {
                    str(user.id): {
                        **guild.members[user.id].to_dict(with_user=False),
                        "permissions": str(self.perms_of(user.id, channel)),
                    }
                }
            target_id = user.id
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": cmd["name"],
            "type": ctype,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        handle = self._interaction(2, who, channel, data, name=name)
        self._send_interaction(handle)
        return handle

    # ------------------------------------------------------------------ driver: components
    def _find_component(self, message: Message, key: str, types: tuple[int, ...]) -> dict[str, Any]:
        comps = [c for c in walk_components(message.components) if c.get("type") in types]
        for c in comps:
            if c.get("custom_id") == key:
                return c
        for c in comps:
            if c.get("label") == key:
                return c
        described = [(c.get("custom_id"), c.get("label")) for c in comps]
        raise FakeDiscordUsageError(f"no component {key!r} on message {message.id}; it has {described}")

    async def click(self, who: Member | User, message: Message, custom_id_or_label: str) -> InteractionHandle:
        """Click a button (by custom_id or label) on ``message``."""
        if message.deleted:
            raise FakeDiscordUsageError("message was deleted")
        button = self._find_component(message, custom_id_or_label, (2,))
        if button.get("disabled"):
            raise FakeDiscordUsageError(f"button {custom_id_or_label!r} is disabled")
        if button.get("style") in (5, 6) or "custom_id" not in button:
            raise FakeDiscordUsageError(f"button {custom_id_or_label!r} is a link/premium button")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        if "id" in button:
            data["id"] = button["id"]
        channel = self.get_channel(message.channel_id)
        handle = self._interaction(3, who, channel, data, message=message, name=button["custom_id"])
        handle.original = message
        self._send_interaction(handle)
        return handle

    async def select(
        self, who: Member | User, message: Message, custom_id: str, values: list[Any]
    ) -> InteractionHandle:
        """Pick ``values`` in the select menu ``custom_id`` (string values, or Members/Roles/Channels)."""
        sel = self._find_component(message, custom_id, (3, 5, 6, 7, 8))
        if sel.get("disabled"):
            raise FakeDiscordUsageError(f"select {custom_id!r} is disabled")
        channel = self.get_channel(message.channel_id)
        raw_values, resolved = self._select_values(sel, values, channel)
        data: dict[str, Any] = {"custom_id": sel["custom_id"], "component_type": sel["type"], "values": raw_values}
        if resolved:
            data["resolved"] = resolved
        handle = self._interaction(3, who, channel, data, message=message, name=sel["custom_id"])
        handle.original = message
        self._send_interaction(handle)
        return handle

    def _select_values(
        self, sel: dict[str, Any], values: list[Any], channel: Channel
    ) -> tuple[list[str], dict[str, Any]]:
        lo, hi = int(sel.get("min_values", 1)), int(sel.get("max_values", 1))
        if not lo <= len(values) <= hi:
            raise FakeDiscordUsageError(f"select {sel.get('custom_id')!r} takes {lo}..{hi} values, got {len(values)}")
        resolved: dict[str, Any] = {}
        raw: list[str] = []
        if sel["type"] == 3:
            allowed = [o["value"] for o in sel.get("options", [])]
            for v in values:
                if v not in allowed:
                    raise FakeDiscordUsageError(f"{v!r} is not an option of {sel.get('custom_id')!r}: {allowed}")
                raw.append(str(v))
            return raw, resolved
        od_type = {5: 6, 6: 8, 7: 9, 8: 7}[sel["type"]]
        od = {"name": sel.get("custom_id", "select"), "type": od_type}
        if sel.get("channel_types"):
            od["channel_types"] = sel["channel_types"]
        for v in values:
            raw.append(self._option_value(od, v, resolved, channel))
        return raw, resolved

    # ------------------------------------------------------------------ driver: modals
    async def submit_modal(
        self,
        who: Member | User,
        handle_or_modal: InteractionHandle | dict[str, Any],
        values: dict[str, Any],
        *,
        channel: Channel | None = None,
    ) -> InteractionHandle:
        """Submit the modal the bot showed (from a type-9 response), filling inputs by custom_id or label."""
        origin: InteractionHandle | None = None
        if isinstance(handle_or_modal, InteractionHandle):
            origin = handle_or_modal
            modal = await origin.wait_modal()
            channel = origin.channel
        else:
            modal = handle_or_modal
            if channel is None:
                raise FakeDiscordUsageError("pass channel= when submitting a raw modal dict")
        remaining = dict(values)
        resolved: dict[str, Any] = {}

        def fill(comp: dict[str, Any], label: str | None) -> dict[str, Any]:
            t = comp.get("type")
            key_options = [comp.get("custom_id"), label, comp.get("label")]
            provided = None
            for k in key_options:
                if k is not None and k in remaining:
                    provided = remaining.pop(k)
                    break
            out: dict[str, Any] = {"type": t}
            if "id" in comp:
                out["id"] = comp["id"]
            if t == 4:
                value = provided if provided is not None else comp.get("value") or ""
                if not isinstance(value, str):
                    raise FakeDiscordUsageError(f"text input {comp.get('custom_id')!r} takes a str")
                if comp.get("required", True) and not value:
                    raise FakeDiscordUsageError(f"text input {label or comp.get('label')!r} is required")
                if value and len(value) < int(comp.get("min_length", 0)):
                    raise FakeDiscordUsageError(f"text input {label or comp.get('label')!r} is too short")
                if len(value) > int(comp.get("max_length", 4000)):
                    raise FakeDiscordUsageError(f"text input {label or comp.get('label')!r} is too long")
                out["custom_id"] = comp["custom_id"]
                out["value"] = value
            elif t in (3, 5, 6, 7, 8):
                vals = provided if provided is not None else []
                if not isinstance(vals, list):
                    vals = [vals]
                raw, res = self._select_values(comp, vals, channel) if vals or comp.get("required", True) else ([], {})
                for k, v in res.items():
                    resolved.setdefault(k, {}).update(v)
                out["custom_id"] = comp["custom_id"]
                out["values"] = raw
            elif t == 23:  # checkbox-like / future inputs: pass through the value
                out["custom_id"] = comp.get("custom_id")
                out["value"] = provided
            return out

        comps_out: list[dict[str, Any]] = []
        for comp in modal.get("components", []):
            t = comp.get("type")
            if t == 1:
                comps_out.append({"type": 1, "components": [fill(c, None) for c in comp.get("components", [])]})
            elif t == 18:
                label_out: dict[str, Any] = {"type": 18, "component": fill(comp["component"], comp.get("label"))}
                if "id" in comp:
                    label_out["id"] = comp["id"]
                comps_out.append(label_out)
            elif t == 10:
                td: dict[str, Any] = {"type": 10}
                if "id" in comp:
                    td["id"] = comp["id"]
                comps_out.append(td)
        if remaining:
            raise FakeDiscordUsageError(f"modal {modal.get('title')!r} has no inputs {sorted(remaining)}")
        data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": comps_out}
        if resolved:
            data["resolved"] = resolved
        message = origin.message if origin is not None and origin.type == 3 else None
        handle = self._interaction(5, who, channel, data, message=message, name=modal["custom_id"])
        if message is not None:
            handle.original = message
        self._send_interaction(handle)
        return handle

    # ------------------------------------------------------------------ REST: callback
    def _handle_for(self, req: Req) -> InteractionHandle:
        h = self._by_token.get(req.params["token"])
        if h is None:
            raise unknown("Interaction") if "iid" in req.params else unknown("Webhook")
        return h

    def _interaction_metadata(self, h: InteractionHandle) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": str(h.id),
            "type": h.type,
            "user": h.user.to_dict(),
            "authorizing_integration_owners": h.payload.get("authorizing_integration_owners", {}),
        }
        if h.type == 2:
            meta["name"] = h.name
            meta["command_type"] = int(h.payload.get("data", {}).get("type", 1))
        if h.type == 3 and h.message is not None:
            meta["interacted_message_id"] = str(h.message.id)
        return meta

    def _interaction_message(
        self,
        h: InteractionHandle,
        data: dict[str, Any],
        files: list[Any],
        *,
        extra_flags: int = 0,
        validate: bool = True,
    ) -> Message:
        msg_type = {2: 20, 3: 0, 5: 0}.get(h.type, 0)
        if h.type == 2 and int(h.payload.get("data", {}).get("type", 1)) != 1:
            msg_type = 23
        perms = self.bot_perms(h.channel) if not h.channel.is_dm else self.perms_of(0, h.channel)
        msg = self.create_message(
            h.channel,
            self.bot_user,
            data,
            files,
            msg_type=msg_type,
            webhook_id=self.application_id,
            interaction=h,
            interaction_metadata=self._interaction_metadata(h),
            extra_flags=extra_flags,
            author_perms=perms,
            validate=validate,
        )
        return msg

    async def r_callback(self, req: Req) -> Any:
        h = self._handle_for(req)
        if int(req.params["iid"]) != h.id:
            raise unknown("Interaction")
        if h.responded:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        elapsed = time.monotonic() - h.created
        if elapsed > self.interaction_deadline:
            raise unknown("Interaction")
        body = req.body
        rtype = int(body.get("type", 0))
        data = body.get("data") or {}
        allowed = {
            1: {1},
            2: {4, 5, 9},
            3: {4, 5, 6, 7, 9},
            4: {8},
            5: {4, 5, 6, 7} if h.message is not None else {4, 5},
        }[h.type]
        if rtype not in allowed:
            raise ApiError(400, 40043 if rtype == 9 else 50035, f"Interaction response type {rtype} not allowed here")
        resource: dict[str, Any] | None = None
        if rtype == 4:
            h.original = self._interaction_message(h, data, req.files)
            resource = {"type": 4, "message": self.message_json(h.original)}
        elif rtype == 5:
            h.original = self._interaction_message(
                h,
                {"content": "", "flags": int(data.get("flags") or 0)},
                [],
                extra_flags=MessageFlag.LOADING,
                validate=False,
            )
            resource = {"type": 5, "message": self.message_json(h.original)}
        elif rtype == 6:
            pass
        elif rtype == 7:
            assert h.message is not None
            if h.message.ephemeral and "flags" in data:
                data = {**data, "flags": int(data["flags"]) | MessageFlag.EPHEMERAL}
            self.edit_message(h.message, data, req.files)
            h.original = h.message
            resource = {"type": 7, "message": self.message_json(h.message)}
        elif rtype == 8:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for c in choices:
                if not 1 <= len(str(c.get("name", ""))) <= 100:
                    raise form_error("data.choices", "BASE_TYPE_BAD_LENGTH", "choice name must be 1-100 characters")
                if isinstance(c.get("value"), str) and len(c["value"]) > 100:
                    raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "choice value must be 100 or fewer")
            h.choices = choices
        elif rtype == 9:
            self._validate_modal(data)
            h.modal = data
        h.response_type = rtype
        h.response_data = data
        h.response_files = list(req.files)
        h.responded_after = elapsed
        h._mark_original_baseline()
        self.touch()
        if req.query.get("with_response", "").lower() not in ("1", "true"):
            return NO_CONTENT
        orig = h.original if rtype in (4, 5, 7) else None
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(h.id),
                "type": h.type,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(orig and orig.ephemeral),
            }
        }
        if orig is not None:
            answer["interaction"]["response_message_id"] = str(orig.id)
        if resource is not None:
            answer["resource"] = resource
        return answer

    def _validate_modal(self, data: dict[str, Any]) -> None:
        if not data.get("custom_id") or not data.get("title"):
            raise form_error("data", "BASE_TYPE_REQUIRED", "modal needs custom_id and title")
        if len(data["title"]) > 45:
            raise form_error("data.title", "BASE_TYPE_MAX_LENGTH", "Must be 45 or fewer in length.")
        comps = data.get("components") or []
        if not 1 <= len(comps) <= 5:
            raise form_error("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        for c in walk_components(comps):
            if c.get("type") == 4:
                if c.get("label") and len(c["label"]) > 45:
                    raise form_error("data.components", "BASE_TYPE_MAX_LENGTH", "label must be 45 or fewer.")
            if c.get("type") == 18 and len(c.get("label", "")) > 45:
                raise form_error("data.components", "BASE_TYPE_MAX_LENGTH", "label must be 45 or fewer.")

    # ------------------------------------------------------------------ REST: webhooks (follow-ups)
    def _webhook_handle(self, req: Req) -> InteractionHandle:
        if req.int("app_id") != self.application_id:
            raise unknown("Webhook")
        h = self._handle_for(req)
        if not h.responded:
            raise unknown("Webhook")
        if self.now() - h.created_at > TOKEN_LIFETIME:
            # Docs: Interactions > Receiving and Responding: "Interaction tokens are valid for 15 minutes".
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return h

    async def r_followup(self, req: Req) -> Any:
        h = self._webhook_handle(req)
        body = req.body
        orig = h.original
        if h.response_type == 5 and orig is not None and orig.loading and not orig.deleted:
            # The first follow-up after a "thinking" defer replaces the loading message.
            payload = {k: v for k, v in body.items() if k != "flags"}
            self.edit_message(orig, payload, req.files)
            msg = orig
            if orig not in h.followups:
                h.followups.append(orig)
        else:
            msg = self._interaction_message(h, body, req.files)
            msg.type = 0
            h.followups.append(msg)
        self.touch()
        if req.query.get("wait", "").lower() not in ("1", "true"):
            return NO_CONTENT
        return self.message_json(msg)

    def _webhook_message(self, req: Req, h: InteractionHandle) -> Message:
        mid = req.params["message_id"]
        if mid == "@original":
            if h.original is None or h.original_deleted:
                raise unknown("Message")
            return h.original
        for m in h.followups:
            if str(m.id) == mid and not m.deleted:
                return m
        if h.original is not None and str(h.original.id) == mid:
            return h.original
        raise unknown("Message")

    async def r_get_webhook_message(self, req: Req) -> Any:
        h = self._webhook_handle(req)
        return self.message_json(self._webhook_message(req, h))

    async def r_edit_webhook_message(self, req: Req) -> Any:
        h = self._webhook_handle(req)
        msg = self._webhook_message(req, h)
        if msg.deleted:
            raise unknown("Message")
        self.edit_message(msg, req.body, req.files)
        return self.message_json(msg)

    async def r_delete_webhook_message(self, req: Req) -> Any:
        h = self._webhook_handle(req)
        msg = self._webhook_message(req, h)
        if msg is h.original and req.params["message_id"] == "@original":
            h.original_deleted = True
        self.delete_message_state(msg)
        return NO_CONTENT
