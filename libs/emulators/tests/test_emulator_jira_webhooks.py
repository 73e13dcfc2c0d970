"""Webhooks: dynamic ones for OAuth apps only (registration results, refresh, 30-day expiry,
JWT-signed deliveries), admin ones for administrators (X-Hub-Signature), the payload, and
retries with a stable identifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tether_emulators.jira import OAuthApp
from tether_emulators.jira.testing import JiraHookRecorder, basic_auth, oauth_tokens

HOOK = "https://tether.test/hooks/jira"
FIELDS = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Hooked"}
EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]


async def authorize(
    gateway: httpx.AsyncClient, root: httpx.AsyncClient, account_id: str, app: OAuthApp
) -> None:
    """Give ``gateway`` a fresh access token of Tether's app (consent again)."""
    tokens = await oauth_tokens(
        root, account_id=account_id, client_id=app.client_id,
        client_secret=app.client_secret, redirect_uri=app.redirect_uris[0],
    )  # fmt: skip
    gateway.headers["Authorization"] = f"Bearer {tokens['access_token']}"


@pytest.fixture
async def gateway(
    jira_app: FastAPI,
    jira_root: httpx.AsyncClient,
    jira_me: dict[str, Any],
    jira_oauth_app: OAuthApp,
) -> AsyncIterator[httpx.AsyncClient]:
    """The API through ``/ex/jira/{cloudId}`` with an OAuth access token of Tether's app."""
    cloud_id = (await jira_root.get("/_emulator")).json()["site"]["cloudId"]
    base = f"http://jira.test/ex/jira/{cloud_id}/rest/api/3"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=jira_app), base_url=base
    ) as http:
        await authorize(http, jira_root, jira_me["accountId"], jira_oauth_app)
        yield http


async def register(gateway: httpx.AsyncClient, jql: str = "project = TEAM") -> dict[str, Any]:
    body = {"url": HOOK, "webhooks": [{"events": EVENTS, "jqlFilter": jql}]}
    answer = await gateway.post("/webhook", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["webhookRegistrationResult"][0]
    return result


async def flush(jira: httpx.AsyncClient) -> None:
    """Wait for every delivery in flight (retries included)."""
    # The control API lives at the root, beside the site's /rest/api/3.
    await jira.post("http://jira.test/_emulator/webhooks/flush")


def jwt_claims(token: str, secret: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


async def test_basic_auth_cannot_register_dynamic_webhooks(jira: httpx.AsyncClient) -> None:
    answer = await jira.post("/webhook", json={"url": HOOK, "webhooks": []})
    assert answer.status_code == 403
    assert answer.json()["errorMessages"] == ["Only apps can access this resource."]


@pytest.mark.usefixtures("jira_project")
async def test_registration_lists_errors_per_webhook(gateway: httpx.AsyncClient) -> None:
    body = {"url": HOOK, "webhooks": [
        {"events": EVENTS, "jqlFilter": "project = TEAM"},
        {"events": EVENTS, "jqlFilter": 'updated >= "2024/01/01"'},
    ]}  # fmt: skip
    answer = await gateway.post("/webhook", json=body)
    results = answer.json()["webhookRegistrationResult"]
    assert answer.status_code == 200
    assert "createdWebhookId" in results[0]
    assert results[1]["errors"]


@pytest.mark.usefixtures("jira_project")
async def test_delivery_is_jwt_signed_with_the_v2_issue(
    gateway: httpx.AsyncClient, jira_hooks: JiraHookRecorder, jira_oauth_app: OAuthApp
) -> None:
    webhook = (await register(gateway))["createdWebhookId"]
    bold = {"type": "text", "text": "Bold", "marks": [{"type": "strong"}]}
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [bold]}]}
    await gateway.post("/issue", json={"fields": {**FIELDS, "description": adf}})
    await flush(gateway)
    [delivery] = jira_hooks.deliveries
    scheme, _, token = delivery.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt_claims(token, jira_oauth_app.client_secret)["iss"] == jira_oauth_app.client_id
    payload = delivery.json()
    assert payload["webhookEvent"] == "jira:issue_created"
    assert payload["issue"]["fields"]["description"] == "*Bold*"
    assert payload["matchedWebhookIds"] == [webhook]


