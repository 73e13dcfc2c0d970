"""Answers the internal API gives when the provider says no or cannot be reached."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from tether_common.errors import DomainError
from tether_connector_runtime.connections import ConnectionBroken
from tether_connector_runtime.port import ProviderSession
from tether_connector_runtime.retry import AuthRevokedError, RetryableProviderError
from tether_connector_runtime.state import ConnectorState


class CredentialsRejected(DomainError):
    status_code = 400
    code = "token_rejected"


class ProviderUnavailable(DomainError):
    """The provider is unreachable, failing or rate limiting: the same request may work later."""

    status_code = 503
    code = "provider_unavailable"


async def provider_of(state: ConnectorState, row: Any) -> ProviderSession:
    """The provider session of a connection row for a request (credentials renewed if they
    expire): ``ConnectionBroken`` (409) when the provider refuses them, ``ProviderUnavailable``
    (503) when a renewal that was due failed for now."""
    try:
        _, provider = await state.connections.usable(row, row.id)
    except AuthRevokedError as exc:
        raise ConnectionBroken(str(exc)) from exc
    except RetryableProviderError as exc:
        raise ProviderUnavailable(str(exc)) from exc
    return provider


def invalid(message: str, *loc: str, value: object = None) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", *loc), "msg": message, "input": value}]
    )


def invalid_body(exc: ValidationError) -> RequestValidationError:
    """A pydantic error on a body validated by hand, located under ``body`` as FastAPI does."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    )
