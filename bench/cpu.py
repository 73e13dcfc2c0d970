"""CPU spent per change: each measured process's CPU time (``/proc/<pid>/stat``: user +
system, in clock ticks) and the whole machine's busy time (``/proc/stat``: everything but idle
and I/O wait) over a load step, divided by the changes offered. Linux only; on a machine where
everything shares the cores, the sum says where a sustained rate is bounded."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MACHINE = "machine (all processes)"


def _process_seconds(pid_file: Path) -> float | None:
    try:
        pid = int(pid_file.read_text().strip())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _machine_busy_seconds() -> float | None:
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK  # all cores, less idle and iowait


@dataclass(frozen=True)
class Snapshot:
    seconds: dict[str, float | None]  # process name (or MACHINE) -> CPU seconds so far


def snapshot(pid_files: dict[str, Path]) -> Snapshot:
    seconds = {name: _process_seconds(path) for name, path in pid_files.items()}
    seconds[MACHINE] = _machine_busy_seconds()
    return Snapshot(seconds)


def per_change(before: Snapshot, after: Snapshot, changes: int) -> dict[str, float]:
    """Milliseconds of CPU per change for each process (and the machine) seen both times."""
    spent: dict[str, float] = {}
    for name, start in before.seconds.items():
        end = after.seconds.get(name)
        if start is not None and end is not None and changes:
            spent[name] = round(1000 * (end - start) / changes, 1)
    return spent
