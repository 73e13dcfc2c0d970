"""A container's history of edits (a poll since a cursor) as one notice per item."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tether_connector_runtime.port import ItemNotice
from tether_sync import FieldName, FieldValue


def notices_per_item(edits: Iterable[ItemNotice]) -> list[ItemNotice]:
    """One notice per item for ``edits`` (each one action's notice, newest first, as Trello's
    board actions are read), newest item first: each field dated, and valued where an edit
    says, by its newest edit; the older edits' values kept as ``earlier`` (the edit a write
    of ours may have overwritten: ``tether_sync.overwrites``). Each item's notice keeps the
    ``due_read_in`` of its edits."""
    times: dict[str, dict[FieldName, datetime]] = {}
    values: dict[str, dict[FieldName, FieldValue]] = {}
    earlier: dict[str, dict[FieldName, list[tuple[FieldValue, datetime]]]] = {}
    first: dict[str, ItemNotice] = {}
    for edit in edits:
        item = edit.external_id
        first.setdefault(item, edit)
        item_times = times.setdefault(item, {})
        item_values = values.setdefault(item, {})
        item_earlier = earlier.setdefault(item, {})
        for name, at in edit.field_edited_at.items():
            named = name in edit.field_values
            if name in item_times:  # a newer edit set it: this one is earlier
                if named:
                    item_earlier.setdefault(name, []).append((edit.field_values[name], at))
                continue
            item_times[name] = at
            if named:
                item_values[name] = edit.field_values[name]
    return [
        ItemNotice(
            item,
            times[item],
            values[item],
            due_read_in=first[item].due_read_in,
            earlier={name: tuple(e) for name, e in earlier[item].items()},
        )
        for item in times
    ]
