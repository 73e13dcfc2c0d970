"""A PostgreSQL streaming replica of the local server, from the same binaries.

``pg_basebackup -R`` copies the primary's data directory and writes the standby settings
(``standby.signal`` and ``primary_conninfo``); the copy then runs as a hot standby on its own
port and replays the primary's WAL as it streams in. What the primary needs is PostgreSQL's
default already: ``wal_level=replica``, ``max_wal_senders`` of 10, and initdb's ``trust``
entries for ``replication`` connections from 127.0.0.1.
"""

from __future__ import annotations

import shutil
import subprocess

from tether_devinfra.paths import state_dir
from tether_devinfra.postgres import HOST, USER, PostgresServer, Say
from tether_devinfra.process import port_open, wait_for_port


class PostgresReplica:
    """The standby of ``primary``, listening on ``port``; its data lives beside the primary's."""

    def __init__(self, primary: PostgresServer, port: int) -> None:
        self.primary = primary
        self.port = port
        self.home = state_dir() / f"postgres-{primary.port}-replica-{port}"
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@{HOST}:{self.port}/{USER}"

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and port_open(HOST, self.port)

    def start(self, say: Say) -> None:
        """Start the primary if needed, then the replica (cloned the first time)."""
        self.primary.start(say)
        if self.running():
            say(f"PostgreSQL replica already running on {HOST}:{self.port}")
            return
        if port_open(HOST, self.port):
            raise RuntimeError(f"port {self.port} is taken by another process; set another port")
        # Cloned afresh each time it starts: a copy kept from an earlier run may be of a
        # primary since reset (another system identifier), or too far behind to catch up.
        self._clone(say)
        say(f"starting the PostgreSQL replica on {HOST}:{self.port}...")
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories='' "
            "-c hot_standby=on -c fsync=off -c max_connections=300"
        )
        subprocess.run(
            self.primary.command(
                "pg_ctl",
                [*["-D", str(self.data), "-l", str(self.log), "-o", options], "-w", "start"],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(HOST, self.port, 30, "PostgreSQL replica", self.log)
        say(f"PostgreSQL replica ready at {self.url}")

    def _clone(self, say: Say) -> None:
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True, exist_ok=True)
        if self.primary.user:
            shutil.chown(self.home, self.primary.user)
        say(f"cloning the primary on :{self.primary.port} (pg_basebackup)...")
        subprocess.run(
            self.primary.command(
                "pg_basebackup",
                [
                    *["-h", HOST, "-p", str(self.primary.port), "-U", USER, "-D", str(self.data)],
                    # -R: write standby.signal and primary_conninfo; stream the WAL the copy
                    # needs while it is taken; checkpoint at once rather than wait for one.
                    *["-R", "-X", "stream", "-c", "fast"],
                ],
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self, say: Say) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            self.primary.command("pg_ctl", ["-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        say("PostgreSQL replica stopped")
