"""``python -m tether_devinfra up|down|env``: the local infrastructure by hand."""

from __future__ import annotations

import shlex
import sys

from tether_devinfra.infra import ensure_running, stop


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        infra = ensure_running()
        for name, value in infra.env().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    if command == "down":
        stop()
        return 0
    print("usage: python -m tether_devinfra up|down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
