"""The optional read replica in the deployment files: the Kubernetes component and compose hand
task-core and the gateway the replica's URL, and only them; without it, no service reads a
replica (an empty value included)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.checks import HOST_ENV, load_settings, only_container
from tests.deploy.manifests import (
    OVERLAYS,
    READ_REPLICA,
    compose_environment,
    container_env,
    env_names,
    of_kind,
    rendered,
    services,
)

# The services that read from a replica, and the variable each reads its URL from.
READERS = {
    "task-core": "TETHER_TASK_CORE_READ_DATABASE_URL",
    "api-gateway": "TETHER_GATEWAY_READ_DATABASE_URL",
}
SECRET, KEY = "tether-read-replica", "read-database-url"
REPLICA_URL = "postgresql+asyncpg://tether:s3cret@replica.internal:5432/tether"


def test_the_readers_variables_are_their_settings() -> None:
    for name, variable in READERS.items():
        assert variable in env_names(services()[name].settings), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_component_points_task_core_and_the_gateway_at_the_replica(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(f"{overlay}+{READ_REPLICA}")
    replica_url = of_kind(resources, "Secret")[SECRET]["stringData"][KEY]
    deployments = of_kind(resources, "Deployment")
    for name, service in services().items():
        container = only_container(deployments[name])
        settings: Any = load_settings(service, container_env(resources, container), monkeypatch)
        if name not in READERS:
            assert getattr(settings, "read_database_url", None) is None, name
            continue
        # From the Secret, never a literal: the URL holds the replica's password.
        (variable,) = (v for v in container["env"] if v["name"] == READERS[name])
        assert variable["valueFrom"] == {"secretKeyRef": {"name": SECRET, "key": KEY}}
        assert settings.read_database_url == replica_url
        assert settings.read_database_url != settings.database_url


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_without_the_component_every_read_goes_to_the_primary(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(overlay)
    assert SECRET not in of_kind(resources, "Secret")
    deployments = of_kind(resources, "Deployment")
    for name in READERS:
        service = services()[name]
        environment = container_env(resources, only_container(deployments[name]))
        settings: Any = load_settings(service, environment, monkeypatch)
        assert settings.read_database_url is None, name


def test_compose_passes_the_replica_through_when_one_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host_env = HOST_ENV | {"TETHER_READ_DATABASE_URL": REPLICA_URL}
    for name, service in services().items():
        environment = compose_environment(name, host_env)
        settings: Any = load_settings(service, environment, monkeypatch)
        if name in READERS:
            assert environment[READERS[name]] == REPLICA_URL
            assert settings.read_database_url == REPLICA_URL
        else:
            assert REPLICA_URL not in environment.values(), name
    assert REPLICA_URL not in compose_environment("migrate", host_env).values()


@pytest.mark.parametrize("given", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_compose_without_a_replica_reads_from_the_primary(
    given: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_env = HOST_ENV if given is None else HOST_ENV | {"TETHER_READ_DATABASE_URL": given}
    for name, variable in READERS.items():
        environment = compose_environment(name, host_env)
        assert variable in environment, f"compose does not pass {variable} to {name}"
        settings: Any = load_settings(services()[name], environment, monkeypatch)
        assert settings.read_database_url is None, name
