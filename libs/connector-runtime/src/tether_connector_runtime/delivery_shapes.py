"""Reading a verified webhook body into a pydantic model of the provider's delivery shape.

Every adapter's parser does the same first step: decode JSON, validate it against the shape
the provider sends, and turn any failure into :class:`MalformedDelivery` naming where the body
went wrong (the intake answers 400 for it, never 500).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from tether_connector_runtime.webhooks import MalformedDelivery

Shape = TypeVar("Shape", bound=BaseModel)


def read_delivery(body: bytes, shape: type[Shape]) -> tuple[Any, Shape]:
    """The decoded JSON and it validated as ``shape``; ``MalformedDelivery`` when the body is
    not JSON, nested too deeply, or not of that shape (the first error's location named)."""
    try:
        raw = json.loads(body)
        return raw, shape.model_validate(raw)
    except RecursionError as exc:
        raise MalformedDelivery("the body is nested too deeply") from exc
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedDelivery(f"{where}: {first['msg']}") from exc
    except ValueError as exc:
        raise MalformedDelivery(f"not JSON: {exc}") from exc


class DeliveryShape(BaseModel):
    """The base of a provider's delivery model: only what the connector reads is checked; the
    provider's other keys (it adds new ones at will) pass untouched."""

    model_config = ConfigDict(extra="allow")
