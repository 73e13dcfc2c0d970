"""Readiness probes: the database answers, the relay runs, the broker (if Kafka) answers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import Request

from task_core.state import get_state
from tether_common.db import ping
from tether_common.health import ReadinessCheck

PROBE_TIMEOUT = 5.0


async def kafka_reachable(bootstrap_servers: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Raises unless a broker answers a metadata request within ``timeout`` seconds.

    Asked of a separate client: the bus port exposes no health, and a producer that merely
    holds an open connection proves little about the cluster.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
    finally:
        await admin.close()


def readiness(request: Request) -> Mapping[str, ReadinessCheck]:
    state = get_state(request)

    async def database() -> None:
        await ping(state.engine)

    async def outbox_relay() -> None:
        if state.relay_task.done():
            raise RuntimeError("the outbox relay stopped; events would pile up unpublished")

    async def bus() -> None:
        await kafka_reachable(state.settings.kafka_bootstrap_servers)

    checks = {"database": database, "outbox_relay": outbox_relay}
    if state.settings.bus == "kafka":
        checks["bus"] = bus
    return checks
