from __future__ import annotations

from fastapi.testclient import TestClient


def test_the_service_reports_it_is_healthy(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_it_creates_a_user_with_a_lowercased_email(client: TestClient) -> None:
    response = client.post("/users", json={"email": "Bob@Example.com", "name": "Bob"})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "bob@example.com"
    assert body["is_active"] is True
    assert isinstance(body["id"], int)


def test_it_refuses_a_second_user_with_the_same_email(
    client: TestClient, alice: dict[str, object]
) -> None:
    response = client.post("/users", json={"email": "ALICE@example.com", "name": "Imposter"})
    assert response.status_code == 409
    assert "exists already" in response.json()["detail"]


def test_it_rejects_an_invalid_email(client: TestClient) -> None:
    response = client.post("/users", json={"email": "not-an-email", "name": "X"})
    assert response.status_code == 422


def test_it_gets_a_user_by_id(client: TestClient, alice: dict[str, object]) -> None:
    assert client.get(f"/users/{alice['id']}").json() == alice


def test_an_unknown_user_is_not_found(client: TestClient) -> None:
    response = client.get("/users/999")
    assert response.status_code == 404
    assert response.json()["detail"] == "no user with id 999"


def test_it_lists_users_in_pages(client: TestClient) -> None:
    for n in range(3):
        client.post("/users", json={"email": f"u{n}@example.com", "name": f"U{n}"})
    page = client.get("/users", params={"offset": 1, "limit": 1}).json()
    assert [u["email"] for u in page] == ["u1@example.com"]
    assert client.get("/users", params={"limit": 0}).status_code == 422


def test_it_renames_a_user(client: TestClient, alice: dict[str, object]) -> None:
    response = client.patch(f"/users/{alice['id']}", json={"name": "Alice Liddell"})
    assert response.json()["name"] == "Alice Liddell"
    unchanged = client.patch(f"/users/{alice['id']}", json={})
    assert unchanged.json()["name"] == "Alice Liddell"


def test_it_deletes_a_user(client: TestClient, alice: dict[str, object]) -> None:
    assert client.delete(f"/users/{alice['id']}").status_code == 204
    assert client.get(f"/users/{alice['id']}").status_code == 404
    assert client.delete(f"/users/{alice['id']}").status_code == 404
