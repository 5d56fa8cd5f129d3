"""Signing in to the API: expired and rotated tokens refused, failures limited per address."""

from __future__ import annotations

from datetime import timedelta

from gateway.api.login_limit import FailedLogins
from gateway.auth import Role
from tests.gateway.api.conftest import Campus


def test_an_expired_token_is_refused_saying_so(campus: Campus) -> None:
    users = campus.gateway.users
    stale = users.create("old", "Old", Role.HEALTH_STAFF, lifetime=timedelta(seconds=-1))
    response = campus.client.get("/api/me", headers={"Authorization": f"Bearer {stale}"})
    assert response.status_code == 401
    assert "token expired" in response.json()["detail"]
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    fresh = users.rotate("old")
    response = campus.client.get("/api/me", headers={"Authorization": f"Bearer {fresh}"})
    assert response.status_code == 200 and response.json()["id"] == "old"
    response = campus.client.get("/api/me", headers={"Authorization": f"Bearer {stale}"})
    assert response.json()["detail"] == "unknown or revoked token"


def test_the_auditor_signs_in_and_sees_no_lessons(campus: Campus) -> None:
    assert campus.get("/api/me", "au1").json()["role"] == "auditor"  # type: ignore[attr-defined]
    assert campus.get("/api/me/lessons", "au1").json() == []  # type: ignore[attr-defined]


def test_failed_sign_ins_from_one_address_get_429_with_retry_after(campus: Campus) -> None:
    # The limiter's own clock: on a busy machine the requests below once took longer than a
    # short real window, and the first failures left it before the refusal was checked.
    now = [1000.0]
    campus.client.app.state.failed_logins = FailedLogins(  # type: ignore[attr-defined]
        max_failures=3, window_s=60, clock=lambda: now[0]
    )
    stale = {"Authorization": "Bearer revoked-token"}
    for _ in range(5):  # one stale token polled again and again counts once
        assert campus.client.get("/api/me", headers=stale).status_code == 401
    for n in range(2):
        guess = {"Authorization": f"Bearer guess-{n}"}
        assert campus.client.get("/api/me", headers=guess).status_code == 401
    # Now every request from this address that needs a token waits, a right token too, and
    # the alert stream's query-string token as well.
    now[0] += 15
    refused = campus.client.get("/api/me", headers=campus.auth("h1"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 45  # when the oldest leaves the window
    assert "too many failed sign-ins" in refused.json()["detail"]
    stream = campus.client.get("/api/alerts/stream", params={"access_token": "x"})
    assert stream.status_code == 429
    # Unauthenticated monitoring is not affected.
    assert campus.client.get("/healthz").status_code in (200, 503)
    now[0] += 45
    assert campus.client.get("/api/me", headers=campus.auth("h1")).status_code == 200


def test_a_missing_token_is_no_failed_sign_in(campus: Campus) -> None:
    campus.client.app.state.failed_logins = FailedLogins(max_failures=2, window_s=60)  # type: ignore[attr-defined]
    for _ in range(5):
        assert campus.client.get("/api/me").status_code == 401
    assert campus.client.get("/api/me", headers=campus.auth("h1")).status_code == 200


def test_the_limit_comes_from_the_settings(campus: Campus) -> None:
    limiter = campus.client.app.state.failed_logins  # type: ignore[attr-defined]
    settings = campus.gateway.settings
    assert (limiter.max_failures, limiter.window_s) == (10, 60.0)
    assert (settings.api_login_failures, settings.api_login_window_s) == (10, 60.0)


def test_the_auditor_hears_no_alert_stream(campus: Campus) -> None:
    # The auditor reads the audit log and nothing else: no stream opens to hear alerts on.
    for how in (
        {"headers": campus.auth("au1")},
        {"params": {"access_token": campus.tokens["au1"]}},
    ):
        refused = campus.client.get("/api/alerts/stream", **how)  # type: ignore[arg-type]
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("role auditor may not do this")
