"""`python -m nors.serve` for real: several daphne children on one socket, one of them killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from django.test import Client

from tests import support

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 3


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in text.split()}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> str:
    """The inode of the accepted socket whose peer is the client's port."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            return inode
    raise AssertionError(f"no server socket for client port {client_port}")


def _holder(pid: int, server_port: int, client_port: int) -> int:
    inode = _server_side_inode(server_port, client_port)
    return next(child for child in _children(pid) if inode in _socket_inodes(child))


@contextmanager
def _serving(port: int) -> Iterator[Any]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("several workers need REDIS_URL")
    env = support.child_env(REDIS_URL=redis_url)
    command = [sys.executable, "-m", "nors.serve", "--port", str(port), "--workers", str(WORKERS)]
    with support.process(command, env, port=port, log_name="serve") as proc:
        support.wait_until(lambda: len(_children(proc.pid)) == WORKERS, timeout=30)
        yield proc


def _healthy(url: str) -> bool:
    return support.http_get(f"{url}/healthz/") == b"ok\n"


def _cookie_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


async def _kill_another_child_while_a_dashboard_is_open(
    proc: Any, port: int, cookie: str
) -> tuple[int, int, set[int]]:
    url = f"http://127.0.0.1:{port}"
    headers = {"Origin": url, "Cookie": f"sessionid={cookie}"}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{url}/ws/dashboard/", headers=headers) as ws,
    ):
        assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        client_port = ws.get_extra_info("sockname")[1]
        holder = _holder(proc.pid, port, client_port)
        victim = next(child for child in _children(proc.pid) if child != holder)
        os.kill(victim, signal.SIGKILL)
        assert await asyncio.to_thread(_healthy, url)  # while the child is being replaced
        await asyncio.to_thread(
            support.wait_until,
            lambda: len(_children(proc.pid) - {victim}) == WORKERS,
            timeout=30,
        )
        assert await asyncio.to_thread(_healthy, url)
        assert not ws.closed
        await ws.send_json({"action": "resync"})
        assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
        return holder, victim, _children(proc.pid)


def test_it_replaces_a_killed_child_and_the_others_keep_serving(operator: Any) -> None:
    port = support.free_port()
    cookie = _cookie_for(operator)
    with _serving(port) as proc:
        holder, victim, after = asyncio.run(
            _kill_another_child_while_a_dashboard_is_open(proc, port, cookie)
        )
        assert victim not in after and holder in after and len(after) == WORKERS
        assert proc.poll() is None


def test_it_stops_every_child_on_sigterm() -> None:
    port = support.free_port()
    with _serving(port) as proc:
        children = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        for child in children:
            assert not Path(f"/proc/{child}").exists() or "zombie" in _state(child)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/status").read_text().lower()


def test_it_gives_up_on_a_child_that_keeps_dying_at_start_up(tmp_path: Path) -> None:
    env = support.child_env(DJANGO_SETTINGS_MODULE="nors.no_such_settings")
    command = [sys.executable, "-m", "nors.serve", "--port", str(support.free_port())]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=support.ROOT, stdout=out, stderr=out)
        try:
            assert proc.wait(timeout=60) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "died at start-up 5 times in a row" in log.read_text()
