"""What the shared machinery needs to know of an emulated provider; all the rest of an emulator
(its store, API, wording and signatures) is the provider's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tether_emulators.common.emulator import Emulator
from tether_emulators.common.gate import ApiGate

E = TypeVar("E", bound=Emulator)
X = TypeVar("X", bound=Exception)


@dataclass(frozen=True)
class Provider(Generic[E, X]):
    """One provider's facts.

    ``name`` ("Trello") titles the app and its landing pointer and names ``app.state.<name in
    lower case>``, where the emulator is kept. Its API lives under ``api_path`` ("/1"), behind
    ``gate``. Handlers raise ``error``, answered by ``answer`` (plain text, a JSON body...);
    ``unknown_route`` answers an API path with no route (given the status, 404 or 405).
    ``not_an_api_path`` makes its 400 for a hold armed outside its API; ``drop_next_key`` is
    how its JSON spells the drop-next count ("dropNext", "drop_next"); ``limits_model`` is the
    body of its ``POST /_emulator/rate-limits``, whose names ``GET`` answers with.
    ``also_held`` names paths outside its API whose answers a hold may withhold too (Jira's
    ``/oauth/token``: a refresh that rotated the token, its answer lost).
    """

    name: str
    api_path: str
    gate: type[ApiGate[E]]
    error: type[X]
    answer: Callable[[X], Response]
    unknown_route: Callable[[Request, int], Response]
    not_an_api_path: Callable[[], Exception]
    drop_next_key: str
    limits_model: type[BaseModel]
    also_held: tuple[str, ...] = ()

    def is_api_path(self, path: str) -> bool:
        return self.gate.applies_to(path)

    def can_hold(self, path: str) -> bool:
        return self.is_api_path(path) or path.rstrip("/") in self.also_held
