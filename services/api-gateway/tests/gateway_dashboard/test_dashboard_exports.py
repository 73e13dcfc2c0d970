"""Exporting a task from its dashboard page: the places offered, the link registered as the
API would, and the exports the API would refuse."""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from tether_contracts.connections import Container, Place, Targets

from .browsing import csrf_of
from .fakes import FakeTaskCore, OperatorFakeConnectors


@pytest.fixture
def destination(world: dict[str, str], fake_connectors: OperatorFakeConnectors) -> str:
    """An active Trello connection of acme's with one board: its list "To do" is a place an
    export can name, its "Done" list one its connector gave no target. The option's value."""
    fake_connectors.add(world["acme_id"], "trello_acme2", "active")
    fake_connectors.targets["trello_acme2"] = Targets(
        containers=[
            Container(
                id="b1",
                name="Work",
                kind="board",
                places=[
                    Place(id="l1", name="To do", target={"list_id": "l1"}),
                    Place(id="l2", name="Done"),
                ],
            )
        ]
    )
    return json.dumps({"connection_id": "trello_acme2", "target": {"list_id": "l1"}})


async def test_the_export_form_offers_each_place_of_the_tenants_working_connections(
    client: httpx.AsyncClient, world: dict[str, str], destination: str
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    assert f'hx-get="/dashboard/tasks/{task_id}/destinations"' in page.text
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    assert form.status_code == 200
    options = dict(
        (html.unescape(label), html.unescape(value))
        for value, label in re.findall(r'<option value="([^"]+)">([^<]+)</option>', form.text)
    )
    # The broken connection (trello_acme) is not offered; the list without a target neither.
    assert options == {"Work / To do": destination}
    assert "globex" not in form.text


async def test_exporting_from_the_dashboard_registers_the_link_as_the_api_does(
    client: httpx.AsyncClient,
    world: dict[str, str],
    destination: str,
    fake_task_core: FakeTaskCore,
) -> None:
    task_id = world["acme_task"]
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports",
        data={"csrf": csrf_of(form.text), "destination": destination},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/dashboard/tasks/{task_id}?notice=")
    (link,) = fake_task_core.links[task_id]
    assert (link.connection_id, link.target, link.status) == (
        "trello_acme2",
        {"list_id": "l1"},
        "pending",
    )
    page = await client.get(answer.headers["location"])
    assert "Export to Trello accepted" in page.text
    assert 'data-status="pending"' in page.text


@pytest.mark.parametrize(
    ("choice", "problem"),
    [
        ("", "Choose where to export the task."),
        ("{not json", "Choose where to export the task."),
        (json.dumps({"connection_id": "trello_globex", "target": {"list_id": "l1"}}), "no such"),
        (json.dumps({"connection_id": "trello_acme", "target": {"list_id": "l1"}}), "broken"),
    ],
    ids=["none", "garbled", "another-tenants", "broken"],
)
async def test_an_export_the_api_would_refuse_is_refused_with_its_reason(
    client: httpx.AsyncClient,
    world: dict[str, str],
    destination: str,
    fake_task_core: FakeTaskCore,
    choice: str,
    problem: str,
) -> None:
    task_id = world["acme_task"]
    form = await client.get(f"/dashboard/tasks/{task_id}/destinations")
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports",
        data={"csrf": csrf_of(form.text), "destination": choice},
    )
    assert answer.status_code == 303
    assert "?problem=" in answer.headers["location"]
    assert problem in (await client.get(answer.headers["location"])).text
    assert fake_task_core.links.get(task_id, []) == []


async def test_an_export_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, world: dict[str, str], destination: str, fake_task_core: FakeTaskCore
) -> None:
    task_id = world["acme_task"]
    answer = await client.post(
        f"/dashboard/tasks/{task_id}/exports", data={"csrf": "0" * 64, "destination": destination}
    )
    assert answer.status_code == 403
    assert fake_task_core.links.get(task_id, []) == []
