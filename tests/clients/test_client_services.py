from __future__ import annotations

import pytest

from clients import codes, services
from clients.models import Client

pytestmark = pytest.mark.django_db


def test_a_returning_client_is_found_by_the_same_answers() -> None:
    client, created = services.client_from_answers(answers=codes.Answers("Maryse", 7, 12))
    assert created and client.code == "MA0712"
    again, created_again = services.client_from_answers(answers=codes.Answers(" MARYSE", 7, 12))
    assert (again, created_again) == (client, False)
    assert services.client_find_by_answers(answers=codes.Answers("maryse", 7, 12)) == client


def test_different_people_with_the_same_base_code_get_different_codes() -> None:
    first, _ = services.client_from_answers(answers=codes.Answers("Maryse", 7, 12))
    second, _ = services.client_from_answers(answers=codes.Answers("Martine", 7, 12))
    third, _ = services.client_from_answers(answers=codes.Answers("Marc", 7, 12))
    assert [first.code, second.code, third.code] == ["MA0712", "MA0712-2", "MA0712-3"]
    found = services.client_find_by_answers(answers=codes.Answers("Martine", 7, 12))
    assert found == second


def test_answers_are_never_stored_in_plaintext() -> None:
    client, _ = services.client_from_answers(answers=codes.Answers("Maryse", 7, 12))
    stored = Client.objects.values().get(pk=client.pk)
    assert "maryse" not in str(stored).lower()


def test_a_client_who_prefers_not_to_answer_gets_a_random_code() -> None:
    made = {services.client_with_random_code().code for _ in range(50)}
    assert len(made) == 50
    assert Client.objects.filter(answers_index__isnull=True).count() == 50
