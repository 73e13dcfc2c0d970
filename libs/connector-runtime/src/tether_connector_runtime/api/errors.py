"""Answers the internal API gives when the provider says no or cannot be reached."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from tether_common.errors import DomainError


class CredentialsRejected(DomainError):
    status_code = 400
    code = "token_rejected"


class ProviderUnavailable(DomainError):
    """The provider is unreachable, failing or rate limiting: the same request may work later."""

    status_code = 503
    code = "provider_unavailable"


def invalid(message: str, *loc: str, value: object = None) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", *loc), "msg": message, "input": value}]
    )


def invalid_body(exc: ValidationError) -> RequestValidationError:
    """A pydantic error on a body validated by hand, located under ``body`` as FastAPI does."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    )
