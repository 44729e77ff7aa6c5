"""The database: one SQLAlchemy engine per application, a session per request."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

DEFAULT_URL = "sqlite+pysqlite:///:memory:"


class Base(DeclarativeBase):
    """The declarative base every ORM model derives from."""


def make_engine(url: str = DEFAULT_URL) -> Engine:
    """An engine for ``url``; in-memory SQLite shares one connection across threads."""
    if url.endswith(":memory:"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _foreign_keys(connection: object, _record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    Base.metadata.create_all(engine)
    return engine


class Database:
    """Owns the engine and hands out sessions; ``close`` releases every connection."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Iterator[Session]:
        """A FastAPI dependency: one session per request, always closed."""
        with self._sessions() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
