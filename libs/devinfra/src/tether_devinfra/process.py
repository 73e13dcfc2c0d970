"""Detached background processes tracked by pid files, and port waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    raise RuntimeError(
        f"{what} did not open {host}:{port} within {timeout:.0f}s; log tail:\n{tail}"
    )


def spawn(args: Sequence[str], log: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    """Start ``args`` as a daemon in its own session, so it outlives whoever started it.

    ``setsid -f`` forks and returns at once, and the shell writes its pid before exec'ing the
    program (which keeps that pid): we wait for the short-lived launcher, so no child of ours is
    left running un-reaped, and the pid file names the real program.
    """
    pid_file.unlink(missing_ok=True)
    with log.open("ab") as out:
        subprocess.run(
            ["setsid", "-f", "sh", "-c", 'echo $$ > "$0"; exec "$@"', str(pid_file), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            check=True,
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            return int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            time.sleep(0.02)
    raise RuntimeError(f"{args[0]} did not start (no pid file); see {log}")


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def terminate(pid_file: Path, timeout: float = 20.0) -> bool:
    pid = pid_alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid_file):
        time.sleep(0.2)
    if pid_alive(pid_file):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True
