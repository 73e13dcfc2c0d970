"""What the dashboard's panels and task page show, only ever of the session's tenant, and the
static assets they need, served offline."""

from __future__ import annotations

import httpx

from .fakes import OperatorFakeConnectors


async def test_the_overview_shows_the_tenants_panels_and_nothing_of_another(
    client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    # Connections and their health: broken, with why, and a webhook about to expire.
    assert 'data-connection="trello_acme" data-health="broken"' in html
    assert "token revoked" in html
    assert "webhook on board-acme expires" in html
    # Links with state and last sync, and the one waiting to retry with its schedule.
    assert f'data-task="{world["acme_task"]}" data-status="active" data-state="ok"' in html
    assert "acme task" in html  # the title, looked up in task-core
    assert "acme: provider answered 503" in html
    assert "attempt 3" in html
    # Conflicts with both values and the button choosing the one that lost.
    assert "acme core title" in html
    assert "acme card title" in html
    assert "Choose “acme core title”" in html
    # Parked events with their replay.
    assert 'data-dead-letter="0:0"' in html
    assert "cannot map this" in html
    assert "/dashboard/dead-letters/trello/0:0/replay" in html
    for other in ("globex", world["globex_task"], world["globex_id"]):
        assert other not in html


async def test_each_panel_refreshes_alone(client: httpx.AsyncClient, world: dict[str, str]) -> None:
    links = await client.get("/dashboard/panels/links")
    assert links.status_code == 200
    assert "<html" not in links.text
    assert world["acme_task"] in links.text
    assert "globex" not in links.text
    retrying = await client.get("/dashboard/panels/retrying")
    assert "acme-waiting" in retrying.text
    assert world["acme_task"] not in retrying.text
    assert (await client.get("/dashboard/panels/nothing")).status_code == 404


async def test_a_panel_whose_source_is_down_says_so_and_the_others_still_show(
    client: httpx.AsyncClient, world: dict[str, str], fake_connectors: OperatorFakeConnectors
) -> None:
    fake_connectors.unreachable.add("trello")
    html = (await client.get("/dashboard")).text
    assert "Unavailable: upstream_unavailable" in html
    assert "acme core title" in html  # conflicts come from task-core, which answers


async def test_the_task_page_shows_activity_links_and_conflicts(
    client: httpx.AsyncClient, world: dict[str, str]
) -> None:
    task_id = world["acme_task"]
    page = await client.get(f"/dashboard/tasks/{task_id}")
    assert page.status_code == 200
    assert "Recent activity" in page.text
    assert 'data-version="1"' in page.text
    assert "acme core title" in page.text
    assert "Choose “acme core title”" in page.text
    other = await client.get(f"/dashboard/tasks/{world['globex_task']}")
    assert other.status_code == 404
    assert "globex task" not in other.text


async def test_static_assets_are_served_offline(client: httpx.AsyncClient) -> None:
    htmx = await client.get("/dashboard/static/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.text.startswith("/*! htmx")
    assert (await client.get("/dashboard/static/dashboard.css")).status_code == 200
