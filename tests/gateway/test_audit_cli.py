"""`campusedge audit export` on SQLite and PostgreSQL: a time range as CSV, the export audited."""

from __future__ import annotations

import csv
import getpass
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campusedge.cli import main
from gateway.audit import AuditLog
from gateway.auth import Role, User
from gateway.state import StateDB


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


DAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NURSE = User("h1", "Nurse", Role.HEALTH_STAFF)


@pytest.fixture
def log(state_url: str) -> AuditLog:
    audit = AuditLog(StateDB(state_url))
    for hour in range(5):
        audit.record(
            NURSE, "read_alert", "student", f"s{hour}", "alert", at=DAY + timedelta(hours=hour)
        )
    audit.record(NURSE, "read_alert", "student", "=HYPERLINK(1)", "-x", at=DAY + timedelta(hours=2))
    audit.record(NURSE, "read_alert", "student", "s9", "", at=DAY + timedelta(days=2))
    return audit


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(text[1:].splitlines()))


def test_export_writes_the_range_and_is_itself_audited(
    log: AuditLog, state_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.csv"
    argv = ["audit", "export", "--state-db", state_url, "--out", str(out)]
    assert main([*argv, "--since", DAY.isoformat(), "--until", "2026-11-03T00:00+08:00"]) == 0
    assert "6 entries" in capsys.readouterr().err
    rows = read_csv(out)
    assert [r["subject_id"] for r in rows] == ["'=HYPERLINK(1)", "s4", "s3", "s2", "s1", "s0"]
    assert rows[0]["detail"] == "'-x"  # a spreadsheet takes it as text, not a formula
    assert set(rows[1]) == {
        "id", "at", "user_id", "role", "action", "subject_type", "subject_id", "detail"
    }  # fmt: skip
    assert rows[1]["user_id"] == "h1" and rows[1]["at"] == "2026-11-02T12:00:00+00:00"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (tmp_path / "audit.csv.partial").exists()
    [export] = log.entries(subject_type="audit_log")
    assert (export.user_id, export.role, export.action) == (
        f"os:{getpass.getuser()}",
        "auditor",
        "export_audit",
    )
    assert export.subject_id.startswith(f"since={DAY.isoformat()} until=2026-11-03T00:00:00+08:00")
    assert export.detail == f"entries=6 file={out}"

    # Without --until: up to now; the export entry just made is in it, with --user filtering.
    assert main([*argv, "--since", "2026-11-01", "--user", "h1"]) == 0
    assert len(read_csv(out)) == 7


def test_bad_times_and_a_missing_database_stop_with_what_to_do(
    log: AuditLog, state_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "a.csv")
    db = ["--state-db", state_url, "--out", out]
    assert main(["audit", "export", *db, "--since", "yesterday"]) == 2
    assert "--since 'yesterday': not an ISO 8601" in capsys.readouterr().err
    assert main(["audit", "export", *db, "--since", "2026-11-02", "--until", "2026-11-01"]) == 2
    assert "must be after --since" in capsys.readouterr().err
    missing = ["--state-db", str(tmp_path / "nope.db"), "--out", out, "--since", "2026-11-01"]
    assert main(["audit", "export", *missing]) == 2
    assert "no state database" in capsys.readouterr().err
    assert not Path(out).exists() and not (tmp_path / "nope.db").exists()
    assert log.entries(subject_type="audit_log") == []
