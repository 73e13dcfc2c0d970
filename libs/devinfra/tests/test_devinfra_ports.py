"""Ports for test services: outside the kernel's ephemeral range, a slice per xdist worker,
never one somebody listens on."""

from __future__ import annotations

import socket

import pytest

from tether_devinfra import services
from tether_devinfra.services import free_port


def test_each_worker_has_its_own_slice_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: dict[str, set[int]] = {}
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        handed[worker] = {free_port() for _ in range(5)}
        assert len(handed[worker]) == 5  # not handed out again right away
        assert all(port < 32_768 for port in handed[worker])
    assert not handed["gw0"] & handed["gw1"]


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw5")
    monkeypatch.setattr(services, "_next_port", {})
    first = free_port()
    monkeypatch.setattr(services, "_next_port", {})  # start the slice over...
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", first))
        listener.listen()
        assert free_port() != first  # ...and the port someone listens on is passed over


def test_another_checkout_takes_its_ports_from_its_own_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TETHER_DEV_PORTS_FROM", "11000")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setattr(services, "_next_port", {})
    assert 12_500 <= free_port() < 14_000  # worker 1's slice, counted from 11000
