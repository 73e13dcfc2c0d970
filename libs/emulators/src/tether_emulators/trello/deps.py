"""FastAPI dependencies of the API and control routers: the gate's request context, and the
emulator behind the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tether_emulators.common.deps import from_scope, from_state
from tether_emulators.trello.emulator import TrelloEmulator
from tether_emulators.trello.gate import CONTEXT_KEY, RequestContext

Ctx = Annotated[RequestContext, Depends(from_scope(CONTEXT_KEY, RequestContext))]
Emu = Annotated[TrelloEmulator, Depends(from_state("trello", TrelloEmulator))]
