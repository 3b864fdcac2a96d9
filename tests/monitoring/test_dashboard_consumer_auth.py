"""An open dashboard socket follows its account: deactivated or re-passworded, it closes."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User

from monitoring.models import SessionStatus
from tests.factories import session_make
from tests.monitoring.test_dashboard_consumer import _receive_type, _snapshot_for

pytestmark = pytest.mark.django_db(transaction=True)


async def _closed_with(communicator: WebsocketCommunicator) -> int:
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return int(output["code"])


def _deactivate(user: User) -> None:
    user.is_active = False
    user.save()


def _change_password(user: User) -> None:
    user.set_password("a-new-long-passphrase-42")
    user.save()


async def test_it_closes_the_socket_when_the_account_is_deactivated(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(_deactivate)(operator)
    assert await _closed_with(communicator) == 4403


async def test_it_closes_the_socket_when_the_password_changes(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(_change_password)(operator)
    assert await _closed_with(communicator) == 4403


async def test_it_keeps_the_socket_when_the_name_changes(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    operator.first_name = "Alicia"
    await database_sync_to_async(operator.save)()
    await communicator.send_json_to({"action": "resync"})
    assert (await _receive_type(communicator, "snapshot"))["type"] == "snapshot"
    await communicator.disconnect()


def _deactivate_quietly(user: User) -> None:
    """As if the close event was lost: an update() sends no signal."""
    User.objects.filter(pk=user.pk).update(is_active=False)


def _change_password_quietly(user: User) -> None:
    User.objects.filter(pk=user.pk).update(password=make_password("another-passphrase-77"))


async def test_it_refuses_to_open_a_conversation_for_a_deactivated_account(
    operator: Any,
) -> None:
    session = await database_sync_to_async(session_make)(
        status=SessionStatus.ACTIVE, operator=operator
    )
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(_deactivate_quietly)(operator)
    await communicator.send_json_to({"action": "open", "session": session.pk})
    assert await _closed_with(communicator) == 4403


async def test_it_sends_no_snapshot_on_resync_after_a_password_change(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(_change_password_quietly)(operator)
    await communicator.send_json_to({"action": "resync"})
    assert await _closed_with(communicator) == 4403


async def test_it_refuses_a_resync_once_the_operator_role_is_gone(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(operator.groups.clear)()
    await communicator.send_json_to({"action": "resync"})
    assert await _closed_with(communicator) == 4403
