from __future__ import annotations

from monitoring import texts


def test_the_first_reply_is_one_plain_segment_in_both_languages() -> None:
    from sandbox.segments import count_segments, is_gsm7

    for first in ("en", "fr"):
        reply = texts.render_bilingual(texts.FIRST_REPLY, first)
        assert reply.count("911") == 2
        assert is_gsm7(reply) and count_segments(reply) == 1, (first, len(reply), reply)


def test_the_first_reply_starts_in_the_lines_own_language() -> None:
    assert texts.render_bilingual(texts.FIRST_REPLY, "fr").startswith("Ligne surdose")
    assert texts.render_bilingual(texts.FIRST_REPLY, "en").startswith("Overdose response line")


ONE_SEGMENT = {
    "MONITORING_STARTED": {"minutes": "30"},
    "CHECKIN_PROMPT": {},
    "CHECKIN_REPROMPT": {},
    "MONITORING_ENDED": {},
    "SUPERVISOR_ALERT": {"session": "12345", "minutes": "3"},
    "TIMERS_STOPPED": {},
}


def test_the_lines_own_texts_are_one_plain_segment_in_each_language() -> None:
    from sandbox.segments import count_segments, is_gsm7

    for name, values in ONE_SEGMENT.items():
        for language in ("en", "fr"):
            text = texts.render(getattr(texts, name), language, **values)
            # One accent outside GSM-7 would make the whole text UCS-2: 70 characters a part.
            assert is_gsm7(text), (name, language, text)
            assert count_segments(text) == 1, (name, language, len(text))


def test_french_clients_are_told_the_french_word_to_stop() -> None:
    assert "FINI" in texts.render(texts.MONITORING_STARTED, "fr", minutes="3")
    assert "DONE" in texts.render(texts.MONITORING_STARTED, "en", minutes="3")


def test_the_contact_alert_stays_plain_text_in_each_language() -> None:
    from sandbox.segments import count_segments, is_gsm7

    for language in ("en", "fr"):
        entry = texts.render(texts.CONTACT_ENTRY, language, entry="Back door, buzzer 12")
        text = texts.render(
            texts.CONTACT_ALERT, language, where="4520 rue Saint-Denis, 3", entry=entry
        )
        assert is_gsm7(text) and count_segments(text) <= 2, (language, text)
        assert "911" in text and "4520 rue Saint-Denis" in text
