"""What the deploy tests read: the compose file, the Dockerfile, the rendered Kubernetes
overlays, and the services' own settings and apps to hold them against."""

from __future__ import annotations

import copy
import importlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from tests.deploy.kustomize import Resource, build
from tether_cli.configdoc import SETTINGS
from tether_devinfra.services import SERVICES, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
K8S = DEPLOY / "k8s"
OVERLAYS = ("overlays/dev", "overlays/production")
READ_REPLICA = "components/read-replica"
# What the tests render: the base, each overlay, and each overlay with each optional component
# ("OVERLAY+COMPONENT": the overlay's kustomization lists the component, as the README says).
KUSTOMIZATIONS = ("base", *OVERLAYS, *(f"{overlay}+{READ_REPLICA}" for overlay in OVERLAYS))

SERVICE_NAMES = tuple(spec.name for spec in SERVICES)


@dataclass(frozen=True)
class Service:
    spec: ServiceSpec
    settings: type[BaseSettings]

    @property
    def name(self) -> str:
        return self.spec.name

    def app(self, settings: BaseSettings) -> FastAPI:
        factory = importlib.import_module(f"{self.spec.module}.app").create_app
        app: FastAPI = factory(settings)
        return app


def services() -> dict[str, Service]:
    settings = dict(SETTINGS)
    return {spec.name: Service(spec, settings[spec.name]) for spec in SERVICES}


def env_names(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable ``settings`` reads (upper case: pydantic-settings ignores
    case), aliases included, e.g. TETHER_PUBLIC_URL for each connector."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


# ---- compose ----


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def interpolate(text: str, environment: Mapping[str, str]) -> str:
    """Compose's interpolation: ``$$``, ``${X}``, ``${X:-default}``, ``${X:?error}``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = environment.get(name)
        if op in (":-", "-"):
            return value if value else arg
        if op in (":?", "?") and not value:
            raise KeyError(f"{name} must be set: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def compose_environment(service: str, host_env: Mapping[str, str]) -> dict[str, str]:
    environment = compose()["services"][service].get("environment", {})
    return {name: interpolate(str(value), host_env) for name, value in environment.items()}


def compose_command(service: str) -> str:
    """The shell script a compose service runs (``[sh|bash, -ec, SCRIPT]``), ``$$`` undone."""
    command = compose()["services"][service]["command"]
    assert command[:2] in (["sh", "-ec"], ["/bin/bash", "-ec"]), command
    return str(command[2]).replace("$$", "$")


# ---- Dockerfile ----


@dataclass
class Stage:
    name: str
    base: str
    env: dict[str, str]
    cmd: list[str] | None
    user: str | None


def dockerfile_stages() -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            match = re.fullmatch(r"FROM\s+(\S+)\s+AS\s+(\S+)", line.strip(), re.IGNORECASE)
            assert match, f"every stage is named: {line!r}"
            base = stages.get(match.group(1))
            current = Stage(
                match.group(2),
                match.group(1),
                dict(base.env) if base else {},
                base.cmd if base else None,
                base.user if base else None,
            )
            stages[current.name] = current
        elif instruction == "ENV" and current is not None:
            for pair in shlex.split(line.strip()[3:]):
                name, _, value = pair.partition("=")
                current.env[name] = value
        elif instruction == "USER" and current is not None:
            current.user = words[1]
        elif instruction == "CMD" and current is not None:
            current.cmd = yaml.safe_load(line.strip()[3:])  # exec form: a JSON list
    return stages


# ---- Kubernetes ----


@contextmanager
def kustomization_dir(kustomization: str) -> Iterator[Path]:
    """The directory ``kustomize build`` renders for one of KUSTOMIZATIONS. For
    "OVERLAY+COMPONENT", a copy of deploy/k8s whose OVERLAY lists COMPONENT under
    ``components:``, the one line an operator adds; the copy is gone on exit."""
    overlay, plus, component = kustomization.partition("+")
    if not plus:
        yield K8S / kustomization
        return
    with tempfile.TemporaryDirectory() as workdir:
        tree = Path(workdir) / "k8s"
        shutil.copytree(K8S, tree)
        path = tree / overlay / "kustomization.yaml"
        declared = yaml.safe_load(path.read_text())
        components = declared.setdefault("components", [])
        components.append(os.path.relpath(tree / component, tree / overlay))
        path.write_text(yaml.safe_dump(declared, sort_keys=False))
        yield tree / overlay


@cache
def _rendered(kustomization: str) -> tuple[Resource, ...]:
    with kustomization_dir(kustomization) as directory:
        return tuple(build(directory))


def rendered(kustomization: str) -> list[Resource]:
    return copy.deepcopy(list(_rendered(kustomization)))


def of_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def container_env(resources: list[Resource], container: dict[str, Any]) -> dict[str, str]:
    """The environment a container starts with: its envFrom ConfigMaps and Secrets, then env
    (literal values, or one key of a rendered Secret or ConfigMap)."""
    configmaps, secrets = of_kind(resources, "ConfigMap"), of_kind(resources, "Secret")
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]["name"]
            assert ref in configmaps, f"envFrom names ConfigMap {ref}, which is not rendered"
            environment |= {k: str(v) for k, v in configmaps[ref].get("data", {}).items()}
        else:
            ref = source["secretRef"]["name"]
            assert ref in secrets, f"envFrom names Secret {ref}, which is not rendered"
            environment |= {k: str(v) for k, v in secrets[ref].get("stringData", {}).items()}
    for variable in container.get("env", []):
        name = variable["name"]
        if "value" in variable:
            environment[name] = str(variable["value"])
            continue
        source = variable.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref, kind, found, values = source["secretKeyRef"], "Secret", secrets, "stringData"
        else:
            assert "configMapKeyRef" in source, f"{name}: neither a value nor a key reference"
            ref, kind, found, values = source["configMapKeyRef"], "ConfigMap", configmaps, "data"
        assert ref["name"] in found, f"{name} names {kind} {ref['name']}, which is not rendered"
        held = found[ref["name"]].get(values, {})
        assert ref["key"] in held, f"{name}: {kind} {ref['name']} has no key {ref['key']}"
        environment[name] = str(held[ref["key"]])
    return environment
