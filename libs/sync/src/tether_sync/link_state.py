"""What a connector remembers about one link between a task and a provider item."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tether_events.clock import VectorClock
from tether_sync.fields import TaskFields, TaskSnapshot


class LinkState(BaseModel):
    """The sync state of one link, persisted by its connector.

    ``synced_fields`` is the last mapped content both sides are known to share: the merge base
    of the next provider change and the reference the next task change is diffed against.
    Between a connector's actions it always equals the provider copy's content as far as the
    connector knows. ``synced_clock`` is the task clock that content reflects, plus this
    replica's own published changes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    link_id: str
    task_id: str
    replica: str
    synced_clock: VectorClock
    synced_fields: TaskFields

    @classmethod
    def exported(cls, *, link_id: str, replica: str, snapshot: TaskSnapshot) -> LinkState:
        """The state right after the provider item was created from ``snapshot``."""
        return cls(
            link_id=link_id,
            task_id=snapshot.task_id,
            replica=replica,
            synced_clock=snapshot.clock,
            synced_fields=snapshot.fields,
        )
