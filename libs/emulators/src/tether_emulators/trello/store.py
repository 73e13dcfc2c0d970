"""The emulated Trello world in memory: members, tokens, boards, lists, cards, actions, webhooks.

Every change to a card goes through this module so that it records the Trello action that
the real service would record: the action log is what the polling fallback reads and what the
webhooks deliver, and a sync engine that misreads it (``old`` values, ``listBefore``/
``listAfter``) must fail here rather than in production.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tether_emulators.trello.errors import NOT_FOUND, TrelloError, invalid_value
from tether_emulators.trello.params import SHORT_LINK, TRELLO_ID, PatchValue, trello_date

JSON = dict[str, Any]
WallClock = Callable[[], datetime]

# Positions grow by this step, as Trello's do, so "bottom" leaves room for later inserts.
POS_STEP = 65536.0
_ALPHANUMERIC = string.ascii_letters + string.digits


class IdFactory:
    """24-hex ids shaped like Trello's (MongoDB ObjectIds): 4-byte time, 5 random, 3 counter.

    Trello's ``since=<action id>`` works because such ids sort by creation time; the counter
    and a never-decreasing timestamp keep that true for ids made within the same second.
    """

    def __init__(self, wall_clock: WallClock) -> None:
        self._wall_clock = wall_clock
        self._random = secrets.token_hex(5)
        self._counter = 0
        self._last_seconds = 0

    def new(self) -> str:
        seconds = max(int(self._wall_clock().timestamp()), self._last_seconds)
        self._last_seconds = seconds
        self._counter = (self._counter + 1) % (1 << 24)
        return f"{seconds:08x}{self._random}{self._counter:06x}"


def stable_id(name: str) -> str:
    """A deterministic 24-hex id, so the sandbox keeps its ids across restarts."""
    return hashlib.sha1(name.encode()).hexdigest()[:24]


def _short_link() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(8))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _number(value: float) -> float | int:
    # Trello prints whole positions as integers (65536, not 65536.0).
    return int(value) if value.is_integer() else value


@dataclass
class Member:
    id: str
    username: str
    full_name: str

    @property
    def initials(self) -> str:
        return "".join(word[0] for word in self.full_name.split()[:2]).upper()

    def creator_json(self) -> JSON:
        """The ``memberCreator`` block of an action."""
        return {
            "id": self.id,
            "username": self.username,
            "fullName": self.full_name,
            "initials": self.initials,
            "avatarHash": None,
            "activityBlocked": False,
            "nonPublic": {},
            "nonPublicAvailable": True,
        }


@dataclass
class Board:
    id: str
    name: str
    short_link: str
    member_ids: list[str]
    desc: str = ""
    closed: bool = False
    card_count: int = 0  # for idShort, which Trello numbers per board and never reuses

    @property
    def short_url(self) -> str:
        return f"https://trello.com/b/{self.short_link}"

    def ref_json(self) -> JSON:
        """How an action names its board."""
        return {"id": self.id, "name": self.name, "shortLink": self.short_link}


@dataclass
class TrelloList:
    id: str
    id_board: str
    name: str
    pos: float
    closed: bool = False

    def ref_json(self) -> JSON:
        return {"id": self.id, "name": self.name}


@dataclass
class Card:
    id: str
    id_board: str
    id_list: str
    id_short: int
    short_link: str
    name: str
    desc: str
    pos: float
    date_last_activity: str
    due: str | None = None
    start: str | None = None
    due_complete: bool = False
    closed: bool = False

    def ref_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "idShort": self.id_short,
            "shortLink": self.short_link,
        }


# Trello parameter name -> Card attribute, for the fields a PUT may change.
CARD_ATTRIBUTES = {
    "name": "name",
    "desc": "desc",
    "due": "due",
    "start": "start",
    "dueComplete": "due_complete",
    "closed": "closed",
    "idList": "id_list",
    "pos": "pos",
}


@dataclass
class Action:
    id: str
    type: str
    date: str
    id_board: str
    member: Member
    data: JSON
    # Which models the action involves: webhooks on any of them receive it.
    model_ids: frozenset[str] = frozenset()

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "idMemberCreator": self.member.id,
            "type": self.type,
            "date": self.date,
            "data": self.data,
            "appCreator": None,
            "limits": {},
            "memberCreator": self.member.creator_json(),
        }


@dataclass
class Webhook:
    id: str
    token: str
    id_model: str
    callback_url: str
    description: str
    active: bool = True
    consecutive_failures: int = 0
    first_consecutive_fail_date: str | None = None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "description": self.description,
            "idModel": self.id_model,
            "callbackURL": self.callback_url,
            "active": self.active,
            "consecutiveFailures": self.consecutive_failures,
            "firstConsecutiveFailDate": self.first_consecutive_fail_date,
        }


@dataclass
class TrelloStore:
    """All state of one emulated Trello; replaced wholesale by a reset."""

    wall_clock: WallClock
    ids: IdFactory = field(init=False)
    members: dict[str, Member] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> member id
    boards: dict[str, Board] = field(default_factory=dict)
    lists: dict[str, TrelloList] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)  # oldest first
    webhooks: dict[str, Webhook] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = IdFactory(self.wall_clock)

    def now(self) -> str:
        return trello_date(self.wall_clock())

    # --- seeding ---------------------------------------------------------------------------

    def add_member(self, username: str, full_name: str, *, member_id: str | None = None) -> Member:
        member = Member(id=member_id or self.ids.new(), username=username, full_name=full_name)
        self.members[member.id] = member
        return member

    def add_token(self, token: str, member_id: str) -> None:
        if member_id not in self.members:
            self.add_member(f"member{len(self.members) + 1}", "Trello Member", member_id=member_id)
        self.tokens[token] = member_id

    def revoke_token(self, token: str) -> list[Webhook]:
        """Revoking (or expiring) a token deletes its webhooks, as Trello does."""
        self.tokens.pop(token, None)
        gone = [hook for hook in self.webhooks.values() if hook.token == token]
        for hook in gone:
            del self.webhooks[hook.id]
        return gone

    def add_board(
        self,
        name: str,
        list_names: Iterable[str],
        *,
        member_ids: Iterable[str] | None = None,
        board_id: str | None = None,
    ) -> Board:
        board = Board(
            id=board_id or self.ids.new(),
            name=name,
            short_link=board_id[:8] if board_id else _short_link(),
            member_ids=list(self.members) if member_ids is None else list(member_ids),
        )
        self.boards[board.id] = board
        for list_name in list_names:
            list_id = stable_id(f"{board.id}/{list_name}") if board_id else None
            self.add_list(board, list_name, list_id=list_id)
        return board

    def add_list(self, board: Board, name: str, *, list_id: str | None = None) -> TrelloList:
        siblings = [item.pos for item in self.lists.values() if item.id_board == board.id]
        trello_list = TrelloList(
            id=list_id or self.ids.new(),
            id_board=board.id,
            name=name,
            pos=max(siblings, default=0.0) + POS_STEP,
        )
        self.lists[trello_list.id] = trello_list
        return trello_list

    # --- lookups (Trello's 400 "invalid id" for malformed ids, 404 for unknown ones) --------

    def member(self, id_or_name: str, *, me: str) -> Member:
        if id_or_name == "me":
            return self.members[me]
        for member in self.members.values():
            if id_or_name in (member.id, member.username):
                return member
        raise TrelloError(404, "model not found")

    def board(self, board_id: str) -> Board:
        _check_id(board_id, short_links=True)
        for board in self.boards.values():
            if board_id in (board.id, board.short_link):
                return board
        raise TrelloError(404, NOT_FOUND)

    def trello_list(self, list_id: str) -> TrelloList:
        _check_id(list_id, short_links=False)
        if list_id not in self.lists:
            raise TrelloError(404, NOT_FOUND)
        return self.lists[list_id]

    def card(self, card_id: str) -> Card:
        _check_id(card_id, short_links=True)
        for card in self.cards.values():
            if card_id in (card.id, card.short_link):
                return card
        raise TrelloError(404, NOT_FOUND)

    def can_access(self, member_id: str, board_id: str) -> bool:
        board = self.boards.get(board_id)
        return board is not None and member_id in board.member_ids

    # --- JSON as Trello renders it ---------------------------------------------------------

    def member_json(self, member: Member) -> JSON:
        return {
            "id": member.id,
            "username": member.username,
            "fullName": member.full_name,
            "initials": member.initials,
            "avatarHash": None,
            "url": f"https://trello.com/{member.username}",
            "confirmed": True,
            "memberType": "normal",
            "idBoards": [b.id for b in self.boards.values() if member.id in b.member_ids],
        }

    def board_json(self, board: Board) -> JSON:
        return {
            "id": board.id,
            "name": board.name,
            "desc": board.desc,
            "closed": board.closed,
            "idOrganization": None,
            "pinned": False,
            "url": f"{board.short_url}/{_slug(board.name)}",
            "shortUrl": board.short_url,
            "shortLink": board.short_link,
            "idMemberCreator": board.member_ids[0] if board.member_ids else None,
        }

    def list_json(self, trello_list: TrelloList) -> JSON:
        return {
            "id": trello_list.id,
            "name": trello_list.name,
            "closed": trello_list.closed,
            "idBoard": trello_list.id_board,
            "pos": _number(trello_list.pos),
            "subscribed": False,
        }

    def card_json(self, card: Card) -> JSON:
        short_url = f"https://trello.com/c/{card.short_link}"
        return {
            "id": card.id,
            "name": card.name,
            "desc": card.desc,
            "closed": card.closed,
            "due": card.due,
            "start": card.start,
            "dueComplete": card.due_complete,
            "dateLastActivity": card.date_last_activity,
            "idBoard": card.id_board,
            "idList": card.id_list,
            "idShort": card.id_short,
            "shortLink": card.short_link,
            "shortUrl": short_url,
            "url": f"{short_url}/{card.id_short}-{_slug(card.name)}",
            "pos": _number(card.pos),
            "idMembers": [],
            "idLabels": [],
            "labels": [],
        }

    # --- cards, each change recorded as an action -----------------------------------------

    def create_card(self, actor: Member, patch: dict[str, PatchValue]) -> tuple[Card, Action]:
        list_id = patch.get("idList")
        if not isinstance(list_id, str) or list_id not in self.lists:
            raise invalid_value("idList")
        trello_list = self.lists[list_id]
        board = self.boards[trello_list.id_board]
        board.card_count += 1
        now = self.now()
        card = Card(
            id=self.ids.new(),
            id_board=board.id,
            id_list=list_id,
            id_short=board.card_count,
            short_link=_short_link(),
            name="",
            desc="",
            pos=0.0,
            date_last_activity=now,
        )
        for name, value in patch.items():
            # POST /cards has no ``closed`` parameter: a new card is always open.
            if name not in ("idList", "pos", "closed"):
                setattr(card, CARD_ATTRIBUTES[name], value)
        card.pos = self._resolve_pos(card, patch.get("pos", "bottom"))
        self.cards[card.id] = card
        action = self._record(
            "createCard",
            actor,
            board,
            {"card": card.ref_json(), "list": trello_list.ref_json(), "board": board.ref_json()},
            {card.id, list_id},
            now,
        )
        return card, action

    def update_card(self, actor: Member, card: Card, patch: dict[str, PatchValue]) -> Action | None:
        """Apply the changed fields; one updateCard action with all old values, or None."""
        board = self.boards[card.id_board]
        if "idList" in patch:
            target = self.lists.get(str(patch["idList"]))
            # Trello moves a card to another board only when idBoard names it too (moves.py);
            # a list of another board alone is refused.
            if target is None or target.id_board != card.id_board:
                raise invalid_value("idList")
        list_before = self.lists[card.id_list]
        old: JSON = {}
        for name, value in patch.items():
            attribute = CARD_ATTRIBUTES[name]
            new_value = self._resolve_pos(card, value) if name == "pos" else value
            current = getattr(card, attribute)
            if current != new_value:
                old[name] = _number(current) if name == "pos" else current
                setattr(card, attribute, new_value)
        if not old:
            return None
        now = self.now()
        card.date_last_activity = now
        # Like Trello, the action's card block carries the new value of every changed field.
        card_ref = card.ref_json()
        rendered = self.card_json(card)
        for name in old:
            card_ref[name] = rendered[name]
        data: JSON = {"card": card_ref, "old": old, "board": board.ref_json()}
        list_after = self.lists[card.id_list]
        if list_after.id != list_before.id:
            data["listBefore"] = list_before.ref_json()
            data["listAfter"] = list_after.ref_json()
        else:
            data["list"] = list_after.ref_json()
        models = {card.id, list_before.id, list_after.id}
        return self._record("updateCard", actor, board, data, models, now)

    def delete_card(self, actor: Member, card: Card) -> tuple[JSON, Action]:
        """Permanent deletion; returns the card as it was (the webhook model) and the action."""
        board = self.boards[card.id_board]
        trello_list = self.lists[card.id_list]
        snapshot = self.card_json(card)
        del self.cards[card.id]
        data: JSON = {
            "card": {"id": card.id, "idShort": card.id_short},
            "list": trello_list.ref_json(),
            "board": board.ref_json(),
        }
        action = self._record("deleteCard", actor, board, data, {card.id, trello_list.id})
        return snapshot, action

    def _resolve_pos(self, card: Card, value: PatchValue) -> float:
        siblings = [
            other.pos
            for other in self.cards.values()
            if other.id_list == card.id_list and other.id != card.id
        ]
        if value == "top":
            return min(siblings) / 2 if siblings else POS_STEP
        if value == "bottom":
            return max(siblings, default=0.0) + POS_STEP
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise invalid_value("pos")

    def _record(
        self,
        action_type: str,
        actor: Member,
        board: Board,
        data: JSON,
        models: set[str],
        date: str | None = None,
    ) -> Action:
        action = Action(
            id=self.ids.new(),
            type=action_type,
            date=date or self.now(),
            id_board=board.id,
            member=actor,
            data=data,
            model_ids=frozenset({board.id, *models}),
        )
        self.actions.append(action)
        return action

    # --- actions, newest first like Trello -------------------------------------------------

    def board_actions(
        self,
        board_id: str,
        *,
        types: set[str],
        since: str | None,
        before: str | None,
        limit: int,
    ) -> list[Action]:
        found: list[Action] = []
        for action in reversed(self.actions):
            if len(found) >= limit:
                break
            if action.id_board != board_id:
                continue
            if not _matches(action, types):
                continue
            if since is not None and not _after(action, since):
                continue
            if before is not None and not _before(action, before):
                continue
            found.append(action)
        return found


def _check_id(value: str, *, short_links: bool) -> None:
    if TRELLO_ID.match(value) or (short_links and SHORT_LINK.match(value)):
        return
    raise TrelloError(400, "invalid id")


def _matches(action: Action, types: set[str]) -> bool:
    """Trello's action filters: a type ("updateCard") or a type and field ("updateCard:idList")."""
    if "all" in types or action.type in types:
        return True
    old = action.data.get("old", {})
    return any(f"{action.type}:{name}" in types for name in old)


def _after(action: Action, since: str) -> bool:
    # An action id compares by creation order (ids sort by time); a date compares by date.
    if TRELLO_ID.match(since):
        return action.id.lower() > since.lower()
    return action.date > since


def _before(action: Action, before: str) -> bool:
    if TRELLO_ID.match(before):
        return action.id.lower() < before.lower()
    return action.date < before
