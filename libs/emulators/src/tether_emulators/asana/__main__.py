"""``python -m tether_emulators.asana --port 9102``: a standalone, seeded sandbox Asana."""

from __future__ import annotations

from tether_emulators.asana.app import SANDBOX_APP, create_asana_emulator, get_emulator
from tether_emulators.common.sandbox import retry_delays, sandbox_parser, serve_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("Run the Asana emulator with a sandbox project.", port=9102)
    parser.add_argument("--per-minute", type=int, default=150, help="150 free, 1500 paid")
    parser.add_argument(
        "--refuse-local-targets",
        action="store_true",
        help="refuse webhook targets on localhost with a 403, as the real Asana does",
    )
    args = parser.parse_args(argv)
    app = create_asana_emulator(
        per_minute=args.per_minute,
        webhook_retry_delays=retry_delays(args.retry_delays),
        # A sandbox's receiver is on this machine, so local targets are accepted by default.
        allow_local_targets=not args.refuse_local_targets,
        sandbox=True,
    )
    sandbox = get_emulator(app).sandbox_info
    assert sandbox is not None  # sandbox=True always seeds it
    base = f"http://{args.host}:{args.port}"
    lines = [
        f"Asana emulator: {base}/api/1.0  (control API: {base}/_emulator)",
        f"oauth={base}",
        f"token={sandbox.token}",
        f"client_id={SANDBOX_APP.client_id}",
        f"client_secret={SANDBOX_APP.client_secret}",
        f"workspace={sandbox.workspace_gid}",
        f"project Sandbox={sandbox.project_gid}",
        *(f"section {name}={gid}" for name, gid in sandbox.section_gids.items()),
    ]
    serve_sandbox(app, args, lines)


if __name__ == "__main__":
    main()
