"""What every operator command shares: one-line errors, JSON output, and databases opened
from a service's own settings."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from tether_common.db import create_engine, is_sqlite, ping

T = TypeVar("T")

# Tables and progress bars go to stderr when --json owns stdout; plain tables to stdout.
out = Console(soft_wrap=True)
err = Console(stderr=True)


class OperatorError(Exception):
    """What went wrong, in one line meant for the operator (no traceback)."""


def one_line(exc: BaseException) -> str:
    """``exc`` as one short line: a driver error's own words, not SQLAlchemy's wrapping."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__)[:300]


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; an :class:`OperatorError`, a database or broker error or an unreachable
    host ends the command with ``error: <one line>`` on stderr and exit code 1."""
    try:
        return asyncio.run(work)
    except OperatorError as exc:
        raise fail(str(exc)) from None
    except ValidationError as exc:
        # A setting read from the environment is unusable: name it, never echo its value.
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise fail(f"setting {exc.title}{'.' + where if where else ''}: {first['msg']}") from None
    except SQLAlchemyError as exc:
        raise fail(f"database: {one_line(exc)}") from None
    except KafkaError as exc:
        raise fail(f"Kafka: {one_line(exc)}") from None
    except OSError as exc:
        raise fail(one_line(exc)) from None


@asynccontextmanager
async def started(client: Any) -> AsyncIterator[Any]:
    """``client`` (an aiokafka consumer, producer or admin client) started, and stopped on
    exit, also when starting it failed (aiokafka leaves a half-started client open)."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its retries are not our errors
    try:
        await client.start()
        yield client
    finally:
        await (client.close() if hasattr(client, "close") else client.stop())


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the returned exit (code 1) is the caller's to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (datetimes as ISO 8601)."""
    typer.echo(json.dumps(data, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@asynccontextmanager
async def database(label: str, url: str) -> AsyncIterator[AsyncEngine]:
    """An engine over ``url`` (the database of ``label``, e.g. ``trello-connector``), checked
    reachable first; disposed on exit. Raises :class:`OperatorError` when it is not: an SQLite
    file that does not exist is reported, not created."""
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:" and not await asyncio.to_thread(Path(path).exists):
            raise OperatorError(f"{label}: no database at {path} (has the service run?)")
    engine = create_engine(url)
    try:
        try:
            await ping(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise OperatorError(f"{label}: database unreachable: {one_line(exc)}") from None
        yield engine
    finally:
        await engine.dispose()
