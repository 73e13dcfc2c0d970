"""``python -m tether_cli`` (and the ``tether`` script): the command, quiet when interrupted.

Ctrl-C while Python is still importing the services (a few seconds on a busy machine) raises
KeyboardInterrupt inside whatever module is loading. It is the person asking to stop, not an
error: exit as a shell expects (130), without a traceback.
"""

from __future__ import annotations


def main() -> None:
    try:
        from tether_cli.main import app

        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
