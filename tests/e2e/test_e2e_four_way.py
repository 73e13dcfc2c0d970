"""Four replicas of one task: the core, a Trello card, an Asana task and a Jira issue (the same
core task exported three times). A Jira edit reaches the core and both other providers once,
and never comes back to Jira; edits made at once on every side, each to another field, converge
everywhere and then fall silent. Exact write counts per provider prove it, with a barrier (a
later core edit awaited on every provider) instead of a pause.

Every service is a process on real Kafka and PostgreSQL; each emulator is a process of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.asana_world import AsanaWorld
from tests.e2e.jira_world import DONE, JiraWorld
from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WITHIN = 60.0


@dataclass
class Replicas:
    """The task and its three provider copies, with the worlds that see them."""

    trello: TrelloWorld
    asana: AsanaWorld
    jira: JiraWorld
    task_id: str
    card_id: str
    gid: str
    issue_id: str

    async def views(self) -> tuple[dict[str, Any], ...]:
        """The task, the card, the Asana task and the issue's fields, as they are now."""
        return (
            await self.trello.task(self.task_id),
            await self.trello.card(self.card_id),
            await self.asana.asana_task(self.gid),
            (await self.jira.issue(self.issue_id)).get("fields") or {},
        )

    async def writes(self) -> tuple[int, int, int]:
        """Writes each provider's copy received so far: (Trello, Asana, Jira)."""
        return (
            await self.trello.writes_to(self.card_id),
            await self.asana.writes_to(self.gid),
            await self.jira.writes_to(self.issue_id),
        )

    async def version(self) -> int:
        return int((await self.trello.task(self.task_id))["version"])

    async def flush_webhooks(self) -> None:
        """Every delivery the Asana and Jira emulators have in flight has been answered."""
        await asyncio.gather(self.asana.flush_webhooks(), self.jira.flush_webhooks())


async def export_everywhere(trello: TrelloWorld, asana: AsanaWorld, jira: JiraWorld) -> Replicas:
    task_id, card_id = await trello.export_new_task(title="Plan the week")
    await asana.export(task_id)
    await jira.export(task_id)
    gid = (await eventually(asana.link_in(task_id, "active"), within=WITHIN))["external_id"]
    issue = (await eventually(jira.link_in(task_id, "active"), within=WITHIN))["external_id"]
    replicas = Replicas(trello, asana, jira, task_id, card_id, str(gid), str(issue))
    assert [t["gid"] for t in await asana.project_tasks()] == [replicas.gid]
    assert [i["id"] for i in await jira.project_issues()] == [replicas.issue_id]
    await replicas.flush_webhooks()  # the creates' own deliveries (echoes) are behind us
    return replicas


def titled_everywhere(replicas: Replicas, title: str) -> Callable[[], Awaitable[Any]]:
    async def probe() -> bool:
        task, card, there, issue = await replicas.views()
        names = (task["title"], card.get("name"), there.get("name"), issue.get("summary"))
        return names == (title,) * 4

    return probe


async def barrier(replicas: Replicas, title: str = "Barrier") -> None:
    """A core edit after the others, awaited on every provider: each link's changes are handled
    in order (one partition per task), so once this one has arrived everywhere, any echo of the
    edits before it would have been written already."""
    edited = await replicas.trello.api.patch(f"/v1/tasks/{replicas.task_id}", json={"title": title})
    assert edited.status_code == 200, edited.text
    await eventually(titled_everywhere(replicas, title), within=WITHIN, what=f"{title} everywhere")


def adf_text(node: dict[str, Any]) -> str:
    """The text of an ADF document, paragraphs joined by newlines."""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    parts = [adf_text(child) for child in node.get("content") or []]
    return ("\n" if node.get("type") == "doc" else "").join(parts)


async def test_a_jira_edit_reaches_the_core_trello_and_asana_once_and_never_jira_again(
    trello_asana_and_jira: tuple[TrelloWorld, AsanaWorld, JiraWorld],
) -> None:
    replicas = await export_everywhere(*trello_asana_and_jira)
    trello_before, asana_before, jira_before = await replicas.writes()
    version = await replicas.version()

    await replicas.jira.person_edits(replicas.issue_id, summary="Renamed in Jira")
    await eventually(titled_everywhere(replicas, "Renamed in Jira"), within=WITHIN, what="all four")
    # The core merged the edit once: one new version, the provider's change.
    assert await replicas.version() == version + 1
    await barrier(replicas)

    # Trello and Asana: the Jira edit and the barrier. Jira: the barrier only.
    assert await replicas.writes() == (trello_before + 2, asana_before + 2, jira_before + 1)
    assert await replicas.version() == version + 2
    assert [c["id"] for c in await replicas.trello.board_cards()] == [replicas.card_id]
    assert [i["id"] for i in await replicas.jira.project_issues()] == [replicas.issue_id]


async def test_edits_on_every_side_at_once_converge_everywhere_and_then_fall_silent(
    trello_asana_and_jira: tuple[TrelloWorld, AsanaWorld, JiraWorld],
) -> None:
    replicas = await export_everywhere(*trello_asana_and_jira)
    trello, asana, jira = trello_asana_and_jira

    async def trello_renames() -> None:
        edited = await trello.trello.post(
            f"/_emulator/cards/{replicas.card_id}/edit", json={"name": "Renamed in Trello"}
        )
        assert edited.status_code == 200, edited.text

    async def core_completes() -> None:
        edited = await trello.api.patch(f"/v1/tasks/{replicas.task_id}", json={"completed": True})
        assert edited.status_code == 200, edited.text

    await asyncio.gather(
        trello_renames(),
        asana.person_edits(replicas.gid, notes="Agenda from Asana"),
        jira.person_edits(replicas.issue_id, duedate="2027-02-03"),
        core_completes(),
    )

    async def converged() -> bool:
        task, card, there, issue = await replicas.views()
        return (
            (task["title"], task["description"], task["due_date"], task["completed"])
            == ("Renamed in Trello", "Agenda from Asana", "2027-02-03", True)
            and card.get("name") == "Renamed in Trello"
            and str(card.get("desc", "")).startswith("Agenda from Asana")
            and str(card.get("due", "")).startswith("2027-02-03")
            and card.get("dueComplete") is True
            and there.get("name") == "Renamed in Trello"
            and str(there.get("notes", "")).startswith("Agenda from Asana")
            and there.get("due_on") == "2027-02-03"
            and there.get("completed") is True
            and issue.get("summary") == "Renamed in Trello"
            and adf_text(issue.get("description") or {}) == "Agenda from Asana"
            and issue.get("duedate") == "2027-02-03"
            and (issue.get("status") or {}).get("id") == DONE
        )

    await eventually(converged, within=WITHIN, what="every edit on every replica")

    # Silence: once a first barrier has reached every provider, a second one costs exactly one
    # write per provider and one version; nothing else is still going round.
    await replicas.flush_webhooks()
    await barrier(replicas, "First barrier")
    await replicas.flush_webhooks()
    writes, version = await replicas.writes(), await replicas.version()
    await barrier(replicas, "Second barrier")
    assert await replicas.writes() == tuple(count + 1 for count in writes)
    assert await replicas.version() == version + 1
    assert await converged() is False  # the title moved on; the rest stayed:
    task = await trello.task(replicas.task_id)
    assert (task["description"], task["due_date"], task["completed"]) == (
        "Agenda from Asana",
        "2027-02-03",
        True,
    )
