"""Campus IT manage their staff's accounts through the API: tokens once, changes audited."""

from __future__ import annotations

from tests.gateway.api.conftest import SCHOOL, Campus


def _me(campus: Campus, token: str) -> int:
    response = campus.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def test_campus_it_add_rotate_change_and_revoke_a_user(campus: Campus) -> None:
    it = campus.auth("it1")
    added = campus.client.post(
        "/api/users",
        headers=it,
        json={"id": "wang.li", "display_name": "王丽", "role": "health_staff", "schools": [SCHOOL]},
    )
    assert added.status_code == 201, added.text
    first = added.json()["token"]
    assert added.json()["user"]["role"] == "health_staff"
    assert added.json()["user"]["schools"] == [SCHOOL]
    assert added.json()["user"]["token_expires_at"]
    assert _me(campus, first) == 200
    listed = {u["id"]: u for u in campus.client.get("/api/users", headers=it).json()}
    assert listed["wang.li"]["display_name"] == "王丽" and "token" not in listed["wang.li"]

    again = campus.client.post(
        "/api/users",
        headers=it,
        json={"id": "wang.li", "role": "pe_teacher", "schools": [SCHOOL]},
    )
    assert again.status_code == 409
    assert again.json() == {"detail": "id: user 'wang.li' exists already"}
    assert _me(campus, first) == 200  # the existing account is untouched

    rotated = campus.client.post("/api/users/wang.li/rotate", headers=it)
    assert rotated.status_code == 200
    second = rotated.json()["token"]
    assert second != first and _me(campus, first) == 401 and _me(campus, second) == 200

    changed = campus.client.patch("/api/users/wang.li", headers=it, json={"role": "pe_teacher"})
    assert changed.status_code == 200 and changed.json()["role"] == "pe_teacher"
    user = campus.gateway.users.get("wang.li")
    assert user is not None and user.role.value == "pe_teacher"

    gone = campus.client.delete("/api/users/wang.li", headers=it)
    assert gone.status_code == 204
    assert _me(campus, second) == 401
    assert campus.gateway.users.get("wang.li") is None

    entries = campus.gateway.audit.entries(user_id="it1", subject_type="user")
    assert [(e.action, e.subject_id, e.detail) for e in reversed(entries)] == [
        ("add_user", "wang.li", f"role=health_staff schools={SCHOOL}"),
        ("rotate_token", "wang.li", ""),
        ("change_user", "wang.li", "role=pe_teacher"),
        ("revoke_user", "wang.li", "role=pe_teacher"),
    ]


def test_bad_ids_and_self_lockout_are_refused_in_the_readers_language(campus: Campus) -> None:
    it = campus.auth("it1")
    bad = campus.client.post(
        "/api/users",
        headers={**it, "Accept-Language": "zh-CN"},
        json={"id": "wang li", "role": "pe_teacher", "schools": [SCHOOL]},
    )
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    # Worded for the field it names, so that the page puts it beside that field.
    assert detail.startswith("id：") or detail.startswith("id:"), detail
    assert "'wang li'" in detail and "用户" in detail
    assert campus.gateway.users.get("wang li") is None
    own_role = campus.client.patch("/api/users/it1", headers=it, json={"role": "pe_teacher"})
    assert own_role.status_code == 409
    own = campus.client.delete("/api/users/it1", headers=it)
    assert own.status_code == 409
    assert _me(campus, campus.tokens["it1"]) == 200
    nobody = campus.client.patch("/api/users/t1", headers=it, json={"schools": []})
    assert nobody.status_code == 422
    t1 = campus.gateway.users.get("t1")
    assert t1 is not None and t1.schools == {SCHOOL}
    assert campus.gateway.audit.entries(user_id="it1") == []
