"""Moving personal data at rest onto the newest encryption key.

Reads and writes the stored tokens directly, so a row is rewritten only when its token is not
already under the newest key, and no plaintext ever passes through model code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from nors.lib import crypto
from nors.lib.fields import EncryptedTextField


@dataclass(frozen=True)
class EncryptedColumns:
    table: str
    pk: str
    columns: tuple[str, ...]


def encrypted_columns() -> list[EncryptedColumns]:
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            pk = model._meta.pk
            assert isinstance(pk, models.Field)
            columns = tuple(str(f.column) for f in fields)
            found.append(EncryptedColumns(model._meta.db_table, str(pk.column), columns))
    return found


def _rotated(token: str | None, newest: Fernet) -> str | None:
    """The token under the newest key, or None when it already is (or is empty)."""
    if token is None:
        return None
    try:
        newest.decrypt(token.encode("ascii"))
        return None
    except InvalidToken:
        return crypto.fernet().rotate(token.encode("ascii")).decode("ascii")


def _batches(spec: EncryptedColumns, size: int) -> Iterator[list[tuple[Any, ...]]]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in (spec.pk, *spec.columns))
    last: Any = None
    while True:
        where = f"WHERE {quote(spec.pk)} > %s " if last is not None else ""
        # Only names from the models' own metadata go into the text; values are parameters.
        sql = (
            f"SELECT {columns} FROM {quote(spec.table)} {where}"  # noqa: S608
            f"ORDER BY {quote(spec.pk)} LIMIT {int(size)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [last] if last is not None else [])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _rewrite(spec: EncryptedColumns, rows: list[tuple[Any, ...]], newest: Fernet) -> int:
    quote = connection.ops.quote_name
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for pk, *tokens in rows:
            new = [_rotated(t, newest) if isinstance(t, str) else None for t in tokens]
            updates = [(c, v) for c, v in zip(spec.columns, new, strict=True) if v is not None]
            values: list[Any] = [v for _, v in updates]
            if not updates:
                continue
            assignments = ", ".join(f"{quote(c)} = %s" for c, _ in updates)
            cursor.execute(
                f"UPDATE {quote(spec.table)} SET {assignments} WHERE {quote(spec.pk)} = %s",  # noqa: S608
                [*values, pk],
            )
            changed += 1
    return changed


def personal_data_reencrypt(*, batch_size: int = 500) -> dict[str, int]:
    """Re-encrypts every encrypted column under the first key of FIELD_ENCRYPTION_KEYS.

    Returns the number of rows rewritten per table.
    """
    newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    counts: dict[str, int] = {}
    for spec in encrypted_columns():
        counts[spec.table] = sum(
            _rewrite(spec, rows, newest) for rows in _batches(spec, batch_size)
        )
    return counts
