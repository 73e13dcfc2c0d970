"""What the deployment-file tests share: constants and helpers over the rendered files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic_settings import BaseSettings

from tests.deploy.kustomize import Resource, containers
from tests.deploy.manifests import (
    Service,
    of_kind,
)
from tether_events.topics import Topic, topic_name

KUBERNETES_VERSION = "1.33"
PLACEHOLDER = "CHANGE-ME"
TOKEN_KEY = Fernet.generate_key().decode()
# What an operator exports before `docker compose up` (deploy/compose.yaml's header).
HOST_ENV = {"TETHER_POSTGRES_PASSWORD": "s3cret", "TETHER_TOKEN_ENCRYPTION_KEY": TOKEN_KEY}
CODE_TOPICS = {topic_name(topic) for topic in Topic}


def load_settings(
    service: Service, environment: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    """The service's settings as they load in its container from exactly ``environment``
    (placeholder token keys replaced by a real key, as an operator must)."""
    for name in list(os.environ):
        if name.upper().startswith("TETHER_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        if name.endswith("TOKEN_ENCRYPTION_KEY") and value == PLACEHOLDER:
            value = TOKEN_KEY
        monkeypatch.setenv(name, value)
    return service.settings()


def served_paths(service: Service, settings: BaseSettings) -> set[str]:
    return set(service.app(settings).openapi()["paths"])


def workloads(resources: list[Resource]) -> dict[str, Resource]:
    return {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}


def only_container(resource: Resource) -> dict[str, Any]:
    (container,) = containers(resource)
    return container


def script_of(command: list[str]) -> str:
    assert command[:2] in (["sh", "-ec"], ["/bin/bash", "-ec"]), command
    return command[2]
