"""Every line logged in a link's turn names the link, beside the ids of the event being
handled; lines outside the turn do not (the binding ends with it)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
import structlog

from tether_connector_runtime.turns import LinkTurns


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """JSON lines with the context's bindings merged in, as every service logs them."""
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
    )
    yield buffer
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


async def test_lines_in_a_turn_name_its_link(json_logs: io.StringIO) -> None:
    log = structlog.get_logger("test")
    turns = LinkTurns()
    entered = {"link-a": asyncio.Event(), "link-b": asyncio.Event()}
    go_on = asyncio.Event()

    async def write(link_id: str) -> None:
        async with turns.turn(link_id):
            log.info("writing")
            entered[link_id].set()
            await go_on.wait()
            log.info("written")

    with structlog.contextvars.bound_contextvars(event_id="ev-1", task_id="task-1"):
        first = asyncio.create_task(write("link-a"))
        other = asyncio.create_task(write("link-b"))
        # Both turns held at once, so the two links' lines interleave.
        await asyncio.gather(*(e.wait() for e in entered.values()))
        go_on.set()
        await asyncio.gather(first, other)
        log.info("handled")

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    in_turns = [line for line in lines if line["event"] in ("writing", "written")]
    assert sorted((line["link_id"], line["event"]) for line in in_turns) == [
        ("link-a", "writing"),
        ("link-a", "written"),
        ("link-b", "writing"),
        ("link-b", "written"),
    ]
    assert all(line["event_id"] == "ev-1" and line["task_id"] == "task-1" for line in lines)
    [handled] = [line for line in lines if line["event"] == "handled"]
    assert "link_id" not in handled
