"""Personal data at rest: encrypted in every table, readable across a key rotation."""

from __future__ import annotations

import glob
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client

from clients.models import PlanContact, PlanVersion, Region
from clients.plans import Contact, PlanFields
from monitoring import plans as plan_services
from monitoring import services
from monitoring.models import Message, PlanDraft, Session
from tests.twilio_helpers import inbound_params, signed_post

PHONE = "+15145550123"
SECRETS = [
    "+15145550123",
    "5145550123",
    "514-555-0123",
    "I'm at 42 Rue Sainte-Catherine, apt 7",
    "Door is unlocked, buzzer 7042",
    "Text my sister Maryse if I stop answering",
    # The plan: location, entry notes, contact, what they use, medical notes.
    "4520 rue Saint-Denis",
    "Back door by the bike rack",
    "Ghislaine Tremblay",
    "+15145550188",
    "5145550188",
    "514-555-0188",
    "stepmother",
    "half a point of fentanyl",
    "Takes methadone, 80 mg",
    "Her roommate Kim",
    "Shut the dog in the bedroom",
    # Why the operator needed the full number.
    "Calling her back at Ghislaine's flat",
]
CONTACT = Contact(
    name="Ghislaine Tremblay", phone="514-555-0188", relationship="stepmother", agreed=True
)


def _conversation(operator: Any) -> Session:
    client = Client()
    signed_post(client, "/twilio/sms/", inbound_params(SECRETS[3], phone=PHONE))
    session = Session.objects.get()
    services.session_claim(session_id=session.pk, user=operator)
    services.session_reply(session_id=session.pk, user=operator, body=SECRETS[4])
    signed_post(client, "/twilio/sms/", inbound_params(SECRETS[5], phone=PHONE))
    plan = PlanFields(
        address="4520 rue Saint-Denis",
        unit="3",
        entry="Back door by the bike rack",
        landmarks="Near the park",
        region=Region.objects.create(name="Montréal").pk,
        response="both",
        contacts=(CONTACT,),
        substances="half a point of fentanyl",
        others_nearby="Her roommate Kim",
        medical_notes="Takes methadone, 80 mg",
        practical_notes="Shut the dog in the bedroom",
    )
    plan_services.plan_draft_save(session_id=session.pk, user=operator, fields=plan)
    plan_services.plan_version_save(session_id=session.pk, user=operator, fields=plan, ready=True)
    plan_services.plan_draft_save(session_id=session.pk, user=operator, fields=plan)
    services.session_phone_reveal(session_id=session.pk, user=operator, reason=SECRETS[-1])
    return session


def _every_text_cell() -> str:
    """Every row of every table, read with plain SQL rather than through the models."""
    quote = connection.ops.quote_name
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
def test_no_table_holds_a_number_or_a_message_in_plaintext(operator: Any) -> None:
    session = _conversation(operator)
    assert Message.objects.filter(session=session).count() == 4  # really written
    assert PlanVersion.objects.count() == PlanContact.objects.count() == PlanDraft.objects.count()
    dump = _every_text_cell()
    assert "gAAAAA" in dump  # Fernet tokens: the encrypted values are there
    for secret in SECRETS:
        assert secret not in dump, secret


def _raw_dump() -> bytes:
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        return b"".join(Path(p).read_bytes() for p in glob.glob(name + "*"))
    pg_dump = shutil.which("pg_dump") or next(
        iter(glob.glob("/usr/lib/postgresql/*/bin/pg_dump")), None
    )
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    cfg = connection.settings_dict
    command = [
        pg_dump,
        "-h",
        cfg["HOST"] or "127.0.0.1",
        "-p",
        str(cfg["PORT"] or 5432),
        "-U",
        cfg["USER"] or "postgres",
        cfg["NAME"],
    ]
    env = {"PGPASSWORD": cfg.get("PASSWORD") or ""}
    return subprocess.run(command, capture_output=True, check=True, env=env).stdout


@pytest.mark.django_db(transaction=True)
def test_a_raw_dump_of_the_database_holds_no_plaintext(operator: Any) -> None:
    _conversation(operator)
    dump = _raw_dump()
    assert b"monitoring_message" in dump  # the dump really holds the tables
    for secret in SECRETS:
        assert secret.encode() not in dump, secret


OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _token(message: Message) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM monitoring_message WHERE id = %s", [message.pk])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_key_rotation_keeps_old_data_readable_and_moves_it(operator: Any, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    _conversation(operator)
    message = Message.objects.filter(direction="in").first()
    assert message is not None

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert Message.objects.get(pk=message.pk).body == SECRETS[3]
    Fernet(OLD.encode()).decrypt(_token(message).encode())  # still under the old key

    out = io.StringIO()
    call_command("reencrypt_personal_data", stdout=out)
    assert "monitoring_message: 4 rows re-encrypted" in out.getvalue()
    assert "clients_planversion: 1 rows re-encrypted" in out.getvalue()
    assert "clients_plancontact: 1 rows re-encrypted" in out.getvalue()
    assert Fernet(NEW.encode()).decrypt(_token(message).encode()).decode() == SECRETS[3]

    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    assert Message.objects.get(pk=message.pk).body == SECRETS[3]
    assert Session.objects.get().client_phone == PHONE
    assert PlanVersion.objects.get().address == "4520 rue Saint-Denis"
    assert PlanContact.objects.get().phone == "+15145550188"

    again = io.StringIO()
    call_command("reencrypt_personal_data", stdout=again)
    assert "done: 0 rows in all" in again.getvalue()


@pytest.mark.django_db
def test_data_under_a_key_no_longer_configured_fails_loudly(operator: Any, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    _conversation(operator)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        list(Message.objects.all())
