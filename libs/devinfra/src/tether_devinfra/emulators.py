"""A provider emulator as a process of its own, started and stopped as an operator would run
it (``python -m tether_emulators.<provider>``): what end-to-end tests and benchmarks talk to
in place of Trello, Asana and Jira."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tether_devinfra.process import spawn, terminate
from tether_devinfra.services import wait_http


@dataclass
class EmulatorProcess:
    """``provider``: the emulator package's name; ``args``: its command line after the port."""

    provider: str
    port: int
    run_dir: Path
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _file(self, suffix: str) -> Path:
        return self.run_dir / f"{self.provider}-emulator.{suffix}"

    @property
    def pid_file(self) -> Path:
        return self._file("pid")

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", f"tether_emulators.{self.provider}"]
        spawn([*command, "--port", str(self.port), *self.args], self._file("log"), self.pid_file)
        wait_http(f"{self.url}/_emulator", within=30, log=self._file("log"))

    def stop(self) -> None:
        terminate(self.pid_file)

    def running(self) -> Iterator[EmulatorProcess]:
        """The emulator started for the caller's ``yield``, stopped after (a fixture's body)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
