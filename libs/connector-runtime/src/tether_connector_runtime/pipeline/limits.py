"""Values a provider cannot hold whole: shortened, visibly, before they are written.

Core holds the largest value any supported provider accepts (``tether_contracts.tasks``); a
provider that takes less (``ProviderAdapter.field_limits``) gets the value cut to its limit
with an ellipsis at the end, and every other field is written as usual. The shortened value is
what the write plans, records as its intent and leaves as the link's base, because it is what
the item holds:

- the echo of the write holds exactly the base, so it is recognised as ours and core's whole
  value is never overwritten by its own shortened copy;
- a person's edit of the shortened text differs from the base, so it is published as their
  edit, with the provider's limits: core's merge takes a base that is its own value cut to the
  limit for that value (``tether_sync.lengths``), so the edit is applied as a plain provider
  edit, not a conflict a ``core_wins`` policy would give to core;
- core's value changing beyond the cut shortens to the same text: nothing to write.

A value the base already holds whole is left whole even when it is over the limit: the item
holds it (a person put it there, or the adapter's limit is stricter than the provider), so
writing a shortened copy would only cut a person's text.
"""

from __future__ import annotations

from collections.abc import Mapping

from tether_sync import FieldName, LinkState, TaskFields, TaskSnapshot

# One definition with core's merge, which recognises the cut copy as core's value.
from tether_sync.lengths import ELLIPSIS, shortened, text_length

__all__ = ["ELLIPSIS", "fitted", "fitted_fields", "shortened", "text_length"]


def fitted_fields(
    fields: TaskFields, limits: Mapping[FieldName, int], base: TaskFields | None = None
) -> TaskFields:
    """``fields`` with each text value over its limit shortened, unless ``base`` (the link's
    base, None before the item exists) holds that very value."""
    cut: dict[FieldName, str] = {}
    for name, limit in limits.items():
        value = fields.value(name)
        if not isinstance(value, str) or text_length(value) <= limit:
            continue
        if base is not None and base.value(name) == value:
            continue
        cut[name] = shortened(value, limit)
    return fields.with_values(cut) if cut else fields


def fitted(
    snapshot: TaskSnapshot, limits: Mapping[FieldName, int], state: LinkState | None = None
) -> TaskSnapshot:
    """The task state as the link's item can hold it (``state``: the link's, None for an
    export); the clock is kept: the shortened copy reflects the same task state."""
    base = state.synced_fields if state is not None else None
    fields = fitted_fields(snapshot.fields, limits, base)
    if fields is snapshot.fields:
        return snapshot
    return snapshot.model_copy(update={"fields": fields})
