"""Schedules the random exploration once found failing, replayed on every run: each is a bug
that was fixed, and must stay fixed whatever the exploration draws next time."""

from __future__ import annotations

import pytest

from tests.simulation.bench import Bench, run
from tests.simulation.steps import (
    CoreEdit,
    Deliver,
    Export,
    Fail,
    Interleave,
    Outage,
    PersonEdit,
    Relay,
    Retry,
    Step,
)

TRELLO_TASKS, ASANA_TASKS, JIRA_TASKS = 0, 2, 4  # indices into constants.CONSUMERS

FOUND: dict[str, list[Step]] = {
    # A person's Trello edit that a queued write overwrote unread, while a failed poll and a
    # poll held mid-read met: the edit was lost (task-1's title stayed at core's older value).
    "overwritten edit beside a failed and a held poll": [
        CoreEdit("task-1", "title"),
        CoreEdit("task-1", "title"),
        CoreEdit("task-1", "title"),
        Retry("trello"),
        CoreEdit("task-1", "title"),
        Deliver(JIRA_TASKS),
        PersonEdit("trello", "task-1"),
        Deliver(TRELLO_TASKS),
        Deliver(TRELLO_TASKS),
        Fail("trello", "read"),
        Interleave("trello", "look"),
        Relay("trello", crash=True),
        Export("task-2", "trello"),
        Deliver(TRELLO_TASKS),
        Deliver(ASANA_TASKS),
        Outage("trello"),
    ],
    # A core edit delivered to Trello, the process dying after Trello applied it, with a
    # person's earlier edit of the same card unseen: the person's older title beat core's later.
    "crash after an unread write over a person's unseen edit": [
        PersonEdit("trello", "task-1"),
        CoreEdit("task-1", "description"),
        CoreEdit("task-1", "title"),
        Deliver(TRELLO_TASKS, crash="update"),
    ],
}


@pytest.mark.parametrize("schedule", list(FOUND.values()), ids=list(FOUND))
def test_a_schedule_once_found_failing_now_holds(bench: Bench, schedule: list[Step]) -> None:
    run(bench, schedule)
