from __future__ import annotations

from monitoring import texts


def test_the_auto_reply_is_one_sms_segment_in_each_language() -> None:
    from sandbox.segments import count_segments

    for language in ("en", "fr"):
        reply = texts.render(texts.AUTO_REPLY, language)
        assert "911" in reply
        assert count_segments(reply) == 1, (language, reply)


def test_the_auto_reply_is_french_for_a_french_session() -> None:
    assert texts.render(texts.AUTO_REPLY, "fr").startswith("Bonjour")
