"""The operator's ``tether`` CLI against a running distributed deployment on the real broker:
``tether status`` sees every service and each consumer group's lag, ``tether dlq list`` and
``tether dlq show`` read what the services parked in the dead-letter topic.

The CLI runs as an operator runs it: a separate process, configured by the services' own
environment variables."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.world import eventually
from tether_devinfra.services import SERVICES, Deployment
from tether_events import Topic, topic_name
from tether_events.kafka import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PARTITIONS = inspect.signature(ensure_topics).parameters["partitions"].default
CONNECTOR_GROUPS = {"trello-connector", "asana-connector", "jira-connector"}


def operator_env(deployment: Deployment) -> dict[str, str]:
    """What an operator's shell holds: the gateway's and task-core's settings (service URLs,
    brokers, topic namespace)."""
    env = dict(os.environ)
    for spec in SERVICES:
        if spec.name in ("api-gateway", "task-core"):
            env |= deployment.env(spec)
    return env


def tether(deployment: Deployment, *args: str) -> Any:
    """``tether <args>``: its JSON output, parsed (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, "-m", "tether_cli.main", *args],
        env=operator_env(deployment),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_status_reports_every_service_ready_and_each_groups_lag(
    deployment: Deployment,
) -> None:
    status = await asyncio.to_thread(tether, deployment, "status", "--json")
    assert status["kafka_error"] is None
    services = {s["service"]: s for s in status["services"]}
    assert set(services) == {spec.name for spec in SERVICES}
    assert all(s["live"] and s["ready"] for s in services.values()), services
    groups = {lag["group"] for lag in status["lag"]}
    assert groups == {"task-core"} | CONNECTOR_GROUPS, status["lag"]
    namespace = deployment.topic_namespace
    assert {lag["topic"] for lag in status["lag"]} <= {topic_name(t, namespace) for t in Topic}
    # Each line sums the topic's every partition (a reader without the topic's metadata
    # used to count none, and so reported no lag whatever the backlog).
    assert all(lag["partitions"] == PARTITIONS for lag in status["lag"]), status["lag"]


async def test_dlq_lists_and_shows_what_each_consumer_group_parked(
    deployment: Deployment, kafka_bootstrap_servers: str
) -> None:
    task_changed = topic_name(Topic.TASK_CHANGED, deployment.topic_namespace)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        # Not an event at all: each connector's group parks it rather than stall on it.
        await producer.send_and_wait(task_changed, b"{not json", key=b"task-poison")
    finally:
        await producer.stop()

    async def parked() -> list[dict[str, Any]] | None:
        found = await asyncio.to_thread(tether, deployment, "dlq", "list", "--json")
        return found if len(found) >= len(CONNECTOR_GROUPS) else None

    records = await eventually(parked, within=60, what="the poison message parked by each group")
    assert len(records) == len(CONNECTOR_GROUPS), records
    assert {r["original_topic"] for r in records} == {task_changed}
    assert all("{not json" in r["raw"] for r in records), records

    shown = await asyncio.to_thread(tether, deployment, "dlq", "show", records[0]["id"])
    assert shown["id"] == records[0]["id"]
    assert shown["error"], shown
    assert shown["original_topic"] == task_changed
