"""The provider emulators the sandbox serves beside Tether (Trello, Asana, Jira), each with the
settings that point Tether's connector for that provider at it (its API, its OAuth endpoints,
its app's credentials) in place of the real provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import FastAPI

from asana_connector.config import AsanaSettings
from jira_connector.config import JiraSettings
from jira_connector.mapping import place_id
from tether_cli.sandbox_world import SAMPLE_PLACE, SandboxAccount
from tether_connector_runtime.settings import ConnectorSettings
from tether_emulators import asana, jira, trello
from trello_connector.config import TrelloSettings

# Every emulator listens on this loopback address only.
EMULATOR_HOST = "127.0.0.1"
TRELLO_KEY, TRELLO_SECRET = "sandbox-key", "sandbox-secret"
# Seconds between reconciliations (the polls that repair missed webhooks): short, so that in
# the sandbox a repair shows within moments rather than after the default minute.
RECONCILE_INTERVAL = 10.0

SettingsT = TypeVar("SettingsT", bound=ConnectorSettings)


@dataclass(frozen=True)
class Emulator(Generic[SettingsT]):
    """One provider's emulator as the sandbox serves it: ``connector`` is the connector's
    settings aimed at it, ``account`` the sandbox account it seeded."""

    app: FastAPI
    connector: SettingsT
    account: SandboxAccount


def emulator_url(port: int) -> str:
    return f"http://{EMULATOR_HOST}:{port}"


def trello_emulator(url: str, tether_url: str) -> Emulator[TrelloSettings]:
    """The Trello emulator at ``url``; Trello calls Tether back at ``tether_url``."""
    app = trello.create_trello_emulator(api_key=TRELLO_KEY, api_secret=TRELLO_SECRET, sandbox=True)
    connector = _aimed(
        TrelloSettings,
        tether_url,
        api_url=f"{url}/1",
        oauth_url=f"{url}/1",
        api_key=TRELLO_KEY,
        api_secret=TRELLO_SECRET,
    )
    board = _seeded(trello.get_emulator(app).sandbox_info)
    lists, to_do = board.list_ids, {"list_id": board.list_ids[SAMPLE_PLACE]}
    account = SandboxAccount("trello", url, board.token, board.board_id, lists, to_do)
    return Emulator(app, connector, account)


def asana_emulator(url: str, tether_url: str) -> Emulator[AsanaSettings]:
    """The Asana emulator at ``url``; Asana calls Tether back at ``tether_url``."""
    # Asana refuses webhook targets on localhost; Tether is on this machine, so the sandbox's
    # emulator accepts them.
    app = asana.create_asana_emulator(allow_local_targets=True, sandbox=True)
    connector = _aimed(
        AsanaSettings,
        tether_url,
        api_url=f"{url}/api/1.0",
        oauth_url=url,
        client_id=asana.SANDBOX_APP.client_id,
        client_secret=asana.SANDBOX_APP.client_secret,
    )
    seeded = _seeded(asana.get_emulator(app).sandbox_info)
    project, sections = seeded.project_gid, seeded.section_gids
    to_do = {"project_gid": project, "section_gid": sections[SAMPLE_PLACE]}
    account = SandboxAccount("asana", url, seeded.token, project, sections, to_do)
    return Emulator(app, connector, account)


def jira_emulator(url: str, tether_url: str) -> Emulator[JiraSettings]:
    """The Jira emulator at ``url``, which is also its site's URL (answers show it, and the
    connection names it, so the connector's calls come here); Jira calls Tether back at
    ``tether_url``."""
    app = jira.create_jira_emulator(site_url=url, sandbox=True)
    connector = _aimed(
        JiraSettings,
        tether_url,
        api_url=url,
        auth_url=url,
        client_id=jira.SANDBOX_APP.client_id,
        client_secret=jira.SANDBOX_APP.client_secret,
        # The sites an API-token connection may name: the emulator's.
        site_hosts=[EMULATOR_HOST],
    )
    seeded = _seeded(jira.get_emulator(app).sandbox_info)
    # The seeded user administers Jira, so the connection gets a signed admin webhook.
    credentials = {"site_url": url, "email": seeded.email, "api_token": seeded.api_token}
    task = {"project_key": seeded.project_key, "issue_type_id": seeded.issue_type_ids["Task"]}
    statuses = {name: place_id(seeded.project_key, s) for name, s in seeded.status_ids.items()}
    account = SandboxAccount(
        "jira", url, seeded.api_token, seeded.project_key, statuses, task, credentials, mapped=False
    )
    return Emulator(app, connector, account)


def _aimed(settings: type[SettingsT], tether_url: str, **provider: Any) -> SettingsT:
    """A connector's settings in the sandbox: the embedded bus, Tether's URL for the
    provider's callbacks, quick reconciliation, and ``provider``: where the emulator's API
    and OAuth endpoints are, and the app's credentials it knows."""
    return settings(
        bus="inprocess", public_url=tether_url, reconcile_interval=RECONCILE_INTERVAL, **provider
    )


T = TypeVar("T")


def _seeded(account: T | None) -> T:
    assert account is not None  # sandbox=True always seeds it
    return account
