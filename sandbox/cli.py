"""`python -m sandbox`: run the local Twilio sandbox."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence

from aiohttp import web

from sandbox.app import create_app
from sandbox.config import (
    CALL_OUTCOMES,
    ConfigError,
    SandboxConfig,
    config_from_env,
    parse_outcome,
)
from sandbox.phone_numbers import is_e164

logger = logging.getLogger("sandbox")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="The local Twilio sandbox: a stand-in for Twilio that never leaves "
        "this machine. Defaults come from the console's environment variables.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: $SANDBOX_PORT or 8001")
    parser.add_argument("--console-url", help="console origin; default: $PUBLIC_BASE_URL")
    parser.add_argument("--account-sid", help="default: $TWILIO_ACCOUNT_SID or AC000…")
    parser.add_argument("--auth-token", help="default: $TWILIO_AUTH_TOKEN")
    parser.add_argument("--line-number", help="the line's number; default: $TWILIO_PHONE_NUMBER")
    parser.add_argument(
        "--fail-number",
        action="append",
        default=[],
        metavar="NUMBER:failed|undelivered",
        help="texts to NUMBER end with that status (repeatable)",
    )
    parser.add_argument(
        "--call-outcome",
        action="append",
        default=[],
        metavar="NUMBER:" + "|".join(CALL_OUTCOMES[1:]),
        help="calls to NUMBER go that way: a key pressed, voicemail, or that status "
        "(repeatable; default: answered, no key)",
    )
    parser.add_argument(
        "--delay-ms", type=int, help="pause before each status change (default 50; 0 allowed)"
    )
    return parser


def config_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> SandboxConfig:
    base = config_from_env(environ)
    config = SandboxConfig(
        console_url=args.console_url or base.console_url,
        account_sid=args.account_sid or base.account_sid,
        auth_token=args.auth_token or base.auth_token,
        line_number=args.line_number or base.line_number,
        sms_outcomes=dict(parse_outcome(s, ("failed", "undelivered")) for s in args.fail_number),
        call_outcomes=dict(parse_outcome(s, CALL_OUTCOMES[1:]) for s in args.call_outcome),
        delay_ms=base.delay_ms if args.delay_ms is None else args.delay_ms,
        host=args.host,
        port=base.port if args.port is None else args.port,
    )
    check(config)
    return config


def check(config: SandboxConfig) -> None:
    if not is_e164(config.line_number):
        raise ConfigError(f"the line number must be E.164, not {config.line_number!r}")
    numbers = [*config.sms_outcomes, *config.call_outcomes]
    if bad := [number for number in numbers if not is_e164(number)]:
        raise ConfigError(f"not E.164 phone numbers: {', '.join(bad)}")
    if config.delay_ms < 0:
        raise ConfigError("--delay-ms cannot be negative")


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    origin = f"http://{config.host}:{config.port}"
    logger.info(
        "Local Twilio sandbox on %s (phone page: %s/). Texts go to %s as line %s.",
        origin,
        origin,
        config.sms_webhook_url,
        config.line_number,
    )
    web.run_app(create_app(config), host=config.host, port=config.port, print=None)
