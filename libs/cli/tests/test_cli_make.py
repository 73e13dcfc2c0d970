"""The Makefile a newcomer meets: `make help` lists every target, the README says what
`make reset` and `make clean` remove."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_TARGET = re.compile(r"^([A-Za-z][\w-]*)\s*:(?!=)", re.MULTILINE)


def makefile() -> str:
    return (ROOT / "Makefile").read_text()


def targets() -> list[str]:
    return _TARGET.findall(makefile())


def recipe(target: str) -> str:
    """The recipe lines of ``target`` (tab-indented, up to the next blank line)."""
    text = makefile()
    start = re.search(rf"^{re.escape(target)}\s*:.*\n", text, re.MULTILINE)
    assert start, target
    body = text[start.end() :].split("\n\n", 1)[0]
    return "\n".join(line for line in body.splitlines() if line.startswith("\t"))


def test_make_help_lists_every_target() -> None:
    found = targets()
    assert {"help", "run", "sandbox", "test", "reset", "clean"} <= set(found)
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = re.findall(r"^make (\S+)\s+\S", shown, re.MULTILINE)
    assert sorted(listed) == sorted(found), shown
    phony = re.search(r"^\.PHONY:(.*)$", makefile(), re.MULTILINE)
    assert phony, "no .PHONY line"
    assert sorted(phony.group(1).split()) == sorted(found)


def test_the_readme_names_every_path_reset_and_clean_remove() -> None:
    readme = (ROOT / "README.md").read_text()
    for target in ("reset", "clean"):
        assert f"make {target}" in readme
        removed = [
            word
            for line in recipe(target).splitlines()
            if "rm -rf" in line
            for word in line.split("rm -rf", 1)[1].split()
        ]
        assert removed, target
        for path in removed:
            assert f"`{path}/`" in readme or f"`{path}`" in readme, (target, path)
