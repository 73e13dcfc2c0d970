"""Tether in embedded mode as ``make run`` starts it (``python -m tether_cli run``): one
process on SQLite files and the durable in-process bus in its own working directory, pointed at
the Trello emulator (a process of its own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.trello_world import KEY, SECRET
from tether_devinfra.emulators import EmulatorProcess
from tether_devinfra.services import wait_http


@dataclass
class EmbeddedTether:
    """``tether run`` as a child process; its data lives in ``home`` (./.tether/ there)."""

    home: Path
    port: int
    emulator: EmulatorProcess
    # Settings on top of the defaults (e.g. ``TETHER_TRACING``).
    extra_env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "tether.log"

    def env(self) -> dict[str, str]:
        # Everything else at its default, as for `make run`: the data files are relative to
        # the working directory.
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("TETHER_")},
            "TETHER_PORT": str(self.port),
            "TETHER_PUBLIC_URL": self.url,  # where the emulator delivers webhooks
            "TETHER_TRELLO_API_URL": f"{self.emulator.url}/1",
            "TETHER_TRELLO_API_KEY": KEY,
            "TETHER_TRELLO_API_SECRET": SECRET,
            "TETHER_TRELLO_RECONCILE_INTERVAL": "2",
            "TETHER_TRELLO_MAX_ATTEMPTS": "8",
            **self.extra_env,
        }

    def mint_token(self) -> str:
        """As the README says: ``tether token create`` beside ``make run``, same directory."""
        command = ["token", "create", "--tenant", "acme", "--email", "ada@example.com"]
        result = subprocess.run(
            [sys.executable, "-m", "tether_cli", *command],
            cwd=self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return result.stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tether_cli", "run"],
                cwd=self.home,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_http(f"{self.url}/healthz", within=60, log=self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no last words."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    def reap(self) -> None:
        assert self.process is not None
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
