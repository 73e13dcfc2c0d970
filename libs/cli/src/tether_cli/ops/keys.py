"""``tether keys rotate``: re-encrypt every stored secret under the first token key.

Without downtime: every replica first runs with the new key put first in
``TETHER_<PROVIDER>_TOKEN_ENCRYPTION_KEY`` (so each reads both keys and writes under the new
one); this command then re-encrypts what is still under an older key; the old key is dropped
last. Rows are read in primary-key batches, each batch in its own transaction, and each update
only lands if the ciphertext is still the one read (a service that refreshed the token
meanwhile wrote it under the new key already). A ciphertext under the first key is left as it
is, so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tether_cli.ops.common import OperatorError, database, err, out, print_json, run
from tether_cli.ops.kits import ConnectorKit, deployed
from tether_common.db import session_factory, transaction
from tether_connector_runtime.secrets import EncryptionKeyError, TokenCipher, TokenDecryptError
from tether_connector_runtime.store.tables import ConnectorTables, connector_tables

# Every encrypted column of a connector's tables: (table, primary key, ciphertext column).
ENCRYPTED_COLUMNS = (
    ("connections", "id", "token_encrypted"),
    ("webhooks", "id", "secret_encrypted"),
    ("pending_authorizations", "state", "secret_encrypted"),
)


@dataclass
class Rotation:
    """One connector's count of secrets: ``rotated`` now, ``current`` already under the first
    key, ``undecryptable`` under no configured key (their row ids in ``failed``)."""

    provider: str
    rotated: int = 0
    current: int = 0
    undecryptable: int = 0
    failed: list[str] = field(default_factory=list)


def encrypted_columns(tables: ConnectorTables) -> list[tuple[Table, str, str]]:
    return [(getattr(tables, name), key, column) for name, key, column in ENCRYPTED_COLUMNS]


async def _batch(
    session: AsyncSession, table: Table, key: str, column: str, after: str | None, size: int
) -> list[tuple[str, str]]:
    query = select(table.c[key], table.c[column]).where(table.c[column].is_not(None))
    if after is not None:
        query = query.where(table.c[key] > after)
    rows = await session.execute(query.order_by(table.c[key]).limit(size))
    return [(str(k), str(v)) for k, v in rows]


async def _rotate_row(
    session: AsyncSession,
    cipher: TokenCipher,
    table: Table,
    key: str,
    column: str,
    row: tuple[str, str],
    tally: Rotation,
) -> None:
    row_id, sealed = row
    if cipher.is_current(sealed):
        tally.current += 1
        return
    try:
        fresh = cipher.rotate(sealed)
    except TokenDecryptError:
        tally.undecryptable += 1
        tally.failed.append(f"{table.name}/{row_id}")
        return
    # Compare-and-set: a concurrent writer's newer ciphertext (under the new key) stays.
    await session.execute(
        update(table)
        .where(table.c[key] == row_id, table.c[column] == sealed)
        .values({column: fresh})
    )
    tally.rotated += 1


async def rotate_connector(kit: ConnectorKit, engine: AsyncEngine, batch: int) -> Rotation:
    """Re-encrypt ``kit``'s stored secrets under its first configured key, ``batch`` rows per
    transaction, with a progress bar. Raises OperatorError when the key setting is unusable."""
    try:
        cipher = TokenCipher.from_settings(kit.settings())
    except EncryptionKeyError as exc:
        raise OperatorError(f"{kit.service}: {exc}") from None
    sessions, tally = session_factory(engine), Rotation(kit.provider)
    columns = encrypted_columns(connector_tables(kit.provider))
    async with transaction(sessions) as session:
        total = 0
        for table, _, column in columns:
            count = select(func.count()).select_from(table).where(table.c[column].is_not(None))
            total += int((await session.execute(count)).scalar_one())
    bar_columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*bar_columns, console=err, transient=True) as progress:
        bar = progress.add_task(f"{kit.service} secrets", total=total)
        for table, key, column in columns:
            after: str | None = None
            while True:
                async with transaction(sessions) as session:
                    rows = await _batch(session, table, key, column, after, batch)
                    for row in rows:
                        await _rotate_row(session, cipher, table, key, column, row, tally)
                if not rows:
                    break
                after = rows[-1][0]
                progress.advance(bar, len(rows))
    return tally


async def rotate_all(provider: str | None, batch: int) -> list[Rotation]:
    """Every deployed connector's rotation (or ``provider``'s)."""
    done = []
    for kit in deployed(provider):
        async with database(kit.service, kit.settings().database_url) as engine:
            done.append(await rotate_connector(kit, engine, batch))
    return done


keys_app = typer.Typer(help="The key that encrypts provider tokens at rest.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate(
    provider: Annotated[str | None, typer.Option(help="Only this provider's connector")] = None,
    batch: Annotated[int, typer.Option(min=1, help="Rows per transaction")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="JSON counts on stdout")] = False,
) -> None:
    """Re-encrypt every stored secret (tokens, webhook secrets, pending authorizations) under
    the first key of each connector's TOKEN_ENCRYPTION_KEY list; safe to run again. Exits 1
    if a secret decrypts under none of the keys."""
    results = run(rotate_all(provider, batch))
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        for r in results:
            out.print(
                f"{r.provider}: {r.rotated} re-encrypted, {r.current} already under the first "
                f"key, {r.undecryptable} under no configured key"
            )
            for where in r.failed:
                out.print(f"  cannot decrypt {where}")
    if any(r.undecryptable for r in results):
        raise typer.Exit(1)
