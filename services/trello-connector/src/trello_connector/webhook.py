"""Trello's webhook deliveries at ``POST /webhooks/trello`` (and its ``HEAD`` check).

Order: signature on the raw bytes (a wrong one changes nothing), then the delivery dedupe by
Trello's action id, then the card is read fresh (payloads can be stale) and compared with the
link's base by the sync engine.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from tether_common.db import transaction
from tether_common.errors import DomainError
from tether_connector_runtime.retry import RetryableProviderError
from tether_connector_runtime.signatures import SignatureInvalid, verify_trello_signature
from trello_connector.state import trello_state

router = APIRouter(tags=["webhooks"])
MAX_BODY_BYTES = 1_000_000


class WebhookGone(DomainError):
    # Trello deletes a webhook that answers 410: only for a webhook we really don't know.
    status_code = 410
    code = "unknown_webhook"


class BadSignature(DomainError):
    status_code = 401
    code = "bad_signature"


class MalformedDelivery(DomainError):
    status_code = 400
    code = "malformed_delivery"


class TrelloUnavailable(DomainError):
    status_code = 503
    code = "provider_unavailable"


class TooLarge(DomainError):
    status_code = 413
    code = "body_too_large"


@router.head("/webhooks/trello", include_in_schema=False)
async def head_check() -> Response:
    return Response(status_code=200)


async def _raw_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TooLarge(f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/trello", status_code=200)
async def deliver(request: Request) -> dict[str, str]:
    state = trello_state(request)
    body = await _raw_body(request)
    try:
        verify_trello_signature(
            state.settings.api_secret.get_secret_value(),
            body,
            state.settings.webhook_url,
            request.headers.get("x-trello-webhook", ""),
        )
    except SignatureInvalid as exc:
        raise BadSignature(f"X-Trello-Webhook does not match this delivery: {exc}") from exc
    try:
        payload: dict[str, Any] = json.loads(body)
        action = payload["action"]
        model_id = str(payload["model"]["id"])
        action_id = str(action["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedDelivery(f"not a Trello webhook payload: {exc!r}") from exc
    delivery_id = f"trello:{action_id}"
    async with transaction(state.sessions) as session:
        if not await state.repo.webhooks_on(session, model_id):
            raise WebhookGone(f"no webhook is registered for model {model_id}")
        if await state.repo.delivery_seen(session, delivery_id):
            return {"status": "duplicate"}
    card = action.get("data", {}).get("card") or {}
    if card.get("id"):
        try:
            await state.sync.observe(str(card["id"]))
        except RetryableProviderError as exc:
            # Trello retries a failed delivery, and reconciliation repairs it if those fail too.
            raise TrelloUnavailable(f"could not read the card from Trello: {exc}") from exc
    # Recorded only once handled: if handling failed, Trello's retry must not look like a
    # duplicate. Two concurrent copies may both get here; the second observation is an echo.
    async with transaction(state.sessions) as session:
        await state.repo.first_delivery(session, delivery_id)
    return {"status": "accepted"}
