"""Outages: a provider failing with a 5xx for a while, for one scope or for everything.

Real providers do fail now and then, sometimes for the part behind one of their shards (a
Trello board, an Asana project: the outage's scope) and sometimes for the whole API. While an
outage is in force, every API request concerning its scope (every one, for an outage without a
scope) answers its status, performing nothing. The gate consults this before auth and rate
limits: the part of the provider that would check or count a request is the part that is down,
so a refused request spends no budget. The control API and webhook deliveries carry on.

This is the registry; which scopes a request concerns and how the refusal reads are the
provider's (its ``outages.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outage:
    """``scope`` None: every API request fails with ``status``.

    ``scope_key`` is the name the provider's control API gives the scope (``board_id``,
    ``project_gid``).
    """

    scope: str | None
    status: int
    scope_key: str

    def to_json(self) -> dict[str, Any]:
        # The shape POST /_emulator/outages takes, so a listed outage can be posted back.
        return {self.scope_key: self.scope, "status": self.status}


class Outages:
    """The outages in force: at most one per scope, and at most one for everything."""

    def __init__(self, scope_key: str) -> None:
        self._scope_key = scope_key
        self._by_scope: dict[str | None, Outage] = {}

    def start(self, scope: str | None, status: int) -> Outage:
        """Begin (or change the status of) the outage of ``scope`` (None: everything)."""
        outage = self._by_scope[scope] = Outage(scope, status, self._scope_key)
        return outage

    def end_all(self) -> int:
        """End every outage; returns how many there were."""
        count = len(self._by_scope)
        self._by_scope.clear()
        return count

    def __len__(self) -> int:
        return len(self._by_scope)

    def refusing(self, scopes: Iterable[str]) -> Outage | None:
        """The outage a request concerning ``scopes`` meets, if any (the global one first)."""
        found = self._by_scope.get(None)
        if found is not None:
            return found
        return next((self._by_scope[s] for s in sorted(scopes) if s in self._by_scope), None)

    def to_json(self) -> list[dict[str, Any]]:
        return [outage.to_json() for outage in self._by_scope.values()]
