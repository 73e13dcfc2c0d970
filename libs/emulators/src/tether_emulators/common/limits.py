"""What the providers' rate limiters share: an injected clock, so tests cross a window without
sleeping, and limits read and changed at run time through the control API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

# Seconds, monotonic: what rate windows are measured in.
Clock = Callable[[], float]


class Limiter(Protocol):
    @property
    def config(self) -> object:
        """The limits in force: a dataclass named in the provider's words."""

    def reset(self) -> None:
        """Forget every count: every window starts afresh."""


def limits_json(model: type[BaseModel], config: object) -> dict[str, Any]:
    """The limits of ``config`` that the control API's ``model`` takes, named as it takes them
    (its aliases), in its order."""
    return {
        field.alias or name: getattr(config, name) for name, field in model.model_fields.items()
    }


def retune(limiter: Limiter, changes: BaseModel) -> dict[str, Any]:
    """Set every limit ``changes`` gives (None: keep) on the limiter's config, whose attributes
    bear the model's field names; counters start afresh. Returns the limits now in force, as
    ``limits_json`` names them."""
    for name, value in changes.model_dump(exclude_none=True).items():
        setattr(limiter.config, name, value)
    limiter.reset()
    return limits_json(type(changes), limiter.config)
