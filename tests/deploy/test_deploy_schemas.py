"""The deployment files parse and match their schemas: the Kubernetes manifests (each overlay,
rendered by kustomize or our own renderer, which must agree) and the compose file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.checks import (
    HOST_ENV,
    KUBERNETES_VERSION,
)
from tests.deploy.kustomize import build
from tests.deploy.manifests import (
    COMPOSE_FILE,
    DEPLOY,
    KUSTOMIZATIONS,
    compose,
    kustomization_dir,
    rendered,
)

# ---- schemas ----


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_manifests_match_the_kubernetes_schemas(kustomization: str) -> None:
    resources = rendered(kustomization)
    assert resources
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(
                f"{kustomization}: {resource['kind']}/{resource['metadata']['name']}: "
                f"{error.message} at {list(error.path)}"
            )


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_the_python_rendering_agrees_with_kustomize(kustomization: str) -> None:
    """The tests render overlays with tests/deploy/kustomize.py; a real kustomize, where one
    is installed, must render the same resources."""
    if shutil.which("kustomize"):
        command = ["kustomize", "build"]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize"]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    with kustomization_dir(kustomization) as directory:
        output = subprocess.run(
            [*command, str(directory)], capture_output=True, text=True, check=True
        ).stdout
        ours = sorted(json.dumps(doc, sort_keys=True) for doc in build(directory))
    theirs = sorted(json.dumps(doc, sort_keys=True) for doc in yaml.safe_load_all(output) if doc)
    assert ours == theirs


def test_compose_file_matches_the_compose_spec() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0
    ):
        pytest.skip("no docker compose client here; the schema test covers the file")
    subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        check=True,
        env=os.environ | HOST_ENV,
    )
