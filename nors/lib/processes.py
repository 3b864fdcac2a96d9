"""Keeping a handful of child processes running together, and stopping them together."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

Children = dict[str, "subprocess.Popen[bytes]"]


def supervise(children: Children) -> str:
    """Waits for a signal or for a child to exit, then stops them all.

    Returns the name of the child that exited on its own, or "" after a signal.
    """
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = ""
    while not stopping and not failed:
        time.sleep(0.5)
        failed = next((name for name, p in children.items() if p.poll() is not None), "")
    stop_all(children)
    return failed


def stop_all(children: Children, timeout: float = 10.0) -> None:
    for process in children.values():
        if process.poll() is None:
            process.terminate()
    for process in children.values():
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
