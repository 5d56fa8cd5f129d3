"""PostgreSQL as the state database of several gateway workers: concurrent writers stay
correct, and a server that is down at start or goes away gives a clear error, then recovers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest

from campusedge.broker import free_port
from campusedge.cli import main
from gateway.alerts.clock import ManualClock
from gateway.alerts.delivery.outbox import WebhookOutbox
from gateway.alerts.lifecycle import Lifecycle, LifecycleError
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.auth import Role, Users
from gateway.devices import Devices
from gateway.roster import DeviceBusy, LessonKind, Roster
from gateway.service import GatewayStartError, open_state
from gateway.state import StateDB, StateDBError, StateDBUnavailable
from tests.conftest import drop_pg_database, fresh_pg_database
from tests.services import PostgresProcess, start_postgres

AT = datetime(2026, 9, 1, 0, 30, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def pg_url(postgres: PostgresProcess) -> Iterator[str]:
    name = fresh_pg_database(postgres)
    yield postgres.url(name)
    drop_pg_database(postgres, name)


def at_once(workers: list[Callable[[], T]]) -> list[T | BaseException]:
    """Run *workers* in threads released together; each one's result or exception."""
    start = threading.Barrier(len(workers))
    out: list[T | BaseException] = [RuntimeError("did not run")] * len(workers)

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = workers[i]()
        except BaseException as exc:  # collected for the test to look at
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def two_workers(url: str) -> tuple[StateDB, StateDB]:
    """Two gateway workers: each with its own engine (its own connections) on one database."""
    return StateDB(url), StateDB(url)


def test_outbox_claims_by_two_workers_deliver_every_row_once(pg_url: str) -> None:
    a, b = two_workers(pg_url)
    queued = WebhookOutbox(a, worker="w1")
    for n in range(60):
        assert queued.add("office", f"n{n}", [n], {"n": n}, limit=1000)
    outboxes = [WebhookOutbox(a, worker="w1"), WebhookOutbox(b, worker="w2")]

    def deliver(outbox: WebhookOutbox) -> Callable[[], list[str]]:
        def run() -> list[str]:
            sent: list[str] = []
            while (row := outbox.claim("office")) is not None:
                sent.append(row.notification_id)
                outbox.done(row.id)
            return sent

        return run

    results = at_once([deliver(o) for o in outboxes])
    assert not [r for r in results if isinstance(r, BaseException)], results
    sent = [n for r in results for n in r]  # type: ignore[union-attr]
    assert Counter(sent) == Counter(f"n{n}" for n in range(60))  # each once, none lost
    assert outboxes[0].targets() == set()


def test_a_claim_held_by_a_live_worker_is_not_taken_and_a_lapsed_one_is(pg_url: str) -> None:
    a, b = two_workers(pg_url)
    first = WebhookOutbox(a, worker="w1", lease=timedelta(minutes=10))
    second = WebhookOutbox(b, worker="w2")
    first.add("office", "n1", [1], {}, limit=10)
    row = first.claim("office", now=AT)
    assert row is not None
    assert second.claim("office", now=AT + timedelta(minutes=9)) is None
    assert first.claim("office", now=AT + timedelta(minutes=9)) is not None  # its own
    taken = second.claim("office", now=AT + timedelta(minutes=30))  # w1 died
    assert taken is not None and taken.id == row.id


