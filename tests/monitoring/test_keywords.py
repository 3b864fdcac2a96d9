from __future__ import annotations

import pytest
from django.test import Client

from monitoring.keywords import LINE_KEYWORDS, keyword_collisions
from monitoring.models import Direction, Message
from tests.twilio_helpers import inbound_params, signed_post


def test_the_lines_keywords_never_collide_with_carrier_words() -> None:
    assert keyword_collisions(LINE_KEYWORDS) == set()


def test_a_collision_is_detected() -> None:
    assert keyword_collisions({"en": frozenset({"done", "stop"})}) == {"STOP"}


@pytest.mark.django_db
def test_a_carrier_word_is_kept_as_an_ordinary_message() -> None:
    # Twilio has already unsubscribed the sender; the operator should still see what they said.
    signed_post(Client(), "/twilio/sms/", inbound_params("STOP") | {"OptOutType": "STOP"})
    assert Message.objects.get(direction=Direction.INBOUND).body == "STOP"
