"""Structured logging: structlog on top of the standard library, one line per event."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

# Keys whose values are credentials whatever they hold. The code never logs one on purpose
# (the end-to-end secrets scan checks that); this stops the slip of a future ``log.info(...,
# token=...)`` before it reaches a log shipper.
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|api_key|apikey|private_key|cookie)", re.I
)
REDACTED = "[redacted]"


def redact_secrets(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: the value of any key that names a credential is replaced.
    Keys about a credential that are not one (``token_count``) keep their value only if they
    say so by ending in ``_count`` or ``_id``."""
    for key in list(event):
        if _SECRET_KEY.search(key) and not key.endswith(("_count", "_id")):
            event[key] = REDACTED
    return event


def add_trace_ids(
    logger: object, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: a line logged inside a recorded span names its trace and span
    (hex, as trace viewers show them), so logs and traces can be joined. Without tracing no
    span is ever recorded and nothing is added."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = False) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_secrets,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # aiokafka is chatty at INFO about every group join; its warnings still show.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # One line per outgoing request drowns our own request log; failures still surface.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))
