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


def say(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    database_url: str

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
        }


def kafka_port() -> int:
    return int(os.environ.get("TETHER_DEV_KAFKA_PORT", "19092"))


def postgres_port() -> int:
    return int(os.environ.get("TETHER_DEV_POSTGRES_PORT", "15432"))


def ensure_running() -> Infra:
    """Idempotent and safe to call from several processes at once (pytest-xdist workers)."""
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
        return Infra(kafka, database)


def is_running() -> bool:
    return KafkaBroker(kafka_port()).running() and PostgresServer(postgres_port()).running()


def stop() -> None:
    with FileLock(str(state_dir() / "infra.lock"), timeout=600):
        KafkaBroker(kafka_port()).stop(say)
        PostgresServer(postgres_port()).stop(say)
