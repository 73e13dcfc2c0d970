"""``python -m tether_devinfra up|down|running|services-up|services-down``.

``up --replica`` and ``services-up --replica`` also start a streaming replica of PostgreSQL,
which task-core and the gateway then read from (``READ_DATABASE_URL``).
"""

from __future__ import annotations

import shlex
import sys

from tether_devinfra.infra import ensure_running, is_running, say, stop
from tether_devinfra.paths import state_dir
from tether_devinfra.services import Deployment


def _deployment(*, replica: bool) -> Deployment:
    infra = ensure_running(replica=replica)
    return Deployment(
        infra.kafka_bootstrap_servers,
        infra.database_url,
        state_dir() / "run",
        read_database_url=infra.read_database_url or "",
    )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    options = set(argv[1:])
    if options - {"--replica"}:
        print(f"unknown options: {' '.join(sorted(options - {'--replica'}))}", file=sys.stderr)
        return 2
    replica = "--replica" in options
    if command == "up":
        infra = ensure_running(replica=replica)
        for name, value in infra.env().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if command == "running":
        return 0 if is_running() else 1
    if command == "down":
        stop()
        return 0
    if command == "services-up":
        deployment = _deployment(replica=replica)
        deployment.start(say)
        say(f"gateway: {deployment.url('api-gateway')} (logs in {deployment.run_dir})")
        return 0
    if command == "services-down":
        Deployment("", "", state_dir() / "run").stop(say)
        return 0
    print(
        "usage: python -m tether_devinfra up|down|running|services-up|services-down [--replica]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
