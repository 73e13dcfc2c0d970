"""The CLIENT span of one provider call: the last hop of a traced change.

Recorded only when tracing is on (``tether_common.tracing``). The trace context is not sent to
the provider: its API has no use for it, and our trace ids are nobody else's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from tether_events.trace_context import enabled, tracer

# Hands the answer back, noting its status on the span (when there is one).
Noted = Callable[[httpx.Response], httpx.Response]


def _unnoted(response: httpx.Response) -> httpx.Response:
    return response


@contextmanager
def provider_call(
    provider: str, method: str, path: str, redact: Callable[[str], str]
) -> Iterator[Noted]:
    """A span ``"<Provider> <METHOD>"`` around a call to ``path``, which ``redact`` rids of
    the credential a provider may take in the URL (the span's attributes are exported). An
    exception ends it as an error."""
    if not enabled():
        yield _unnoted
        return
    with tracer().start_as_current_span(
        f"{provider} {method}",
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": method,
            "url.path": redact(path),
            "tether.provider": provider.lower(),
        },
    ) as span:
        yield _noting(span)


def _noting(span: Span) -> Noted:
    def noted(response: httpx.Response) -> httpx.Response:
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 400:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
        return response

    return noted
