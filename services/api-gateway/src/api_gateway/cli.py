"""Command line: ``serve``, ``migrate`` and the ``token`` commands.

``token_app`` is mounted by the umbrella CLI as ``tether token``. Token commands print only
their result on stdout (``create`` prints just the token) so scripts can capture it; everything
meant for people goes to stderr.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api_gateway.auth.models import ApiToken, utcnow
from api_gateway.auth.repository import AuthRepository
from api_gateway.auth.service import (
    IssuedToken,
    issue_token,
    revoke_token,
    set_tenant_time_zone,
    tokens_of_tenant,
)
from api_gateway.config import GatewaySettings
from api_gateway.migrate import migrate
from tether_common.db import create_engine, session_factory, transaction
from tether_common.errors import DomainError
from tether_common.logging import configure_logging
from tether_common.tracing import setup_tracing
from tether_contracts.people import valid_time_zone

T = TypeVar("T")

token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
cli = typer.Typer(help="Tether API gateway.", no_args_is_help=True)
cli.add_typer(token_app, name="token")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run ``work`` in one transaction (retried once if it lost a race)."""

    async def run() -> T:
        settings = GatewaySettings()
        await migrate(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            sessions = session_factory(engine)
            for attempt in (1, 2):
                try:
                    async with transaction(sessions) as session:
                        return await work(session)
                except IntegrityError:
                    # Two concurrent `create`s may insert the same tenant or user; the retry
                    # finds the row the other one committed.
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        raise _fail(exc.message) from exc


@token_app.command("create")
def create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name; created if missing")],
    email: Annotated[str, typer.Option("--email", help="User's email; created if missing")],
) -> None:
    """Create an API token; prints only the token on stdout."""

    async def work(session: AsyncSession) -> IssuedToken:
        return await issue_token(
            AuthRepository(session), tenant_name=tenant, email=email, now=utcnow()
        )

    issued = _in_transaction(work)
    created = " and ".join(
        what
        for what, new in (("tenant", issued.created_tenant), ("user", issued.created_user))
        if new
    )
    parent = ctx.parent.command_path if ctx.parent else "token"
    typer.echo(
        f"Created token {issued.prefix}... for {issued.user.email} in tenant "
        f"{issued.tenant.name!r}{f' (new {created})' if created else ''}.\n"
        "It is shown only this once; send it as 'Authorization: Bearer <token>'.\n"
        f"Revoke it with: {parent} revoke --prefix {issued.prefix}",
        err=True,
    )
    typer.echo(issued.token)


@cli.command("tenant-time-zone")
def tenant_time_zone(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name")],
    zone: Annotated[str, typer.Option("--zone", help="IANA time zone, e.g. Europe/Paris")],
) -> None:
    """Set a tenant's default time zone (its users who set none of their own get it)."""
    try:
        valid_time_zone(zone)
    except ValueError as exc:
        raise _fail(str(exc)) from exc

    async def work(session: AsyncSession) -> str:
        return (await set_tenant_time_zone(AuthRepository(session), tenant, zone)).name

    name = _in_transaction(work)
    typer.echo(f"Tenant {name!r} now defaults to {zone}.", err=True)


@token_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Option("--prefix", help="The token's prefix, e.g. tth_AbCd1234")],
) -> None:
    """Revoke the active token with this prefix; requests with it get 401 from now on."""

    async def work(session: AsyncSession) -> ApiToken:
        return await revoke_token(AuthRepository(session), prefix=prefix, now=utcnow())

    token = _in_transaction(work)
    typer.echo(f"Revoked token {token.prefix}...", err=True)


@token_app.command("list")
def list_tokens(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name")],
) -> None:
    """List a tenant's tokens (prefix, user, created, last used, state) as tab-separated lines."""

    async def work(session: AsyncSession) -> list[tuple[ApiToken, str]]:
        rows = await tokens_of_tenant(AuthRepository(session), tenant)
        return [(token, user.email) for token, user in rows]

    for token, email in _in_transaction(work):
        state = "revoked" if token.revoked_at else "active"
        last_used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "-"
        typer.echo(
            f"{token.prefix}\t{email}\t{token.created_at.isoformat(timespec='seconds')}"
            f"\t{last_used}\t{state}"
        )


@cli.command("migrate")
def migrate_command() -> None:
    """Apply the gateway's database migrations."""
    asyncio.run(migrate(GatewaySettings().database_url))
    typer.echo("gateway database is up to date", err=True)


@cli.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides TETHER_GATEWAY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides TETHER_GATEWAY_PORT")] = None,
) -> None:
    """Run the gateway's HTTP server."""
    import uvicorn

    from api_gateway.app import create_app

    settings = GatewaySettings()
    configure_logging("api-gateway", settings.log_level, settings.log_json)
    setup_tracing("api-gateway", settings.tracing)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        # Our middleware logs each request with its request id; keep our logging config.
        access_log=False,
        log_config=None,
    )
