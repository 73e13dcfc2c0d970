"""The deployment files (deploy/compose.yaml, Dockerfile, deploy/k8s) parse, match their
schemas, and agree with the code: every variable they set is a setting of the service that
reads it and loads, probes and healthchecks ask paths the apps serve, the topic jobs create
every topic the code uses, the migration jobs migrate every service with the commands the
services really have, and the resources cover the benchmark's measured memory."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml
from cryptography.fernet import Fernet
from pydantic_settings import BaseSettings

from tests.deploy.kustomize import Resource, build, containers
from tests.deploy.manifests import (
    COMPOSE_FILE,
    DEPLOY,
    K8S,
    KUSTOMIZATIONS,
    ROOT,
    SERVICE_NAMES,
    Service,
    compose,
    compose_command,
    compose_environment,
    container_env,
    dockerfile_stages,
    env_names,
    of_kind,
    rendered,
    services,
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
        command = ["kustomize", "build", str(K8S / kustomization)]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(K8S / kustomization)]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    theirs = sorted(json.dumps(doc, sort_keys=True) for doc in yaml.safe_load_all(output) if doc)
    ours = sorted(json.dumps(doc, sort_keys=True) for doc in build(K8S / kustomization))
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


def test_secrets_hold_only_marked_placeholders() -> None:
    secrets = of_kind(rendered("base"), "Secret")
    assert secrets
    for name, secret in secrets.items():
        assert "data" not in secret, f"{name}: placeholders go in stringData"
        for variable, value in secret["stringData"].items():
            assert PLACEHOLDER in value, f"Secret {name}: {variable} is not marked {PLACEHOLDER}"


# ---- probes, healthchecks, Services, Ingress ----


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_probes_ask_paths_the_apps_serve(
    kustomization: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(kustomization)
    deployments = of_kind(resources, "Deployment")
    for name, service in services().items():
        container = only_container(deployments[name])
        settings = load_settings(service, container_env(resources, container), monkeypatch)
        paths = served_paths(service, settings)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] in paths, f"{name} {probe}: {check['path']} is not served"
            assert check["port"] in {p["name"] for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


async def test_liveness_path_answers_without_dependencies() -> None:
    """/healthz is what restarts a pod: it must answer 200 before any dependency does."""
    for name, service in services().items():
        app = service.app(service.settings())
        path = only_container(of_kind(rendered("base"), "Deployment")[name])["livenessProbe"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(path["httpGet"]["path"])
        assert response.status_code == 200, name


def test_compose_healthchecks_ask_served_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in services().items():
        check = " ".join(compose()["services"][name]["healthcheck"]["test"])
        url = urlsplit(check.split("urlopen('")[1].split("'")[0])
        settings: Any = load_settings(service, compose_environment(name, HOST_ENV), monkeypatch)
        assert url.port == settings.port, f"{name} healthcheck port"
        assert url.path == "/readyz"
        assert url.path in served_paths(service, settings)


def test_services_select_their_deployments() -> None:
    resources = rendered("base")
    deployments = of_kind(resources, "Deployment")
    for name, svc in of_kind(resources, "Service").items():
        deployment = deployments[name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        port_names = {p["name"]: p["containerPort"] for p in only_container(deployment)["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names
            assert port["port"] == port_names[port["targetPort"]]


def test_gateway_reaches_the_other_services_at_their_service_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = rendered("base")
    k8s_services = of_kind(resources, "Service")
    gateway = services()["api-gateway"]
    container = only_container(of_kind(resources, "Deployment")["api-gateway"])
    settings: Any = load_settings(gateway, container_env(resources, container), monkeypatch)
    connectors = {f"{p}-connector": url for p, url in settings.connector_urls().items()}
    urls = {"task-core": settings.task_core_url, **connectors}
    assert set(urls) == set(SERVICE_NAMES) - {"api-gateway"}
    for name, url in urls.items():
        assert url.host == name
        assert name in k8s_services
        assert url.port == k8s_services[name]["spec"]["ports"][0]["port"]
    compose_env = compose_environment("api-gateway", HOST_ENV)
    settings = load_settings(gateway, compose_env, monkeypatch)
    assert urlsplit(str(settings.task_core_url)).hostname in compose()["services"]
    for url in settings.connector_urls().values():
        assert url.host in compose()["services"]


def test_ingress_routes_reach_paths_the_backends_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    resources = rendered("base")
    k8s_services = of_kind(resources, "Service")
    deployments = of_kind(resources, "Deployment")
    (ingress,) = of_kind(resources, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    routed: set[str] = set()
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        name = backend["name"]
        assert name in k8s_services
        assert backend["port"]["name"] in {p["name"] for p in k8s_services[name]["spec"]["ports"]}
        container = only_container(deployments[name])
        served = served_paths(
            services()[name],
            load_settings(services()[name], container_env(resources, container), monkeypatch),
        )
        assert any(p.startswith(path["path"]) for p in served), f"{name} serves no {path['path']}"
        routed.add(name)
    for name in ("trello-connector", "asana-connector", "jira-connector"):
        assert name in routed, f"{name}'s webhooks are not routed"
        settings: Any = load_settings(
            services()[name],
            container_env(resources, only_container(deployments[name])),
            monkeypatch,
        )
        assert urlsplit(settings.public_url).hostname == rule["host"]
        assert urlsplit(settings.webhook_url).path in {p["path"] for p in rule["http"]["paths"]}


# ---- topics ----


def test_compose_topic_job_creates_every_topic_the_code_uses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = compose_environment("kafka-topics", HOST_ENV)
    assert set(job["TOPICS"].split()) == CODE_TOPICS
    assert job["REPLICATION_FACTOR"] == "1"  # one broker
    for name, service in services().items():
        settings: Any = load_settings(service, compose_environment(name, HOST_ENV), monkeypatch)
        assert getattr(settings, "topic_namespace", "") == job["TOPIC_NAMESPACE"]
        assert (
            getattr(settings, "kafka_bootstrap_servers", job["BOOTSTRAP_SERVERS"])
            == (job["BOOTSTRAP_SERVERS"])
        )


@pytest.mark.parametrize(
    ("overlay", "replication"), [("overlays/dev", 1), ("overlays/production", 3)]
)
def test_topic_job_creates_every_topic_the_code_uses(
    overlay: str, replication: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(overlay)
    job = of_kind(resources, "Job")["tether-kafka-topics"]
    environment = container_env(resources, only_container(job))
    assert set(environment["TOPICS"].split()) == CODE_TOPICS
    assert int(environment["REPLICATION_FACTOR"]) == replication
    partitions = int(environment["PARTITIONS"])
    # One consumer group per service: replicas past the partition count would sit idle.
    for name, hpa in of_kind(resources, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["maxReplicas"] <= partitions, f"{name} scales past {partitions}"
    deployments = of_kind(resources, "Deployment")
    for name, service in services().items():
        container = only_container(deployments[name])
        settings: Any = load_settings(service, container_env(resources, container), monkeypatch)
        assert getattr(settings, "topic_namespace", "") == environment["TOPIC_NAMESPACE"]
        assert (
            getattr(settings, "kafka_bootstrap_servers", environment["BOOTSTRAP_SERVERS"])
            == (environment["BOOTSTRAP_SERVERS"])
        )


def test_topic_jobs_run_the_same_script() -> None:
    job = of_kind(rendered("base"), "Job")["tether-kafka-topics"]
    assert script_of(only_container(job)["command"]) == compose_command("kafka-topics")
    assert compose()["services"]["kafka-topics"]["image"] == only_container(job)["image"]


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


# ---- images ----


def test_images_are_dockerfile_targets() -> None:
    stages = dockerfile_stages()
    for name, definition in compose()["services"].items():
        if "build" not in definition:
            continue
        target = definition["build"]["target"]
        assert target in stages, f"compose {name}: no Dockerfile target {target}"
        assert definition["image"].split(":")[0] == f"tether/{target}"
    for kustomization in KUSTOMIZATIONS:
        for resource in workloads(rendered(kustomization)).values():
            image = only_container(resource)["image"].split(":")[0]
            if "tether/" in image:
                assert image.rsplit("/", 1)[1] in stages, f"{kustomization}: {image}"


def test_service_targets_run_their_service_as_non_root() -> None:
    stages = dockerfile_stages()
    runtime = stages["runtime"]
    for name, service in services().items():
        stage = stages[name]
        assert stage.base == "runtime", f"{name} builds on {stage.base}"
        assert stage.user is not None
        assert stage.user.split(":")[0] not in {"0", "root"}
        assert stage.cmd == ["python", "-m", service.spec.module, "serve"]
        unknown = {v for v in stage.env if v.startswith("TETHER_")} - env_names(service.settings)
        assert not unknown, f"Dockerfile sets {unknown} on {name}"
        assert f"--package tether-{name}" in (ROOT / "Dockerfile").read_text()
    assert runtime.env["PATH"].startswith("/opt/tether/venv/bin")
    assert stages["migrate"].cmd is not None
    assert stages["migrate"].user == runtime.user
    assert script_of(stages["migrate"].cmd) == compose_command("migrate")


# ---- replicas, autoscaling, resources ----


@pytest.mark.parametrize(("overlay", "least"), [("overlays/dev", 1), ("overlays/production", 2)])
def test_replicas_and_autoscalers(overlay: str, least: int) -> None:
    resources = rendered(overlay)
    deployments = of_kind(resources, "Deployment")
    autoscalers = of_kind(resources, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {
        "task-core",
        "trello-connector",
        "asana-connector",
        "jira-connector",
    }
    for name, deployment in deployments.items():
        replicas = deployment["spec"]["replicas"]
        assert replicas == least if overlay.endswith("dev") else replicas >= least, name
        if name in autoscalers:
            spec = autoscalers[name]["spec"]
            assert spec["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
            assert spec["minReplicas"] <= replicas <= spec["maxReplicas"]


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return float(quantity.removesuffix(unit)) * factor
    return float(quantity) / 2**20


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_memory_covers_the_benchmarks_peak_rss(kustomization: str) -> None:
    peak: dict[str, float] = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())[
        "memory"
    ]
    assert set(peak) == set(SERVICE_NAMES)
    deployments = of_kind(rendered(kustomization), "Deployment")
    for name, rss in peak.items():
        resources = only_container(deployments[name])["resources"]
        request = _mebibytes(resources["requests"]["memory"])
        limit = _mebibytes(resources["limits"]["memory"])
        assert request >= rss * 1.2, f"{name}: request {request} MiB, peak RSS {rss:.0f} MiB"
        assert limit >= rss * 2, f"{name}: limit {limit} MiB, peak RSS {rss:.0f} MiB"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_the_first_apply_step_selects_what_the_jobs_need(kustomization: str) -> None:
    """The README applies ``-l 'app.kubernetes.io/component in (config, setup)'`` first and
    waits for the jobs: that selection must hold both jobs and everything they read, and no
    service."""
    resources = rendered(kustomization)

    def component(resource: Resource) -> str | None:
        labels: dict[str, str] = resource["metadata"].get("labels", {})
        return labels.get("app.kubernetes.io/component")

    first_step = {
        (r["kind"], r["metadata"]["name"]) for r in resources if component(r) in {"config", "setup"}
    }
    jobs = of_kind(resources, "Job")
    assert {("Job", name) for name in jobs} <= first_step
    for job in jobs.values():
        for source in only_container(job).get("envFrom", []):
            kind, ref = (
                ("ConfigMap", source["configMapRef"]["name"])
                if "configMapRef" in source
                else ("Secret", source["secretRef"]["name"])
            )
            assert (kind, ref) in first_step, f"a job reads {kind} {ref}, applied only later"
    assert not {("Deployment", name) for name in SERVICE_NAMES} & first_step
