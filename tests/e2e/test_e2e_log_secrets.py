"""No log line of a whole run carries a secret: every service as its own process at DEBUG,
a provider account connected (Trello; Asana and Jira by token and by OAuth consent), a task
exported and edited on both sides, a request with a wrong API token; then every service's log
is read and searched for every secret the run used: the configured ones, the tokens the test
presented, and what the connectors were handed and keep (OAuth access and refresh tokens,
webhook signing secrets)."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.e2e.asana_world import AsanaWorld, asana_env, connected_asana_world
from tests.e2e.conftest import Deploy, one_world
from tests.e2e.consent import connect_by_consent
from tests.e2e.jira_world import JiraWorld, connected_jira_world, jira_env
from tests.e2e.secrets_scan import leaks, secrets_of_env, stored_secrets
from tests.e2e.trello_world import OBSERVER_TOKEN, TrelloWorld, connected_world, trello_env
from tests.e2e.world import ProviderWorld, core_has, eventually
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import SERVICES, Deployment
from tether_emulators.jira.emulator import SANDBOX_EMAIL
from tether_emulators.jira.emulator import SANDBOX_TOKEN as SANDBOX_TOKEN_JIRA
from tether_emulators.trello.emulator import SANDBOX_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# A token that is not Tether's: presented to the gateway, refused, and still a secret of
# whoever sent it.
WRONG_API_TOKEN = "tether_wrong_" + "x" * 32


def verbose_env(env: dict[str, str], provider: str) -> dict[str, str]:
    """A world's settings with every service at DEBUG in JSON (the most a log will ever say)
    and a real token encryption key for ``provider``'s connector, so the key is one of the
    scanned secrets (and the test can read what the connector keeps)."""
    env = dict(env)
    for spec in SERVICES:
        env[f"{spec.env_prefix}LOG_LEVEL"] = "DEBUG"
        env[f"{spec.env_prefix}LOG_JSON"] = "true"
    env[f"TETHER_{provider.upper()}_TOKEN_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    return env


def run_secrets(world: ProviderWorld) -> set[str]:
    """The secrets every run uses: each service's configured credentials, the API token the
    test's client sends, the wrong one it presents."""
    deployment = world.deployment
    secrets: set[str] = set()
    for spec in SERVICES:
        secrets |= secrets_of_env(deployment.env(spec))
    bearer = world.api.headers["Authorization"].removeprefix("Bearer ")
    return secrets | {bearer, WRONG_API_TOKEN}


async def present_wrong_token(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.url("api-gateway")) as stranger:
        refused = await stranger.get(
            "/v1/tasks", headers={"Authorization": f"Bearer {WRONG_API_TOKEN}"}
        )
    assert refused.status_code == 401


def service_logs(deployment: Deployment) -> dict[str, str]:
    return {spec.name: deployment.log_file(spec).read_text() for spec in SERVICES}


async def test_no_secret_reaches_any_log(deploy: Deploy, trello_emulator: EmulatorProcess) -> None:
    env = verbose_env(trello_env(trello_emulator), "trello")
    async with one_world(deploy, env, connected_world, trello_emulator) as world:
        secrets = run_secrets(world) | {SANDBOX_TOKEN, OBSERVER_TOKEN}
        task_id, card_id = await world.export_new_task()
        await world.edit_core(task_id, title="Plan the week (v2)")
        await eventually(
            lambda: _card_named(world, card_id, "Plan the week (v2)"), what="the core edit"
        )
        await world.trello.post(f"/_emulator/cards/{card_id}/edit", json={"desc": "Agenda"})
        await eventually(core_has(world, task_id, description="Agenda"), what="the card edit")
        await present_wrong_token(world.deployment)
        deployment = world.deployment
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


