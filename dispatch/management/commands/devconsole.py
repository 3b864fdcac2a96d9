"""Starts the whole console on one machine: ASGI server, Celery worker and beat, and sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dispatch.demo import demo_accounts_seed, demo_regions_seed
from nors.lib.processes import Children, supervise


class Command(BaseCommand):
    help = "Runs the console, a Celery worker and beat, and the local Twilio sandbox."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8001)
        parser.add_argument("--no-sandbox", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("devconsole is for trying the console: use docker-compose.yml")
        call_command("migrate", interactive=False, verbosity=0)
        logins = demo_accounts_seed()
        demo_regions_seed()
        env = self._child_env(options)
        children = self._start(options, env)
        self._announce(options, logins)
        self._supervise(children)

    def _child_env(self, options: dict[str, Any]) -> dict[str, str]:
        env = dict(os.environ)
        host, port, sandbox_port = options["host"], options["port"], options["sandbox_port"]
        env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
        env.setdefault("TWILIO_API_BASE_URL", f"http://{host}:{sandbox_port}")
        env.setdefault("SANDBOX_PORT", str(sandbox_port))
        # The demo supervisor on call is a sandbox number too.
        env.setdefault("SUPERVISOR_ON_CALL_PHONE", "+15145559002")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _commands(self, options: dict[str, Any]) -> dict[str, list[str]]:
        host, port, sandbox_port = options["host"], options["port"], options["sandbox_port"]
        # Warnings only from Celery: beat's sweeper runs every few seconds.
        commands = {
            "web": f"-m daphne -b {host} -p {port} nors.asgi:application",
            "worker": "-m celery -A nors worker --loglevel WARNING --concurrency 2",
            "beat": "-m celery -A nors beat --loglevel WARNING",
            # Watches beat's timer sweeper from outside Celery.
            "watchdog": "manage.py timer_watchdog",
        }
        if not options["no_sandbox"]:
            commands["sandbox"] = f"-m sandbox --host {host} --port {sandbox_port}"
        return {name: [sys.executable, *args.split()] for name, args in commands.items()}

    def _start(self, options: dict[str, Any], env: dict[str, str]) -> Children:
        children = {}
        for name, command in self._commands(options).items():
            children[name] = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)  # noqa: S603
        return children

    def _announce(self, options: dict[str, Any], logins: Any) -> None:
        host, port = options["host"], options["port"]
        self.stdout.write(self.style.SUCCESS(f"\nConsole:  http://{host}:{port}/"))
        if not options["no_sandbox"]:
            self.stdout.write(
                self.style.SUCCESS(f"Sandbox phone: http://{host}:{options['sandbox_port']}/")
            )
        self.stdout.write("Demo logins:")
        for login in logins:
            self.stdout.write(f"  {login.role:<10} {login.username} / {login.password}")
        self.stdout.write("Press Ctrl-C to stop everything.\n")

    def _supervise(self, children: Children) -> None:
        failed = supervise(children)
        if failed:
            raise CommandError(f"{failed} stopped unexpectedly; stopped the rest")
