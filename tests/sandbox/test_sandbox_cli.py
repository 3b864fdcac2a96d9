"""`python -m sandbox`: flags over the console's environment, and a real start-up."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.cli import build_parser, config_from_args
from sandbox.config import DEFAULT_ACCOUNT_SID, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def configure(argv: list[str], env: dict[str, str] | None = None):
    return config_from_args(build_parser().parse_args(argv), env or {})


def test_it_defaults_to_the_consoles_local_settings() -> None:
    config = configure([])
    assert config.account_sid == DEFAULT_ACCOUNT_SID == "AC" + "0" * 32
    assert (config.auth_token, config.line_number) == ("sandbox-auth-token", "+18005550100")
    assert (config.console_url, config.port) == ("http://127.0.0.1:8000", 8001)
    assert config.sms_webhook_url == "http://127.0.0.1:8000/twilio/sms/"


def test_it_reads_the_environment() -> None:
    env = {
        "PUBLIC_BASE_URL": "http://console.test:9000/",
        "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
        "TWILIO_AUTH_TOKEN": "from-env",
        "TWILIO_PHONE_NUMBER": "+15145550100",
        "SANDBOX_PORT": "9001",
    }
    config = configure([], env)
    assert config.sms_webhook_url == "http://console.test:9000/twilio/sms/"
    assert (config.account_sid, config.auth_token) == ("AC" + "5" * 32, "from-env")
    assert (config.line_number, config.port) == ("+15145550100", 9001)


def test_flags_win_over_the_environment() -> None:
    argv = [
        "--port=9100",
        "--auth-token=flag",
        "--console-url=http://x.test",
        "--fail-number=+15145550666:undelivered",
        "--fail-number=+15145550667:failed",
        "--call-outcome=+15145550668:no-answer",
        "--call-outcome=+15145550669:press",
        "--call-outcome=+15145550670:machine",
        "--delay-ms=0",
    ]
    config = configure(argv, {"SANDBOX_PORT": "9001", "TWILIO_AUTH_TOKEN": "env"})
    assert (config.port, config.auth_token, config.delay_ms) == (9100, "flag", 0)
    assert config.sms_outcomes == {"+15145550666": "undelivered", "+15145550667": "failed"}
    assert config.call_outcomes == {
        "+15145550668": "no-answer",
        "+15145550669": "press",
        "+15145550670": "machine",
    }


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--fail-number=+15145550666:lost"], {}),
        (["--fail-number=5145550666:failed"], {}),
        (["--call-outcome=+15145550666:completed"], {}),
        (["--call-outcome=+15145550666:voicemail"], {}),
        (["--line-number=800"], {}),
        (["--delay-ms=-1"], {}),
        ([], {"SANDBOX_PORT": "eighty"}),
    ],
)
def test_it_refuses_a_bad_setting(argv: list[str], env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        configure(argv, env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_runs_as_a_module() -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "--port", str(port), "--delay-ms", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}/sandbox/api/health", process)
        assert health == {"ok": True}
    finally:
        process.terminate()
        process.wait(10)


def wait_for_health(url: str, process: subprocess.Popen[bytes]) -> object:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the sandbox did not start")


def test_it_names_the_bad_flag_on_exit() -> None:
    command = [sys.executable, "-m", "sandbox", "--fail-number", "+15145550666:lost"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "NUMBER:failed|undelivered" in result.stderr
