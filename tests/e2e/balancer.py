"""A TCP load balancer in front of a service's replicas, as a cluster's Service or ingress is.

Each new connection goes to the next replica in turn that accepts it; a replica that refuses
(killed, not yet restarted) is passed over. A connection's bytes are copied both ways until
either side closes, so a replica killed mid-request drops that request's connection: the caller
sees the failure and retries, as a client of a real deployment would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tether_devinfra.services import free_port


@dataclass
class Balancer:
    """Round robin over ``backends`` (ports on 127.0.0.1), listening on ``port``."""

    port: int
    backends: list[int]
    served: Counter[int] = field(default_factory=Counter)  # connections per backend port
    _next: int = 0
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                streams = await asyncio.open_connection("127.0.0.1", backend)
            except OSError:
                continue  # down: the next replica takes it
            self.served[backend] += 1
            return streams
        raise ConnectionRefusedError(f"no replica of :{self.port} accepts connections")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await self._connect()
        except OSError:
            writer.close()
            return
        pipes = [
            asyncio.create_task(_copy(reader, upstream_writer)),
            asyncio.create_task(_copy(upstream_reader, writer)),
        ]
        self._pipes.update(pipes)
        # Either direction ending (a close, a reset) ends the connection for both sides.
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
            self._pipes.discard(pipe)
        for stream in (writer, upstream_writer):
            stream.close()

    async def close_pipes(self) -> None:
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


@asynccontextmanager
async def balancing(backends: list[int]) -> AsyncIterator[Balancer]:
    """A balancer over ``backends`` on a free port, serving for the caller's block."""
    balancer = Balancer(port=free_port(), backends=backends)
    server = await asyncio.start_server(balancer._serve, "127.0.0.1", balancer.port)
    try:
        yield balancer
    finally:
        server.close()
        await balancer.close_pipes()
        with contextlib.suppress(Exception):
            await server.wait_closed()
