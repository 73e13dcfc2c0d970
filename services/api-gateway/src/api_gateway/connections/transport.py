"""One call to a connector's internal API, its answer turned into a contract model or a
domain error: unreachable or 5xx is a 503; an answer outside the contract a 502; refusals the
connector explains (400, 404, 409) keep its status, code and words; its 422s become ours,
field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from api_gateway.connections.refusals import ConnectorRefused, OnNotFound
from api_gateway.tasks.client import UpstreamError
from tether_common.errors import UpstreamUnavailable, validation_error_of
from tether_contracts.sync import Provider

log = structlog.get_logger(__name__)

Model = TypeVar("Model", bound=BaseModel)


async def call_connector(
    client: httpx.AsyncClient,
    provider: Provider,
    method: str,
    path: str,
    answer: type[Model],
    on_not_found: OnNotFound,
    *,
    json: Any = None,
    params: Mapping[str, str] | None = None,
) -> Model:
    """``method path`` on ``provider``'s connector, its answer as ``answer``; raises
    ``UpstreamUnavailable`` (503), ``UpstreamError`` (502), ``ConnectorRefused``,
    ``on_not_found(...)`` for a 404, or ``RequestValidationError`` for its 422s."""
    response = await _send(client, provider, method, path, json=json, params=params)
    _raise_for_status(response, provider, method, path, on_not_found)
    try:
        return answer.model_validate_json(response.content)
    except ValidationError as exc:
        log.error(
            "connector_contract_violation",
            provider=provider,
            model=answer.__name__,
            errors=exc.errors(include_input=False),
        )
        raise UpstreamError(
            f"the {provider} connector sent an invalid {answer.__name__.lstrip('_')}"
        ) from exc


async def send_to_connector(
    client: httpx.AsyncClient,
    provider: Provider,
    method: str,
    path: str,
    on_not_found: OnNotFound,
) -> None:
    """``method path`` on ``provider``'s connector, for a call answered with no content (a
    204); the same errors as :func:`call_connector`."""
    response = await _send(client, provider, method, path, json=None, params=None)
    _raise_for_status(response, provider, method, path, on_not_found)


async def _send(
    client: httpx.AsyncClient,
    provider: Provider,
    method: str,
    path: str,
    *,
    json: Any,
    params: Mapping[str, str] | None,
) -> httpx.Response:
    headers = {}
    # Carry the request id so the connector's log lines join ours.
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if isinstance(request_id, str):
        headers["X-Request-ID"] = request_id
    try:
        return await client.request(method, path, json=json, headers=headers, params=params)
    except httpx.HTTPError as exc:
        log.warning("connector_unreachable", provider=provider, path=path, error=repr(exc))
        raise UpstreamUnavailable(
            f"the {provider} connector is unreachable: {type(exc).__name__}"
        ) from exc


# Codes that say only that something failed: the gateway's own 503 says as much.
_GENERIC_FAILURES = ("internal_error", "upstream_unavailable")


def _raise_for_status(
    response: httpx.Response,
    provider: Provider,
    method: str,
    path: str,
    on_not_found: OnNotFound,
) -> None:
    """Nothing for a 2xx; else the domain error the answer means."""
    status = response.status_code
    error = _error(response)
    if status in (502, 503) and error.get("code") not in (None, "", *_GENERIC_FAILURES):
        # A failure the connector named (``oauth_not_configured``: the deployment lacks the
        # app's credentials; ``provider_refused_app``): the client gets its words, not a
        # vague outage of ours.
        raise ConnectorRefused(status, str(error["code"]), error.get("message") or "")
    if status >= 500:
        failed = f"the {provider} connector failed ({status})"
        # Its reason when it gave one, e.g. that the provider itself is unreachable.
        reason = error.get("message")
        raise UpstreamUnavailable(f"{failed}: {reason}" if reason else failed)
    if status == 404:
        raise on_not_found(provider, f"{method} {path}", error)
    if status in (400, 409):
        raise ConnectorRefused(
            status,
            error.get("code") or "refused",
            error.get("message") or f"the {provider} connector refused (HTTP {status})",
        )
    if status == 422:
        invalid = validation_error_of(_json(response))
        if invalid is not None:
            # Input only the connector can judge (a credential, a place): its field errors as
            # our own 422s.
            raise invalid
    if not 200 <= status < 300:
        log.error("connector_unexpected_status", provider=provider, path=path, status=status)
        raise UpstreamError(f"the {provider} connector answered HTTP {status} unexpectedly")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(response: httpx.Response) -> dict[str, str]:
    """The ``error`` object of a connector's answer, or nothing when it has none (a plain
    "Internal Server Error" from a proxy, say)."""
    error = _json(response).get("error")
    return {k: str(v) for k, v in error.items()} if isinstance(error, dict) else {}
