"""The ``tether`` command."""

from __future__ import annotations

import asyncio

import typer

from api_gateway.cli import token_app
from tether_cli.ops import conflicts, dlq, links, resync, status
from tether_cli.ops.keys import keys_app
from tether_connector_runtime.replay import dlq_app

app = typer.Typer(help="Tether: two-way task sync.", no_args_is_help=True)
app.add_typer(token_app, name="token", help="API tokens for the client API.")
app.add_typer(dlq_app, name="dlq", help="Events parked after failing: inspect and replay.")
app.add_typer(keys_app, name="keys", help="The key encrypting provider tokens: rotate it.")
dlq_app.command("list")(dlq.list_parked)
dlq_app.command("show")(dlq.show)
app.command("status")(status.status)
app.command("links")(links.links)
app.command("resync")(resync.resync)
app.command("conflicts")(conflicts.conflicts)


@app.command()
def run() -> None:
    """Run Tether embedded: every service in one process on http://127.0.0.1:8000."""
    from tether_cli.embedded import serve_embedded
    from tether_cli.serving import PortInUse

    try:
        asyncio.run(serve_embedded())
    except PortInUse as error:
        typer.echo(f"run: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def sandbox() -> None:
    """Run Tether embedded beside connected Trello, Asana and Jira emulators (:9101-9103)."""
    from tether_cli.sandbox import run_sandbox

    run_sandbox()


@app.command()
def config() -> None:
    """Print every setting of every service as a Markdown table of environment variables."""
    from tether_cli.configdoc import markdown_table

    typer.echo(markdown_table())


if __name__ == "__main__":
    app()
