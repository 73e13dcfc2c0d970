"""The connector's own metrics move when, and only when, what they count happens: provider
calls by endpoint class and status, the propagation latency of a write, the links waiting to
retry and the broken connections (counted from the database)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
from prometheus_client import REGISTRY

from tether_common.db import transaction
from tether_connector_runtime import gauges
from tether_connector_runtime.pipeline import propagation, retries, writes
from tether_connector_runtime.provider_calls import counting_hook, endpoint_class
from tether_connector_runtime.testing import FakeProvider, PipelineRig
from tether_connector_runtime.testing.scenarios import exported
from tether_connector_runtime.testing.scenarios import task_state as state
from tether_events import TaskChanged


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def latency(provider: str) -> tuple[float, float]:
    """(observations, their sum) of the provider's propagation histogram."""
    name = "tether_connector_propagation_seconds"
    return sample(f"{name}_count", provider=provider), sample(f"{name}_sum", provider=provider)


def changed_before(rig: PipelineRig, version: int, title: str, seconds: float) -> TaskChanged:
    """Core's state ``version`` titled ``title``, committed ``seconds`` before the rig's now."""
    task = state(version, {"core": version}, title=title)
    return task.model_copy(update={"updated_at": rig.clock() - timedelta(seconds=seconds)})


def test_endpoint_classes_name_resources_not_ids() -> None:
    assert endpoint_class("put", "/1/cards/5f1c0a9b8e7d6c5b4a392817") == "PUT cards"
    assert endpoint_class("GET", "/1/boards/5f1c0a9b8e7d6c5b4a392817/cards") == "GET cards"
    assert endpoint_class("GET", "/api/1.0/tasks/1204455667788") == "GET tasks"
    assert endpoint_class("POST", "/rest/api/3/issue/SANDBOX-12/transitions") == "POST transitions"
    assert endpoint_class("GET", "/rest/api/3/issue/SANDBOX-12") == "GET issue"
    assert endpoint_class("GET", "/") == "GET /"


async def test_each_provider_answer_is_counted_by_endpoint_and_status() -> None:
    answers = iter([200, 429, 200])

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    def calls(status: str) -> Callable[[], float]:
        labels = {"provider": "counted", "endpoint": "PUT cards", "status": status}
        return lambda: sample("tether_connector_provider_calls_total", **labels)

    ok, limited = calls("200"), calls("429")
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(provider),
        event_hooks={"response": [counting_hook("counted")]},
    ) as http:
        for card in ("aaa111", "bbb222", "ccc333"):
            await http.put(f"https://api.example/1/cards/{card}")
    assert (ok(), limited()) == (2.0, 1.0)


async def test_a_write_observes_the_time_since_its_change_was_committed(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    await exported(rig, state(1, {"core": 1}))
    count, total = latency("trello")
    with propagation.applying(changed := changed_before(rig, 2, "Renamed", 3.0)):
        await writes.on_task_changed(rig.pipeline, changed)
    assert latency("trello") == (count + 1, total + 3.0)
    # The same state again writes nothing, so nothing is observed.
    with propagation.applying(changed):
        await writes.on_task_changed(rig.pipeline, changed)
    assert latency("trello") == (count + 1, total + 3.0)
    # A write with no change around it (none is made so today) observes nothing either.
    await writes.on_task_changed(rig.pipeline, changed_before(rig, 3, "Again", 1.0))
    assert latency("trello") == (count + 1, total + 3.0)


async def test_a_retried_write_counts_its_whole_wait(rig: PipelineRig, fake: FakeProvider) -> None:
    await exported(rig, state(1, {"core": 1}))
    fake.fail_next("update")
    changed = changed_before(rig, 2, "Renamed", 1.0)
    with propagation.applying(changed):
        await writes.on_task_changed(rig.pipeline, changed)  # fails: parked
    count, total = latency("trello")
    next_attempt = (await rig.link("link-1")).parked
    assert next_attempt is not None
    assert next_attempt.next_attempt_at is not None
    waited = (next_attempt.next_attempt_at - rig.clock()).total_seconds()
    rig.clock.advance(waited)
    assert await retries.retry_due(rig.pipeline) == 1
    assert latency("trello") == (count + 1, total + 1.0 + waited)


async def test_retrying_links_and_broken_connections_are_counted_from_the_database(
    rig: PipelineRig, fake: FakeProvider
) -> None:
    def counted() -> tuple[float, float]:
        return (
            sample("tether_connector_links_retrying", provider="trello"),
            sample("tether_connector_connections_broken", provider="trello"),
        )

    await exported(rig, state(1, {"core": 1}))
    await gauges.refresh(rig.pipeline)
    assert counted() == (0, 0)

    fake.fail_next("update")
    await writes.on_task_changed(rig.pipeline, state(2, {"core": 2}, title="Renamed"))
    await gauges.refresh(rig.pipeline)
    assert counted() == (1, 0)

    link = await rig.link("link-1")
    async with transaction(rig.pipeline.sessions) as session:
        assert await rig.pipeline.connections.mark_broken(session, link.connection_id, "revoked")
    await gauges.refresh(rig.pipeline)
    assert counted() == (1, 1)

    rig.clock.advance(3600)
    async with transaction(rig.pipeline.sessions) as session:
        await rig.pipeline.repo.unpark(session, "link-1")
    await gauges.refresh(rig.pipeline)
    assert counted() == (0, 1)
