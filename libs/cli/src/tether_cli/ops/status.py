"""``tether status``: each service's liveness and readiness, and Kafka consumer lag."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

import httpx
import typer
from rich.table import Table

from api_gateway.config import GatewaySettings
from task_core.config import TaskCoreSettings
from tether_cli.ops.common import one_line, out, print_json, run
from tether_cli.ops.lag import Lag, consumer_groups, consumer_lag


@dataclass(frozen=True)
class ServiceHealth:
    """``live``: /healthz answered 200; ``ready``: /readyz answered 200 (its dependencies
    answer); ``detail``: why not, in one line."""

    service: str
    url: str
    live: bool
    ready: bool
    detail: str


@dataclass(frozen=True)
class Status:
    services: list[ServiceHealth]
    lag: list[Lag]
    kafka_error: str | None

    @property
    def healthy(self) -> bool:
        return self.kafka_error is None and all(s.live and s.ready for s in self.services)


def service_urls(settings: GatewaySettings) -> dict[str, str]:
    """Each service's base URL: the gateway's own address, and those its settings name."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    urls = {
        "api-gateway": f"http://{host}:{settings.port}",
        "task-core": str(settings.task_core_url),
    }
    for provider, url in settings.connector_urls().items():
        urls[f"{provider}-connector"] = str(url)
    return {name: url.rstrip("/") for name, url in urls.items()}


async def probe(client: httpx.AsyncClient, service: str, url: str) -> ServiceHealth:
    """Ask ``url``'s /healthz then /readyz; never raises (an unreachable service is down)."""
    try:
        live = await client.get(f"{url}/healthz")
        if live.status_code != 200:
            return ServiceHealth(
                service, url, False, False, f"/healthz answered {live.status_code}"
            )
        ready = await client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return ServiceHealth(
            service, url, False, False, f"unreachable: {one_line(exc) or type(exc).__name__}"
        )
    if ready.status_code == 200:
        return ServiceHealth(service, url, True, True, "ready")
    try:
        checks = ready.json().get("checks", {})
        failing = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
    except ValueError:
        failing = ""
    return ServiceHealth(
        service, url, True, False, failing or f"/readyz answered {ready.status_code}"
    )


async def gather_status(with_lag: bool, timeout: float) -> Status:
    gateway = GatewaySettings()
    async with httpx.AsyncClient(timeout=timeout) as client:
        services = [await probe(client, name, url) for name, url in service_urls(gateway).items()]
    if not with_lag:
        return Status(services, [], None)
    bus = TaskCoreSettings()
    groups = consumer_groups(bus.topic_namespace, list(gateway.connector_urls()))
    try:
        lag = await consumer_lag(bus.kafka_bootstrap_servers, groups)
    except Exception as exc:  # any broker failure is reported as "Kafka down", not a traceback
        return Status(services, [], f"{type(exc).__name__}: {one_line(exc)}")
    return Status(services, lag, None)


def _print(status: Status) -> None:
    table = Table("service", "url", "live", "ready", "detail")
    for s in status.services:
        table.add_row(
            s.service, s.url, "yes" if s.live else "NO", "yes" if s.ready else "NO", s.detail
        )
    out.print(table)
    if status.kafka_error is not None:
        out.print(f"Kafka: unreachable: {status.kafka_error}")
    elif status.lag:
        lags = Table("consumer group", "topic", "partitions", "committed", "end", "lag")
        for g in status.lag:
            lags.add_row(
                g.group, g.topic, str(g.partitions), str(g.committed), str(g.end), str(g.lag)
            )
        out.print(lags)


def status(
    lag: Annotated[bool, typer.Option(help="Also read Kafka consumer lag")] = True,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for each service")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
) -> None:
    """Health and readiness of every service (URLs from TETHER_GATEWAY_*) and consumer lag
    per group and topic (brokers from TETHER_TASK_CORE_KAFKA_*); exits 1 if anything is down."""
    result = run(gather_status(lag, timeout))
    if as_json:
        print_json(
            {
                "healthy": result.healthy,
                "services": [asdict(s) for s in result.services],
                "lag": [asdict(g) for g in result.lag],
                "kafka_error": result.kafka_error,
            }
        )
    else:
        _print(result)
    if not result.healthy:
        raise typer.Exit(1)
