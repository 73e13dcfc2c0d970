"""Settings come from TETHER_TASK_CORE_* variables; database URLs get their async driver."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from task_core.config import TaskCoreSettings
from tether_sync import ConflictPolicy, SyncPolicy


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TETHER_"):
            monkeypatch.delenv(name)


def test_defaults_run_embedded_friendly_on_port_8001() -> None:
    settings = TaskCoreSettings()
    assert settings.database_url == "sqlite+aiosqlite:///.tether/task-core.db"
    assert (settings.port, settings.migrate_on_start) == (8001, True)
    assert (settings.bus, settings.topic_namespace) == ("kafka", "")


def test_every_setting_reads_its_prefixed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "TETHER_TASK_CORE_DATABASE_URL": "postgresql://tether:pw@db:5432/tether",
        "TETHER_TASK_CORE_MIGRATE_ON_START": "false",
        "TETHER_TASK_CORE_HOST": "0.0.0.0",
        "TETHER_TASK_CORE_PORT": "9001",
        "TETHER_TASK_CORE_RELAY_INTERVAL": "0.5",
        "TETHER_TASK_CORE_RELAY_BATCH_SIZE": "10",
        "TETHER_TASK_CORE_BUS": "inprocess",
        "TETHER_TASK_CORE_KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
        "TETHER_TASK_CORE_TOPIC_NAMESPACE": "staging",
        "TETHER_TASK_CORE_LOG_LEVEL": "DEBUG",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = TaskCoreSettings()
    assert settings.database_url == "postgresql+asyncpg://tether:pw@db:5432/tether"
    assert settings.migrate_on_start is False
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)
    assert (settings.relay_interval, settings.relay_batch_size) == (0.5, 10)
    assert (settings.bus, settings.kafka_bootstrap_servers) == ("inprocess", "k1:9092,k2:9092")
    assert (settings.topic_namespace, settings.log_level) == ("staging", "DEBUG")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_url", "mysql://x@y/z"),
        ("database_url", "not a url"),
        ("relay_interval", 0),
        ("relay_batch_size", 0),
    ],
)
def test_bad_values_are_refused_at_start_up(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        TaskCoreSettings.model_validate({field: value})


def test_conflict_policies_default_to_latest_wins_and_read_json_per_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert TaskCoreSettings().sync_policy == SyncPolicy()
    monkeypatch.setenv("TETHER_TASK_CORE_CONFLICT_POLICY", "core_wins")
    monkeypatch.setenv(
        "TETHER_TASK_CORE_FIELD_POLICIES", '{"title": "provider_wins", "due_date": "latest_wins"}'
    )
    policy = TaskCoreSettings().sync_policy
    assert policy.for_field("title") is ConflictPolicy.PROVIDER_WINS
    # due_date, the due's name before it could be an instant, still configures it.
    assert policy.for_field("due") is ConflictPolicy.LATEST_WINS
    assert policy.for_field("description") is ConflictPolicy.CORE_WINS


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TETHER_TASK_CORE_CONFLICT_POLICY", "loudest_wins"),
        ("TETHER_TASK_CORE_FIELD_POLICIES", '{"colour": "core_wins"}'),
        ("TETHER_TASK_CORE_FIELD_POLICIES", '{"title": "whoever"}'),
        ("TETHER_TASK_CORE_FIELD_POLICIES", "not json"),
    ],
)
def test_unknown_policies_or_fields_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError if value == "not json" else ValidationError):
        TaskCoreSettings()


def test_a_read_replica_needs_postgresql() -> None:
    with pytest.raises(ValidationError, match="read_database_url needs PostgreSQL"):
        TaskCoreSettings(
            database_url="sqlite+aiosqlite:///x.db",
            read_database_url="postgresql://tether@replica/tether",
        )
    settings = TaskCoreSettings(
        database_url="postgresql://tether@primary/tether",
        read_database_url="postgres://tether@replica/tether",
    )
    assert settings.read_database_url == "postgresql+asyncpg://tether@replica/tether"
    assert TaskCoreSettings(read_database_url=" ").read_database_url is None
