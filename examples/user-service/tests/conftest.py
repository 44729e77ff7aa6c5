from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from user_service import create_app


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A client of a fresh app with an empty in-memory database, shut down afterwards."""
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient) -> dict[str, object]:
    response = client.post("/users", json={"email": "alice@example.com", "name": "Alice"})
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body
