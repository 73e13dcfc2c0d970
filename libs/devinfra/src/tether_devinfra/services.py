"""Distributed mode on one machine: each service as its own uvicorn process.

Used by ``make up`` and by the end-to-end tests, which start the services exactly as an
operator would: separate processes, configured only through environment variables.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tether_devinfra.process import pid_alive, port_open, spawn, terminate


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env_prefix: str
    default_port: int
    uses_database: bool
    uses_bus: bool


SERVICES = (
    ServiceSpec("task-core", "task_core", "TETHER_TASK_CORE_", 8001, True, True),
    ServiceSpec("trello-connector", "trello_connector", "TETHER_TRELLO_", 8002, True, True),
    ServiceSpec("asana-connector", "asana_connector", "TETHER_ASANA_", 8003, True, True),
    ServiceSpec("jira-connector", "jira_connector", "TETHER_JIRA_", 8004, True, True),
    ServiceSpec("api-gateway", "api_gateway", "TETHER_GATEWAY_", 8000, True, False),
)

# The services whose reads a streaming replica can serve (READ_DATABASE_URL).
READS_FROM_REPLICA = ("task-core", "api-gateway")


# Ports for the services a test (or make up) starts come from below the kernel's ephemeral
# range (32768+ on Linux, 49152+ elsewhere), where outgoing connections never take them, and from
# a slice per pytest-xdist worker. A port the kernel hands out for "port 0" can be taken by any
# client socket (a Kafka or PostgreSQL connection) before our service binds it, and another
# worker could be handed the same one: the service would then fail, or a neighbour would answer
# in its place. Two suites on one machine (two checkouts) would hand out the same ports from
# the same start: TETHER_DEV_PORTS_FROM gives each its own.
_PORTS_FROM = 20_000
_PORTS_PER_WORKER = 1_500
_next_port: dict[int, int] = {}


def _ports_from() -> int:
    return int(os.environ.get("TETHER_DEV_PORTS_FROM", _PORTS_FROM))


def _worker_slice() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under pytest -n
    return int(worker[2:]) % 8 if worker[2:].isdigit() else 0


def free_port() -> int:
    """A port no one listens on now, from this process's slice, not handed out again soon."""
    first = _ports_from() + _worker_slice() * _PORTS_PER_WORKER
    offset = _next_port.get(first, 0)
    for step in range(_PORTS_PER_WORKER):
        port = first + (offset + step) % _PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (another suite, a service still shutting down)
        _next_port[first] = (offset + step + 1) % _PORTS_PER_WORKER
        return port
    raise RuntimeError(f"no free port in {first}-{first + _PORTS_PER_WORKER - 1}")


