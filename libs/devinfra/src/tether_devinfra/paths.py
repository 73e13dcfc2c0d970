"""Where the local infrastructure keeps its files (all under the ignored ``.cache/``)."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    # The workspace installs this package in editable mode, so the source tree is right here.
    return Path(__file__).resolve().parents[4]


def cache_dir() -> Path:
    return Path(os.environ.get("TETHER_CACHE_DIR", repo_root() / ".cache"))


def state_dir() -> Path:
    path = cache_dir() / "infra"
    path.mkdir(parents=True, exist_ok=True)
    return path
