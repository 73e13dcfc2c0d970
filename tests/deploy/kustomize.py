"""A small, strict kustomize for this repository's overlays, in Python.

No kustomize build runs from PyPI on this project's Python, so the deploy tests render the
overlays themselves, with the subset of kustomize that deploy/k8s uses and nothing more:

- ``resources``: files (one or more YAML documents) and directories holding a
  ``kustomization.yaml``, rendered first;
- ``patches``: ``- path: FILE``, each document of FILE a strategic-merge patch of the resource
  of the same kind and name (maps merge key by key; lists of maps that all carry ``name``, such
  as containers and env, merge item by item on it; any other list, and any scalar, is
  replaced; ``null`` removes the key), applied in order;
- ``replicas``: ``{name, count}`` sets ``spec.replicas`` of the Deployment of that name;
- ``images``: ``{name, newName, newTag}`` rewrites every container image of that name;
- ``namespace``: set on every resource;
- ``components``: directories holding a ``kustomization.yaml`` of kind ``Component``, each
  applied after ``resources`` to everything gathered so far (its own resources added, its
  patches applied to all), before the including kustomization's own patches, replicas, images
  and namespace.

Anything else in a kustomization, a patch whose target does not exist, two resources with the
same kind and name, or a replicas entry that names no Deployment is an error, as it is for
kustomize, so the subset cannot silently drift from what kustomize would render. Where
``kustomize`` or ``kubectl`` is on the PATH, a test renders the overlays with it too and
compares.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "patches",
    "replicas",
    "images",
    "namespace",
}
# What each kind of kustomization file declares, as kustomize requires.
API_VERSIONS = {
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
    "Component": "kustomize.config.k8s.io/v1alpha1",
}
POD_TEMPLATE_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"}


class KustomizeError(Exception):
    pass


def load_documents(path: Path) -> list[Resource]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        if not isinstance(doc, dict):
            raise KustomizeError(f"{path}: a document that is not a mapping")
    return docs


def key(resource: Resource) -> tuple[str, str]:
    return str(resource["kind"]), str(resource["metadata"]["name"])


def build(directory: Path) -> list[Resource]:
    """Render the kustomization in ``directory``, as ``kustomize build`` would."""
    return _accumulate(directory, [], "Kustomization")


def _accumulate(directory: Path, resources: list[Resource], kind: str) -> list[Resource]:
    """Add what the kustomization (or component) in ``directory`` declares to ``resources``,
    then apply its transformations to all of them; returns ``resources``."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    declared = (kustomization.get("kind", "Kustomization"), kustomization.get("apiVersion"))
    if declared != (kind, API_VERSIONS[kind]):
        raise KustomizeError(f"{directory}: expected a {kind} ({API_VERSIONS[kind]})")
    for entry in kustomization.get("resources", []):
        path = directory / entry
        resources += build(path) if path.is_dir() else load_documents(path)
    seen: set[tuple[str, str]] = set()
    for resource in resources:
        if key(resource) in seen:
            raise KustomizeError(f"{directory}: {key(resource)} defined twice")
        seen.add(key(resource))
    for entry in kustomization.get("components", []):
        resources = _accumulate(directory / entry, resources, "Component")

    by_key = {key(r): r for r in resources}
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise KustomizeError(f"{directory}: only `- path:` patches are supported")
        for patch in load_documents(directory / patch_entry["path"]):
            target = by_key.get(key(patch))
            if target is None:
                raise KustomizeError(f"{directory}: patch target {key(patch)} not found")
            if patch.get("apiVersion") != target.get("apiVersion"):
                raise KustomizeError(f"{directory}: patch {key(patch)} has another apiVersion")
            merged = strategic_merge(target, patch)
            target.clear()
            target.update(merged)

    for entry in kustomization.get("replicas", []):
        deployment = by_key.get(("Deployment", entry["name"]))
        if deployment is None:
            raise KustomizeError(f"{directory}: replicas for unknown Deployment {entry['name']}")
        deployment["spec"]["replicas"] = entry["count"]

    for entry in kustomization.get("images", []):
        for resource in resources:
            for container in containers(resource):
                name, _, tag = str(container["image"]).partition(":")
                if name == entry["name"]:
                    new_name = entry.get("newName", name)
                    new_tag = entry.get("newTag", tag)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name

    if "namespace" in kustomization:
        for resource in resources:
            resource["metadata"]["namespace"] = kustomization["namespace"]
    return resources


def containers(resource: Resource) -> list[dict[str, Any]]:
    if resource["kind"] not in POD_TEMPLATE_KINDS:
        return []
    pod = resource["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _named_items(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "name" in item for item in value)
    )


def strategic_merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if _named_items(base) and _named_items(patch):
        merged_items = copy.deepcopy(base)
        positions = {item["name"]: i for i, item in enumerate(merged_items)}
        for item in patch:
            if item["name"] in positions:
                i = positions[item["name"]]
                merged_items[i] = strategic_merge(merged_items[i], item)
            else:
                merged_items.append(copy.deepcopy(item))
        return merged_items
    return copy.deepcopy(patch)
