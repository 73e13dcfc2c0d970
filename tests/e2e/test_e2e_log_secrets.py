"""No log line of a whole run carries a secret: every service as its own process at DEBUG,
a Trello account connected, a task exported and edited on both sides, a request with a wrong
API token; then every service's log is read and searched for every secret the run used."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.e2e.conftest import Deploy, one_world
from tests.e2e.secrets_scan import leaks, secrets_of_env
from tests.e2e.trello_world import OBSERVER_TOKEN, TrelloWorld, connected_world, trello_env
from tests.e2e.world import core_has, eventually
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import SERVICES, Deployment
from tether_emulators.trello.emulator import SANDBOX_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# A token that is not Tether's: presented to the gateway, refused, and still a secret of
# whoever sent it.
WRONG_API_TOKEN = "tether_wrong_" + "x" * 32


def verbose_env(emulator: EmulatorProcess) -> dict[str, str]:
    """The Trello world's settings with every service at DEBUG in JSON (the most a log will
    ever say) and a real token encryption key, so the key is one of the scanned secrets."""
    env = trello_env(emulator)
    for spec in SERVICES:
        env[f"{spec.env_prefix}LOG_LEVEL"] = "DEBUG"
        env[f"{spec.env_prefix}LOG_JSON"] = "true"
    env["TETHER_TRELLO_TOKEN_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return env


def run_secrets(world: TrelloWorld) -> set[str]:
    """Every secret the run used: each service's configured credentials, the API token the
    test's client sends, the provider tokens given to Tether and used by the test."""
    deployment = world.deployment
    secrets: set[str] = set()
    for spec in SERVICES:
        secrets |= secrets_of_env(deployment.env(spec))
    bearer = world.api.headers["Authorization"].removeprefix("Bearer ")
    return secrets | {bearer, SANDBOX_TOKEN, OBSERVER_TOKEN, WRONG_API_TOKEN}


def service_logs(deployment: Deployment) -> dict[str, str]:
    return {spec.name: deployment.log_file(spec).read_text() for spec in SERVICES}


async def test_no_secret_reaches_any_log(deploy: Deploy, trello_emulator: EmulatorProcess) -> None:
    env = verbose_env(trello_emulator)
    async with one_world(deploy, env, connected_world, trello_emulator) as world:
        secrets = run_secrets(world)
        task_id, card_id = await world.export_new_task()
        await world.edit_core(task_id, title="Plan the week (v2)")
        await eventually(
            lambda: _card_named(world, card_id, "Plan the week (v2)"), what="the core edit"
        )
        await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
        await eventually(core_has(world, task_id, description="Agenda"), what="the card edit")
        async with httpx.AsyncClient(base_url=world.deployment.url("api-gateway")) as stranger:
            refused = await stranger.get(
                "/v1/tasks", headers={"Authorization": f"Bearer {WRONG_API_TOKEN}"}
            )
        assert refused.status_code == 401
        deployment = world.deployment
    # Read once every service has stopped, so shutdown lines are scanned too.
    logs = service_logs(deployment)

    # The list is the run's, not a guess: each kind of secret is on it.
    expected = {env["TETHER_TRELLO_TOKEN_ENCRYPTION_KEY"], env["TETHER_TRELLO_API_SECRET"]}
    assert expected | {SANDBOX_TOKEN, WRONG_API_TOKEN} <= secrets
    # The logs say what happened (so an empty or unwritten log cannot pass for a clean one).
    assert all(text.strip() for text in logs.values()), [n for n, t in logs.items() if not t]
    assert task_id in logs["api-gateway"]
    assert card_id in logs["trello-connector"]
    for name, text in logs.items():
        assert leaks(text, secrets) == [], f"{name} logged a secret"


async def _card_named(world: TrelloWorld, card_id: str, name: str) -> bool:
    return bool((await world.card(card_id)).get("name") == name)
