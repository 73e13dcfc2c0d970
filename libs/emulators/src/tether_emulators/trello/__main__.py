"""``python -m tether_emulators.trello --port 9101``: a standalone, seeded sandbox Trello."""

from __future__ import annotations

import argparse

import uvicorn

from tether_emulators.trello.app import create_trello_emulator, get_emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Trello emulator with a sandbox board.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9101)
    parser.add_argument("--key", default="sandbox-key", help="the app key clients must send")
    parser.add_argument("--secret", default="sandbox-secret", help="signs webhook deliveries")
    parser.add_argument("--token-limit", type=int, default=100)
    parser.add_argument("--key-limit", type=int, default=300)
    parser.add_argument("--window-seconds", type=float, default=10.0)
    parser.add_argument(
        "--retry-delays",
        default="1,5,30",
        help="seconds before each retry of a failed delivery, comma-separated",
    )
    args = parser.parse_args(argv)
    app = create_trello_emulator(
        api_key=args.key,
        api_secret=args.secret,
        token_limit=args.token_limit,
        key_limit=args.key_limit,
        window_seconds=args.window_seconds,
        webhook_retry_delays=[float(d) for d in args.retry_delays.split(",") if d.strip()],
        sandbox=True,
    )
    sandbox = get_emulator(app).sandbox_info
    assert sandbox is not None  # sandbox=True always seeds it
    base = f"http://{args.host}:{args.port}"
    lines = [
        f"Trello emulator: {base}/1  (control API: {base}/_emulator, docs: {base}/_emulator/docs)",
        f"key={args.key}",
        f"token={sandbox.token}",
        f"secret={args.secret}",
        f"board Sandbox={sandbox.board_id}",
        *(f"list {name}={list_id}" for name, list_id in sandbox.list_ids.items()),
    ]
    # Flushed at once: scripts and tests read these lines to find the credentials.
    print("\n".join(lines), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
