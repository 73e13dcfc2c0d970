from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tether_events import CloudEvent, TaskChanged, UndecodableEvent, VectorClock, decode, encode
from tether_events.schema import SCHEMA_DIR, event_schemas, render


def _task_changed() -> CloudEvent[TaskChanged]:
    data = TaskChanged(
        task_id="t1",
        tenant_id="acme",
        version=1,
        title="Write the report",
        description="",
        due_date=None,
        completed=False,
        deleted=False,
        clock=VectorClock({"core": 1}),
        origin="core",
        changed_fields=["title"],
        updated_at=datetime.now(UTC),
    )
    return data.envelope(source="/tether/task-core", subject="t1", tenant_id="acme")


def test_envelope_carries_cloudevents_attributes() -> None:
    document = json.loads(encode(_task_changed()))
    assert document["specversion"] == "1.0"
    assert document["type"] == "tether.task.changed.v1"
    assert document["subject"] == "t1"
    assert document["tenantid"] == "acme"
    assert {"id", "source", "time", "data"} <= document.keys()


def test_decode_restores_the_typed_payload() -> None:
    event = _task_changed()
    decoded = decode(encode(event))
    assert decoded == event
    assert isinstance(decoded.data, TaskChanged)
    assert decoded.data.clock == VectorClock({"core": 1})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"type": "tether.unknown.v9"}', "unknown event type"),
        (b'{"type": "tether.task.changed.v1", "data": {}}', "invalid tether.task.changed.v1"),
    ],
)
def test_decode_names_what_is_wrong(raw: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEvent, match=reason):
        decode(raw)


def test_committed_json_schemas_match_the_models() -> None:
    for event_type, schema in event_schemas().items():
        committed = SCHEMA_DIR / f"{event_type}.json"
        assert committed.exists(), f"missing {committed}: run python -m tether_events.schema"
        assert committed.read_text() == render(schema), (
            f"{committed.name} is stale: run python -m tether_events.schema"
        )
