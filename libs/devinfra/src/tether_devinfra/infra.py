"""Start (or find) the Kafka broker and PostgreSQL server that tests and ``make up`` use.

If ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` are set, those are used and nothing is
started: point the suite at any cluster or server that way.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from filelock import FileLock

from tether_devinfra.kafka import KafkaBroker
from tether_devinfra.paths import state_dir
from tether_devinfra.postgres import PostgresServer
from tether_devinfra.replica import PostgresReplica


def say(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str
    read_database_url: str | None = None  # a streaming replica of database_url, if started

    def env(self) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
        }
        if self.read_database_url:
            env["READ_DATABASE_URL"] = self.read_database_url
        return env


def kafka_port() -> int:
    return int(os.environ.get("TETHER_DEV_KAFKA_PORT", "19092"))


def postgres_port() -> int:
    return int(os.environ.get("TETHER_DEV_POSTGRES_PORT", "15432"))


def replica_port() -> int:
    return int(os.environ.get("TETHER_DEV_POSTGRES_REPLICA_PORT", str(postgres_port() + 1)))


def _replica() -> PostgresReplica:
    return PostgresReplica(PostgresServer(postgres_port()), replica_port())


def ensure_running(*, replica: bool = False) -> Infra:
    """Idempotent and safe to call from several processes at once (pytest-xdist workers).

    ``replica``: also a streaming replica of the PostgreSQL server (``READ_DATABASE_URL``
    names one elsewhere; without ``DATABASE_URL`` set, one is started here).
    """
    with FileLock(str(state_dir() / "infra.lock"), timeout=600):
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            broker = KafkaBroker(kafka_port())
            broker.start(say)
            kafka = broker.bootstrap_servers
        database = os.environ.get("DATABASE_URL")
        if not database:
            server = PostgresServer(postgres_port())
            server.start(say)
            database = server.url
        read_database = os.environ.get("READ_DATABASE_URL") if replica else None
        if replica and not read_database:
            # DATABASE_URL may be our own server's (deploy/test.sh exports what `up` printed):
            # its replica we can start; an outside server's we cannot.
            if database != PostgresServer(postgres_port()).url:
                raise RuntimeError(
                    "DATABASE_URL names an outside server: set READ_DATABASE_URL to its replica"
                )
            standby = _replica()
            standby.start(say)
            read_database = standby.url
        return Infra(kafka, database, read_database)


def is_running() -> bool:
    return KafkaBroker(kafka_port()).running() and PostgresServer(postgres_port()).running()


def stop() -> None:
    with FileLock(str(state_dir() / "infra.lock"), timeout=600):
        KafkaBroker(kafka_port()).stop(say)
        # The replica first: stopped after its primary, it would keep retrying to reconnect.
        _replica().stop(say)
        PostgresServer(postgres_port()).stop(say)
