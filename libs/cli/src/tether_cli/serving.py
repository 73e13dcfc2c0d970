"""Running uvicorn servers inside a command that owns its start-up and shut-down.

uvicorn installs its own SIGINT/SIGTERM handlers for each server it starts, stops that server,
then raises the signal again. With two servers in one process only the last one started hears
Ctrl-C; and the raised-again signal reaches asyncio, which cancels the command half way through
closing its databases and bus and ends in a KeyboardInterrupt traceback. Here the command
listens for the signals itself and stops every server, then closes the rest in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import uvicorn

T = TypeVar("T")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PortInUse(Exception):
    """A port a command needs is taken: say which, and how to choose another."""


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its command (see ``StopSignal``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, *, what: str, setting: str) -> socket.socket:
    """The listening socket, bound before any server starts: a taken port is one clear error
    instead of a server that dies inside its task after the others started."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUse(
            f"{what} cannot listen on {host}:{port} ({error.strerror}); stop what uses it or "
            f"set {setting} to another port"
        ) from None
    return sock


class StopSignal:
    """Ctrl-C (SIGINT) or SIGTERM asks the command to stop; a second one also drops open
    connections instead of waiting for them."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.servers: list[uvicorn.Server] = []

    def __enter__(self) -> StopSignal:
        loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, self._on_signal)
        return self

    def __exit__(self, *_: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        if self.requested.is_set():
            for server in self.servers:
                server.force_exit = True
        self.requested.set()
        for server in self.servers:
            server.should_exit = True

    async def unless_stopped(self, work: Awaitable[T]) -> T | None:
        """The result of ``work``, or None once a stop was asked for first (work cancelled)."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self.requested.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None


class Servers:
    """uvicorn servers started together and stopped together, each on a socket bound first.

    Entering starts them; ``started()`` waits until every one accepts connections; leaving
    stops them all, waits for them, and closes their sockets.
    """

    def __init__(self, stop: StopSignal, servers: list[tuple[QuietServer, socket.socket]]):
        self._stop = stop
        self._servers = servers
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Servers:
        self._stop.servers.extend(server for server, _ in self._servers)
        self._tasks = [
            asyncio.create_task(server.serve(sockets=[sock])) for server, sock in self._servers
        ]
        return self

    async def __aexit__(self, *_: object) -> None:
        for server, _sock in self._servers:
            server.should_exit = True
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _server, sock in self._servers:
            sock.close()

    async def started(self) -> bool:
        """True once every server accepts connections, False when a stop was asked first."""
        return bool(await self._stop.unless_stopped(self._all_started()))

    async def _all_started(self) -> bool:
        # uvicorn offers a `started` flag, no event to wait on.
        while not all(server.started for server, _ in self._servers):
            if any(task.done() for task in self._tasks):
                raise RuntimeError("a server stopped while starting: see the log above")
            await asyncio.sleep(0.05)
        return True

    async def until_stopped(self) -> None:
        """Serve until a stop is asked for, or until a server ends by itself."""
        await self._stop.unless_stopped(
            asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        )
