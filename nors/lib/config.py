"""Reads and checks the environment, so that a mistake stops start-up with the variable's name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


def fail(name: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}: {problem}")


def read_env(base_dir: Path) -> environ.Env:
    env = environ.Env()
    dotenv = base_dir / ".env"
    if dotenv.exists():
        environ.Env.read_env(str(dotenv))
    return env


def flag(env: environ.Env, name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    truthy = {"1", "true", "yes", "on"}
    falsy = {"0", "false", "no", "off"}
    if raw.lower() not in truthy | falsy:
        raise fail(name, f"expected true or false, got {raw!r}")
    return raw.lower() in truthy


# Several processes (daphne, worker, beat) share the file: wait for locks, and take the write
# lock up front so two writers never deadlock on an upgrade. The same whether the file is the
# embedded default or named by a sqlite:// DATABASE_URL (as the test suite hands to children).
SQLITE_OPTIONS: dict[str, Any] = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database(env: environ.Env, sqlite_path: Path, *, run_id: str = "") -> dict[str, Any]:
    """run_id gives each test run its own test database, so runs side by side never collide."""
    url = env.str("DATABASE_URL", default="")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_path),
            # One file per test run: a file recreated under the same name beside a stale
            # WAL from an earlier run reads as "disk I/O error".
            "TEST": {"NAME": str(sqlite_path.with_name(f"test-{run_id}-{sqlite_path.name}"))},
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise fail("DATABASE_URL", f"unsupported or unparsable URL (scheme {scheme!r})")
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:
        raise fail("DATABASE_URL", f"cannot parse: {exc}") from exc
    if scheme != "sqlite" and not config.get("NAME"):
        raise fail("DATABASE_URL", "the URL names no database")
    if scheme == "sqlite":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    else:
        _postgres(env, config, run_id)
    # Under ASGI every request runs in its own context with its own connection: persistent
    # connections are never reused there and pile up until PostgreSQL refuses new clients.
    # Connections are reused through the pool of nors.lib.pgpool instead.
    config["CONN_MAX_AGE"] = 0
    return config


def _postgres(env: environ.Env, config: dict[str, Any], run_id: str) -> None:
    config["ENGINE"] = "nors.lib.pgpool"
    config.setdefault("OPTIONS", {})
    config["OPTIONS"]["pool_size"] = env.int("DB_POOL_SIZE", default=8)
    config["OPTIONS"]["pool_timeout"] = env.float("DB_POOL_TIMEOUT", default=10.0)
    if run_id:
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{run_id}"}


def redis_url(env: environ.Env, name: str, default: str = "") -> str:
    url = env.str(name, default=default)
    if url and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise fail(name, f"expected a redis:// or rediss:// URL, got {url!r}")
    return url


def _value(env: environ.Env, name: str, *, default: str, required: bool) -> str:
    """A default stands in only where it is right: in production these name real things."""
    value = env.str(name, default="")
    if value:
        return value
    if required:
        raise fail(name, "is required when DEBUG is off")
    return default


def http_origin(env: environ.Env, name: str, *, default: str, required: bool = False) -> str:
    url = _value(env, name, default=default, required=required).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise fail(name, f"expected an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise fail(name, "must not carry a query string or fragment")
    return url


def phone_number(env: environ.Env, name: str, *, default: str, required: bool = False) -> str:
    number = _value(env, name, default=default, required=required)
    if not E164.match(number):
        raise fail(name, f"expected an E.164 number such as +18005550100, got {number!r}")
    return number


def account_sid(env: environ.Env, name: str, *, default: str, required: bool = False) -> str:
    sid = _value(env, name, default=default, required=required)
    if not ACCOUNT_SID.match(sid):
        raise fail(name, "expected AC followed by 32 hexadecimal digits, as in Twilio's console")
    return sid


def secret(
    env: environ.Env, name: str, *, debug: bool, dev_default: str, min_length: int = 0
) -> str:
    """Never echoes the value: start-up errors end up in logs."""
    value = _value(env, name, default=dev_default, required=not debug)
    if debug:
        return value
    if len(value) < min_length:
        raise fail(name, f"must be at least {min_length} characters long, got {len(value)}")
    # Under five different characters (a run of one letter, say) is a placeholder, not a
    # random string; Django's deploy check draws the same line.
    if min_length and len(set(value)) < 5:
        raise fail(name, "looks like a placeholder: use a long random string")
    return value


def key_list(env: environ.Env, name: str, *, debug: bool, dev_default: list[str]) -> list[str]:
    """Fernet keys, each checked now: a bad one found at the first text loses that text."""
    keys = [k.strip() for k in env.str(name, default="").split(",") if k.strip()]
    if not keys and not debug:
        raise fail(name, "is required when DEBUG is off")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise fail(
                name,
                f"key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded "
                "bytes; make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')",
            ) from None
    return keys or dev_default


def seconds(env: environ.Env, name: str, *, default: float, low: float, high: float) -> float:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise fail(name, f"expected a number of seconds, got {raw!r}") from None
    if not low <= value <= high:
        raise fail(name, f"must be between {low:g} and {high:g} seconds, got {value:g}")
    return value


def optional_phone_number(env: environ.Env, name: str) -> str:
    number = env.str(name, default="")
    if number and not E164.match(number):
        raise fail(name, f"expected an E.164 number such as +15145550100, got {number!r}")
    return number
