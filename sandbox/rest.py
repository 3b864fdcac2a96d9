"""The slice of Twilio's REST API the console calls: create and fetch Messages and Calls."""

from __future__ import annotations

import base64
import hmac
import re
from typing import NamedTuple
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiMapping

from sandbox.lifecycle import run_call, run_message
from sandbox.phone_numbers import MAGIC_CALL_ERRORS, MAGIC_SMS_ERRORS, MAGIC_VALID_FROM, is_e164
from sandbox.resources import API_VERSION, Call, Message, new_sid, twilio_error_body
from sandbox.runtime import RUNTIME, SandboxRuntime
from sandbox.segments import count_segments

ACCOUNT_PREFIX = f"/{API_VERSION}/Accounts/{{account_sid}}"
API_KEY = re.compile(r"SK[0-9a-fA-F]{32}")
MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")
MAX_BODY = 1600

Form = MultiMapping[object]


class Problem(NamedTuple):
    code: int
    message: str
    status: int = 400


def twilio_error(problem: Problem) -> web.Response:
    body = twilio_error_body(problem.code, problem.message, problem.status)
    response = web.json_response(body, status=problem.status)
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{ACCOUNT_PREFIX}/Messages.json", create_message),
        web.get(f"{ACCOUNT_PREFIX}/Messages/{{sid}}.json", fetch_message),
        web.post(f"{ACCOUNT_PREFIX}/Calls.json", create_call),
        web.get(f"{ACCOUNT_PREFIX}/Calls/{{sid}}.json", fetch_call),
        web.post(f"{ACCOUNT_PREFIX}/Calls/{{sid}}.json", update_call),
    ]


# Authentication


def authenticate(request: web.Request, runtime: SandboxRuntime) -> Problem | None:
    """Basic auth as twilio-python sends it: the account SID or an API key, and the token."""
    config = runtime.config
    login, password = basic_credentials(request.headers.get("Authorization", ""))
    user_ok = login == config.account_sid or API_KEY.fullmatch(login)
    token_ok = hmac.compare_digest(password.encode(), config.auth_token.encode())
    account_ok = request.match_info["account_sid"] == config.account_sid
    return None if user_ok and token_ok and account_ok else Problem(20003, "Authenticate", 401)


