"""How Jira calls back (https://developer.atlassian.com/cloud/jira/platform/webhooks/;
PROVIDERS.md, Jira Cloud).

- An OAuth app's dynamic webhooks all call the app's one URL (``/webhooks/jira``) with
  ``Authorization: Bearer <JWT>``, HS256 under the app's client secret, ``iss`` the client id
  (third-party reports; Atlassian does not document the claims, so ``iss`` is checked only
  when present). An admin webhook calls the URL the runtime made for it
  (``/webhooks/jira/<key>``) and signs ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the
  body>`` with the secret we gave it. So: a stored secret means the hub signature; none means
  the JWT. Neither is accepted in place of the other.
- ``X-Atlassian-Webhook-Identifier`` is the same on every retry of a delivery: its id.
- The body ``{"timestamp", "webhookEvent", "issue": {"id", "key", "fields": {...}},
  "changelog": {"items": [{"field", "toString", ...}]}}`` carries the issue in the v2 shape (a
  wiki-text description): its id is used, and the issue is read through v3, except that an
  event that changed only the summary names the title it set (our own write's echo then
  costs no read). The project key names the webhook (our webhooks are per project).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from fastapi import Request, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pydantic import Field

from tether_connector_runtime.delivery_shapes import DeliveryShape, read_delivery
from tether_connector_runtime.port import Delivery, ItemNotice
from tether_connector_runtime.signatures import SignatureInvalid, verify_jira_hub_signature

IDENTIFIER = "x-atlassian-webhook-identifier"
# Seconds of clock difference allowed on the JWT's exp and iat.
LEEWAY = 60


class _Project(DeliveryShape):
    key: str = Field(min_length=1, max_length=255)


class _Fields(DeliveryShape):
    project: _Project | None = None


class _Issue(DeliveryShape):
    id: str | int
    fields: _Fields | None = None


class _ChangeItem(DeliveryShape):
    field: str = Field(max_length=255)
    toString: str | None = None  # noqa: N815 (Jira's name)


class _Changelog(DeliveryShape):
    items: list[_ChangeItem] = Field(default_factory=list, max_length=1000)


class _Payload(DeliveryShape):
    webhookEvent: str = Field(max_length=128)  # noqa: N815 (Jira's name)
    timestamp: int | None = None  # ms since the epoch: when the event happened
    issue: _Issue | None = None
    changelog: _Changelog | None = None


def _notice(issue_id: str, payload: _Payload) -> ItemNotice:
    """The issue to look at; when the event changed the summary and nothing else, also the
    title it set and when, so our own write coming back is known without a read
    (observations.repeats_the_base). Any other change (a description in wiki text, a status)
    leaves the notice naming only the issue: the issue is read."""
    items = payload.changelog.items if payload.changelog is not None else []
    if not items or payload.timestamp is None or any(i.field != "summary" for i in items):
        return ItemNotice(issue_id)
    at = datetime.fromtimestamp(payload.timestamp / 1000, UTC)
    title = items[-1].toString or ""
    return ItemNotice(issue_id, {"title": at}, {"title": title})


class JiraWebhooks:
    per_webhook_url = True

    def __init__(self, client_id: str, client_secret: str) -> None:
        """The OAuth app's credentials (empty when none is configured: then no JWT holds)."""
        self._client_id, self._client_secret = client_id, client_secret

    async def handshake(self, request: Request) -> Response | None:
        return None  # Jira sends none

    def verify(self, body: bytes, headers: Mapping[str, str], url: str, secret: str | None) -> None:
        if secret is not None:
            verify_jira_hub_signature(secret, body, _header(headers, "x-hub-signature"))
            return
        self._verify_jwt(_header(headers, "authorization"))

    def _verify_jwt(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SignatureInvalid("no bearer JWT in Authorization")
        if not self._client_secret:
            raise SignatureInvalid("no OAuth app is configured to verify the JWT with")
        try:
            decoded = jwt.decode(token.strip(), OctKey.import_key(self._client_secret), ["HS256"])
            claims = jwt.JWTClaimsRegistry(leeway=LEEWAY, exp={"essential": True})
            claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise SignatureInvalid(f"the JWT does not hold: {exc}") from exc
        issuer = decoded.claims.get("iss")
        if issuer is not None and issuer != self._client_id:
            raise SignatureInvalid("the JWT was issued for another app")

    def parse(self, body: bytes, headers: Mapping[str, str]) -> Delivery:
        """The issue the event names (none for other events); the delivery's id from its
        header (the body's SHA-256 when a proxy dropped it); the model is the project key."""
        _, payload = read_delivery(body, _Payload)
        issue = payload.issue
        project = issue.fields.project if issue is not None and issue.fields else None
        ident = _header(headers, IDENTIFIER) or hashlib.sha256(body).hexdigest()
        return Delivery(
            delivery_id=ident[:200],
            model_id=project.key if project is not None else "",
            notices=[_notice(str(issue.id), payload)] if issue is not None else [],
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case (a Starlette ``Headers`` or a plain dict)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
