"""A small user-management REST API: FastAPI, Pydantic models, SQLAlchemy on SQLite."""

from __future__ import annotations

from user_service.app import create_app

__all__ = ["create_app"]
