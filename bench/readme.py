"""``python -m bench.readme``: put ``bench/results/latest.md`` into the README's Performance
section, between its ``bench:start`` and ``bench:end`` markers, so the README shows the
figures of the run whose results are committed (a test checks that they agree)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LATEST = ROOT / "bench" / "results" / "latest.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def block(readme: str) -> str:
    """What the README shows between the markers (ValueError when they are missing)."""
    start = readme.index(START) + len(START)
    return readme[start : readme.index(END, start)].strip("\n")


def with_results(readme: str, results: str) -> str:
    start = readme.index(START) + len(START)
    end = readme.index(END, start)
    return readme[:start] + "\n" + results.strip("\n") + "\n" + readme[end:]


def main() -> None:
    README.write_text(with_results(README.read_text(), LATEST.read_text()))
    print(f"{README}: figures from {LATEST}")


if __name__ == "__main__":
    main()
