"""Registering Jira webhooks for a project, one way per kind of connection (PROVIDERS.md, Jira
Cloud; https://developer.atlassian.com/cloud/jira/platform/webhooks/).

- OAuth 2.0 (3LO) app: a dynamic webhook (``POST /rest/api/3/webhook``) filtered
  ``project = <KEY>``, at the app's one URL (``<public_url>/webhooks/jira``: Jira allows one URL
  per app), deliveries signed with a JWT under the app's client secret. Registration answers
  200 and says errors per webhook; webhooks expire 30 days after registration or refresh, and
  refresh ignores ids it does not know: so every answer is checked with a ``GET``. Asked again
  (the runtime does, well before expiry) a webhook still listed is refreshed, one that is gone
  is registered anew.
- API token of a Jira administrator: an admin webhook (``POST /rest/webhooks/1.0/webhook``) at
  the URL the runtime made for it (its key names it), with a secret of ours that Jira signs
  deliveries with (``X-Hub-Signature``). It does not expire; Jira never shows its secret
  again, so one of ours found at that URL (a registration whose answer was lost) is deleted
  and made again.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from jira_connector.client import JiraClient, path
from jira_connector.mapping import project_key
from tether_connector_runtime.port import RegisteredWebhook
from tether_connector_runtime.retry import PermanentProviderError

EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]


def project_filter(key: str) -> str:
    return f"project = {project_key(key)}"


class JiraHooks:
    """``api``: the site's ``/rest/api/3`` client; ``admin``: its ``/rest/webhooks/1.0``
    client (API-token connections); ``app_url``: the app's one dynamic-webhook URL, for OAuth
    connections (None: admin webhooks)."""

    def __init__(self, api: JiraClient, admin: JiraClient, app_url: str | None) -> None:
        self._api, self._admin, self._app_url = api, admin, app_url

    async def ensure(self, container_id: str, callback_url: str) -> RegisteredWebhook:
        jql = project_filter(container_id)
        if self._app_url is None:
            return await self._admin_hook(jql, callback_url, container_id)
        return await self._dynamic_hook(jql)

    async def _listed(self, jql: str) -> dict[str, Any] | None:
        async for hook in self._api.pages("/webhook"):
            if hook.get("jqlFilter") == jql:
                return hook
        return None

    async def _dynamic_hook(self, jql: str) -> RegisteredWebhook:
        known = await self._listed(jql)
        if known is not None:
            await self._api.call("PUT", "/webhook/refresh", json={"webhookIds": [known["id"]]})
        else:
            spec = {"events": EVENTS, "jqlFilter": jql}
            answer = await self._api.call(
                "POST", "/webhook", json={"url": self._app_url, "webhooks": [spec]}
            )
            results = (answer or {}).get("webhookRegistrationResult") or [{}]
            if not results[0].get("createdWebhookId"):
                said = "; ".join(str(e) for e in results[0].get("errors") or []) or "no id"
                raise PermanentProviderError(f"Jira refused the webhook ({jql}): {said}")
        # Registration and refresh both answer 200 whatever happened: what Jira lists is true.
        checked = await self._listed(jql)
        if checked is None:
            raise PermanentProviderError(f"Jira does not list the webhook for {jql} it accepted")
        return RegisteredWebhook(str(checked["id"]), expires_at=_expiry(checked))

    async def _admin_hook(self, jql: str, url: str, key: str) -> RegisteredWebhook:
        for hook in await self._admin.call("GET", "/webhook") or []:
            if hook.get("url") == url:
                await self._admin.call("DELETE", path("webhook", _admin_id(hook)))
        secret = secrets.token_urlsafe(32)
        body = {
            "name": f"Tether: {key}",
            "url": url,
            "events": EVENTS,
            "filters": {"issue-related-events-section": jql},
            "excludeBody": False,
            "secret": secret,
        }
        created = await self._admin.call("POST", "/webhook", json=body)
        return RegisteredWebhook(_admin_id(created or {}), secret=secret)


def _admin_id(hook: dict[str, Any]) -> str:
    """An admin webhook's id: the last segment of its ``self`` URL."""
    ident = str(hook.get("self") or "").rstrip("/").rsplit("/", 1)[-1]
    if not ident:
        raise PermanentProviderError("Jira answered an admin webhook without its self URL")
    return ident


def _expiry(hook: dict[str, Any]) -> datetime | None:
    """``expirationDate``: int64 milliseconds in the schema (some answers show a date text)."""
    value = hook.get("expirationDate")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return None
