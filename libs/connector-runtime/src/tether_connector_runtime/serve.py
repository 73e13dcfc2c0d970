"""Runs one connector as its own process (distributed mode): ``serve`` or ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from tether_common.logging import configure_logging
from tether_common.tracing import setup_tracing
from tether_connector_runtime.settings import ConnectorSettings
from tether_connector_runtime.store.migrate import migrate_connector

S = TypeVar("S", bound=ConnectorSettings)


def serve(app: FastAPI, settings: ConnectorSettings) -> None:
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


def main(
    provider: str,
    settings_type: type[S],
    create_app: Callable[[S], FastAPI],
    argv: Sequence[str] | None = None,
) -> int:
    """``python -m <provider>_connector [serve|migrate]``; no command serves, as before.

    ``migrate`` applies the connector's migrations and exits: what a deployment's migration
    job runs before the replicas start (with ``MIGRATE_ON_START=false``), so replicas starting
    together never race on the same schema change."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {provider}_connector",
        description=f"Tether {provider.capitalize()} connector.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="Run the HTTP server, the consumers and the relay")
    commands.add_parser("migrate", help="Apply the database migrations, then exit")
    args = parser.parse_args(argv)
    settings = settings_type()
    if args.command == "migrate":
        configure_logging(f"{provider}-connector", settings.log_level, settings.log_json)
        asyncio.run(migrate_connector(settings.database_url, provider))
        print(f"{provider}-connector database is up to date", file=sys.stderr)
        return 0
    setup_tracing(f"{provider}-connector", settings.tracing)
    serve(create_app(settings), settings)
    return 0
