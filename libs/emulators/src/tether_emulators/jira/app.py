"""Assembles the emulator: Jira's REST API at the root (as on ``<site>.atlassian.net``) and
under ``/ex/jira/{cloudId}`` (as on ``api.atlassian.com``), Atlassian's OAuth endpoints, and the
control API under ``/_emulator``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import cast

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from tether_emulators.common.app import emulator_app
from tether_emulators.common.deliveries import DeliverySettings
from tether_emulators.common.provider import Provider
from tether_emulators.jira import (
    api_issues,
    api_projects,
    api_search,
    api_webhooks,
    control,
    control_faults,
)
from tether_emulators.jira.control_models import LimitsIn
from tether_emulators.jira.emulator import JiraAccount, JiraEmulator, OAuthApp, default_site
from tether_emulators.jira.errors import JiraError, error_response
from tether_emulators.jira.gate import JiraGate
from tether_emulators.jira.limits import LimitConfig
from tether_emulators.jira.oauth import install_oauth

# Short, so tests of failing receivers stay fast; Jira's retries come 5-15 minutes apart.
DEFAULT_RETRY_DELAYS = (0.05, 0.25, 1.0)
SANDBOX_APP = OAuthApp("sandbox-jira-client-id", "sandbox-jira-client-secret")


def _unknown_route(_: Request, status: int) -> Response:
    # Jira answers a path it does not serve with a 404 and no ErrorCollection; an empty one
    # keeps clients' error parsing simple.
    if status == 405:
        return Response(status_code=405)
    return Response(json.dumps({"errorMessages": ["Not Found"], "errors": {}}), 404,
                    media_type="application/json")  # fmt: skip


JIRA = Provider(
    name="Jira",
    api_path="/rest/api/3",
    gate=JiraGate,
    error=JiraError,
    answer=error_response,
    unknown_route=_unknown_route,
    not_an_api_path=lambda: JiraError(
        400, "Only /rest/, /ex/jira/ and /oauth/token paths can be held."
    ),
    drop_next_key="dropNext",
    limits_model=LimitsIn,
    # A refresh whose answer is lost after Atlassian rotated the token: the reuse leeway's case.
    also_held=("/oauth/token",),
)


def create_jira_emulator(
    *,
    accounts: Sequence[JiraAccount] = (),
    apps: Sequence[OAuthApp] = (SANDBOX_APP,),
    site_url: str | None = None,
    limits: LimitConfig | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    sandbox: bool = False,
) -> FastAPI:
    """A Jira Cloud emulator as an ASGI app; the state is ``get_emulator(app)``.

    ``accounts`` are the users with API tokens for Basic auth, ``apps`` the OAuth 2.0 apps.
    ``site_url`` is the site's URL as answers show it (``self`` links, accessible resources).
    ``clock`` drives rate windows, ``wall_clock`` dates and expiries. ``webhook_transport``
    carries deliveries (the network when None).
    """
    emulator = JiraEmulator(
        site=default_site(site_url) if site_url else default_site(),
        accounts=accounts,
        apps=apps,
        limits=limits or LimitConfig(),
        clock=clock,
        wall_clock=wall_clock,
        # Atlassian does not publish how long it waits for a receiver; 10 s as for the others.
        deliveries=DeliverySettings(webhook_transport, webhook_retry_delays, timeout=10.0),
        sandbox=sandbox,
    )
    app = emulator_app(emulator, JIRA)
    for module in (api_projects, api_issues, api_search, api_webhooks, control, control_faults):
        app.include_router(module.router)
    install_oauth(app)
    return app


def get_emulator(app: FastAPI) -> JiraEmulator:
    """The state behind an app made by ``create_jira_emulator`` (for in-process tests)."""
    return cast(JiraEmulator, app.state.jira)