@dataclass
class Deployment:
    """Where the services of one deployment listen and how they are configured."""

    kafka_bootstrap_servers: str
    database_url: str
    run_dir: Path
    topic_namespace: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # A streaming replica of database_url: task-core and the gateway read from it.
    read_database_url: str = ""

    def port(self, spec: ServiceSpec) -> int:
        return self.ports.get(spec.name, spec.default_port)

    def url(self, name: str) -> str:
        spec = next(s for s in SERVICES if s.name == name)
        return f"http://127.0.0.1:{self.port(spec)}"

    def env(self, spec: ServiceSpec) -> dict[str, str]:
        p = spec.env_prefix
        env = {f"{p}HOST": "127.0.0.1", f"{p}PORT": str(self.port(spec))}
        if spec.uses_database:
            env[f"{p}DATABASE_URL"] = self.database_url
        if self.read_database_url and spec.name in READS_FROM_REPLICA:
            env[f"{p}READ_DATABASE_URL"] = self.read_database_url
        if spec.uses_bus:
            env |= {
                f"{p}BUS": "kafka",
                f"{p}KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
                f"{p}TOPIC_NAMESPACE": self.topic_namespace,
            }
        if spec.name == "api-gateway":
            env[f"{p}TASK_CORE_URL"] = self.url("task-core")
            # Every connector this deployment runs, at the port it was given (the gateway's
            # defaults name the default ports, which a test deployment does not use).
            for provider in ("trello", "asana", "jira"):
                env[f"{p}{provider.upper()}_CONNECTOR_URL"] = self.url(f"{provider}-connector")
        if spec.name.endswith("-connector"):
            # Distributed mode: the provider calls the connector itself back (webhooks), while
            # the person's browser returns from the provider's consent page to the gateway.
            provider = spec.name.removesuffix("-connector")
            env[f"{p}PUBLIC_URL"] = self.url(spec.name)
            env[f"{p}OAUTH_CALLBACK_URL"] = (
                f"{self.url('api-gateway')}/v1/connections/{provider}/callback"
            )
        return env | self.extra_env

    def pid_file(self, spec: ServiceSpec) -> Path:
        return self.run_dir / f"{spec.name}.pid"

    def log_file(self, spec: ServiceSpec) -> Path:
        return self.run_dir / f"{spec.name}.log"

    def start(
        self,
        say: Callable[[str], None],
        *,
        python: str = sys.executable,
        only: Collection[str] | None = None,
    ) -> None:
        """Start every service (or those named in ``only``: a second replica of some, say)
        and return once each answers its health check."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        specs = [spec for spec in SERVICES if only is None or spec.name in only]
        # All at once: each needs only the infrastructure (the gateway reaches the others per
        # request), so start-up costs the slowest service, not the sum of them.
        for spec in specs:
            if pid_alive(self.pid_file(spec)):
                say(f"{spec.name} already running")
                continue
            self._spawn(spec, python)
        for spec in specs:
            self.wait_healthy(spec, say)

    def start_one(self, name: str, *, python: str = sys.executable) -> None:
        """(Re)start one service, e.g. after a crash test killed it."""
        spec = next(s for s in SERVICES if s.name == name)
        self._spawn(spec, python)
        self.wait_healthy(spec, lambda message: None)

    def _spawn(self, spec: ServiceSpec, python: str) -> None:
        spawn(
            [python, "-m", spec.module, "serve"],
            self.log_file(spec),
            self.pid_file(spec),
            env=self.env(spec),
        )

    def wait_healthy(
        self, spec: ServiceSpec, say: Callable[[str], None], within: float = 60
    ) -> None:
        wait_http(
            f"http://127.0.0.1:{self.port(spec)}/healthz",
            within=within,
            log=self.log_file(spec),
            pid_file=self.pid_file(spec),
        )
        say(f"{spec.name} up on :{self.port(spec)}")

    def stop(self, say: Callable[[str], None]) -> None:
        # SIGTERM to all first, then wait: graceful shutdowns (consumers leaving their groups,
        # producers flushing) overlap instead of queueing.
        running = [
            (spec, pid) for spec in SERVICES if (pid := pid_alive(self.pid_file(spec))) is not None
        ]
        for _, pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
        for spec, _ in running:
            terminate(self.pid_file(spec))  # waits, and SIGKILLs one that ignores SIGTERM
            say(f"{spec.name} stopped")

    def kill(self, name: str) -> None:
        """kill -9 one service: the crash tests' way of pulling the plug. Returns at once, so
        a test can kill several services in one step; see :meth:`wait_dead`."""
        spec = next(s for s in SERVICES if s.name == name)
        pid = pid_alive(self.pid_file(spec))
        if pid is not None:
            os.killpg(pid, 9)
            self.pid_file(spec).unlink(missing_ok=True)

    def wait_dead(self, name: str, within: float = 10) -> None:
        """Wait until a killed service's port is closed: the signal is delivered
        asynchronously, and a restart must not find the old process still holding the port."""
        spec = next(s for s in SERVICES if s.name == name)
        deadline = time.monotonic() + within
        while port_open("127.0.0.1", self.port(spec)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} still listens on :{self.port(spec)} after kill -9")
            time.sleep(0.05)


def wait_http(url: str, *, within: float, log: Path, pid_file: Path | None = None) -> None:
    """Wait until ``url`` answers 200; fail early, with the log's tail, if the process died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if pid_file is not None and pid_alive(pid_file) is None:
            break
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise RuntimeError(f"{url} did not answer; log tail:\n{tail}")


def env_lines(env: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in env.items())
