"""Refuses JSON request bodies holding values no service can keep or give back.

Python's JSON parser accepts more than JSON text can mean: ``"\\ud800"`` (a lone surrogate,
no Unicode character: it cannot be encoded as UTF-8, so storing or answering it fails),
``NaN`` and ``Infinity`` (not JSON numbers: answering them fails), and NUL (U+0000, which
PostgreSQL text refuses). Each would pass a model's validation and fail later, deep in a
write, as a 500. Found up front, each is a 422 naming the field instead.
"""

from __future__ import annotations

import email.message
import math
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
_MAX_PROBLEMS = 20  # enough to name the fields; a hostile body cannot make the answer large

Loc = tuple[str | int, ...]


def _text_problem(text: str) -> str | None:
    found = _UNSTORABLE_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text cannot hold NUL (U+0000)"
    return "not Unicode text: a lone surrogate (\\ud800-\\udfff) is no character"


def unstorable_values(document: Any) -> Iterator[tuple[Loc, str, str]]:
    """Each (location, problem type, message) in a parsed JSON document, keys included.

    Walks with its own stack: a document nested as deep as the parser allows must not exhaust
    the interpreter's."""
    stack: list[tuple[Loc, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if (problem := _text_problem(value)) is not None:
                yield loc, "string_unicode", problem
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield loc, "finite_number", "NaN and Infinity are not JSON numbers"
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if (problem := _text_problem(key)) is not None:
                    yield loc, "string_unicode", f"a key is {problem}"
                else:
                    stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in reversed(list(enumerate(value))))


def _is_json(content_type: str | None) -> bool:
    # FastAPI's own test for parsing a body as JSON (fastapi.routing.get_request_handler).
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def refuse_unstorable_json(request: Request) -> None:
    """App-wide dependency: a 422 (``RequestValidationError`` located under ``body``) for a
    JSON body FastAPI parsed for a route's model that holds an unstorable value. Routes that
    read their body themselves (webhooks: signature first, size limited) are left alone."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    if not _is_json(request.headers.get("content-type")) or not await request.body():
        return
    # Parsed (and cached on the request) by FastAPI already, before any dependency runs.
    document = await request.json()
    errors = []
    for loc, kind, message in unstorable_values(document):
        errors.append({"type": kind, "loc": ("body", *loc), "msg": message})
        if len(errors) == _MAX_PROBLEMS:
            break
    if errors:
        raise RequestValidationError(errors)