def basic_credentials(header: str) -> tuple[str, str]:
    """(login, password) from a Basic Authorization header; empty strings if malformed."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    login, _, password = decoded.partition(":")
    return login, password


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


# Messages


async def create_message(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    form = await request.post()
    problem = authenticate(request, runtime) or message_problem(form, runtime)
    if problem is not None:
        return twilio_error(problem)
    message = _new_message(form, runtime)
    body = runtime.state.add_message(message)
    runtime.spawn(run_message(runtime, message.sid, runtime.state.sms_outcome(message.to)))
    return web.json_response(body, status=201)


async def fetch_message(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    problem = authenticate(request, runtime)
    if problem is not None:
        return twilio_error(problem)
    body = runtime.state.message(request.match_info["sid"])
    return web.json_response(body) if body is not None else _not_found(request)


def message_problem(form: Form, runtime: SandboxRuntime) -> Problem | None:
    return (
        _to_problem(_text(form, "To"), MAGIC_SMS_ERRORS, missing=21604)
        or _sender_problem(form, runtime)
        or _body_problem(form)
        or _callback_problem(_text(form, "StatusCallback"))
    )


def _to_problem(to: str, magic: dict[str, tuple[int, str]], *, missing: int) -> Problem | None:
    if not to:
        return Problem(missing, "A 'To' phone number is required.")
    if not is_e164(to):
        return Problem(21211, f"The 'To' number {to} is not a valid phone number.")
    if to in magic:
        return Problem(*magic[to])
    return None


def _sender_problem(form: Form, runtime: SandboxRuntime) -> Problem | None:
    sender, service = _text(form, "From"), _text(form, "MessagingServiceSid")
    if not sender and not service:
        return Problem(21603, "A 'From' phone number is required.")
    if service and not MESSAGING_SERVICE.fullmatch(service):
        return Problem(21701, f"The Messaging Service Sid {service} is invalid.")
    if sender and sender not in (runtime.config.line_number, MAGIC_VALID_FROM):
        return Problem(
            21606,
            f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
            "number or short code for your account.",
        )
    return None


def _body_problem(form: Form) -> Problem | None:
    body = _text(form, "Body")
    if not body and "MediaUrl" not in form:
        return Problem(21602, "Message body is required.")
    if len(body) > MAX_BODY:
        return Problem(21617, "The concatenated message body exceeds the 1600 character limit.")
    return None


def _callback_problem(url: str) -> Problem | None:
    if url and not _is_web_url(url):
        return Problem(21609, f"The StatusCallback URL {url} is not a valid URL.")
    return None


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _new_message(form: Form, runtime: SandboxRuntime) -> Message:
    body = _text(form, "Body")
    service = _text(form, "MessagingServiceSid") or None
    # A Messaging Service picks the line's number to send from.
    sender = _text(form, "From") or runtime.config.line_number
    return Message(
        sid=new_sid("SM"),
        account_sid=runtime.config.account_sid,
        to=_text(form, "To"),
        from_=sender,
        body=body,
        num_segments=count_segments(body),
        num_media=len(form.getall("MediaUrl", [])),
        status_callback=_text(form, "StatusCallback") or None,
        messaging_service_sid=service,
        # As Twilio answers: `accepted` when a Messaging Service handles the text.
        status="accepted" if service else "queued",
    )


def _not_found(request: web.Request) -> web.Response:
    message = f"The requested resource {request.path} was not found"
    return twilio_error(Problem(20404, message, 404))


# Calls


async def create_call(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    form = await request.post()
    problem = authenticate(request, runtime) or call_problem(form, runtime)
    if problem is not None:
        return twilio_error(problem)
    call = _new_call(form, runtime)
    body = runtime.state.add_call(call)
    outcome = runtime.state.call_outcome(call.to)
    detection = _text(form, "MachineDetection") or None
    runtime.spawn(run_call(runtime, call.sid, outcome, machine_detection=detection))
    return web.json_response(body, status=201)


async def fetch_call(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    problem = authenticate(request, runtime)
    if problem is not None:
        return twilio_error(problem)
    body = runtime.state.call(request.match_info["sid"])
    return web.json_response(body) if body is not None else _not_found(request)


# Twilio: `canceled` hangs up a queued or ringing call and leaves one in progress alone;
# `completed` hangs up any call that has not ended.
NOT_ANSWERED = frozenset({"queued", "initiated", "ringing"})
HANGUPS = ("completed", "canceled")


async def update_call(request: web.Request) -> web.Response:
    """Hang up a call (Status=completed or canceled); nothing else of an update is imitated."""
    runtime = request.app[RUNTIME]
    form = await request.post()
    problem = authenticate(request, runtime)
    if problem is not None:
        return twilio_error(problem)
    sid = request.match_info["sid"]
    current = runtime.state.call(sid)
    if current is None:
        return _not_found(request)
    wanted = _text(form, "Status")
    problem = hangup_problem(str(current["status"]), wanted)
    if problem is not None:
        return twilio_error(problem)
    # A call hung up before anyone answered ends canceled, whichever status was asked for.
    final = "canceled" if current["status"] in NOT_ANSWERED else "completed"
    body = runtime.state.end_call(sid, final)
    runtime.hang_up(sid)
    return web.json_response(body or runtime.state.call(sid))


def hangup_problem(status: str, wanted: str) -> Problem | None:
    if wanted not in HANGUPS:
        return Problem(
            20001, "The sandbox can only update a call's Status to completed or canceled."
        )
    if status not in NOT_ANSWERED and status != "in-progress":
        return Problem(21220, "Call is not in-progress. Cannot update it.")
    if wanted == "canceled" and status == "in-progress":
        return Problem(21220, "Call is in-progress: canceled only ends a queued or ringing call.")
    return None


def call_problem(form: Form, runtime: SandboxRuntime) -> Problem | None:
    return (
        _to_problem(_text(form, "To"), MAGIC_CALL_ERRORS, missing=21201)
        or _caller_problem(_text(form, "From"), runtime)
        or _instructions_problem(form)
        or _callback_problem(_text(form, "StatusCallback"))
    )


def _caller_problem(sender: str, runtime: SandboxRuntime) -> Problem | None:
    if not sender:
        return Problem(21213, "No 'From' number is specified")
    if sender not in (runtime.config.line_number, MAGIC_VALID_FROM):
        return Problem(21210, f"The source phone number provided, {sender}, is not yet verified.")
    return None


def _instructions_problem(form: Form) -> Problem | None:
    url, twiml = _text(form, "Url"), _text(form, "Twiml")
    if not url and not twiml and not _text(form, "ApplicationSid"):
        return Problem(21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required.")
    if url and not _is_web_url(url):
        return Problem(21205, f"Url {url} is not a valid URL.")
    return None


def _new_call(form: Form, runtime: SandboxRuntime) -> Call:
    return Call(
        sid=new_sid("CA"),
        account_sid=runtime.config.account_sid,
        to=_text(form, "To"),
        from_=_text(form, "From"),
        url=_text(form, "Url") or None,
        twiml=_text(form, "Twiml") or None,
        status_callback=_text(form, "StatusCallback") or None,
        callback_events=_callback_events(form),
    )


def _callback_events(form: Form) -> frozenset[str]:
    # twilio-python repeats the field; hand-written clients often send one spaced list.
    values = [v for v in form.getall("StatusCallbackEvent", []) if isinstance(v, str)]
    events = frozenset(event for value in values for event in value.split())
    return events or frozenset({"completed"})
