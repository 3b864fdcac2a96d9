from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from monitoring import inbound, services
from monitoring.models import SessionStatus
from nors.asgi import application
from tests.factories import session_make
from tests.ladder import sweep

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie_for(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(user: Any = None, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(_cookie_for)(user)))
    communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    return communicator


async def _snapshot_for(user: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    communicator = await _connect(user)
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


async def _receive_type(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        event = await communicator.receive_json_from(timeout=5)
        if event["type"] == kind:
            return event


async def _drain(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Everything that arrives until the socket has been quiet for half a second."""
    received = []
    while not await communicator.receive_nothing(timeout=0.5):
        received.append(await communicator.receive_json_from())
    return received


async def test_an_anonymous_visitor_is_turned_away() -> None:
    communicator = await _connect()
    connected, _ = await communicator.connect()
    assert not connected
    assert await communicator.receive_nothing(timeout=0.2)


async def test_an_outsider_receives_nothing(outsider: Any) -> None:
    await database_sync_to_async(session_make)()
    communicator = await _connect(outsider)
    connected, code = await communicator.connect()
    assert not connected and code == 4403
    assert await communicator.receive_nothing(timeout=0.2)


async def test_a_foreign_origin_is_refused(operator: Any) -> None:
    communicator = await _connect(operator, origin=b"http://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_it_sends_the_full_state_on_connect(operator: Any) -> None:
    waiting = await database_sync_to_async(session_make)()
    mine = await database_sync_to_async(session_make)(
        phone="+15145550999", status=SessionStatus.ACTIVE, operator=operator
    )
    communicator, snapshot = await _snapshot_for(operator)
    assert snapshot["type"] == "snapshot"
    assert [s["id"] for s in snapshot["queue"]] == [waiting.pk]
    assert [s["id"] for s in snapshot["mine"]] == [mine.pk]
    assert "+15145550123" not in str(snapshot)  # numbers stay masked
    assert snapshot["queue"][0]["phone_masked"].endswith("0123")
    await communicator.disconnect()


async def test_it_pushes_a_new_waiting_session_live(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(inbound.inbound_sms_receive)(
        sid="SM" + "1" * 32, phone="+15145550123", body="hello"
    )
    event = await _receive_type(communicator, "session")
    assert event["session"]["status"] == "waiting"
    await communicator.disconnect()


async def test_it_streams_the_open_conversation(operator: Any) -> None:
    message = await database_sync_to_async(inbound.inbound_sms_receive)(
        sid="SM" + "2" * 32, phone="+15145550123", body="first"
    )
    assert message is not None
    communicator, _ = await _snapshot_for(operator)
    await communicator.send_json_to({"action": "open", "session": message.session_id})
    conversation = await _receive_type(communicator, "conversation")
    assert conversation["messages"][0]["body"] == "first"
    await database_sync_to_async(inbound.inbound_sms_receive)(
        sid="SM" + "3" * 32, phone="+15145550123", body="second"
    )
    event = await _receive_type(communicator, "message")
    assert event["message"]["body"] == "second"
    await communicator.disconnect()


def _twilio_reports(outbound_id: int, status: str) -> None:
    from telephony.models import OutboundSMS
    from telephony.outbox import callback_record as status_callback_record

    sid = f"SM{outbound_id:032d}"
    OutboundSMS.objects.filter(pk=outbound_id).update(twilio_sid=sid, status="accepted")
    status_callback_record(sid=sid, status=status)


async def test_it_streams_delivery_reports_without_reading_the_message_again(
    operator: Any,
) -> None:
    session = await database_sync_to_async(session_make)(
        status=SessionStatus.ACTIVE, operator=operator
    )
    communicator, _ = await _snapshot_for(operator)
    await communicator.send_json_to({"action": "open", "session": session.pk})
    await _receive_type(communicator, "conversation")
    reply = await database_sync_to_async(services.session_reply)(
        session_id=session.pk, user=operator, body="on my way back"
    )
    shown = await _receive_type(communicator, "message")
    assert shown["message"]["outbound_id"] == reply.outbound_id
    await database_sync_to_async(_twilio_reports)(reply.outbound_id, "delivered")
    report = await _receive_type(communicator, "delivery")
    assert report["outbound_id"] == reply.outbound_id
    assert report["delivery"]["status"] == "delivered"
    assert "on my way back" not in str(report)
    await communicator.disconnect()


async def test_it_hides_another_operators_conversation(operator: Any, operator2: Any) -> None:
    session = await database_sync_to_async(session_make)(
        status=SessionStatus.ACTIVE, operator=operator
    )
    communicator, _ = await _snapshot_for(operator2)
    await communicator.send_json_to({"action": "open", "session": session.pk})
    event = await _receive_type(communicator, "error")
    assert event["error"] == "not_visible"
    await database_sync_to_async(services.session_reply)(
        session_id=session.pk, user=operator, body="private"
    )
    # Nothing of it reaches other operators, least of all the body.
    assert "private" not in str(await _drain(communicator))
    await communicator.disconnect()


async def test_an_active_sessions_news_goes_only_to_its_operator(
    operator: Any, operator2: Any
) -> None:
    session = await database_sync_to_async(session_make)(
        status=SessionStatus.ACTIVE, operator=operator
    )
    mine, _ = await _snapshot_for(operator)
    other, _ = await _snapshot_for(operator2)
    await database_sync_to_async(services.session_reply)(
        session_id=session.pk, user=operator, body="still with you"
    )
    summary = await _receive_type(mine, "session")
    assert summary["session"]["id"] == session.pk
    # Nothing about it reaches a dashboard that neither owns it nor has it open.
    assert await _drain(other) == []
    await database_sync_to_async(services.session_end)(
        session_id=session.pk, user=operator, outcome="supported_safe"
    )
    # Its status changed: every dashboard hears of that.
    ended = await _receive_type(other, "session")
    assert (ended["session"]["id"], ended["session"]["status"]) == (session.pk, "ended")
    await mine.disconnect()
    await other.disconnect()


async def test_it_stops_streaming_once_someone_else_claims(operator: Any, operator2: Any) -> None:
    message = await database_sync_to_async(inbound.inbound_sms_receive)(
        sid="SM" + "4" * 32, phone="+15145550123", body="anyone?"
    )
    assert message is not None
    communicator, _ = await _snapshot_for(operator)
    await communicator.send_json_to({"action": "open", "session": message.session_id})
    await _receive_type(communicator, "conversation")
    await database_sync_to_async(services.session_claim)(
        session_id=message.session_id, user=operator2
    )
    claimed = await _receive_type(communicator, "session")
    assert claimed["session"]["operator"]["id"] == operator2.pk
    await database_sync_to_async(services.session_reply)(
        session_id=message.session_id, user=operator2, body="just for you"
    )
    assert "just for you" not in str(await _drain(communicator))
    await communicator.disconnect()


async def test_it_answers_a_resync_with_a_fresh_snapshot(operator: Any) -> None:
    communicator, _ = await _snapshot_for(operator)
    await database_sync_to_async(session_make)()
    await communicator.send_json_to({"action": "resync"})
    snapshot = await _receive_type(communicator, "snapshot")
    assert len(snapshot["queue"]) == 1
    await communicator.disconnect()


def _missed_checkin(operator: Any) -> int:
    from datetime import timedelta

    from django.utils import timezone

    from clients.models import Region
    from clients.plans import PlanFields
    from dispatch.models import Escalation
    from monitoring import checkins
    from monitoring import plans as plan_services
    from telephony.models import OutboundSMS

    session = session_make("+15145550777", status=SessionStatus.ACTIVE, operator=operator)
    region = Region.objects.create(name="Montréal")
    plan = PlanFields(address="4520 rue Saint-Denis", region=region.pk, response="ems")
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    checkins.monitoring_start(session_id=session.pk, user=operator, interval_seconds=60)
    # Instead of waiting (or travelling in time, which would expire the in-memory layer's
    # messages), the prompt is made due now, then it went out and its grace ended long ago.
    session.checkins.update(due_at=timezone.now())
    sweep()
    long_ago = timezone.now() - timedelta(minutes=10)
    session.checkins.update(due_at=timezone.now(), prompted_at=long_ago)
    OutboundSMS.objects.filter(session_id=session.pk).update(claimed_at=long_ago)
    sweep()
    return Escalation.objects.get().pk


async def test_a_missed_check_in_raises_the_alarm_on_the_operators_dashboard(
    operator: Any, operator2: Any, sandbox: Any
) -> None:
    mine, _ = await _snapshot_for(operator)
    other, _ = await _snapshot_for(operator2)
    alarm_id = await database_sync_to_async(_missed_checkin)(operator)
    alarm = await _receive_type(mine, "alarm")
    assert alarm["escalation"]["id"] == alarm_id
    assert alarm["escalation"]["operator_id"] == operator.pk
    assert "Saint-Denis" not in str(alarm)  # the location is only in the audited task
    # Another operator's dashboard hears of it, but it is not theirs until it widens.
    seen = [e for e in await _drain(other) if e["type"] == "alarm"]
    assert seen and not any(e["escalation"]["widened"] for e in seen)
    await mine.disconnect()
    await other.disconnect()


async def _connect_in_french(user: Any) -> WebsocketCommunicator:
    from django.conf import settings

    cookie = await database_sync_to_async(_cookie_for)(user)
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", cookie + f"; {settings.LANGUAGE_COOKIE_NAME}=fr".encode()),
        (b"accept-language", b"en-CA,en;q=0.9"),  # the cookie wins, as on the page
    ]
    communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_it_labels_alarms_in_the_language_of_the_dashboard(
    operator: Any, operator2: Any, sandbox: Any
) -> None:
    from dispatch.models import StepKind

    french = await _connect_in_french(operator)
    await _receive_type(french, "snapshot")
    english, _ = await _snapshot_for(operator2)
    # The ladder publishes in its own language (a worker has none), here English.
    await database_sync_to_async(_missed_checkin)(operator)
    alarm = (await _receive_type(french, "alarm"))["escalation"]
    first = alarm["steps"][0]
    assert first["kind"] == StepKind.ALARM
    assert first["label"] == "Alarme à la personne intervenante et nouveau texto à la personne"
    assert alarm["status_label"] == "En cours"
    seen = [e for e in await _drain(english) if e["type"] == "alarm"]
    assert seen[0]["escalation"]["steps"][0]["label"] == StepKind.ALARM.label
    # A fresh snapshot, read from the database, is in French too.
    await french.send_json_to({"action": "resync"})
    snapshot = await _receive_type(french, "snapshot")
    labels = [step["label"] for step in snapshot["alarms"][0]["steps"]]
    assert labels[0] == "Alarme à la personne intervenante et nouveau texto à la personne"
    assert "Ce que prévoit le plan" in labels
    await french.disconnect()
    await english.disconnect()


async def test_an_idle_dashboard_stays_connected_over_redis(operator: Any) -> None:
    """redis-py 8 cut idle consumers off after 5 s (django/channels_redis#422)."""
    from django.conf import settings

    if "CONFIG" not in settings.CHANNEL_LAYERS["default"]:
        pytest.skip("the in-memory channel layer has no read timeout (set REDIS_URL)")
    communicator, _ = await _snapshot_for(operator)
    assert await communicator.receive_nothing(timeout=6.5)
    await database_sync_to_async(inbound.inbound_sms_receive)(
        sid="SM" + "e" * 32, phone="+15145550888", body="hello?"
    )
    event = await _receive_type(communicator, "session")
    assert event["session"]["status"] == "waiting"
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ([(b"accept-language", b"fr-CA,fr;q=0.9,en;q=0.5")], "fr"),
        ([(b"cookie", b"django_language=en"), (b"accept-language", b"fr-CA")], "en"),
        ([(b"cookie", b"django_language=xx"), (b"accept-language", b"de, fr;q=0.2")], "fr"),
        ([(b"accept-language", b"de")], "en"),
        ([], "en"),
    ],
)
def test_it_picks_the_language_from_the_handshake(headers: list[Any], language: str) -> None:
    from monitoring.consumers import handshake_language

    assert handshake_language({"headers": headers}) == language


def test_it_relabels_the_alarms_a_monitoring_event_carries(operator: Any, sandbox: Any) -> None:
    from django.utils import translation

    from dispatch.models import Escalation
    from monitoring import selectors
    from monitoring.consumers import relabel

    escalation = Escalation.objects.get(pk=_missed_checkin(operator))
    # As a worker publishes it: built in English.
    payload = {"type": "monitoring", **selectors.monitoring_state(escalation.session)}
    with translation.override("fr"):
        shown = relabel(payload)
    assert shown["escalations"][0]["status_label"] == "En cours"
    assert shown["escalations"][0]["steps"][0]["label"].startswith("Alarme à la personne")
    assert payload["escalations"][0]["status_label"] == "Under way"
