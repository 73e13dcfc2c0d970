"""Log lines are JSON on request, and a credential passed to a logger by name never reaches
the line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from tether_common.logging import configure_logging


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's logging, as configured, written to a buffer instead of stderr."""
    configure_logging("test-service", "DEBUG", json=True)
    buffer = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    yield buffer
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_credentials_named_as_such_are_redacted(json_logs: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "connected",
        token="tok-secret-1",
        access_token="tok-secret-2",
        api_secret="app-secret",
        Authorization="Bearer tok-secret-3",
        token_count=2,
        link_id="link-1",
    )
    [line] = json_logs.getvalue().splitlines()
    logged = json.loads(line)
    assert {k: logged[k] for k in ("token", "access_token", "api_secret", "Authorization")} == {
        "token": "[redacted]",
        "access_token": "[redacted]",
        "api_secret": "[redacted]",
        "Authorization": "[redacted]",
    }
    assert (logged["token_count"], logged["link_id"]) == (2, "link-1")
    assert (logged["event"], logged["service"]) == ("connected", "test-service")
    assert "tok-secret" not in line
