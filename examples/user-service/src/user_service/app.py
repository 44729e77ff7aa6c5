"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from user_service.api import router as users_router
from user_service.db import DEFAULT_URL, Database


def create_app(database_url: str = DEFAULT_URL) -> FastAPI:
    """A new application with its own database (closed when the app shuts down)."""
    database = Database(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            database.close()

    app = FastAPI(title="user-service", version="0.1.0", lifespan=lifespan)
    app.state.database = database
    app.include_router(users_router)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
