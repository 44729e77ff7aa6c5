"""The REST endpoints under ``/users``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from user_service.db import Database
from user_service.models import User
from user_service.repository import DuplicateEmailError, UserRepository
from user_service.schemas import UserCreate, UserOut, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


def get_session(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.database
    yield from database.session()


def get_repository(session: Annotated[Session, Depends(get_session)]) -> UserRepository:
    return UserRepository(session)


Repository = Annotated[UserRepository, Depends(get_repository)]


def _found(repo: UserRepository, user_id: int) -> User:
    user = repo.get(user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user with id {user_id}")
    return user


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, repo: Repository) -> UserOut:
    try:
        user = repo.add(body.email, body.name)
    except DuplicateEmailError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return UserOut.model_validate(user)


@router.get("")
def list_users(
    repo: Repository,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in repo.list(offset=offset, limit=limit)]


@router.get("/{user_id}")
def get_user(user_id: int, repo: Repository) -> UserOut:
    return UserOut.model_validate(_found(repo, user_id))


@router.patch("/{user_id}")
def update_user(user_id: int, body: UserUpdate, repo: Repository) -> UserOut:
    user = _found(repo, user_id)
    if body.name is not None:
        user.name = body.name
    return UserOut.model_validate(repo.save(user))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: int, repo: Repository) -> None:
    repo.delete(_found(repo, user_id))
