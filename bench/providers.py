"""The Asana and Jira emulators beside Trello's: each a process of its own, the connectors'
settings aimed at them, and connections made through the gateway (one per Asana user or Jira
administrator, each with a project of its own), so that a task can be linked to all three
providers.

Limits, raised where a real deployment's would not bind (as Trello's per-key limit is, see
:mod:`bench.stack`), kept where they are a user's own:

- Asana's quota is per token (150 requests a minute on a free domain, 1,500 on a paid one):
  the emulator runs a paid domain's quota, the connector is told the same, and the load is
  spread over many users' tokens, as Trello's is over many members';
- Jira's burst limits (100 GET/POST and 50 PUT/DELETE a second) are kept per credential by
  the connector, while the emulator counts them per endpoint over the whole site, every
  credential together: raised there (:data:`JIRA_BURST`) through its control API, as an
  app-wide limit. Jira's per-issue write limits (20 per 2 s, 100 per 30 s) stay as they are.

Periodic reconciliation is off, as for Trello (a cost per interval, not per change).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import free_port
from tether_emulators.asana.app import SANDBOX_APP as ASANA_APP
from tether_emulators.jira.app import SANDBOX_APP as JIRA_APP

ASANA_PER_MINUTE = 1500  # a paid Asana domain's quota per token
JIRA_BURST = 1_000_000  # the emulator's site-wide burst limits, raised (see above)
RETRY_DELAYS = "0.2,0.5,1"
RECONCILE_INTERVAL = "3600"


def _process(provider: str, run_dir: Path, *args: str) -> EmulatorProcess:
    return EmulatorProcess(provider, free_port(), run_dir, [*args, "--retry-delays", RETRY_DELAYS])


async def start(run_dir: Path) -> dict[str, EmulatorProcess]:
    """The Asana and Jira emulators started (provider -> process), Jira's bursts raised."""
    others = {
        "asana": _process("asana", run_dir, "--per-minute", str(ASANA_PER_MINUTE)),
        "jira": _process("jira", run_dir),
    }
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in others.values()))
    async with httpx.AsyncClient(base_url=others["jira"].url, timeout=30) as jira:
        raised = await jira.post(
            "/_emulator/rate-limits",
            json={"burst_get_post": JIRA_BURST, "burst_put_delete": JIRA_BURST},
        )
        raised.raise_for_status()
    return others


def stop(others: dict[str, EmulatorProcess]) -> None:
    for process in others.values():
        process.stop()


def env(others: dict[str, EmulatorProcess], public_url: str | None = None) -> dict[str, str]:
    """The Asana and Jira connectors' settings aimed at the emulators; ``public_url``: where
    the providers call back, for the embedded process (distributed services get their own)."""
    asana, jira = others["asana"].url, others["jira"].url
    settings = {
        "TETHER_ASANA_API_URL": f"{asana}/api/1.0",
        "TETHER_ASANA_OAUTH_URL": asana,
        "TETHER_ASANA_CLIENT_ID": ASANA_APP.client_id,
        "TETHER_ASANA_CLIENT_SECRET": ASANA_APP.client_secret,
        "TETHER_ASANA_REQUESTS_PER_MINUTE": str(ASANA_PER_MINUTE),
        "TETHER_ASANA_RECONCILE_INTERVAL": RECONCILE_INTERVAL,
        # The emulator's site is http://127.0.0.1:<port>: API tokens may be sent there.
        "TETHER_JIRA_SITE_HOSTS": json.dumps(["127.0.0.1"]),
        "TETHER_JIRA_API_URL": jira,
        "TETHER_JIRA_AUTH_URL": jira,
        "TETHER_JIRA_CLIENT_ID": JIRA_APP.client_id,
        "TETHER_JIRA_CLIENT_SECRET": JIRA_APP.client_secret,
        "TETHER_JIRA_RECONCILE_INTERVAL": RECONCILE_INTERVAL,
    }
    if public_url is not None:
        settings |= {"TETHER_ASANA_PUBLIC_URL": public_url, "TETHER_JIRA_PUBLIC_URL": public_url}
    return settings


@dataclass(frozen=True)
class Place:
    """Where exports go: a connection and the export's ``target`` there."""

    provider: str
    connection_id: str
    target: dict[str, str]


async def _connected(api: httpx.AsyncClient, provider: str, **credentials: Any) -> str:
    answer = await api.post("/v1/connections", json={"provider": provider, **credentials})
    if answer.status_code != 201:
        raise RuntimeError(f"connecting {provider} failed: {answer.text}")
    return str(answer.json()["id"])


async def _control(emulator: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    answer = await emulator.post(f"/_emulator{path}", json=body)
    answer.raise_for_status()
    return answer.json()


async def add_asana(api: httpx.AsyncClient, asana: httpx.AsyncClient, index: int) -> Place:
    """An Asana user with a personal access token of their own, a project, and a Tether
    connection with that token; exports go to the project's first section."""
    token = secrets.token_hex(16)
    await _control(asana, "/users", {"name": f"Bench {index}", "token": token})
    project = await _control(asana, "/projects", {"name": f"Bench {index}"})
    connection = await _connected(api, "asana", token=token)
    target = {"project_gid": project["gid"], "section_gid": project["sections"][0]["gid"]}
    return Place("asana", connection, target)


async def add_jira(api: httpx.AsyncClient, jira: httpx.AsyncClient, index: int) -> Place:
    """A Jira administrator (so the connection gets a signed admin webhook) with an API token,
    a project of their own, and a Tether connection; exports are Tasks there."""
    token = secrets.token_urlsafe(18)
    user = await _control(
        jira, "/users", {"displayName": f"Bench {index}", "admin": True, "apiToken": token}
    )
    project = await _control(jira, "/projects", {"key": f"BENCH{index}", "name": f"Bench {index}"})
    task_type = next(t["id"] for t in project["issueTypes"] if t["name"] == "Task")
    connection = await _connected(
        api, "jira", site_url=str(jira.base_url).rstrip("/"), email=user["emailAddress"],
        api_token=token,
    )  # fmt: skip
    return Place("jira", connection, {"project_key": project["key"], "issue_type_id": task_type})