@pytest.mark.usefixtures("jira_project")
async def test_edit_carries_the_changelog(
    gateway: httpx.AsyncClient, jira_hooks: JiraHookRecorder
) -> None:
    await register(gateway)
    key = (await gateway.post("/issue", json={"fields": FIELDS})).json()["key"]
    await gateway.put(f"/issue/{key}", json={"fields": {"summary": "Renamed"}})
    await flush(gateway)
    updated = [
        d.json() for d in jira_hooks.deliveries if d.json()["webhookEvent"] == "jira:issue_updated"
    ]
    assert updated[0]["issue_event_type_name"] == "issue_updated"
    assert updated[0]["changelog"]["items"][0]["toString"] == "Renamed"


@pytest.mark.usefixtures("jira_project")
async def test_retries_keep_the_identifier_and_count(
    gateway: httpx.AsyncClient, jira_hooks: JiraHookRecorder
) -> None:
    await register(gateway)
    jira_hooks.answer_next(503, 429)
    await gateway.post("/issue", json={"fields": FIELDS})
    await flush(gateway)
    attempts = jira_hooks.deliveries
    assert len(attempts) == 3
    assert len({a.headers["x-atlassian-webhook-identifier"] for a in attempts}) == 1
    assert [a.headers.get("x-atlassian-webhook-retry") for a in attempts] == [None, "1", "2"]


@pytest.mark.usefixtures("jira_project")
async def test_a_400_answer_is_not_retried(
    gateway: httpx.AsyncClient, jira_hooks: JiraHookRecorder
) -> None:
    await register(gateway)
    jira_hooks.answer_next(400)
    await gateway.post("/issue", json={"fields": FIELDS})
    await flush(gateway)
    assert len(jira_hooks.deliveries) == 1


@pytest.mark.usefixtures("jira_project")
async def test_webhooks_expire_after_30_days_unless_refreshed(
    gateway: httpx.AsyncClient,
    jira_root: httpx.AsyncClient,
    jira_me: dict[str, Any],
    jira_oauth_app: OAuthApp,
    jira_hooks: JiraHookRecorder,
) -> None:
    kept = (await register(gateway))["createdWebhookId"]
    await register(gateway, "project = TEAM AND status = Done")
    await gateway.post("http://jira.test/_emulator/clock/advance", json={"seconds": 29 * 86400})
    await authorize(gateway, jira_root, jira_me["accountId"], jira_oauth_app)
    refreshed = await gateway.put("/webhook/refresh", json={"webhookIds": [kept, 999999]})
    assert refreshed.status_code == 200
    await gateway.post("http://jira.test/_emulator/clock/advance", json={"seconds": 2 * 86400})
    await authorize(gateway, jira_root, jira_me["accountId"], jira_oauth_app)
    listed = (await gateway.get("/webhook")).json()["values"]
    assert [w["id"] for w in listed] == [kept]
    await gateway.post("/issue", json={"fields": FIELDS})
    await flush(gateway)
    assert len(jira_hooks.deliveries) == 1


@pytest.mark.usefixtures("jira_project")
async def test_admin_webhook_needs_the_admin_permission_and_signs_deliveries(
    jira: httpx.AsyncClient, jira_root: httpx.AsyncClient, jira_hooks: JiraHookRecorder
) -> None:
    body = {"name": "tether", "url": HOOK, "events": EVENTS, "secret": "s3cret",
            "filters": {"issue-related-events-section": "project = TEAM"}}  # fmt: skip
    refused = await jira_root.post(
        "/rest/webhooks/1.0/webhook",
        json=body,
        headers=basic_auth("tether@example.com", "tether-api-token"),
    )
    assert refused.status_code == 403
    admin = {"displayName": "Admin", "admin": True, "apiToken": "adm"}
    email = (await jira_root.post("/_emulator/users", json=admin)).json()["emailAddress"]
    created = await jira_root.post(
        "/rest/webhooks/1.0/webhook", json=body, headers=basic_auth(email, "adm")
    )
    assert created.status_code == 201
    await jira.post("/issue", json={"fields": FIELDS})
    await flush(jira)
    [delivery] = jira_hooks.deliveries
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["x-hub-signature"] == f"sha256={expected}"
