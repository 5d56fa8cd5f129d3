"""Schema revisions: an old state file upgrades in place, twice is harmless, newer is refused."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, func, inspect, select, text

from campusedge.cli import main
from gateway.alerts.clock import ManualClock
from gateway.alerts.delivery.outbox import WebhookOutbox
from gateway.alerts.lifecycle import Lifecycle
from gateway.alerts.model import AlertState
from gateway.audit import AuditLog
from gateway.auth import Role, Users
from gateway.devices import Devices
from gateway.fitness.results import FitnessResults
from gateway.health.referrals import Referrals
from gateway.migrations import SchemaBehind, SchemaTooNew, head, require_head, status
from gateway.roster import Roster
from gateway.service import GatewaySettings, GatewayStartError, open_state
from gateway.state import StateDB
from gateway.tables import all_tables


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


OLD_DUMP = Path(__file__).parent / "data" / "state_before_revisions.sql"


def old_state_file(path: Path) -> Path:
    """The state file the release before revisions wrote (see data/make_...py)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(OLD_DUMP.read_text("utf-8"))
    return path


def row_counts(db: StateDB) -> dict[str, int]:
    return {
        table.name: db.query(select(func.count().label("n")).select_from(table))[0]["n"]
        for table in all_tables().sorted_tables
    }


def test_a_state_file_of_the_release_before_revisions_upgrades_in_place(tmp_path: Path) -> None:
    path = old_state_file(tmp_path / "state.db")
    inserts = re.findall(r'^INSERT INTO "(\w+)"', OLD_DUMP.read_text("utf-8"), re.M)
    before = {name: inserts.count(name) for name in set(inserts) - {"sqlite_sequence"}}

    db = StateDB(path)

    assert status(db).current == head()
    counts = row_counts(db)
    assert {name: counts[name] for name in before} == before  # every row kept
    assert sum(before.values()) > 20 and len(before) >= 15  # the fixture covers the tables
    # The modules of this release read what the old one wrote.
    assert Users(db).get("nurse1") is not None and Users(db).get("nurse1").role is Role.HEALTH_STAFF  # type: ignore[union-attr]
    roster = Roster(db)
    assert roster.student("s1").birth_date == date(2013, 3, 1)  # type: ignore[union-attr]
    assert roster.student_for_card("C-00A1") == "s1"
    assert roster.lesson("test1") is not None
    lifecycle = Lifecycle(db, ManualClock(roster.lesson("test1").started_at))  # type: ignore[union-attr]
    [fever] = lifecycle.find()
    assert fever.state is AlertState.ACKNOWLEDGED and fever.detail["max_value"] == 38.2
    assert [e.action for e in lifecycle.history(fever.id)] == ["opened", "acknowledged"]
    assert [s.device_id for s in lifecycle.silences()] == ["gate-2"]
    [band] = Devices(db).all()
    assert (band.device_id, band.battery_pct, band.messages, band.stopped) == (
        "band-01",
        87.5,
        12,
        False,
    )
    assert [r.worst_grade for r in Referrals(db).find()] == ["moderate"]
    assert [p.notification_id for p in WebhookOutbox(db).pending("dingtalk")] == ["n2"]
    assert len(AuditLog(db).entries()) == 1
    results = FitnessResults(db, roster).rows(lesson_ids=["test1"])
    assert [str(r.value) for r in results] == ["158.5", "47.2"]
    # New rows take ids after the old ones.
    [again] = FitnessResults(db, roster).rows(student_id="s2")[-1:]
    assert again.id == 2


def test_migrating_twice_changes_nothing(state_url: str) -> None:
    db = StateDB(state_url)
    counts = row_counts(db)
    Users(db).create("t1", "Teacher", Role.PE_TEACHER)
    assert main(["gateway", "migrate", "--state-db", state_url]) == 0
    assert main(["gateway", "migrate", "--state-db", state_url]) == 0
    again = StateDB(state_url)
    assert status(again).at_head
    assert row_counts(again) == {**counts, "users": 1}
    with again.engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head()]


def _sqlite_spelling(difference: object) -> bool:
    """What SQLite reflects differently without a difference: a one-column primary key it
    reports as nullable (it never added NOT NULL to those), REAL for an 8-byte float."""
    if not isinstance(difference, list) or len(difference) != 1:
        return False
    change, _, table, column, _, reflected, *_ = difference[0]
    key = all_tables().tables[table].c[column].primary_key
    return (change == "modify_nullable" and key) or (
        change == "modify_type" and str(reflected) == "REAL"
    )


def test_the_declared_tables_are_the_migrated_schema(state_url: str) -> None:
    db = StateDB(state_url)
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), all_tables())
    if db.dialect == "sqlite":
        differences = [d for d in differences if not _sqlite_spelling(d)]
    assert differences == []
    names = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert names == set(all_tables().tables)


