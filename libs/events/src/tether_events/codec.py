"""Bytes <-> typed CloudEvents, by the envelope's ``type``."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from tether_events.envelope import CloudEvent
from tether_events.task import EVENT_TYPES


class UndecodableEvent(ValueError):
    """A message that is not a CloudEvent of a type we know; it goes to the dead-letter topic."""


def encode(event: CloudEvent[Any]) -> bytes:
    return event.model_dump_json().encode()


def decode(raw: bytes) -> CloudEvent[Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UndecodableEvent("not a JSON object")
    data_type = EVENT_TYPES.get(str(document.get("type")))
    if data_type is None:
        raise UndecodableEvent(f"unknown event type {document.get('type')!r}")
    try:
        return CloudEvent[data_type].model_validate(document)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise UndecodableEvent(f"invalid {data_type.event_type}: {exc}") from exc
