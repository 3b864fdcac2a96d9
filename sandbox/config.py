"""Settings for one sandbox instance, read from flags or the console's own environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
# Public on purpose: the sandbox guards nothing, it only checks the console sends a token.
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"  # noqa: S105
DEFAULT_LINE_NUMBER = "+18005550100"
DEFAULT_CONSOLE_URL = "http://127.0.0.1:8000"
DEFAULT_PORT = 8001

SMS_OUTCOMES = ("delivered", "failed", "undelivered")
# `completed` is answered by a person who presses nothing; `press`, by one who presses a key
# at the first <Gather>; `machine`, by voicemail.
CALL_OUTCOMES = ("completed", "press", "machine", "busy", "no-answer", "failed")

SMS_WEBHOOK_PATH = "/twilio/sms/"


class ConfigError(ValueError):
    """A setting has a value the sandbox cannot run with; the message names it."""


@dataclass(frozen=True)
class SandboxConfig:
    console_url: str = DEFAULT_CONSOLE_URL
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    line_number: str = DEFAULT_LINE_NUMBER
    # Numbers whose texts end failed/undelivered, or whose calls go another way than a person
    # answering and pressing nothing (see CALL_OUTCOMES).
    sms_outcomes: Mapping[str, str] = field(default_factory=dict)
    call_outcomes: Mapping[str, str] = field(default_factory=dict)
    # Pause before each simulated status change; 0 lets benchmarks run flat out.
    delay_ms: int = 50
    # Twilio retries callbacks it could not deliver; so do we, doubling the pause each time.
    callback_attempts: int = 4
    retry_backoff_ms: int = 250
    callback_timeout_s: float = 15.0
    # A call in a <Dial><Conference> stays connected until hung up or until the leg that ends
    # the conference leaves; after this long it hangs up by itself, so no test or demo waits.
    conference_max_s: float = 120.0
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT

    @property
    def sms_webhook_url(self) -> str:
        return self.console_url.rstrip("/") + SMS_WEBHOOK_PATH


def config_from_env(environ: Mapping[str, str] | None = None) -> SandboxConfig:
    """Defaults shared with the console, so both sides agree on SID, token and line."""
    env = os.environ if environ is None else environ
    return SandboxConfig(
        console_url=env.get("PUBLIC_BASE_URL") or DEFAULT_CONSOLE_URL,
        account_sid=env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
        auth_token=env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
        line_number=env.get("TWILIO_PHONE_NUMBER") or DEFAULT_LINE_NUMBER,
        port=_port_from_env(env.get("SANDBOX_PORT")),
    )


def _port_from_env(raw: str | None) -> int:
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"SANDBOX_PORT must be a port number, not {raw!r}") from None


def parse_outcome(spec: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    """Read `NUMBER:OUTCOME`, as given to --fail-number and --call-outcome."""
    number, _, outcome = spec.rpartition(":")
    if not number or outcome not in allowed:
        choices = "|".join(allowed)
        raise ConfigError(f"expected NUMBER:{choices}, got {spec!r}")
    return number, outcome
