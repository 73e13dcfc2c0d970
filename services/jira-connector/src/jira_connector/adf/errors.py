"""The error for ADF that Jira would refuse (or that is no ADF at all)."""

from __future__ import annotations


class InvalidAdf(ValueError):
    """An ADF shape Jira rejects; ``path`` says where (``$.content[2].content[0]``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
