"""The dashboard's websocket. Authenticate, check permission, snapshot, then forward events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.translation.trans_real import parse_accept_lang_header

from monitoring import selectors
from monitoring.hooks import Hook, hooks
from monitoring.models import Session
from nors.lib import realtime, roles

# The account was deactivated, lost the operator role or changed its password.
CLOSE_NOT_ALLOWED = 4403


def _supported(code: str) -> str | None:
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def handshake_language(scope: dict[str, Any]) -> str:
    """The language the page was served in: the language cookie, then Accept-Language, as
    LocaleMiddleware chose it for the page that opened this socket."""
    headers = dict(scope.get("headers", ()))
    cookies = scope.get("cookies") or parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    wanted = [cookies.get(settings.LANGUAGE_COOKIE_NAME, "")]
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    wanted += [code for code, _q in parse_accept_lang_header(accept) if code != "*"]
    for code in wanted:
        if code and (supported := _supported(code)):
            return supported
    return _supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE


def relabel(payload: dict[str, Any]) -> dict[str, Any]:
    """A forwarded event with its labels in the active language: the publisher (often a
    worker) built them in its own. The apps that own the labels rebuild them from their keys."""
    for handler in hooks.handlers(Hook.RELABEL):
        payload = handler(payload=payload)
    return payload


@database_sync_to_async
def _auth_hash(user: Any) -> str | None:
    """The session auth hash of a user who may use the console, else None."""
    if not user.is_authenticated or not user.is_active or not roles.is_operator(user):
        return None
    return str(user.get_session_auth_hash())


@database_sync_to_async
def _still_allowed(user_id: int, auth_hash: str) -> bool:
    """Reads the account again: a socket outlives the request that checked it at connect."""
    user = get_user_model().objects.filter(pk=user_id).first()
    return (
        user is not None
        and user.is_active
        and roles.is_operator(user)
        and constant_time_compare(user.get_session_auth_hash(), auth_hash)
    )


@database_sync_to_async
def _snapshot(user: Any, language: str) -> dict[str, Any]:
    with translation.override(language):
        return selectors.dashboard_snapshot(user=user)


@database_sync_to_async
def _visible(user: Any, session_id: int) -> bool:
    session = Session.objects.filter(pk=session_id).first()
    return session is not None and selectors.session_visible_to(session=session, user=user)


@database_sync_to_async
def _conversation(user: Any, session_id: int, language: str) -> dict[str, Any] | None:
    session = Session.objects.select_related("operator").filter(pk=session_id).first()
    if session is None or not selectors.session_visible_to(session=session, user=user):
        return None
    with translation.override(language):
        return selectors.conversation(session=session)


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        auth_hash = None if self.user is None else await _auth_hash(self.user)
        if auth_hash is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.auth_hash = auth_hash
        self.language = handshake_language(self.scope)
        self.open_session: int | None = None
        self.groups_joined: set[str] = set()
        await self.accept()
        await self._join(realtime.DASHBOARD_GROUP)
        await self._join(realtime.user_group(self.user.pk))
        await self._send_snapshot()

    async def _allowed(self) -> bool:
        if await _still_allowed(self.user.pk, self.auth_hash):
            return True
        await self.close(code=CLOSE_NOT_ALLOWED)
        return False

    async def _send_snapshot(self) -> None:
        if await self._allowed():
            await self.send_json(await _snapshot(self.user, self.language))

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def _leave(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.discard(group)

    async def disconnect(self, code: int) -> None:
        for group in list(getattr(self, "groups_joined", ())):
            await self._leave(group)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "resync":
            await self._send_snapshot()
            if self.open_session is not None:
                await self._open(self.open_session)
        elif action == "open":
            await self._open(content.get("session"))

    async def _open(self, session_id: Any) -> None:
        if not await self._allowed():
            return
        if not isinstance(session_id, int):
            await self.send_json({"type": "error", "error": "bad_session"})
            return
        if self.open_session is not None and self.open_session != session_id:
            await self._leave(realtime.session_group(self.open_session))
            self.open_session = None
        # Permission first: only then join the group that carries message bodies. Join before
        # reading, so nothing published between the read and the join is lost.
        if not await _visible(self.user, session_id):
            await self._not_visible(session_id)
            return
        await self._join(realtime.session_group(session_id))
        conversation = await _conversation(self.user, session_id, self.language)
        if conversation is None:
            await self._leave(realtime.session_group(session_id))
            await self._not_visible(session_id)
            return
        self.open_session = session_id
        await self.send_json(conversation)

    async def _not_visible(self, session_id: int) -> None:
        await self.send_json({"type": "error", "error": "not_visible", "session": session_id})

    def _concerns_open_session(self, payload: dict[str, Any]) -> bool:
        return payload.get("type") == "session" and payload["session"]["id"] == self.open_session

    async def _still_visible(self) -> bool:
        return self.open_session is not None and (
            await _conversation(self.user, self.open_session, self.language) is not None
        )

    async def dashboard_events(self, event: dict[str, Any]) -> None:
        for payload in event["payloads"]:
            if payload.get("type") == realtime.CLOSE_EVENT:
                await self.close(code=CLOSE_NOT_ALLOWED)
                return
            # A claim or transfer can take a conversation out of this operator's sight.
            if self._concerns_open_session(payload) and not await self._still_visible():
                await self._leave(realtime.session_group(self.open_session))  # type: ignore[arg-type]
                self.open_session = None
            in_session = payload.get("type") in ("message", "delivery")
            if in_session and payload["session_id"] != self.open_session:
                # Left over from a group this dashboard has just left.
                continue
            with translation.override(self.language):
                payload = relabel(payload)
            await self.send_json(payload)
