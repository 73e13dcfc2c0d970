"""The floor for one HTTP hop: a FastAPI endpoint that does nothing, served by uvicorn as our
services are (``python -m bench.bare_app <port>``)."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
