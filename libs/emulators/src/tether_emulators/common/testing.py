"""Helpers for tests of any emulator: a clock that moves only when told, an app on a real
socket, and a sandbox in its own process (``python -m tether_emulators.<provider>``).

Real sockets are for what only they show: a client hanging up (its connection closes), webhook
deliveries over the network, the sandbox as end-to-end tests and newcomers run it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from starlette.types import ASGIApp

# How long a process or server may take to come up: only a guard against a hang, so generous
# (a busy machine is slow, never this slow).
START_DEADLINE = 120.0


class ManualClock:
    """Time that moves only when told: ``clock`` for rate-limit windows, ``now`` for dates.

    Pass ``clock=c, wall_clock=c.now`` to ``create_trello_emulator`` or
    ``create_asana_emulator``.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.elapsed = 0.0

    def __call__(self) -> float:
        return self.elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listened on a moment ago (for a child process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a real socket of 127.0.0.1; yield its base URL.

    Raises TimeoutError if it does not start within ``START_DEADLINE`` seconds.
    """
    # Bound here and handed over, so no one can take the port between choosing and serving.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(START_DEADLINE):
                # uvicorn exposes only a flag, no event, for "listening".
                while not server.started:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


@asynccontextmanager
async def sandbox_process(
    module: str, *args: str, last_line: str
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Run ``python -m module --port <free port> *args`` until the block ends (then SIGTERM).

    Yields the base URL once the control API answers, and the ``name=value`` lines printed up
    to the one named ``last_line``. Raises AssertionError if the process exits before printing
    them, TimeoutError if it is not serving within ``START_DEADLINE`` seconds.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        async with asyncio.timeout(START_DEADLINE):
            printed = await _printed(process, last_line)
            await _answering(f"{base}/_emulator")
        yield base, printed
    finally:
        process.terminate()
        await process.communicate()


async def _printed(process: asyncio.subprocess.Process, last_line: str) -> dict[str, str]:
    assert process.stdout is not None
    printed: dict[str, str] = {}
    while last_line not in printed:
        line = (await process.stdout.readline()).decode()
        assert line, "the emulator exited before printing its credentials"
        name, _, value = line.strip().partition("=")
        printed[name] = value
    return printed


async def _answering(url: str) -> None:
    """Wait until ``url`` answers: the process prints before it starts listening."""
    async with httpx.AsyncClient() as http:
        while True:
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)  # waiting for the port to open, not for an order
