"""The README's Performance figures are those of the committed benchmark results."""

from __future__ import annotations

from bench import readme


def test_the_readme_shows_the_committed_results() -> None:
    shown = readme.block(readme.README.read_text())
    assert shown == readme.LATEST.read_text().strip("\n"), (
        "README.md's figures differ from bench/results/latest.md: run `python -m bench.readme`"
    )


def test_results_go_between_the_markers_and_nowhere_else() -> None:
    text = f"before\n{readme.START}\nold\n{readme.END}\nafter\n"
    updated = readme.with_results(text, "\n| new |\n")
    assert updated == f"before\n{readme.START}\n| new |\n{readme.END}\nafter\n"
    assert readme.block(updated) == "| new |"
