"""Peak resident memory of each process under measurement: ``VmHWM`` in
``/proc/<pid>/status`` (Linux; the kernel's high-water mark of the resident set over the
process's whole life), in MiB."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mib(pid_file: Path) -> float | None:
    try:
        pid = int(pid_file.read_text().strip())
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError):
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB
    return None


def peaks(pid_files: dict[str, Path]) -> dict[str, float | None]:
    return {name: peak_rss_mib(path) for name, path in pid_files.items()}
