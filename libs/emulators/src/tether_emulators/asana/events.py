"""Events: what changed, as webhooks deliver it and ``GET /events`` streams it.

From https://developers.asana.com/reference/events and the ``EventResponse`` schema of the
OpenAPI document: an event names the ``user`` who acted (null for the system), the
``resource`` that changed, an ``action`` (``changed``, ``added``, ``removed``, ``deleted``,
``undeleted``), a ``parent`` for added/removed (the project or section), and for ``changed`` a
``change`` ``{field, action}`` carrying ``new_value`` only when the value is an Asana object.
Events "bubble up": a subscription to a project sees its tasks' events.

Sync tokens (same page): the first call without one, an unknown one or one older than 24 hours
answers 412 with a fresh token and ``{"errors": [...], "sync": ...}``; each page holds at
most 100 events with ``has_more``; re-requesting the current token gives the same answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tether_emulators.asana.errors import AsanaError
from tether_emulators.asana.store import JSON, WallClock, asana_time

SYNC_TOKEN_LIFETIME = timedelta(hours=24)
EVENTS_PER_PAGE = 100
SYNC_INVALID = (
    "Sync token invalid or too old. If you are attempting to keep resources in sync, you must "
    "fetch the full dataset for this query now and use the new sync token for the next sync."
)


@dataclass(frozen=True)
class Event:
    seq: int
    created_at: datetime
    user: JSON | None  # {gid, resource_type, name}
    action: str
    resource: JSON  # {gid, resource_type, name, resource_subtype?}
    parent: JSON | None
    change: JSON | None
    # Gids whose subscribers see this event: the resource and the containers it bubbles to.
    concerns: frozenset[str]

    def compact(self) -> JSON:
        """The webhook form: references without names."""
        doc: JSON = {
            "user": _strip(self.user),
            "created_at": asana_time(self.created_at),
            "action": self.action,
            "resource": _strip(self.resource),
            "parent": _strip(self.parent),
        }
        if self.change is not None:
            doc["change"] = self.change
        return doc

    def full(self) -> JSON:
        """The ``GET /events`` form: named references and the deprecated ``type``."""
        doc: JSON = {
            "user": self.user,
            "created_at": asana_time(self.created_at),
            "action": self.action,
            "resource": self.resource,
            "type": self.resource["resource_type"],
            "parent": self.parent,
        }
        if self.change is not None:
            doc["change"] = self.change
        return doc


def _strip(reference: JSON | None) -> JSON | None:
    if reference is None:
        return None
    return {k: v for k, v in reference.items() if k != "name"}


@dataclass(frozen=True)
class SyncPoint:
    resource: str
    after_seq: int
    issued_at: datetime


class EventLog:
    """Every event, oldest first, and the sync tokens handed out."""

    def __init__(self, now: WallClock) -> None:
        self._now = now
        self.events: list[Event] = []
        self._tokens: dict[str, SyncPoint] = {}
        self._seq = 0

    def record(self, **fields: Any) -> Event:
        self._seq += 1
        event = Event(seq=self._seq, created_at=self._now(), **fields)
        self.events.append(event)
        return event

    def expire_tokens(self) -> int:
        """Forget every sync token (Asana "may expire them sooner, depending on load")."""
        count = len(self._tokens)
        self._tokens.clear()
        return count

    def read(self, resource: str, sync: str | None) -> JSON:
        """One page of ``GET /events``, or the 412 that hands out a new token."""
        point = self._tokens.get(sync or "")
        if point is None or point.resource != resource or self._expired(point):
            token = self._issue(resource, self._seq)
            raise AsanaError(412, SYNC_INVALID, extra={"sync": token})
        matching = [e for e in self.events if e.seq > point.after_seq and resource in e.concerns]
        chunk = matching[:EVENTS_PER_PAGE]
        last = chunk[-1].seq if len(matching) > EVENTS_PER_PAGE else self._seq
        return {
            "data": [event.full() for event in chunk],
            "sync": self._issue(resource, last),
            "has_more": len(matching) > EVENTS_PER_PAGE,
        }

    def _expired(self, point: SyncPoint) -> bool:
        return self._now() - point.issued_at >= SYNC_TOKEN_LIFETIME

    def _issue(self, resource: str, after_seq: int) -> str:
        token = secrets.token_hex(16)
        self._tokens[token] = SyncPoint(resource, after_seq, self._now())
        return token
