"""``python -m task_core serve|migrate``"""

from __future__ import annotations

import argparse
import asyncio
import sys

from task_core.config import TaskCoreSettings
from tether_common.logging import configure_logging
from tether_common.tracing import setup_tracing

SERVICE = "task-core"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m task_core", description="Tether task-core.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Run the HTTP server and the outbox relay")
    serve.add_argument("--host", help="Overrides TETHER_TASK_CORE_HOST")
    serve.add_argument("--port", type=int, help="Overrides TETHER_TASK_CORE_PORT")
    commands.add_parser("migrate", help="Apply the database migrations, then exit")
    args = parser.parse_args(argv)

    settings = TaskCoreSettings()
    # Logging is the process's to configure; embedded hosts configure their own.
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    if args.command == "migrate":
        from task_core.migrate import migrate

        asyncio.run(migrate(settings.database_url))
        print("task-core database is up to date", file=sys.stderr)
        return 0

    import uvicorn

    from task_core.app import create_app

    setup_tracing(SERVICE, settings.tracing)

    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        log_config=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
