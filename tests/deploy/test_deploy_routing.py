"""Probes, healthchecks, Services and Ingress routes ask paths the apps serve, and reach the
workloads they name."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.deploy.checks import (
    HOST_ENV,
    load_settings,
    only_container,
    served_paths,
)
from tests.deploy.manifests import (
    KUSTOMIZATIONS,
    SERVICE_NAMES,
    compose,
    compose_environment,
    container_env,
    of_kind,
    rendered,
    services,
)

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
