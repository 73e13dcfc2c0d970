"""``python -m tether_devinfra up|down|running|services-up|services-down``."""

from __future__ import annotations

import shlex
import sys

from tether_devinfra.infra import ensure_running, is_running, say, stop
from tether_devinfra.paths import state_dir
from tether_devinfra.services import Deployment


def _deployment() -> Deployment:
    infra = ensure_running()
    return Deployment(infra.kafka_bootstrap_servers, infra.database_url, state_dir() / "run")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        infra = ensure_running()
        for name, value in infra.env().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if command == "running":
        return 0 if is_running() else 1
    if command == "down":
        stop()
        return 0
    if command == "services-up":
        deployment = _deployment()
        deployment.start(say)
        say(f"gateway: {deployment.url('api-gateway')} (logs in {deployment.run_dir})")
        return 0
    if command == "services-down":
        Deployment("", "", state_dir() / "run").stop(say)
        return 0
    print(
        "usage: python -m tether_devinfra up|down|running|services-up|services-down",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
