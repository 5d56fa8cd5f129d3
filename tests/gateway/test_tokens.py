"""API tokens on SQLite and PostgreSQL: hashed, expiring, rotated, revoked; the CLI's lifetime."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from campusedge.cli import main
from gateway.api.login_limit import FailedLogins
from gateway.auth import Refused, Role, User, Users
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


@pytest.fixture
def users(state_url: str) -> Users:
    return Users(StateDB(state_url))


def test_only_the_tokens_sha256_is_stored(users: Users) -> None:
    token = users.create("n1", "Nurse", Role.HEALTH_STAFF)
    assert len(token) == 32  # 24 random bytes, URL-safe base64
    [row] = users.db.query("SELECT * FROM users")
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in row.values())


def test_a_token_works_until_it_expires(users: Users) -> None:
    token = users.create("n1", "Nurse", Role.HEALTH_STAFF)
    expires = users.expires_at("n1")
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert users.verify(token) == User("n1", "Nurse", Role.HEALTH_STAFF)
    assert users.verify(token, now=expires - timedelta(seconds=1)) == User(
        "n1", "Nurse", Role.HEALTH_STAFF
    )
    assert users.verify(token, now=expires) is Refused.EXPIRED
    assert users.authenticate(token, now=expires + timedelta(days=1)) is None
    assert users.verify("not-a-token") is Refused.UNKNOWN


def test_the_lifetime_is_configurable(users: Users) -> None:
    short = Users(users.db, timedelta(days=2))
    token = short.create("t1", "Teacher", Role.PE_TEACHER)
    expires = short.expires_at("t1")
    assert expires is not None and expires - datetime.now(UTC) < timedelta(days=2)
    assert short.authenticate(token, now=datetime.now(UTC) + timedelta(days=3)) is None
    short.create("t2", "Teacher", Role.PE_TEACHER, lifetime=timedelta(hours=1))
    assert short.expires_at("t2") < datetime.now(UTC) + timedelta(hours=1, minutes=1)  # type: ignore[operator]


def test_rotation_ends_the_old_token_and_renews_the_expiry(users: Users) -> None:
    old = users.create("n1", "Nurse", Role.HEALTH_STAFF, lifetime=timedelta(minutes=5))
    new = users.rotate("n1")
    assert users.verify(old) is Refused.UNKNOWN
    assert users.authenticate(new) == User("n1", "Nurse", Role.HEALTH_STAFF)
    assert users.expires_at("n1") > datetime.now(UTC) + timedelta(days=29)  # type: ignore[operator]
    with pytest.raises(KeyError):
        users.rotate("nobody")
    users.delete("n1")
    assert users.verify(new) is Refused.UNKNOWN


def test_tokens_issued_before_expiry_existed_get_thirty_days_from_the_upgrade(
    state_url: str,
) -> None:
    db = StateDB(state_url)
    token = Users(db).create("n1", "Nurse", Role.HEALTH_STAFF)
    with db.transaction() as conn:  # the schema of revision 12, with a user of then
        conn.execute(text("ALTER TABLE users DROP COLUMN token_expires_at"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0012'"))
    db.close()
    upgraded = Users(StateDB(state_url))
    expires = upgraded.expires_at("n1")
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert upgraded.authenticate(token) is not None


def test_the_cli_issues_tokens_with_the_configured_lifetime(
    state_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--state-db", state_url]
    monkeypatch.setenv("CAMPUSEDGE_TOKEN_LIFETIME_DAYS", "7")
    assert main(["gateway", "user", "add", "a1", "--role", "auditor", *db]) == 0
    first = capsys.readouterr()
    assert "works until" in first.err
    users = Users(StateDB(state_url))
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    assert abs(users.expires_at("a1") - in_a_week) < timedelta(minutes=1)  # type: ignore[operator]
    assert main(["gateway", "user", "rotate", "a1", "--lifetime-days", "1", *db]) == 0
    second = capsys.readouterr().out.strip()
    assert users.authenticate(first.out.strip()) is None
    assert users.authenticate(second) == User("a1", "a1", Role.AUDITOR)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert abs(users.expires_at("a1") - tomorrow) < timedelta(minutes=1)  # type: ignore[operator]
    assert main(["gateway", "user", "rotate", "a1", "--lifetime-days", "0", *db]) == 2
    assert "--lifetime-days 0" in capsys.readouterr().err
    monkeypatch.setenv("CAMPUSEDGE_TOKEN_LIFETIME_DAYS", "never")
    assert main(["gateway", "user", "rotate", "a1", *db]) == 2
    assert "CAMPUSEDGE_TOKEN_LIFETIME_DAYS" in capsys.readouterr().err
    assert main(["gateway", "user", "list", *db]) == 0
    assert "token until 20" in capsys.readouterr().out


def test_failed_sign_ins_are_limited_per_source_in_a_sliding_window() -> None:
    limiter = FailedLogins(max_failures=3, window_s=60)
    for n, at in enumerate((0.0, 10.0, 20.0)):
        assert limiter.retry_after("10.0.0.1", now=at) == 0
        limiter.failed("10.0.0.1", f"guess-{n}", now=at)
    assert limiter.retry_after("10.0.0.1", now=21.0) == 39  # until the first leaves the window
    assert limiter.retry_after("10.0.0.2", now=21.0) == 0  # another address is not affected
    assert limiter.retry_after("10.0.0.1", now=60.5) == 0  # one failure left the window
    limiter.failed("10.0.0.1", "guess-3", now=61.0)
    assert limiter.retry_after("10.0.0.1", now=61.0) == 9
    assert limiter.retry_after("10.0.0.1", now=200.0) == 0


def test_one_stale_token_sent_again_and_again_counts_once() -> None:
    # A dashboard left open with a revoked token, behind a school's one NAT address.
    limiter = FailedLogins(max_failures=3, window_s=60)
    for at in range(100):
        limiter.failed("10.0.0.1", "revoked-token", now=float(at))
        assert limiter.retry_after("10.0.0.1", now=float(at)) == 0
    limiter.failed("10.0.0.1", "guess-1", now=100.0)
    limiter.failed("10.0.0.1", "guess-2", now=101.0)
    # The stale token was last tried at 99: it counts with the two guesses.
    assert limiter.retry_after("10.0.0.1", now=101.0) == 58


def test_the_limiter_forgets_the_least_recent_sources_beyond_its_bound() -> None:
    limiter = FailedLogins(max_failures=1, window_s=60, max_sources=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}", "guess", now=1.0)
    assert len(limiter._failures) == 100
    assert limiter.retry_after("10.0.3.231", now=2.0) > 0  # the last one is kept
    assert limiter.retry_after("10.0.0.0", now=2.0) == 0
