"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log level written"
    )
    log_json: bool = Field(default=False, description="JSON log lines (for log shippers)")
    tracing: Literal["off", "console", "otlp"] = Field(
        default="off",
        description="OpenTelemetry traces: off, console (one JSON line per span on stderr) or "
        "otlp (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318)",
    )


class BusSettings(BaseSettings):
    """Where events travel: Kafka (distributed mode) or the in-process bus (embedded mode)."""

    bus: Literal["kafka", "inprocess"] = Field(
        default="kafka", description="kafka (distributed) or inprocess (embedded, one process)"
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092", description="Comma-separated Kafka brokers"
    )
    topic_namespace: str = Field(
        default="", description="Prefix of every topic name; lets deployments share a cluster"
    )
    topic_partitions: int = Field(
        default=6, ge=1, description="Partitions of topics this service creates if missing"
    )
