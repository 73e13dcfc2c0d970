"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=False, description="JSON log lines (for log shippers)")


class BusSettings(BaseSettings):
    """Where events travel: Kafka (distributed mode) or the in-process bus (embedded mode)."""

    bus: Literal["kafka", "inprocess"] = "kafka"
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    topic_namespace: str = Field(
        default="", description="Prefix of every topic name; lets deployments share a cluster"
    )
    topic_partitions: int = Field(default=6, ge=1)
