"""Domain errors that know their HTTP answer, and the handlers that give every error of every
service one shape::

    {"error": {"code": "task_not_found", "message": "task 'x' not found", "details": {...}}}

``code`` is stable and machine-readable, ``message`` is for people, ``details`` is optional:
for invalid input (``invalid_input``, 422) a list naming each offending field, for a domain
error the ids it concerns (e.g. the ``link_id`` of ``already_exported``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Literal

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from tether_common.json_input import refuse_unstorable_json

log = structlog.get_logger(__name__)

INVALID_INPUT = "invalid_input"
# Starlette's own 404 for a path no route serves: told apart from a domain 404 (a task, a
# connection) because the gateway reads it as a deployment fault, not as the client's.
ROUTE_NOT_FOUND = "route_not_found"


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class UpstreamUnavailable(DomainError):
    status_code = 503
    code = "upstream_unavailable"


class ErrorJSONResponse(JSONResponse):
    """JSON that survives any text it quotes: a lone surrogate is escaped rather than failing
    to encode, so rendering an error can never itself become a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape; ``details`` left out when there are none."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def field_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI/pydantic errors as ``details``: ``{"field": "body.title", "loc": [...],
    "message", "type"}`` each. The input is never echoed: it may be a credential, or text
    (a lone surrogate, NaN) that cannot be written back as JSON."""
    problems = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        kind = str(error.get("type", "value_error"))
        if kind == "json_invalid":
            loc = loc[:1]  # a character offset names no field
        message = str(error.get("msg", "invalid"))
        if kind == "json_invalid" and isinstance(error.get("ctx"), dict):
            message = f"{message}: {error['ctx'].get('error', '')}".rstrip(": ")
        field = ".".join(str(part) for part in loc) or "body"
        problems.append({"field": field, "loc": loc, "message": message, "type": kind})
    return problems


def invalid_input_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body for FastAPI/pydantic errors; its message names the first field."""
    problems = field_problems(errors)
    first = problems[0] if problems else {"field": "body", "message": "invalid"}
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = f"invalid {first['field']}: {first['message']}{more}"
    return error_body(INVALID_INPUT, message, problems)


def validation_error_of(body: object) -> RequestValidationError | None:
    """Another Tether service's 422 body as our own validation error (to pass its field errors
    on, located as it located them); None when the body is not one."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list) or not details:
        return None
    errors = [
        {"type": str(d.get("type", "value_error")), "loc": tuple(d["loc"]), "msg": d["message"]}
        for d in details
        if isinstance(d, dict) and isinstance(d.get("loc"), list) and "message" in d
    ]
    return RequestValidationError(errors) if errors else None


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return ErrorJSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=headers,
    )


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return ErrorJSONResponse(invalid_input_body(exc.errors()), status_code=422)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    # The framework's own refusals: no route (404), wrong method (405), an unreadable body.
    assert isinstance(exc, HTTPException)
    status = HTTPStatus(exc.status_code)
    code = ROUTE_NOT_FOUND if status == 404 else status.phrase.lower().replace(" ", "_")
    message = exc.detail if isinstance(exc.detail, str) else status.phrase
    return ErrorJSONResponse(
        error_body(code, message), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug: logged with its traceback by the server; the client learns nothing internal.
    log.error("unhandled_error", path=request.url.path, error=type(exc).__name__)
    return ErrorJSONResponse(
        error_body("internal_error", "an unexpected error occurred; it has been logged"),
        status_code=500,
    )


class FieldProblem(BaseModel):
    field: str = Field(description="Where, dotted: `body.title`, `query.cursor`, `path.task_id`")
    loc: list[str | int] = Field(description="The same location as a list")
    message: str = Field(description="What is wrong with it, for people")
    type: str = Field(description="Stable machine-readable kind, e.g. `string_too_long`")


class InvalidInput(BaseModel):
    code: Literal["invalid_input"]
    message: str = Field(description="The first offending field and what is wrong with it")
    details: list[FieldProblem] = Field(description="Each offending field")


class InvalidInputResponse(BaseModel):
    """A 422 as every service answers it (documented in place of FastAPI's own shape)."""

    error: InvalidInput


def _document_invalid_input(app: FastAPI) -> None:
    """Makes ``app``'s OpenAPI document describe 422s as they are answered: FastAPI documents
    its own ``{"detail": [...]}`` for every operation that takes input."""
    generate = app.openapi
    fastapi_ref = "#/components/schemas/HTTPValidationError"
    ours = InvalidInputResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    ref = f"#/components/schemas/{InvalidInputResponse.__name__}"

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" not in schemas:
            return document  # done already (FastAPI caches the document), or no input at all
        for operation in (op for path in document["paths"].values() for op in path.values()):
            content = operation.get("responses", {}).get("422", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if schema.get("$ref") == fastapi_ref:
                schema["$ref"] = ref
        schemas.pop("HTTPValidationError")
        schemas.pop("ValidationError", None)
        schemas.update(ours.pop("$defs", {}))
        schemas[InvalidInputResponse.__name__] = ours
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def install_error_handler(app: FastAPI) -> None:
    """Renders every error of ``app`` in the one shape (and documents its 422s so), and refuses
    JSON bodies holding what no service can keep (see :mod:`tether_common.json_input`) as
    422s naming the field.

    Call it before including routers: the JSON check is an app-wide dependency, and FastAPI
    hands those only to routes included after."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
    app.router.dependencies.append(Depends(refuse_unstorable_json))
    _document_invalid_input(app)
