"""Replica ids: who a change came from, as named in vector clocks."""

from __future__ import annotations

from typing import Literal

Provider = Literal["trello", "asana", "jira"]

CORE_REPLICA = "core"


def link_replica(provider: Provider, external_id: str) -> str:
    """The replica id of one provider copy: ``trello:<card id>``, ``asana:<gid>``,
    ``jira:<site>/<key>``.

    Ids are per provider item, not per provider, so two links to the same provider are two
    replicas and their edits are ordered against each other like any others.
    """
    if not external_id:
        raise ValueError("a provider item needs an id to be a replica")
    return f"{provider}:{external_id}"
