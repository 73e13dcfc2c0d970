"""What the providers' ``python -m tether_emulators.<provider>`` sandboxes share: the host, port
and retry-delay options, and serving after printing what a client needs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI


def sandbox_parser(description: str, port: int) -> argparse.ArgumentParser:
    """A parser with ``--host``, ``--port`` (default ``port``) and ``--retry-delays``; the
    provider adds its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(
        "--retry-delays",
        default="1,5,30",
        help="seconds before each retry of a failed delivery, comma-separated",
    )
    return parser


def retry_delays(text: str) -> list[float]:
    """``"1,5,30"`` -> ``[1.0, 5.0, 30.0]``; empty items are skipped."""
    return [float(delay) for delay in text.split(",") if delay.strip()]


def serve_sandbox(app: FastAPI, args: argparse.Namespace, lines: Sequence[str]) -> None:
    """Print ``lines`` (``name=value`` credentials and ids), then serve until interrupted."""
    # Flushed at once: scripts and tests read these lines to find the credentials.
    print("\n".join(lines), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
