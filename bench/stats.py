"""Percentiles of a sample, nearest-rank, in the sample's unit."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float
    p95: float
    p99: float
    max: float


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def percentiles(sample: list[float]) -> Percentiles:
    if not sample:
        nan = float("nan")
        return Percentiles(0, nan, nan, nan, nan)
    ordered = sorted(sample)
    return Percentiles(
        len(ordered), _rank(ordered, 0.50), _rank(ordered, 0.95), _rank(ordered, 0.99), ordered[-1]
    )
