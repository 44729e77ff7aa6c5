"""Data access for users: the only module that speaks SQL (through SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from user_service.models import User


class DuplicateEmailError(Exception):
    """A user with this e-mail address exists already."""

    def __init__(self, email: str) -> None:
        super().__init__(f"a user with e-mail {email!r} exists already")
        self.email = email


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, email: str, name: str) -> User:
        user = User(email=email.lower(), name=name)
        self.session.add(user)
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            raise DuplicateEmailError(email) from exc
        return user

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def list(self, *, offset: int = 0, limit: int = 50) -> Sequence[User]:
        query = select(User).order_by(User.id).offset(offset).limit(limit)
        return self.session.scalars(query).all()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0

    def save(self, user: User) -> User:
        self.session.add(user)
        self.session.commit()
        return user

    def delete(self, user: User) -> None:
        self.session.delete(user)
        self.session.commit()
