"""Core takes the longest value any supported provider accepts, and a value that came from a
provider is never the reason a person's own edit is refused: a patch validates only the
fields it sets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tether_contracts.tasks import DESCRIPTION_MAX, TITLE_MAX
from tether_events import CloudEvent, Topic, topic_name
from tether_events.inprocess import InProcessBus

TASKS = "/internal/v1/tenants/acme/tasks"
PROVIDER_CHANGED = topic_name(Topic.PROVIDER_CHANGED)
ProviderEvent = Callable[..., CloudEvent[Any]]
WaitProcessed = Callable[[str, str], Awaitable[None]]
CONSUMER = "task-core.provider-changed"


def test_the_maxima_are_the_largest_any_provider_takes() -> None:
    # Trello's card name (16384) and Jira's issue description (32767): tether_contracts.tasks.
    assert (TITLE_MAX, DESCRIPTION_MAX) == (16_384, 32_767)


async def test_values_up_to_the_maxima_are_accepted_and_one_more_character_is_not(
    api: httpx.AsyncClient,
) -> None:
    longest = {"title": "t" * TITLE_MAX, "description": "d" * DESCRIPTION_MAX}
    created = await api.post(TASKS, json=longest)
    assert created.status_code == 201, created.text
    assert {k: len(created.json()[k]) for k in longest} == {k: len(v) for k, v in longest.items()}

    refused = {
        name: await api.post(TASKS, json={**longest, name: value + "x"})
        for name, value in longest.items()
    }
    assert {name: r.status_code for name, r in refused.items()} == {
        "title": 422,
        "description": 422,
    }
    assert ["body", "title"] in [e["loc"] for e in refused["title"].json()["error"]["details"]]


async def provider_set(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    make_provider_event: ProviderEvent,
    wait_processed: WaitProcessed,
    **new: str,
) -> str:
    """A task whose fields ``new`` came from a provider (merged from its change); its id."""
    created = await api.post(TASKS, json={"title": "Plan"})
    task_id: str = created.json()["id"]
    base = {name: created.json()[name] for name in new}
    change = make_provider_event(task_id, base=base, new=new)
    await bus.publish(PROVIDER_CHANGED, change)
    await wait_processed(CONSUMER, change.id)
    current = (await api.get(f"{TASKS}/{task_id}")).json()
    assert {name: current[name] for name in new} == new
    return task_id


async def test_a_title_from_a_provider_at_the_maximum_never_blocks_a_persons_edit(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    make_provider_event: ProviderEvent,
    wait_processed: WaitProcessed,
) -> None:
    title = "Plan " + "w" * (TITLE_MAX - 5)
    task_id = await provider_set(api, bus, make_provider_event, wait_processed, title=title)

    description = await api.patch(f"{TASKS}/{task_id}", json={"description": "notes"})
    completed = await api.patch(f"{TASKS}/{task_id}", json={"completed": True})
    # The person's one-word fix of the long title itself is within the maximum too.
    fixed = await api.patch(f"{TASKS}/{task_id}", json={"title": "Fix: " + title[5:]})

    assert [r.status_code for r in (description, completed, fixed)] == [200, 200, 200]
    final = fixed.json()
    assert (final["description"], final["completed"]) == ("notes", True)
    assert (final["title"][:6], len(final["title"])) == ("Fix: w", TITLE_MAX)


async def test_a_value_over_the_maximum_from_a_provider_is_kept_and_other_edits_pass(
    api: httpx.AsyncClient,
    bus: InProcessBus,
    make_provider_event: ProviderEvent,
    wait_processed: WaitProcessed,
) -> None:
    """A provider with no documented limit (Asana's notes) can send more than core's maximum:
    core keeps it whole rather than lose a person's text, and a patch of other fields is not
    validated against it."""
    longer = "n" * (DESCRIPTION_MAX + 100)
    task_id = await provider_set(api, bus, make_provider_event, wait_processed, description=longer)

    renamed = await api.patch(f"{TASKS}/{task_id}", json={"title": "Renamed"})

    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["description"]) == ("Renamed", longer)


@pytest.mark.parametrize("field", ["title", "description"])
async def test_a_patch_over_the_maximum_names_its_field(api: httpx.AsyncClient, field: str) -> None:
    task_id = (await api.post(TASKS, json={"title": "Plan"})).json()["id"]
    limit = TITLE_MAX if field == "title" else DESCRIPTION_MAX

    refused = await api.patch(f"{TASKS}/{task_id}", json={field: "x" * (limit + 1)})

    assert refused.status_code == 422
    assert ["body", field] in [e["loc"] for e in refused.json()["error"]["details"]]
