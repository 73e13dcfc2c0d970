"""FastAPI dependencies the providers' routers build the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from fastapi import Request

T = TypeVar("T")


def from_scope(key: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency answering what the provider's gate put in the request's scope at ``key``
    (``kind`` only types it)."""

    def item(request: Request) -> T:
        return cast(T, request.scope[key])

    return item


def from_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency answering ``app.state.<name>`` of the app serving the request (``kind``
    only types it)."""

    def item(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    return item
