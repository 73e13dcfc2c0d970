"""The topic jobs create every topic the code uses; images are Dockerfile targets run as
non-root; replicas, autoscalers and memory requests follow the partitions and the
benchmark's measured peak."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.checks import (
    CODE_TOPICS,
    HOST_ENV,
    load_settings,
    only_container,
    script_of,
    workloads,
)
from tests.deploy.kustomize import Resource
from tests.deploy.manifests import (
    KUSTOMIZATIONS,
    ROOT,
    SERVICE_NAMES,
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
