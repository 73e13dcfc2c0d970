"""Progress on the terminal while a benchmark runs (rich's progress bars, on stderr), so a
long run shows where it is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars

T = TypeVar("T")


class Progress:
    """One bar at a time, plus notes between them."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self._bars: Bars | None = None
        self._task: object = None

    def note(self, text: str) -> None:
        self.console.print(f"[bold]bench[/bold] {text}")

    def start(self, total: float, label: str) -> None:
        self.done()
        self._bars = Bars(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=False,
        )  # fmt: skip
        self._bars.start()
        self._task = self._bars.add_task(label, total=total)

    def advance(self, amount: float = 1) -> None:
        if self._bars is not None:
            self._bars.advance(self._task, amount)  # type: ignore[arg-type]

    def done(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def over(self, items: Iterable[T], label: str) -> Iterator[T]:
        listed = list(items)
        self.start(len(listed), label)
        for item in listed:
            yield item
            self.advance()
        self.done()
