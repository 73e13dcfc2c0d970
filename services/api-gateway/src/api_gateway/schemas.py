"""The error body every client-facing error shares, and its OpenAPI documentation.

The bodies themselves are rendered by ``tether_common.errors`` for every service alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tether_common.errors import InvalidInputResponse


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable reason", examples=["unauthorized"])
    message: str = Field(description="What went wrong, for people")
    details: dict[str, Any] | None = Field(
        default=None,
        description="The ids the error concerns, when it concerns some (e.g. the `link_id` of "
        "`already_exported`); absent otherwise",
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_response(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


def invalid_input_response(description: str) -> dict[str, Any]:
    """A 422 (``invalid_input``, each offending field in ``details``)."""
    return {"model": InvalidInputResponse, "description": description}


UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {
        **error_response("Missing, unknown or revoked API token (code `unauthorized`)"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "example": "Bearer"}},
    }
}
UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: error_response("task-core answered something the gateway does not understand"),
    503: error_response("task-core is unreachable, too slow or failing (`upstream_unavailable`)"),
}
CONNECTOR_UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: error_response(
        "The provider's connector answered something the gateway does not understand "
        "(`upstream_error`)"
    ),
    503: error_response(
        "The provider's connector, or the provider behind it, is unreachable or failing "
        "(`upstream_unavailable`)"
    ),
}
CONNECTION_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_response("No such connection for your tenant (`connection_not_found`)"),
}
TASK_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: error_response("No such task for your tenant (`task_not_found`)"),
}
