"""Provider state observed -> core: whether it is news, and the change to publish if so.

Webhook payloads can be stale, duplicated or out of order, so a connector never trusts one:
on any webhook, and on every reconciliation poll, it reads the item's current state, maps it,
and asks ``decide_inbound``. The answer depends only on that state and the link state, which
is what makes a dropped webhook harmless (the next poll sees the same state) and a duplicate
one a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    PositiveInt,
    field_validator,
    model_validator,
)

from tether_events.clock import VectorClock
from tether_sync.fields import (
    FieldName,
    FieldValue,
    TaskFields,
    changed_fields,
    coerce_values,
    renamed,
)
from tether_sync.link_state import LinkState


class ProviderChange(BaseModel):
    """Edits made on a provider copy since the link's base: what core merges.

    ``base_values``/``new_values`` cover exactly the changed fields. ``base_clock`` is the task
    clock the base reflects; the change itself is one more event of ``replica`` on top of it
    (``clock``), which lets core drop a duplicate and wait for a predecessor that is late.
    ``edited_at`` is the provider's modification time, used by ``latest_wins``;
    ``field_edited_at`` the time the provider gives for a field's own edit (an action's date),
    which is what ``latest_wins`` compares when it is known: an item's last modification also
    moves for edits of other fields (or comments), so it would make a provider side look later
    than it is. ``field_limits``: the most the provider's copy holds of each changed text field
    (UTF-16 units, its adapter's ``field_limits``): a base value that is core's value cut to it
    (``tether_sync.lengths``) is core's value, all of it that fits in the copy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    link_id: str
    replica: str
    base_clock: VectorClock
    base_values: dict[FieldName, FieldValue]
    new_values: dict[FieldName, FieldValue]
    edited_at: AwareDatetime
    field_edited_at: dict[FieldName, AwareDatetime] = {}
    field_limits: dict[FieldName, PositiveInt] = {}

    @field_validator("base_values", "new_values", mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        return coerce_values(value) if isinstance(value, dict) else value

    @field_validator("field_edited_at", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # Events published before the due could be an instant name it due_date.
        return renamed(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _same_fields(self) -> ProviderChange:
        if set(self.base_values) != set(self.new_values):
            raise ValueError("base_values and new_values must name the same fields")
        return self

    def edited_at_of(self, name: FieldName) -> AwareDatetime:
        """When the provider's value of ``name`` was set, as well as the provider says."""
        return self.field_edited_at.get(name, self.edited_at)

    @property
    def clock(self) -> VectorClock:
        return self.base_clock.increment(self.replica)

    @property
    def fields(self) -> tuple[FieldName, ...]:
        return tuple(self.new_values)


def is_echo(link: LinkState, observed: TaskFields) -> bool:
    """True when the provider holds exactly the base: our own write coming back, a no-op
    edit, or a state already published."""
    return observed == link.synced_fields


def decide_inbound(
    link: LinkState,
    observed: TaskFields,
    *,
    edited_at: AwareDatetime,
    field_edited_at: Mapping[FieldName, AwareDatetime] | None = None,
    field_limits: Mapping[FieldName, int] | None = None,
) -> ProviderChange | None:
    """``edited_at``: the item's modification time; ``field_edited_at``: per-field edit times
    the provider reported; ``field_limits``: the longest text the provider holds per field
    (UTF-16 units). Only those of changed fields are kept."""
    if is_echo(link, observed):
        return None
    names = changed_fields(link.synced_fields, observed)
    times = {n: t for n, t in (field_edited_at or {}).items() if n in names}
    limits = {n: v for n, v in (field_limits or {}).items() if n in names}
    return ProviderChange(
        field_edited_at=times,
        field_limits=limits,
        task_id=link.task_id,
        link_id=link.link_id,
        replica=link.replica,
        base_clock=link.synced_clock,
        base_values=link.synced_fields.pick(names),
        new_values=observed.pick(names),
        edited_at=edited_at,
    )


def after_publish(link: LinkState, change: ProviderChange) -> LinkState:
    """The link once ``change`` is durably published.

    The provider's values become the base at once, not when core answers: the same state
    observed again is then recognised as already sent; core's answer (the merged task) is
    diffed against what the provider really holds, so it writes nothing unless a conflict went
    the other way; and a further provider edit is published relative to this one, which core
    has merged by then (it waits for predecessors). The clock gains this replica's event, so
    until core's snapshot includes it, older snapshots are recognised as concurrent.
    """
    return link.model_copy(
        update={
            "synced_fields": link.synced_fields.with_values(change.new_values),
            "synced_clock": link.synced_clock.merge(change.clock),
        }
    )