def test_one_key_raised_by_two_workers_at_once_is_one_alert(pg_url: str) -> None:
    a, b = two_workers(pg_url)
    lifecycles = [Lifecycle(db, ManualClock(AT)) for db in (a, b)]

    def raiser(lifecycle: Lifecycle, n: int) -> Callable[[], object]:
        return lambda: lifecycle.raise_(
            Candidate(
                rule=Rule.DEVICE_OFFLINE,
                key="device_offline:sch1:gate-1",
                school="sch1",
                severity=Severity.WARNING,
                at=AT + timedelta(seconds=n),
                summary="gate-1 offline",
                device_id="gate-1",
                source=("gate-1", n),
            )
        )

    results = at_once([raiser(lifecycles[n % 2], n) for n in range(12)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    [alert] = lifecycles[0].find()
    assert alert.count == 12
    assert alert.last_seen_at == AT + timedelta(seconds=11)


def test_one_alert_acknowledged_by_two_people_at_once_is_acknowledged_once(
    pg_url: str,
) -> None:
    a, b = two_workers(pg_url)
    la, lb = Lifecycle(a, ManualClock(AT)), Lifecycle(b, ManualClock(AT))
    raised = la.raise_(
        Candidate(
            rule=Rule.FEVER,
            key="fever:sch1:s1",
            school="sch1",
            severity=Severity.WARNING,
            at=AT,
            summary="fever",
        )
    )
    results = at_once(
        [
            lambda: la.acknowledge(raised.alert.id, "nurse1"),
            lambda: lb.acknowledge(raised.alert.id, "nurse2"),
        ]
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], LifecycleError)
    actions = [e.action for e in la.history(raised.alert.id)]
    assert actions == ["opened", "acknowledged"]


def test_one_band_given_to_two_lessons_at_once_goes_to_one(pg_url: str) -> None:
    a, b = two_workers(pg_url)
    ra, rb = Roster(a), Roster(b)
    for class_id in ("c1", "c2"):
        ra.add_class(class_id, "sch1", class_id, "7")
        ra.add_student(f"{class_id}s1", "Name", "M", date(2013, 1, 1), class_id)
    results = at_once(
        [
            lambda: ra.start_lesson("c1", "t1", LessonKind.LESSON, {"band-01": "c1s1"}),
            lambda: rb.start_lesson("c2", "t2", LessonKind.LESSON, {"band-01": "c2s1"}),
        ]
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], DeviceBusy), results
    assert len(ra.lessons(active_only=True)) == 1


def test_message_counts_from_two_workers_add_up(pg_url: str) -> None:
    a, b = two_workers(pg_url)
    devices = [Devices(a), Devices(b)]

    def seen(d: Devices, n: int) -> Callable[[], None]:
        return lambda: d.apply([], [("sch1", "band-01", "hr_band", AT + timedelta(seconds=n), 5)])

    results = at_once([seen(devices[n % 2], n) for n in range(10)])
    assert not [r for r in results if isinstance(r, BaseException)], results
    [band] = devices[0].all()
    assert band.messages == 50 and band.last_seen == AT + timedelta(seconds=9)


def test_an_unreachable_postgresql_at_start_is_a_transient_error_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")  # the command's line is read in English
    url = f"postgresql://gw:hunter2@127.0.0.1:{free_port()}/campus"
    with pytest.raises(GatewayStartError) as started:
        open_state(url)
    message = str(started.value)
    assert started.value.transient  # systemd tries again
    assert "127.0.0.1" in message and "not reachable" in message
    assert "hunter2" not in message
    # The CLI says it in one line and exits 1, which the unit restarts on.
    assert main(["gateway", "run", "--state-db", url, "--api-port", "0"]) == 1
    err = capsys.readouterr().err
    assert "not reachable" in err and "hunter2" not in err and "Traceback" not in err


def test_a_postgresql_that_goes_away_fails_clearly_and_comes_back() -> None:
    server = start_postgres()  # its own, to stop and start
    try:
        db = StateDB(server.url())
        users = Users(db)
        users.create("t1", "Teacher", Role.PE_TEACHER)
        server.stop()
        with pytest.raises(StateDBUnavailable, match="not reachable"):
            users.get("t1")
        with pytest.raises(StateDBUnavailable):
            users.create("t2", "Teacher 2", Role.PE_TEACHER)
        server.restart()
        assert users.get("t1") is not None  # the pool replaced its dead connections
        users.create("t2", "Teacher 2", Role.PE_TEACHER)
        assert Counter(u.role for u in users.all()) == {Role.PE_TEACHER: 2}
        db.close()
    finally:
        server.remove()


def test_a_database_that_sorts_text_by_a_language_is_refused_with_how_to_make_one(
    postgres: PostgresProcess,
) -> None:
    import psycopg

    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        admin.execute(
            "CREATE DATABASE by_language TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    try:
        with pytest.raises(StateDBError, match=r"en-US.*--locale=C --template=template0"):
            StateDB(postgres.url("by_language"))
    finally:
        drop_pg_database(postgres, "by_language")


def test_workers_starting_at_once_on_an_empty_database_upgrade_it_once(
    postgres: PostgresProcess,
) -> None:
    from gateway.migrations import head, status

    name = fresh_pg_database(postgres, migrated=False)
    try:
        url = postgres.url(name)
        results = at_once([lambda: StateDB(url) for _ in range(4)])
        opened = [r for r in results if isinstance(r, StateDB)]
        assert len(opened) == 4, results  # none failed on a table the other was creating
        assert status(opened[0]).current == head()
        for db in opened:
            db.close()
    finally:
        drop_pg_database(postgres, name)
