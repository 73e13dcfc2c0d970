"""``python -m tether_emulators.jira --port 9103``: a standalone, seeded sandbox Jira."""

from __future__ import annotations

from tether_emulators.common.sandbox import retry_delays, sandbox_parser, serve_sandbox
from tether_emulators.jira.app import SANDBOX_APP, create_jira_emulator, get_emulator
from tether_emulators.jira.emulator import SANDBOX_EMAIL, SANDBOX_PROJECT, SANDBOX_TOKEN


def main(argv: list[str] | None = None) -> None:
    parser = sandbox_parser("Run the Jira emulator with a sandbox project.", port=9103)
    args = parser.parse_args(argv)
    base = f"http://{args.host}:{args.port}"
    app = create_jira_emulator(
        site_url=base, webhook_retry_delays=retry_delays(args.retry_delays), sandbox=True
    )
    site = get_emulator(app).site
    lines = [
        f"Jira emulator: {base}/rest/api/3  (control API: {base}/_emulator)",
        f"site={base}",
        f"cloud_id={site.cloud_id}",
        f"email={SANDBOX_EMAIL}",
        f"api_token={SANDBOX_TOKEN}",
        f"client_id={SANDBOX_APP.client_id}",
        f"client_secret={SANDBOX_APP.client_secret}",
        f"project={SANDBOX_PROJECT}",
    ]
    serve_sandbox(app, args, lines)


if __name__ == "__main__":
    main()