def test_a_schema_newer_than_the_code_is_refused_with_what_to_do(
    state_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = StateDB(state_url)
    with db.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='0042_future'"))
    with pytest.raises(SchemaTooNew, match=r"'0042_future'.*newer release.*Run that release"):
        StateDB(state_url)
    with pytest.raises(GatewayStartError, match="0042_future") as started:
        open_state(state_url)
    assert not started.value.transient  # retrying would not help
    assert main(["gateway", "migrate", "--state-db", state_url]) == 2
    assert main(["gateway", "migrate", "--check", "--state-db", state_url]) == 1
    assert "0042_future" in capsys.readouterr().err
    # Nothing was written: the newer release's version stays.
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0042_future"
        )


def test_check_says_when_the_schema_is_behind_and_migrate_brings_it_to_head(
    new_state: Callable[[], str], state_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = new_state()
    db = StateDB(target)
    with db.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='0002'"))
    assert main(["gateway", "migrate", "--check", "--state-db", target]) == 1
    err = capsys.readouterr().err
    assert "'0002'" in err and f"'{head()}'" in err and "campusedge gateway migrate" in err
    with pytest.raises(SchemaBehind):
        require_head(StateDB(target, migrate=False))
    # A gateway told not to migrate refuses to start on it, and says what to run.
    with pytest.raises(GatewayStartError, match="campusedge gateway migrate"):
        open_state(target, migrate=False)
    run = ["gateway", "run", "--state-db", target, "--no-migrate", "--api-port", "0"]
    assert main(run) == 2  # a setting to fix, not a server to wait for
    assert "campusedge gateway migrate" in capsys.readouterr().err
    assert main(["gateway", "migrate", "--state-db", target]) == 0
    assert main(["gateway", "migrate", "--check", "--state-db", target]) == 0
    assert f"at schema revision {head()}" in capsys.readouterr().out


def test_an_empty_sqlite_file_and_settings_paths_work(tmp_path: Path) -> None:
    settings = GatewaySettings(state_db=tmp_path / "deep" / "state.db")  # type: ignore[arg-type]
    assert settings.state_db == str(tmp_path / "deep" / "state.db")
    db = open_state(settings.state_db)
    assert status(db).at_head and (tmp_path / "deep" / "state.db").exists()
    url = "postgresql://u:secret@db.example:5432/campus"
    assert GatewaySettings(state_db=url).state_db == url  # a URL is not folded like a path


def test_check_on_a_missing_file_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nowhere" / "state.db"
    assert main(["gateway", "migrate", "--check", "--state-db", str(path)]) == 1
    assert "no state database at" in capsys.readouterr().err
    assert not path.exists() and not path.parent.exists()


def test_a_sqlite_state_file_keeps_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "state.db")
    assert db.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert db.query("PRAGMA foreign_keys")[0]["foreign_keys"] == 1
    with pytest.raises(exc.IntegrityError, match="FOREIGN KEY"), db.transaction() as conn:
        conn.execute(text("INSERT INTO cards(card_id, student_id) VALUES ('C-1', 'nobody')"))


def test_tables_made_outside_the_revisions_still_open_on_both_databases(state_url: str) -> None:
    db = StateDB(state_url)
    schema = """
    CREATE TABLE IF NOT EXISTS later_cursor (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        consumer TEXT NOT NULL UNIQUE,
        position REAL NOT NULL
    );
    -- opened twice: harmless
    """
    db.ensure(schema)
    db.ensure(schema)
    with db.transaction() as conn:
        conn.execute(text("INSERT INTO later_cursor(consumer, position) VALUES ('a', 1.5)"))
    assert [dict(r) for r in db.query("SELECT id, consumer, position FROM later_cursor")] == [
        {"id": 1, "consumer": "a", "position": 1.5}
    ]


def test_tables_a_later_release_made_at_start_are_kept_with_their_rows(tmp_path: Path) -> None:
    """Stored watermarks and consumer cursors were made by `CREATE TABLE IF NOT EXISTS` for a
    while before revisions 6 and 7: such a file upgrades without losing them."""
    path = old_state_file(tmp_path / "state.db")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE stored_watermarks (school TEXT NOT NULL, device_id TEXT NOT NULL, "
            "seq INTEGER NOT NULL, PRIMARY KEY (school, device_id));"
            "INSERT INTO stored_watermarks VALUES ('sch1', 'band-01', 41);"
            "CREATE TABLE consumer_cursors (consumer TEXT PRIMARY KEY, "
            "position INTEGER NOT NULL, updated_at TEXT NOT NULL);"
            "INSERT INTO consumer_cursors VALUES ('alerts', 1234, '2026-09-01T00:00:00+00:00');"
        )
    db = StateDB(path)
    assert status(db).at_head
    assert [dict(r) for r in db.query("SELECT device_id, seq FROM stored_watermarks")] == [
        {"device_id": "band-01", "seq": 41}
    ]
    assert db.query("SELECT position FROM consumer_cursors")[0]["position"] == 1234
