"""Per connection, an optional mapping of Trello lists to done / not done.

Many boards say "done" by a card's list (a Done column) rather than its due-date checkbox. With
a mapping, a card's list decides: a card in a list mapped done is a completed task, in a list
mapped not done an open one; in an unmapped list ``dueComplete`` decides, as without a mapping.
Writes keep that reading true (or our own write would come back as a person's edit): completing
a task moves its card to the board's done list; reopening a task whose card sits in a done list
moves it to the board's first not-done list. Hence every board in a mapping needs both.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class MappedList(BaseModel):
    model_config = ConfigDict(frozen=True)

    board_id: str
    completed: bool


class ListMapping(BaseModel):
    """List id -> where it sits and what it means; insertion order is preference order."""

    model_config = ConfigDict(frozen=True)

    lists: dict[str, MappedList] = {}

    @classmethod
    def stored(cls, raw: Any) -> ListMapping:
        return cls.model_validate({"lists": raw or {}})

    def to_stored(self) -> dict[str, Any]:
        return {k: v.model_dump() for k, v in self.lists.items()}

    def completed_in(self, list_id: str | None) -> bool | None:
        mapped = self.lists.get(list_id or "")
        return None if mapped is None else mapped.completed

    def list_for(self, board_id: str, completed: bool) -> str | None:
        return next(
            (
                k
                for k, v in self.lists.items()
                if v.board_id == board_id and v.completed == completed
            ),
            None,
        )

    def card_completed(self, card: dict[str, Any]) -> bool:
        mapped = self.completed_in(card.get("idList"))
        return bool(card.get("dueComplete", False)) if mapped is None else mapped

    def placement(self, list_id: str, board_id: str, completed: bool) -> str | None:
        """The list a card in ``list_id`` must move to so that it reads ``completed``, or None
        when it may stay."""
        mapped = self.completed_in(list_id)
        if completed and mapped is not True:
            return self.list_for(board_id, True)  # None: no done list, dueComplete says it
        if not completed and mapped is True:
            return self.list_for(board_id, False)
        return None

    def problems(self) -> list[str]:
        """Why this mapping cannot be kept true on some board (empty when it can)."""
        found = []
        for board in sorted({v.board_id for v in self.lists.values()}):
            for completed, name in ((True, "done"), (False, "not done")):
                if self.list_for(board, completed) is None:
                    found.append(f"board {board} has no list mapped {name}")
        return found
