from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from user_service.db import Database
from user_service.repository import DuplicateEmailError, UserRepository


@pytest.fixture
def repo() -> Iterator[UserRepository]:
    database = Database()
    try:
        yield from (UserRepository(session) for session in database.session())
    finally:
        database.close()


def test_it_counts_users(repo: UserRepository) -> None:
    assert repo.count() == 0
    repo.add("a@example.com", "A")
    assert repo.count() == 1


def test_a_duplicate_email_is_refused_and_the_session_stays_usable(repo: UserRepository) -> None:
    repo.add("a@example.com", "A")
    with pytest.raises(DuplicateEmailError, match="exists already"):
        repo.add("A@example.com", "B")
    assert repo.count() == 1
    assert isinstance(repo.session, Session)
