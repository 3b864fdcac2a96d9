"""Writes for clients: codes are found again, never duplicated, and never collide."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients import codes
from clients.models import Client
from nors.lib import crypto

MAX_SUFFIX = 99
MAX_RANDOM_TRIES = 20


def _answers_index(answers: codes.Answers) -> str:
    return crypto.blind_index(codes.fingerprint_text(answers))


def client_find_by_answers(*, answers: codes.Answers) -> Client | None:
    return Client.objects.filter(answers_index=_answers_index(answers)).first()


def client_from_answers(*, answers: codes.Answers) -> tuple[Client, bool]:
    """The client these answers belong to, made if new. Returns (client, created)."""
    index = _answers_index(answers)
    base = codes.base_code(answers)
    for n in range(1, MAX_SUFFIX + 1):
        existing = Client.objects.filter(answers_index=index).first()
        if existing is not None:
            return existing, False
        code = codes.with_suffix(base, n)
        if Client.objects.filter(code=code).exists():
            # Someone else's answers share this base code: try the next suffix.
            continue
        try:
            with transaction.atomic():
                client = Client.objects.create(
                    code=code, base_code=base, answers_index=index, created_at=timezone.now()
                )
            return client, True
        except IntegrityError:
            # A concurrent request took this code, or made this very client: look again.
            continue
    raise RuntimeError(f"more than {MAX_SUFFIX} clients share the base code {base}")


def client_with_random_code() -> Client:
    for _attempt in range(MAX_RANDOM_TRIES):
        try:
            with transaction.atomic():
                return Client.objects.create(code=codes.random_code(), created_at=timezone.now())
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free random client code")