async def test_no_asana_secret_reaches_any_log(
    deploy: Deploy, asana_emulator: EmulatorProcess
) -> None:
    env = verbose_env(asana_env(asana_emulator), "asana")
    async with one_world(deploy, env, connected_asana_world, asana_emulator) as world:
        # Both ways to connect: the personal access token, and OAuth (access and refresh
        # tokens, the client secret spent on the exchange).
        user = await _asana_user(world)
        oauth = await connect_by_consent(world.api, "asana", button="user", user=user)
        task_id = await world.new_task(title="Plan the week")
        world.connection_id = str(oauth["id"])  # exported through the OAuth connection
        await world.export(task_id)
        link = await eventually(world.link_in(task_id, "active"), what="the Asana link")
        gid = str(link["external_id"])
        await world.edit_core(task_id, title="Plan the week (v2)")
        await eventually(lambda: _asana_named(world, gid, "Plan the week (v2)"), what="edit")
        await world.person_edits(gid, notes="Agenda")
        await eventually(core_has(world, task_id, description="Agenda"), what="the Asana edit")
        await present_wrong_token(world.deployment)
        deployment = world.deployment
    kept = await stored_secrets(
        deployment.database_url, "asana", env["TETHER_ASANA_TOKEN_ENCRYPTION_KEY"]
    )
    secrets = run_secrets(world) | {world.token} | kept
    logs = service_logs(deployment)

    # Each kind of secret the run used is on the list: the client secret, the key, the
    # personal access token, and what the connector keeps since the consent replaced that
    # token: OAuth's access and refresh tokens; and the webhook's X-Hook-Secret.
    assert {env["TETHER_ASANA_CLIENT_SECRET"], env["TETHER_ASANA_TOKEN_ENCRYPTION_KEY"]} <= secrets
    assert len(kept) >= 3, "an access and a refresh token, a webhook secret"
    assert all(text.strip() for text in logs.values()), [n for n, t in logs.items() if not t]
    assert gid in logs["asana-connector"]
    for name, text in logs.items():
        assert leaks(text, secrets) == [], f"{name} logged a secret"


async def test_no_jira_secret_reaches_any_log(
    deploy: Deploy, jira_emulator: EmulatorProcess
) -> None:
    env = verbose_env(jira_env(jira_emulator), "jira")
    async with one_world(deploy, env, connected_jira_world, jira_emulator) as world:
        # Both ways to connect: an API token (Basic auth; the export registers a webhook
        # with a secret of ours), then OAuth for the same account (access and refresh tokens,
        # which Jira rotates on each refresh; the edits go with them).
        task_id, issue_id = await world.export_new_task(title="Plan the week")
        key = env["TETHER_JIRA_TOKEN_ENCRYPTION_KEY"]
        # Kept before the consent replaces them: the API token and the webhook's secret.
        before = await eventually(
            lambda: _at_least(3, stored_secrets(world.deployment.database_url, "jira", key)),
            what="the API token and the webhook secret stored",
        )
        overview = (await world.jira.get("/_emulator")).json()
        admin = next(
            u["accountId"] for u in overview["users"] if u["emailAddress"] == SANDBOX_EMAIL
        )
        await connect_by_consent(world.api, "jira", button="account_id", user=admin)
        await world.edit_core(task_id, title="Plan the week (v2)")
        await eventually(lambda: _jira_named(world, issue_id, "Plan the week (v2)"), what="edit")
        await world.person_edits(issue_id, description="Agenda")
        await eventually(core_has(world, task_id, description="Agenda"), what="the Jira edit")
        await present_wrong_token(world.deployment)
        deployment = world.deployment
    after = await stored_secrets(deployment.database_url, "jira", key)
    secrets = run_secrets(world) | before | after
    logs = service_logs(deployment)

    assert {env["TETHER_JIRA_CLIENT_SECRET"], key} <= secrets
    # The API token alone and as Basic auth sends it (base64 of email:token), the webhook's
    # secret; then OAuth's access and refresh tokens.
    assert {SANDBOX_TOKEN_JIRA, f"{SANDBOX_EMAIL}:{SANDBOX_TOKEN_JIRA}"} < before
    assert len(after - before) >= 2, "an access and a refresh token"
    assert all(text.strip() for text in logs.values()), [n for n, t in logs.items() if not t]
    assert issue_id in logs["jira-connector"]
    for name, text in logs.items():
        assert leaks(text, secrets) == [], f"{name} logged a secret"


async def _card_named(world: TrelloWorld, card_id: str, name: str) -> bool:
    return bool((await world.card(card_id)).get("name") == name)


async def _asana_user(world: AsanaWorld) -> str:
    overview = (await world.asana.get("/_emulator")).json()
    return str(next(u["gid"] for u in overview["users"] if world.token in u["tokens"]))


async def _asana_named(world: AsanaWorld, gid: str, name: str) -> bool:
    return bool((await world.asana_task(gid)).get("name") == name)


async def _at_least(count: int, found: Awaitable[set[str]]) -> set[str] | None:
    secrets = await found
    return secrets if len(secrets) >= count else None


async def _jira_named(world: JiraWorld, issue_id: str, name: str) -> bool:
    issue = await world.issue(issue_id)
    return bool(issue.get("fields", {}).get("summary") == name)
