"""JSON Schema of every event type, exported from the pydantic models.

The committed files under ``libs/events/schemas/`` are what consumers outside this codebase
read; a test fails when they drift from the models (regenerate with
``python -m tether_events.schema``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tether_events.envelope import CloudEvent
from tether_events.task import EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def event_schemas() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, data_type in sorted(EVENT_TYPES.items()):
        schema = CloudEvent[data_type].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = event_type
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[event_type] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in event_schemas().items():
        path = directory / f"{event_type}.json"
        path.write_text(render(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in export():
        print(path, file=sys.stderr)
