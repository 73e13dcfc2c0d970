"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright's Python
API, against every service as a process on real Kafka and PostgreSQL and the Trello emulator.

A person logs in with an API token, exports a task to a Trello list chosen on the task's page
and sees its link turn active in the links panel, then finds a conflict (the same title
changed in the core and in Trello at once) with both values, and chooses the one the policy did
not keep: the core task then carries it, and so does the card. Screenshots of each step are
saved under the test's ``tmp_path``.

Every wait is on what the page or the services show (Playwright's auto-waiting assertions, the
panels' own htmx refresh, ``eventually`` on the API), never on time.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.trello_world import TrelloWorld
from tests.e2e.world import core_has, eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# Debian's package (the Makefile's bootstrap installs it): Playwright downloads no browser.
CHROMIUM = "/usr/bin/chromium"
# Generous: an export or a webhook's round trip on a loaded machine.
WITHIN_MS = 90_000


@pytest.fixture
def trello_env_overrides() -> dict[str, str]:
    # Changes reach Tether only by webhook here: reconciliation would otherwise read the
    # person's Trello edit while webhooks are held back, before the core edit meets it.
    return {"TETHER_TRELLO_RECONCILE_INTERVAL": "3600"}


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            yield await context.new_page()
        finally:
            await browser.close()


async def shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / "screenshots" / f"{name}.png"
    await page.screenshot(path=path, full_page=True)
    return path


async def test_log_in_see_an_export_turn_active_and_resolve_a_conflict(
    trello_world: TrelloWorld, page: Page, tmp_path: Path
) -> None:
    world = trello_world
    gateway = world.deployment.url("api-gateway")
    token = str(world.api.headers["Authorization"]).removeprefix("Bearer ")

    # Log in: without a session every page sends the browser to the login form.
    await page.goto(f"{gateway}/dashboard")
    await expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    await page.fill("#token", token)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await expect(page.locator("header .who")).to_contain_text("acme")
    connection = page.locator(f'#panel-connections tr[data-connection="{world.connection_id}"]')
    await expect(connection).to_have_attribute("data-health", "ok")
    await shot(page, tmp_path, "1-logged-in")

    # Export a task from its page, to a place the connection's connector lists; its link
    # appears and turns active in the links panel (htmx refresh).
    task_id = await world.new_task(title="Plan the week")
    await page.goto(f"{gateway}/dashboard/tasks/{task_id}")
    await page.get_by_role("button", name="Choose where…").click()
    place = json.dumps({"connection_id": world.connection_id, "target": world.target()})
    await page.locator('select[name="destination"]').select_option(value=place)
    await shot(page, tmp_path, "2-export-chosen")
    await page.get_by_role("button", name="Export", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Export to Trello accepted")
    await page.goto(f"{gateway}/dashboard")
    link = page.locator(f'#panel-links tr[data-task="{task_id}"]')
    await expect(link).to_have_attribute("data-status", "active", timeout=WITHIN_MS)
    await expect(link).to_contain_text("Plan the week")
    await shot(page, tmp_path, "3-link-active")
    card_id = str((await world.link_in(task_id, "active")())["external_id"])
    await world.flush_webhooks()

    # A conflict: a person renames the card while its webhook is held back, and the core
    # renames the task; Tether's write lands on the person's edit, whose notice then arrives.
    assert (await world.trello.post("/_emulator/webhooks/pause")).status_code == 200
    edited = await world.trello.post(
        f"/_emulator/cards/{card_id}/edit", json={"name": "Renamed in Trello"}
    )
    assert edited.status_code == 200, edited.text
    await world.edit_core(task_id, title="Renamed in the core")
    await eventually(
        lambda: _card_named(world, card_id, "Renamed in the core"),
        within=WITHIN_MS / 1000,
        what="the core's rename written to the card",
    )
    assert (await world.trello.post("/_emulator/webhooks/resume")).status_code == 200

    row = page.locator(f'#panel-conflicts tr[data-task="{task_id}"]')
    await expect(row).to_be_visible(timeout=WITHIN_MS)
    await expect(row).to_contain_text("Renamed in Trello")
    await expect(row).to_contain_text("Renamed in the core")
    # Each panel refreshes on its own beat: a fresh page shows them all at this moment.
    await page.reload()
    await expect(row).to_be_visible()
    await shot(page, tmp_path, "4-conflict")
    (conflict,) = await _conflicts(world, task_id)
    lost = (
        conflict["provider_value"]
        if conflict["winning_value"] == conflict["core_value"]
        else conflict["core_value"]
    )
    assert lost in ("Renamed in Trello", "Renamed in the core")

    # Choose the other value: a new core edit, shown on the task's page, reaching the card.
    await row.get_by_role("button", name=f"Choose “{lost}”").click()
    await expect(page).to_have_url(re.compile(rf"/dashboard/tasks/{task_id}\?notice="))
    await expect(page.get_by_role("status")).to_contain_text("a new core edit")
    await expect(page.locator("#task-conflicts")).to_contain_text("the task holds this value now")
    await expect(page.locator("#task h1")).to_have_text(lost)
    await shot(page, tmp_path, "5-chosen")
    await eventually(
        core_has(world, task_id, title=lost), within=WITHIN_MS / 1000, what="the chosen title"
    )
    history = (await world.api.get(f"/v1/tasks/{task_id}/history")).json()["items"]
    newest = history[0]
    assert (newest["origin"], newest["changed_fields"], newest["fields"]["title"]) == (
        "core",
        ["title"],
        lost,
    )
    await eventually(
        lambda: _card_named(world, card_id, lost),
        within=WITHIN_MS / 1000,
        what="the chosen title on the card",
    )

    # The overview says so too, and shows the webhook the export registered on the board.
    await page.goto(f"{gateway}/dashboard")
    await expect(page.locator(f'#panel-conflicts tr[data-task="{task_id}"]')).to_contain_text(
        "the task holds this value now"
    )
    await expect(link).to_contain_text(lost)
    await expect(connection).not_to_have_attribute("data-webhooks", "0")
    await shot(page, tmp_path, "6-overview")

    # Logging out ends the session: the dashboard asks for a token again.
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/dashboard/login"))
    await page.goto(f"{gateway}/dashboard")
    await expect(page).to_have_url(re.compile(r"/dashboard/login$"))


async def _card_named(world: TrelloWorld, card_id: str, name: str) -> bool:
    return bool((await world.card(card_id)).get("name") == name)


async def _conflicts(world: TrelloWorld, task_id: str) -> list[dict[str, Any]]:
    answer = await world.api.get("/v1/conflicts", params={"task_id": task_id})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])
