# The reason for seeing a full number was kept in plaintext, in the access row and in the
# "phone_revealed" event. Both are encrypted or dropped here, in place.

from django.db import migrations

import nors.lib.fields
from nors.lib import crypto


def _encrypt_reasons(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, reason FROM monitoring_personaldataaccess")
        for pk, reason in cursor.fetchall():
            cursor.execute(
                "UPDATE monitoring_personaldataaccess SET reason = %s WHERE id = %s",
                [crypto.encrypt(reason or ""), pk],
            )


def _drop_reasons_from_events(apps, schema_editor):
    # Events are append-only through the ORM; this one-off repair goes under it, on purpose.
    import json

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, data FROM monitoring_sessionevent WHERE kind = 'phone_revealed'")
        for pk, data in cursor.fetchall():
            value = json.loads(data) if isinstance(data, str) else (data or {})
            value.pop("reason", None)
            cursor.execute(
                "UPDATE monitoring_sessionevent SET data = %s WHERE id = %s",
                [json.dumps(value), pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="personaldataaccess",
            name="reason",
            field=nors.lib.fields.EncryptedTextField(verbose_name="reason"),
        ),
        migrations.RunPython(_encrypt_reasons, migrations.RunPython.noop),
        migrations.RunPython(_drop_reasons_from_events, migrations.RunPython.noop),
    ]
