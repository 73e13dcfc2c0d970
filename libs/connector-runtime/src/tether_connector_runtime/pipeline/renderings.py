"""A provider's own spelling of a value we wrote, recognised as that value.

Some providers store a field in a format of their own and answer it back spelled their way:
Asana keeps a description as ``html_notes``, so core's ``__bold__`` comes back as
``**bold**``, the same text in the canonical Markdown spelling. Taken at face value, the echo
of our own write would look like a person's edit and publish a normalising change to core
(drift). An adapter says how its item holds a written value (``ProviderAdapter.held_as``);
an observed value that is exactly the rendering of the base's value (or of a write under
way) is taken as that value, so only a real edit is news.
"""

from __future__ import annotations

from tether_connector_runtime.due_dates import Owner
from tether_connector_runtime.port import ProviderAdapter
from tether_sync import FIELD_NAMES, FieldName, FieldValue, TaskFields


def recognised(
    adapter: ProviderAdapter, owner: Owner, observed: TaskFields, *known: TaskFields
) -> TaskFields:
    """``observed`` with each value that is the provider's rendering of the same field in one
    of ``known`` (checked in order: a write under way first, then the base) replaced by that
    known value. Values equal to a known one, or no rendering of one, are left as they are.
    ``owner``: whose connection it is, and where the item's due was written."""
    taken: dict[FieldName, FieldValue] = {}
    for name in FIELD_NAMES:
        seen = observed.value(name)
        for fields in known:
            value = fields.value(name)
            if seen == value:
                break
            if adapter.held_as(name, value, owner) == seen:
                taken[name] = value
                break
    return observed.with_values(taken) if taken else observed
