"""An item as the fake provider keeps it, and an update that took effect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tether_connector_runtime.port import ProviderItem
from tether_sync import FieldName, FieldValue, TaskFields

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeItem:
    """One provider item as the provider keeps it (mutable: a person edits it in place)."""

    external_id: str
    container_id: str
    place_id: str | None
    fields: TaskFields
    marker: str | None
    edited_at: datetime
    closed: bool = False
    # When each field was last set: what a webhook about that edit names (latest_wins).
    field_edited_at: dict[FieldName, datetime] = field(default_factory=dict)

    def view(self) -> ProviderItem:
        return ProviderItem(
            external_id=self.external_id,
            container_id=self.container_id,
            place_id=self.place_id,
            fields=self.fields,
            closed=self.closed,
            url=f"https://fake.test/items/{self.external_id}",
            marker=self.marker,
            edited_at=self.edited_at,
        )


@dataclass(frozen=True)
class Update:
    """One update that took effect: the item, the fields written and the move, if any."""

    external_id: str
    changes: dict[FieldName, FieldValue]
    move_to: str | None
