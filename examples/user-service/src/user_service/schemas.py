"""The API's Pydantic models: what comes in is validated, what goes out is declared."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Deliberately simple: one '@', no spaces, a dot in the domain. Real delivery checks belong
# to a confirmation e-mail, not to a regular expression.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class UserCreate(BaseModel):
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    name: str = Field(min_length=1, max_length=100)


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    is_active: bool
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # SQLite stores no time zone: what was written in UTC is read back naive.
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
