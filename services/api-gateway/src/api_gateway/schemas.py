"""The error body every client-facing error shares, and its OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Stable machine-readable reason", examples=["unauthorized"])
    message: str = Field(description="What went wrong, for people")


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_response(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


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
