"""Every variable the deployment files set is a setting of the service that reads it, and
loads; secrets hold only placeholders; the migration jobs migrate every service with the
commands the services really have."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.checks import (
    HOST_ENV,
    PLACEHOLDER,
    load_settings,
    only_container,
    script_of,
)
from tests.deploy.manifests import (
    KUSTOMIZATIONS,
    SERVICE_NAMES,
    compose,
    compose_command,
    compose_environment,
    container_env,
    env_names,
    of_kind,
    rendered,
    services,
)

# ---- settings: every variable set is one the service reads, and they load ----


def test_compose_sets_only_settings_of_each_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in services().items():
        environment = compose_environment(name, HOST_ENV)
        unknown = {v for v in environment if v.upper() not in env_names(service.settings)}
        assert not unknown, f"compose sets {sorted(unknown)} on {name}: not settings of it"
        settings: Any = load_settings(service, environment, monkeypatch)
        assert settings.host == "0.0.0.0"
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.migrate_on_start is False
        assert getattr(settings, "bus", "kafka") == "kafka"
        assert getattr(settings, "kafka_bootstrap_servers", "kafka:9092") == "kafka:9092"


def test_compose_fails_without_the_secrets_it_needs() -> None:
    for missing in HOST_ENV:
        environment = {k: v for k, v in HOST_ENV.items() if k != missing}
        with pytest.raises(KeyError, match=missing):
            compose_environment("trello-connector", environment)


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_manifests_set_only_settings_of_each_service(
    kustomization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(kustomization)
    deployments = of_kind(resources, "Deployment")
    assert set(deployments) == set(SERVICE_NAMES)
    for name, service in services().items():
        container = only_container(deployments[name])
        environment = container_env(resources, container)
        unknown = {v for v in environment if v.upper() not in env_names(service.settings)}
        assert not unknown, f"{kustomization}: {name} gets {sorted(unknown)}: not its settings"
        settings: Any = load_settings(service, environment, monkeypatch)
        assert settings.host == "0.0.0.0"
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.migrate_on_start is False
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": settings.port}, f"{name} listens on {settings.port}"
        assert container["command"] == ["python", "-m", service.spec.module, "serve"]


def test_connectors_refuse_the_placeholder_token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets left at their placeholder cannot go unnoticed: the connectors do not start."""
    resources = rendered("overlays/production")
    for name in ("trello-connector", "asana-connector", "jira-connector"):
        service = services()[name]
        environment = container_env(
            resources, only_container(of_kind(resources, "Deployment")[name])
        )
        for variable in os.environ:
            if variable.upper().startswith("TETHER_"):
                monkeypatch.delenv(variable)
        for variable, value in environment.items():
            monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError, match="is not a Fernet key"):
            service.settings()


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_secrets_hold_only_marked_placeholders(kustomization: str) -> None:
    secrets = of_kind(rendered(kustomization), "Secret")
    assert secrets
    for name, secret in secrets.items():
        assert "data" not in secret, f"{name}: placeholders go in stringData"
        for variable, value in secret["stringData"].items():
            assert PLACEHOLDER in value, f"Secret {name}: {variable} is not marked {PLACEHOLDER}"


# ---- migrations ----


def test_migration_jobs_migrate_every_service_with_its_own_command(tmp_path: Path) -> None:
    """The compose and Kubernetes migration jobs run one script; it names every service's
    ``migrate`` command, and running it creates each service's version table."""
    job = of_kind(rendered("base"), "Job")["tether-migrate"]
    script = script_of(only_container(job)["command"])
    assert script == compose_command("migrate")
    modules = {spec.module for spec in (s.spec for s in services().values())}
    assert {step.split()[2] for step in script.split("&&")} == modules
    database = tmp_path / "tether.db"
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("TETHER_")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    for service in services().values():
        environment[f"{service.spec.env_prefix}DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    result = subprocess.run(
        ["sh", "-ec", script], env=environment, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    version_tables = {t for t in tables if t.endswith("alembic_version")}
    assert len(version_tables) == len(services()), version_tables


def test_services_wait_for_the_migration_job_in_compose() -> None:
    for name in SERVICE_NAMES:
        depends = compose()["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_migrate_job_reads_only_service_settings(kustomization: str) -> None:
    resources = rendered(kustomization)
    job = of_kind(resources, "Job")["tether-migrate"]
    environment = container_env(resources, only_container(job))
    known = set().union(*(env_names(s.settings) for s in services().values()))
    assert {v.upper() for v in environment} <= known
    for service in services().values():
        assert f"{service.spec.env_prefix}DATABASE_URL" in environment
