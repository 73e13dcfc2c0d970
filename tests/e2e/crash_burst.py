"""A burst of exports and edits cut short by ``kill -9``, and the end state it must reach.

Shared by the embedded and the distributed crash tests: what differs between them is only
which processes are killed and how they come back. The promise checked is "answered is
durable": every export answered 202 ends as exactly one active link and exactly one card,
and every card ends with the last title its task was answered 200 for.

The kill point is a count of answered requests, never a time: the kill happens in the same
step that records the answer which reaches the count, while the other tasks' requests are on
the wire. Those are the interesting ones: each may or may not have taken effect, so for them
the test accepts either outcome, but nothing in between (a half-made export, a second card).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from trello_connector.mapping import link_id_of

TASKS = 16
EDITS_PER_TASK = 3  # after the export: four requests per task, 64 in all
KILL_AFTER = TASKS * (1 + EDITS_PER_TASK) // 2


@dataclass
class BurstLog:
    """What the burst was answered, per task."""

    link_of: dict[str, str] = field(default_factory=dict)  # task id -> link id, export got 202
    acked_title: dict[str, str] = field(default_factory=dict)  # last title answered 200 (or 201)
    # The one request per task sent but never answered 2xx (in flight at the kill, or refused
    # because a service behind the gateway was down): ("export", "") or ("patch", title).
    unanswered: dict[str, tuple[str, str]] = field(default_factory=dict)
    answered: int = 0
    in_flight_at_kill: int = 0

    def titles_allowed(self, task_id: str) -> set[str]:
        """The last acknowledged title, or the one of an unanswered edit sent after it: it may
        have been applied before its answer was lost."""
        allowed = {self.acked_title[task_id]}
        kind, title = self.unanswered.get(task_id, ("", ""))
        if kind == "patch":
            allowed.add(title)
        return allowed


async def create_tasks(api: httpx.AsyncClient, count: int = TASKS) -> list[str]:
    ids = []
    for n in range(count):
        created = await api.post("/v1/tasks", json={"title": f"Task {n}"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


async def burst(
    api: httpx.AsyncClient,
    task_ids: list[str],
    *,
    connection_id: str,
    list_id: str,
    kill: Callable[[], None],
    kill_after: int = KILL_AFTER,
) -> BurstLog:
    """Per task, in order: export it, then rename it ``EDITS_PER_TASK`` times; all tasks at
    once. ``kill`` runs (synchronously, nothing else runs in between) when the ``kill_after``th
    answer arrives; no request is sent after it, those on the wire are awaited and counted if
    they were answered after all."""
    log = BurstLog(acked_title={task_id: f"Task {n}" for n, task_id in enumerate(task_ids)})
    killed = False
    sent: dict[str, tuple[str, str]] = {}  # task id -> its request on the wire

    async def one_task(n: int, task_id: str) -> None:
        nonlocal killed
        steps = [("export", "")] + [
            ("patch", f"Task {n} edit {e}") for e in range(1, EDITS_PER_TASK + 1)
        ]
        for kind, title in steps:
            if killed:
                return
            sent[task_id] = (kind, title)
            try:
                if kind == "export":
                    answer = await api.post(
                        f"/v1/tasks/{task_id}/exports",
                        json={"connection_id": connection_id, "target": {"list_id": list_id}},
                    )
                else:
                    answer = await api.patch(f"/v1/tasks/{task_id}", json={"title": title})
            except httpx.TransportError:
                log.unanswered[task_id] = sent.pop(task_id)
                return
            if answer.status_code not in (200, 202):
                # Only possible once a process is down (the gateway answers 503 for a killed
                # task-core): the effect may or may not have happened.
                assert killed, f"{kind} {task_id}: {answer.status_code} {answer.text}"
                log.unanswered[task_id] = sent.pop(task_id)
                return
            del sent[task_id]
            if kind == "export":
                log.link_of[task_id] = answer.json()["id"]
            else:
                log.acked_title[task_id] = title
            log.answered += 1
            if log.answered == kill_after:
                kill()
                killed = True
                log.in_flight_at_kill = len(sent)

    await asyncio.gather(*(one_task(n, task_id) for n, task_id in enumerate(task_ids)))
    assert killed, f"only {log.answered} answers, the kill point was {kill_after}"
    return log


@dataclass
class Observed:
    """One look at every task, its links and the board."""

    tasks: dict[str, dict[str, Any]]
    links: dict[str, list[dict[str, Any]]]
    cards: list[dict[str, Any]]

    def cards_marked(self, link_id: str) -> list[dict[str, Any]]:
        return [c for c in self.cards if link_id_of(str(c.get("desc") or "")) == link_id]


async def observe(
    api: httpx.AsyncClient, trello: httpx.AsyncClient, board_id: str, task_ids: list[str]
) -> Observed | None:
    """Everything at once, or None while a service does not answer (it is restarting)."""
    try:
        answers = await asyncio.gather(
            *(api.get(f"/v1/tasks/{t}") for t in task_ids),
            *(api.get(f"/v1/tasks/{t}/links") for t in task_ids),
        )
        # Through the control API: every card, archived ones too, and no rate limit spent.
        board = await trello.get(f"/_emulator/boards/{board_id}/cards")
    except httpx.TransportError:
        return None
    if any(a.status_code != 200 for a in (*answers, board)):
        return None
    count = len(task_ids)
    return Observed(
        tasks={t: a.json() for t, a in zip(task_ids, answers[:count], strict=True)},
        links={t: a.json() for t, a in zip(task_ids, answers[count:], strict=True)},
        cards=board.json(),
    )


def problems(log: BurstLog, seen: Observed) -> list[str]:
    """Every way ``seen`` differs from the end state the answers promised (empty: reached)."""
    found: list[str] = []
    markers = [m for c in seen.cards if (m := link_id_of(str(c.get("desc") or "")))]
    duplicated = sorted({m for m in markers if markers.count(m) > 1})
    if duplicated:
        found.append(f"several cards carry the marker of links {duplicated}")
    for task_id, task in seen.tasks.items():
        links = seen.links[task_id]
        if task_id in log.link_of:
            expected = [log.link_of[task_id]]
        elif log.unanswered.get(task_id, ("", ""))[0] == "export" and len(links) == 1:
            # An export on the wire at the kill that task-core did record: it must be carried
            # out like an answered one, since task-core's commit is all a restart needs.
            expected = [links[0]["id"]]
        else:
            expected = []
        if [link["id"] for link in links] != expected:
            found.append(f"{task_id}: links {[link['id'] for link in links]}, want {expected}")
            continue
        if task["title"] not in log.titles_allowed(task_id):
            found.append(f"{task_id}: core title {task['title']!r}, answered otherwise")
        if not expected:
            continue
        [link] = links
        cards = seen.cards_marked(link["id"])
        if link["status"] != "active" or len(cards) != 1:
            found.append(f"{task_id}: link {link['status']}, {len(cards)} cards marked for it")
            continue
        [card] = cards
        if (card["id"], card["closed"]) != (link["external_id"], False):
            found.append(f"{task_id}: link names card {link['external_id']}, board has {card}")
        if card["name"] != task["title"]:
            found.append(f"{task_id}: card {card['name']!r}, core {task['title']!r}")
    return found


async def converge(
    look: Callable[[], Awaitable[Observed | None]], log: BurstLog, *, within: float
) -> Observed:
    """Poll until the end state is reached; fail with what still differs at the deadline."""
    deadline = time.monotonic() + within
    last: list[str] = ["no service answered"]
    while time.monotonic() < deadline:
        seen = await look()
        if seen is not None:
            last = problems(log, seen)
            if not last:
                return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"not converged within {within}s:\n" + "\n".join(last))


def assert_end_state(log: BurstLog, seen: Observed) -> None:
    """The promise, spelled out once more on the converged state (``problems`` is empty)."""
    assert log.in_flight_at_kill > 0, "the kill must cut requests off mid-flight"
    assert log.link_of, "some exports must have been answered before the kill"
    ours = [c for c in seen.cards if link_id_of(str(c.get("desc") or ""))]
    assert (
        len(ours)
        == len({c["id"] for c in ours})
        == sum(1 for links in seen.links.values() for _ in links)
    ), "one card per link, no more"
    for task_id, link_id in log.link_of.items():
        [link] = seen.links[task_id]
        assert (link["id"], link["status"]) == (link_id, "active")
        [card] = seen.cards_marked(link_id)
        assert card["name"] == seen.tasks[task_id]["title"]
        assert card["name"] in log.titles_allowed(task_id)
