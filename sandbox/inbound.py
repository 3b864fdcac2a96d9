"""A text from the simulated phone: Twilio's incoming-message webhook to the console."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sandbox.config import SandboxConfig
from sandbox.lifecycle import run_message
from sandbox.phone_numbers import country_of
from sandbox.resources import API_VERSION, JSON, InboundText, Message, new_sid
from sandbox.runtime import SandboxRuntime
from sandbox.segments import count_segments
from sandbox.twiml import twiml_root
from sandbox.webhooks import Answer, Webhook, record, send_once

MEDIA_CONTENT_TYPE = "image/png"


async def send_text(
    runtime: SandboxRuntime, phone: str, body: str, *, media_count: int, media_base: str
) -> JSON:
    """Text the line; answers {"sid", "console_status", "console_error", "message"}."""
    text, answer = await _text_the_line(runtime, phone, body, media_count, media_base)
    return {
        "sid": text.sid,
        "console_status": answer.status,
        "console_error": answer.error,
        "message": runtime.state.phone_entry(text.sid),
    }


async def _text_the_line(
    runtime: SandboxRuntime, phone: str, body: str, media_count: int, media_base: str
) -> tuple[InboundText, Answer]:
    """Post the webhook once, as Twilio does; a failure shows on the phone, not a retry."""
    config = runtime.config
    text = InboundText(
        sid=new_sid("SM" if media_count == 0 else "MM"),
        phone=phone,
        line=config.line_number,
        body=body,
        num_segments=count_segments(body),
        num_media=media_count,
    )
    runtime.state.add_inbound(text)
    params = inbound_params(config, text, media_base)
    hook = Webhook("incoming-message", text.sid, "received", config.sms_webhook_url, params)
    answer = await send_once(runtime.session, config, hook)
    record(runtime.state, hook, 1, answer, last=True)
    runtime.state.record_console_answer(text.sid, answer.status, answer.error)
    if answer.ok:
        queue_twiml_replies(runtime, text, answer)
    return text, answer


def inbound_params(
    config: SandboxConfig, text: InboundText, media_base: str
) -> list[tuple[str, str]]:
    params = [
        ("ToCountry", country_of(text.line)),
        ("SmsMessageSid", text.sid),
        ("NumMedia", str(text.num_media)),
        ("SmsSid", text.sid),
        ("SmsStatus", "received"),
        ("Body", text.body),
        ("FromCountry", country_of(text.phone)),
        ("To", text.line),
        ("NumSegments", str(text.num_segments)),
        ("MessageSid", text.sid),
        ("AccountSid", config.account_sid),
        ("From", text.phone),
        ("ApiVersion", API_VERSION),
    ]
    for index in range(text.num_media):
        media_url = f"{media_base}/sandbox/media/{text.sid}/{index}"
        params += [
            (f"MediaUrl{index}", media_url),
            (f"MediaContentType{index}", MEDIA_CONTENT_TYPE),
        ]
    return params


def queue_twiml_replies(runtime: SandboxRuntime, text: InboundText, answer: Answer) -> None:
    """Send each <Message> the console answered with, as Twilio would."""
    for to, body, callback in twiml_messages(answer.body):
        message = Message(
            sid=new_sid("SM"),
            account_sid=runtime.config.account_sid,
            to=to or text.phone,
            from_=text.line,
            body=body,
            num_segments=count_segments(body),
            direction="outbound-reply",
            status_callback=callback,
        )
        runtime.state.add_message(message)
        outcome = runtime.state.sms_outcome(message.to)
        runtime.spawn(run_message(runtime, message.sid, outcome))


def twiml_messages(document: str) -> list[tuple[str | None, str, str | None]]:
    """(to, body, statusCallback) for each <Message>; nothing if the answer isn't TwiML."""
    root = twiml_root(document)
    if root is None:
        return []
    return [_twiml_message(element) for element in root.iter("Message")]


def _twiml_message(element: ET.Element) -> tuple[str | None, str, str | None]:
    body_element = element.find("Body")
    source = element if body_element is None else body_element
    body = (source.text or "").strip()
    callback = element.get("statusCallback") or element.get("action")
    return element.get("to"), body, callback
