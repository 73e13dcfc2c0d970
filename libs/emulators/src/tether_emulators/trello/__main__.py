"""``python -m tether_emulators.trello --port 9101``: a standalone, seeded sandbox Trello."""

from __future__ import annotations

from tether_emulators.common.sandbox import retry_delays, sandbox_parser, serve_sandbox
from tether_emulators.trello.app import create_trello_emulator, get_emulator


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("Run the Trello emulator with a sandbox board.", port=9101)
    parser.add_argument("--key", default="sandbox-key", help="the app key clients must send")
    parser.add_argument("--secret", default="sandbox-secret", help="signs webhook deliveries")
    parser.add_argument("--token-limit", type=int, default=100)
    parser.add_argument("--key-limit", type=int, default=300)
    parser.add_argument("--window-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    app = create_trello_emulator(
        api_key=args.key,
        api_secret=args.secret,
        token_limit=args.token_limit,
        key_limit=args.key_limit,
        window_seconds=args.window_seconds,
        webhook_retry_delays=retry_delays(args.retry_delays),
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
    serve_sandbox(app, args, lines)


if __name__ == "__main__":
    main()
