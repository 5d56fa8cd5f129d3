"""People see only their schools: another school's alerts, referrals and lessons are 404."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gateway.alerts.model import Alert, Candidate, Rule, Severity
from gateway.alerts.visibility import is_recipient, may_read
from gateway.auth import Role
from gateway.competition.anti_cheat import Hold, Participant
from gateway.health.vision import Screening
from gateway.roster import LessonKind
from tests.gateway.api.conftest import SCHOOL, Campus
from tests.gateway.competition.conftest import one_school_cup, store_set

OTHER = "sch2"
LESSON_REPORTS = ("report", "report.pdf", "report/curve.png", "report/zones.png")
AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass
class TwoSchools:
    campus: Campus
    fever: dict[str, Alert]  # school -> its fever alert
    offline: dict[str, Alert]  # school -> its device-offline alert
    referral: dict[str, int]  # school -> its referral id
    lesson: dict[str, str]  # school -> its lesson id


def _alert(campus: Campus, school: str, rule: Rule, student: str | None, key: str) -> Alert:
    assert campus.gateway.alerts is not None
    candidate = Candidate(
        rule=rule,
        key=key,
        school=school,
        severity=Severity.WARNING,
        at=AT,
        summary=f"{rule.value} in {school}",
        student_id=student,
        device_id=f"dev-{key}",
    )
    return campus.gateway.alerts.engine.lifecycle.raise_(candidate).alert


def _referral(campus: Campus, school: str, student: str, class_id: str, seq: int) -> int:
    assert campus.gateway.referrals is not None
    screening = Screening({"left": 4.6, "right": 4.7}, {"left": -1.5, "right": -1.0})
    found = campus.gateway.referrals.record(
        school, student, class_id, AT, "vs-1", seq, screening, [{"eye": "left", "grade": "mild"}]
    )
    assert found is not None
    return found.id


@pytest.fixture
def two(campus: Campus) -> TwoSchools:
    gw = campus.gateway
    gw.roster.add_class("9a", OTHER, "Class 9A", "5", "t9")
    gw.roster.add_student("s90", "孙九十", "F", date(2015, 2, 2), "9a")
    campus.tokens["h2"] = gw.users.create("h2", "Nurse Two", Role.HEALTH_STAFF, schools=[OTHER])
    campus.tokens["t9"] = gw.users.create("t9", "Teacher Nine", Role.PE_TEACHER, schools=[OTHER])
    campus.tokens["h0"] = gw.users.create("h0", "Nurse of none", Role.HEALTH_STAFF)
    lessons = {
        SCHOOL: gw.roster.start_lesson("5a", "t1", LessonKind.LESSON, {}, lesson_id="l1").id,
        OTHER: gw.roster.start_lesson("9a", "t9", LessonKind.LESSON, {}, lesson_id="l9").id,
    }
    return TwoSchools(
        campus,
        fever={
            SCHOOL: _alert(campus, SCHOOL, Rule.FEVER, "s1", "f1"),
            OTHER: _alert(campus, OTHER, Rule.FEVER, "s90", "f9"),
        },
        offline={
            SCHOOL: _alert(campus, SCHOOL, Rule.DEVICE_OFFLINE, None, "o1"),
            OTHER: _alert(campus, OTHER, Rule.DEVICE_OFFLINE, None, "o9"),
        },
        referral={
            SCHOOL: _referral(campus, SCHOOL, "s1", "5a", 1),
            OTHER: _referral(campus, OTHER, "s90", "9a", 2),
        },
        lesson=lessons,
    )


def _no_trace_of_the_other_school(two: TwoSchools, body: object) -> None:
    text = str(body)
    assert "s90" not in text and "孙九十" not in text and OTHER not in text


@pytest.mark.parametrize("user", ["h1", "t1", "it1"])
def test_alerts_of_another_school_are_not_listed_and_their_ids_are_404(
    two: TwoSchools, user: str
) -> None:
    campus = two.campus
    listed = campus.client.get("/api/alerts", headers=campus.auth(user))
    assert listed.status_code == 200
    assert {a["school"] for a in listed.json()} <= {SCHOOL}
    assert any(a["id"] == two.offline[SCHOOL].id for a in listed.json())  # their own, yes
    _no_trace_of_the_other_school(two, listed.json())
    other = campus.client.get("/api/alerts", headers=campus.auth(user), params={"school": OTHER})
    assert other.status_code == 404 and other.json() == {"detail": f"no school {OTHER!r}"}
    for alert in (two.fever[OTHER], two.offline[OTHER]):
        path = f"/api/alerts/{alert.id}"
        for method, url in (
            ("GET", path),
            ("POST", f"{path}/acknowledge"),
            ("POST", f"{path}/resolve"),
        ):
            response = campus.client.request(method, url, headers=campus.auth(user))
            assert response.status_code == 404, (method, url)
            assert response.json() == {"detail": f"no alert {alert.id}"}
    recheck = campus.client.post(
        f"/api/alerts/{two.fever[OTHER].id}/recheck",
        headers=campus.auth("h1"),
        json={"temperature_c": 37.0},
    )
    assert recheck.status_code == 404
    assert two.campus.gateway.alerts.get(two.offline[OTHER].id).state.value == "open"  # type: ignore[union-attr]
    assert campus.gateway.audit.entries(subject_id="s90") == []


def test_the_other_schools_staff_see_theirs_and_nobody_of_no_school_sees_any(
    two: TwoSchools,
) -> None:
    campus = two.campus
    listed = campus.client.get("/api/alerts", headers=campus.auth("h2")).json()
    assert {a["school"] for a in listed} == {OTHER}
    one = campus.client.get(f"/api/alerts/{two.fever[OTHER].id}", headers=campus.auth("h2"))
    assert one.status_code == 200 and one.json()["student_name"] == "孙九十"
    assert campus.client.get("/api/alerts", headers=campus.auth("h0")).json() == []
    fever = campus.client.get(f"/api/alerts/{two.fever[SCHOOL].id}", headers=campus.auth("h0"))
    assert fever.status_code == 404


def test_the_alert_stream_tells_nobody_of_another_schools_alerts(two: TwoSchools) -> None:
    users = two.campus.gateway.users
    nurse, other_nurse = users.get("h1"), users.get("h2")
    assert nurse is not None and other_nurse is not None
    assert is_recipient(nurse, two.fever[SCHOOL]) and not is_recipient(nurse, two.fever[OTHER])
    assert is_recipient(other_nurse, two.fever[OTHER])
    assert not may_read(nurse, two.offline[OTHER])


def test_referrals_of_another_school_are_not_listed_and_cannot_be_changed(
    two: TwoSchools,
) -> None:
    campus = two.campus
    h1 = campus.auth("h1")
    listed = campus.client.get("/api/alerts/referrals", headers=h1)
    assert [r["id"] for r in listed.json()] == [two.referral[SCHOOL]]
    _no_trace_of_the_other_school(two, listed.json())
    for params in ({"school": OTHER}, {"class_id": "9a"}):
        response = campus.client.get("/api/alerts/referrals", headers=h1, params=params)
        assert response.status_code == 404, params
    change = campus.client.post(
        f"/api/alerts/referrals/{two.referral[OTHER]}/status", headers=h1, json={"status": "closed"}
    )
    assert change.status_code == 404
    theirs = campus.client.get("/api/alerts/referrals", headers=campus.auth("h2")).json()
    assert [(r["id"], r["status"]) for r in theirs] == [(two.referral[OTHER], "open")]
    assert campus.gateway.audit.entries(subject_id="s90", user_id="h1") == []


@pytest.mark.parametrize("user", ["h1", "t1"])
def test_another_schools_lesson_is_404_in_the_live_view(two: TwoSchools, user: str) -> None:
    campus = two.campus
    for view in ("live", "heart-rate", *LESSON_REPORTS):
        response = campus.client.get(
            f"/api/lessons/{two.lesson[OTHER]}/{view}", headers=campus.auth(user)
        )
        assert response.status_code == 404, view
        assert response.json() == {"detail": f"no lesson {two.lesson[OTHER]!r}"}
    own = campus.client.get(f"/api/lessons/{two.lesson[SCHOOL]}/live", headers=campus.auth(user))
    assert own.status_code == 200
    results = f"/api/fitness/sessions/{two.lesson[OTHER]}/results"
    assert campus.client.get(results, headers=campus.auth(user)).status_code == 404
    if user == "t1":
        entered = campus.client.post(
            results,
            headers=campus.auth(user),
            json={"student_id": "s90", "item": "sit_and_reach", "value": 10},
        )
        assert entered.status_code == 404
    mine = campus.client.get("/api/me/lessons", headers=campus.auth(user)).json()
    assert [lesson["id"] for lesson in mine] == [two.lesson[SCHOOL]]
    theirs = campus.client.get(f"/api/lessons/{two.lesson[OTHER]}/live", headers=campus.auth("t9"))
    assert theirs.status_code == 200


def test_a_user_of_no_school_sees_no_lesson(two: TwoSchools) -> None:
    campus = two.campus
    response = campus.client.get(
        f"/api/lessons/{two.lesson[SCHOOL]}/live", headers=campus.auth("h0")
    )
    assert response.status_code == 404
    assert campus.client.get("/api/me/lessons", headers=campus.auth("h0")).json() == []


def test_referral_ages_do_not_leak_through_time(two: TwoSchools) -> None:
    # A later referral of the other school changes nothing this school's staff see.
    before = two.campus.client.get("/api/alerts/referrals", headers=two.campus.auth("h1")).json()
    assert two.campus.gateway.referrals is not None
    screening = Screening({"left": 4.5, "right": 4.5}, {"left": -2.0, "right": -2.0})
    two.campus.gateway.referrals.record(
        OTHER, "s90", "9a", AT + timedelta(days=1), "vs-1", 3, screening, [{"eye": "left"}]
    )
    after = two.campus.client.get("/api/alerts/referrals", headers=two.campus.auth("h1")).json()
    assert after == before


def test_silences_of_another_school_are_not_listed_set_or_ended(two: TwoSchools) -> None:
    campus = two.campus
    assert campus.gateway.alerts is not None
    theirs = campus.gateway.alerts.add_silence(
        OTHER, AT, AT + timedelta(days=365), "h2", "maintenance", Rule.DEVICE_OFFLINE
    )
    ours = campus.gateway.alerts.add_silence(
        SCHOOL, AT, AT + timedelta(days=365), "it1", "maintenance", Rule.DEVICE_OFFLINE
    )
    for user in ("it1", "h1", "t1"):
        listed = campus.client.get("/api/alerts/silences", headers=campus.auth(user))
        assert [s["id"] for s in listed.json()] == [ours.id], user
        asked = campus.client.get(
            "/api/alerts/silences", headers=campus.auth(user), params={"school": OTHER}
        )
        assert asked.status_code == 404
    body = {
        "school": OTHER,
        "starts_at": AT.isoformat(),
        "ends_at": (AT + timedelta(hours=1)).isoformat(),
        "reason": "drill",
    }
    refused = campus.client.post("/api/alerts/silences", json=body, headers=campus.auth("it1"))
    assert refused.status_code == 404 and refused.json() == {"detail": f"no school {OTHER!r}"}
    gone = campus.client.delete(f"/api/alerts/silences/{theirs.id}", headers=campus.auth("it1"))
    assert gone.status_code == 404
    assert [s.id for s in campus.gateway.alerts.silences(OTHER)] == [theirs.id]


def test_another_schools_warning_level_and_absences_are_not_the_users(two: TwoSchools) -> None:
    campus = two.campus
    day = AT.date().isoformat()
    level = campus.client.get(
        "/api/alerts/warning-levels",
        headers=campus.auth("h1"),
        params={"school": OTHER, "day": day},
    )
    assert level.status_code == 404
    own = campus.client.get(
        "/api/alerts/warning-levels",
        headers=campus.auth("h1"),
        params={"school": SCHOOL, "day": day},
    )
    assert own.status_code == 200
    absent = {"student_id": "s90", "day": day, "reason": "illness"}
    refused = campus.client.post("/api/alerts/absences", json=absent, headers=campus.auth("h1"))
    assert refused.status_code == 422
    assert refused.json() == {"detail": "student_id: 's90' is not on the roster"}
    taken = campus.client.post("/api/alerts/absences", json=absent, headers=campus.auth("h2"))
    assert taken.status_code == 201 and taken.json()["school"] == OTHER


@pytest.mark.parametrize("user", ["h1", "t1", "it1"])
def test_another_schools_classes_and_students_are_404(two: TwoSchools, user: str) -> None:
    campus = two.campus
    headers = campus.auth(user)
    classes = campus.client.get("/api/classes", headers=headers).json()
    assert "9a" not in {c["id"] for c in classes}
    _no_trace_of_the_other_school(two, classes)
    students = campus.client.get("/api/classes/9a/students", headers=headers)
    assert students.status_code == 404 and students.json() == {"detail": "no class '9a'"}
    if user != "it1":
        for url, unknown in (
            ("/api/fitness/classes/9a/distribution", "no class '9a'"),
            ("/api/fitness/classes/9a/export", "no class '9a'"),
            ("/api/fitness/students/s90/results", "no student 's90'"),
            ("/api/fitness/students/s90/growth", "no student 's90'"),
            ("/api/fitness/students/s90/growth/report", "no student 's90'"),
            ("/api/fitness/classes/9a/growth/export", "no class '9a'"),
        ):
            response = campus.client.get(url, headers=headers)
            # Answered as an unknown id would be: the id asked for, nothing more.
            assert response.status_code == 404, url
            assert response.json() == {"detail": unknown}, url
        # The national file: another school, its class, or its class under one's own school.
        for url in ("/api/fitness/national", "/api/fitness/national/problems"):
            for params, unknown in (
                ({"school": OTHER}, f"no school '{OTHER}'"),
                ({"school": OTHER, "class_id": "9a"}, "no class '9a'"),
                ({"school": SCHOOL, "class_id": "9a"}, "no class '9a'"),
            ):
                response = campus.client.post(
                    url, params={**params, "year": "2026"}, headers=headers
                )
                assert response.status_code == 404, (url, params)
                assert response.json() == {"detail": unknown}, (url, params)
    assert campus.gateway.audit.entries(subject_id="s90") == []


def test_campus_it_cannot_touch_another_schools_roster(two: TwoSchools) -> None:
    campus = two.campus
    it = campus.auth("it1")
    for method, url, body in (
        ("GET", "/api/students/s90/cards", None),
        ("POST", "/api/students/s90/cards", {"card_id": "C-0090"}),
        ("PATCH", "/api/classes/9a", {"name": "taken over"}),
        ("POST", "/api/classes", {"id": "9z", "school": OTHER, "name": "Z", "grade": "5"}),
        ("PATCH", "/api/classes/5a", {"school": OTHER}),  # nor move one there
    ):
        response = campus.client.request(method, url, headers=it, json=body)
        assert response.status_code == 404, (method, url)
    assert campus.gateway.roster.class_of("9a")["name"] == "Class 9A"  # type: ignore[index]
    assert campus.gateway.roster.class_of("5a")["school"] == SCHOOL  # type: ignore[index]
    assert campus.gateway.roster.class_of("9z") is None
    assert campus.gateway.roster.cards_of("s90") == []


def test_teachers_cannot_open_or_end_lessons_of_another_school(two: TwoSchools) -> None:
    campus = two.campus
    opened = campus.client.post(
        "/api/lessons", headers=campus.auth("t1"), json={"class_id": "9a", "kind": "lesson"}
    )
    assert opened.status_code == 404 and "unknown class '9a'" in opened.json()["detail"]
    ended = campus.client.post(f"/api/lessons/{two.lesson[OTHER]}/end", headers=campus.auth("t1"))
    assert ended.status_code == 404
    assert campus.gateway.roster.lesson(two.lesson[OTHER]).ended_at is None  # type: ignore[union-attr]


def test_another_schools_devices_are_not_listed_or_found(two: TwoSchools) -> None:
    from campusedge.contract import DeviceState, Status
    from campusedge.topics import DeviceKind

    campus = two.campus
    band = Status(device_id="hr-90", kind=DeviceKind.HR_BAND, state=DeviceState.ONLINE)
    mine = Status(device_id="hr-10", kind=DeviceKind.HR_BAND, state=DeviceState.ONLINE)
    campus.gateway.devices.apply([(OTHER, band, AT), (SCHOOL, mine, AT)], [])
    it = campus.auth("it1")
    listed = campus.client.get("/api/devices", headers=it).json()
    assert [d["device_id"] for d in listed] == ["hr-10"]
    found = campus.client.get("/api/devices/hr-90", headers=it)
    assert found.status_code == 404 and found.json() == {
        "detail": "no device 'hr-90' has been seen"
    }
    asked = campus.client.get("/api/devices", headers=it, params={"school": OTHER})
    assert asked.status_code == 404


def test_free_devices_are_the_teachers_schools_bands_and_ropes_no_lesson_holds(
    two: TwoSchools,
) -> None:
    from campusedge.contract import DeviceState, Status
    from campusedge.topics import DeviceKind

    campus = two.campus

    def status(device_id: str, kind: DeviceKind) -> Status:
        return Status(device_id=device_id, kind=kind, state=DeviceState.ONLINE)

    campus.gateway.devices.apply(
        [
            (SCHOOL, status("hr-10", DeviceKind.HR_BAND), AT),
            (SCHOOL, status("hr-11", DeviceKind.HR_BAND), AT),
            (SCHOOL, status("rope-10", DeviceKind.JUMP_ROPE), AT),
            (SCHOOL, status("gate-10", DeviceKind.TEMP_GATE), AT),
            (OTHER, status("hr-90", DeviceKind.HR_BAND), AT),
        ],
        [],
    )
    campus.gateway.roster.start_lesson("5a", "t1", LessonKind.LESSON, {"hr-11": "s1"})
    free = campus.client.get("/api/free-devices", headers=campus.auth("t1"))
    assert free.status_code == 200
    assert [(d["device_id"], d["kind"]) for d in free.json()] == [
        ("hr-10", "hr_band"),
        ("rope-10", "jump_rope"),
    ]
    other = campus.client.get(
        "/api/free-devices", headers=campus.auth("t1"), params={"school": OTHER}
    )
    assert other.status_code == 404 and other.json() == {"detail": f"no school {OTHER!r}"}
    theirs = campus.client.get("/api/free-devices", headers=campus.auth("t9")).json()
    assert [d["device_id"] for d in theirs] == ["hr-90"]
    for user in ("h1", "it1"):  # handing out devices is the PE teacher's
        assert campus.client.get("/api/free-devices", headers=campus.auth(user)).status_code == 403


def test_a_rope_test_or_results_file_only_by_the_lessons_teachers_of_its_school(
    two: TwoSchools,
) -> None:
    from campusedge.contract import DeviceState, Status
    from campusedge.topics import DeviceKind

    campus = two.campus

    def rope_test(user: str, lesson_id: str) -> tuple[int, str]:
        r = campus.client.post(
            f"/api/lessons/{lesson_id}/rope-test",
            headers=campus.auth(user),
            json={"action": "start"},
        )
        return r.status_code, str(r.json().get("detail"))

    assert rope_test("t1", two.lesson[OTHER]) == (404, f"no lesson {two.lesson[OTHER]!r}")
    # Nor a results file into another school's session.
    upload = campus.client.post(
        f"/api/fitness/sessions/{two.lesson[OTHER]}/results/file",
        headers=campus.auth("t1"),
        content=b"id,rope_skip_1min\ns90,150\n",
    )
    assert upload.status_code == 404
    assert rope_test("h1", two.lesson[SCHOOL])[0] == 403  # the PE teacher's, not the nurse's
    assert rope_test("t2", two.lesson[SCHOOL])[0] == 403  # another class's teacher
    assert rope_test("t1", two.lesson[SCHOOL]) == (
        409,
        f"no rope of lesson {two.lesson[SCHOOL]!r} is known behind an edge box",
    )
    rope = Status(
        device_id="rope-10", kind=DeviceKind.JUMP_ROPE, state=DeviceState.ONLINE, edge_id="box-1"
    )
    campus.gateway.devices.apply([(SCHOOL, rope, AT)], [])
    test = campus.gateway.roster.start_lesson(
        "5a", "t1", LessonKind.FITNESS_TEST, {"rope-10": "s1"}
    )
    # Everything checked, only the broker is missing here (ingest is not started).
    assert rope_test("t1", test.id)[0] == 503
    campus.gateway.roster.end_lesson(test.id)
    assert rope_test("t1", test.id) == (409, f"lesson {test.id!r} has ended")


def test_another_schools_device_readings_are_not_read(two: TwoSchools) -> None:
    from campusedge.contract import TimeQuality
    from campusedge.topics import DeviceKind
    from gateway.store.base import StoredMessage

    campus = two.campus

    def battery(school: str, percent: float) -> StoredMessage:
        return StoredMessage(
            school=school,
            kind=DeviceKind.HR_BAND,
            device_id="hr-77",
            seq=1,
            ts=AT,
            time_quality=TimeQuality.SYNCED,
            received_at=AT,
            readings=(("battery", percent, "%"),),
        )

    # One device id in both schools: ids are unique within a school only.
    campus.gateway.store.write([battery(OTHER, 12.0), battery(SCHOOL, 88.0)])
    it = campus.auth("it1")
    read = campus.client.get("/api/devices/hr-77/readings?metric=battery", headers=it)
    assert read.status_code == 200
    assert [(r["school"], r["value"]) for r in read.json()] == [(SCHOOL, 88.0)]
    asked = campus.client.get(
        "/api/devices/hr-77/readings", headers=it, params={"metric": "battery", "school": OTHER}
    )
    assert asked.status_code == 404


def test_a_roster_import_cannot_reach_into_another_school(two: TwoSchools) -> None:
    campus = two.campus
    roster = campus.gateway.roster
    roster.enrol_card("s90", "C-0090")
    header = "student_id,name,sex,birth_date,class_id,card_id\n"

    def import_(rows: str) -> object:
        return campus.client.post(
            "/api/roster/import",
            content=(header + rows).encode(),
            headers={**campus.auth("it1"), "Content-Type": "text/csv"},
        )

    for row, problem in (
        ("s50,New,M,2015-01-01,9a,\n", "row 2, column class_id: unknown class '9a'"),
        ("s90,Renamed,F,2015-02-02,5a,\n", "'s90' is taken (a student of another school)"),
        ("s51,New,M,2015-01-01,5a,C-0090\n", "'C-0090' is enrolled for a student of another"),
    ):
        response = import_(row)
        assert response.status_code == 422, row  # type: ignore[attr-defined]
        assert problem in response.json()["detail"], row  # type: ignore[attr-defined]
    assert roster.student("s90").name == "孙九十"  # type: ignore[union-attr]
    assert roster.student("s90").class_id == "9a"  # type: ignore[union-attr]
    assert roster.student_for_card("C-0090") == "s90"
    assert roster.student("s50") is None and roster.student("s51") is None
    ok = import_("s52,New,M,2015-01-01,5a,C-0052\n")
    assert ok.status_code == 200 and ok.json()["imported"] == 1  # type: ignore[attr-defined]
    # Nor withdraw another school's child's card.
    gone = campus.client.delete("/api/cards/C-0090", headers=campus.auth("it1"))
    assert gone.status_code == 404 and gone.json() == {"detail": "no enrolled card 'C-0090'"}
    assert roster.student_for_card("C-0090") == "s90"
    assert campus.client.delete("/api/cards/C-0052", headers=campus.auth("it1")).status_code == 204


def test_the_delivery_log_shows_only_the_users_schools_notifications(two: TwoSchools) -> None:
    campus = two.campus
    assert campus.gateway.alerts is not None
    log = campus.gateway.alerts.delivery_log
    log.record(
        "n-ours",
        "mqtt",
        "campus/sch1/alert/device_offline",
        1,
        "delivered",
        [two.offline[SCHOOL].id],
    )
    log.record(
        "n-theirs",
        "mqtt",
        "campus/sch2/alert/device_offline",
        1,
        "delivered",
        [two.offline[OTHER].id],
    )
    listed = campus.client.get("/api/alerts/deliveries", headers=campus.auth("it1")).json()
    assert [d["notification_id"] for d in listed] == ["n-ours"]
    asked = campus.client.get(
        "/api/alerts/deliveries", headers=campus.auth("it1"), params={"notification_id": "n-theirs"}
    )
    assert asked.status_code == 200 and asked.json() == []


def test_another_schools_competition_is_unknown_and_a_joint_ones_held_sets_stay_apart(
    two: TwoSchools,
) -> None:
    campus = two.campus
    competitions = campus.gateway.competitions
    theirs = one_school_cup("their-cup", OTHER, AT)
    competitions.define(theirs, "it9")
    joint = one_school_cup("joint-cup", SCHOOL, AT).model_copy(update={"schools": [SCHOOL, OTHER]})
    competitions.define(joint, "it0")
    sun = Participant("s90", OTHER, "9a", "5", "F")
    their_held = store_set(competitions, theirs, sun, "rope-9", 150, AT, [Hold.UNBOUND])
    store_set(competitions, joint, sun, "rope-9", 190, AT)
    joint_held = store_set(competitions, joint, sun, "rope-99", 120, AT, [Hold.OVER_CEILING])
    ours = Participant("s1", SCHOOL, "5a", "5", "M")
    our_held = store_set(competitions, joint, ours, "rope-1", 160, AT, [Hold.NO_LIVE_PROGRESS])

    for user in ("t1", "h1", "it1"):
        listed = campus.client.get("/api/competitions", headers=campus.auth(user)).json()
        assert [c["id"] for c in listed] == ["joint-cup"]
        for view in ("leaderboard", "export", "held", "stream"):
            url = f"/api/competitions/their-cup/{view}"
            answer = campus.client.get(url, headers=campus.auth(user))
            assert answer.status_code == (404 if user == "t1" or view != "held" else 403), url
    # A competition naming another school is not campus IT's of this school to define.
    defined = campus.client.post(
        "/api/competitions",
        json=theirs.model_copy(update={"id": "new-cup"}).model_dump(mode="json"),
        headers=campus.auth("it1"),
    )
    assert defined.status_code == 404 and defined.json() == {"detail": f"no school {OTHER!r}"}

    # The joint board shows the other school's entrant by initials only.
    board = campus.client.get("/api/competitions/joint-cup/leaderboard", headers=campus.auth("h1"))
    assert board.status_code == 200 and "S.J.S." in board.text
    assert "s90" not in board.text and "孙九十" not in board.text and "rope-9" not in board.text
    # Held sets: each school's PE teachers see and review their own school's only.
    held = campus.client.get("/api/competitions/joint-cup/held", headers=campus.auth("t1")).json()
    assert [h["id"] for h in held] == [our_held]
    for result in (their_held, joint_held):
        review = campus.client.post(
            f"/api/competitions/results/{result}/review",
            json={"decision": "approve"},
            headers=campus.auth("t1"),
        )
        assert review.status_code == 404
        assert review.json() == {"detail": f"no competition result {result}"}
    held = campus.client.get("/api/competitions/joint-cup/held", headers=campus.auth("t9")).json()
    assert [h["id"] for h in held] == [joint_held]
    review = campus.client.post(
        f"/api/competitions/results/{joint_held}/review",
        json={"decision": "reject"},
        headers=campus.auth("t9"),
    )
    assert review.status_code == 200 and review.json()["status"] == "rejected"


# Every API route and how it keeps to the user's schools: the test above that shows another
# school's ids answered as unknown ones, or why the route holds no school's data. A new route
# fails here until it says which.
def test_a_district_user_reads_its_own_districts_schools_alone(two: TwoSchools) -> None:
    campus = two.campus
    gw = campus.gateway
    gw.districts.add("D1", "District One")
    gw.districts.set_schools("D1", [SCHOOL])
    gw.districts.add("D2", "District Two")
    gw.districts.set_schools("D2", [OTHER])
    campus.tokens["d1"] = gw.users.create("d1", "District One", Role.DISTRICT, district="D1")
    for view in ("warning-levels", "fitness", "alerts/summary"):
        url = f"/api/district/{view}"
        whole = campus.client.get(url, headers=campus.auth("d1"))
        assert whole.status_code == 200, whole.text
        _no_trace_of_the_other_school(two, whole.json())
        assert "s1" not in whole.text and "王小明" not in whole.text
        theirs = campus.client.get(url, params={"school": OTHER}, headers=campus.auth("d1"))
        assert theirs.status_code == 404
        # Staff of a school of the district read no district view.
        assert campus.client.get(url, headers=campus.auth("h1")).status_code == 403
    # Nor does a district user read a school's rows, not even of its own district.
    refused = campus.client.get("/api/alerts", params={"school": SCHOOL}, headers=campus.auth("d1"))
    assert refused.status_code == 403


NO_SCHOOL_DATA = "no school's data"
ROUTES = {
    "POST /api/fleet/commands": "test_campus_it_command_only_their_schools_boxes",
    "GET /api/fleet/commands": "test_campus_it_command_only_their_schools_boxes",
    "POST /api/fleet/rollouts": "test_campus_it_command_only_their_schools_boxes",
    "GET /api/fleet/models": NO_SCHOOL_DATA,  # the gateway's signed model files, no school's
    "GET /api/fleet/models/{sha256}/file": NO_SCHOOL_DATA,  # a model file, to a box's token
    "GET /api/users": "test_campus_it_manage_only_users_of_their_schools_up_to_their_role",
    "POST /api/users": "test_campus_it_manage_only_users_of_their_schools_up_to_their_role",
    "POST /api/users/{user_id}/rotate": (
        "test_campus_it_manage_only_users_of_their_schools_up_to_their_role"
    ),
    "PATCH /api/users/{user_id}": (
        "test_campus_it_manage_only_users_of_their_schools_up_to_their_role"
    ),
    "DELETE /api/users/{user_id}": (
        "test_campus_it_manage_only_users_of_their_schools_up_to_their_role"
    ),
    "GET /api/enrolment": "test_campus_it_enrol_and_revoke_only_in_their_schools",
    "POST /api/enrolment": "test_campus_it_enrol_and_revoke_only_in_their_schools",
    "POST /api/enrolment/{school}/{device_id}/rotate": (
        "test_campus_it_enrol_and_revoke_only_in_their_schools"
    ),
    "DELETE /api/enrolment/{school}/{device_id}": (
        "test_campus_it_enrol_and_revoke_only_in_their_schools"
    ),
    "GET /api/me": NO_SCHOOL_DATA,  # the user's own account
    "GET /api/locale": NO_SCHOOL_DATA,  # the reader's language and the school's time zone
    "GET /api/me/lessons": "test_another_schools_lesson_is_404_in_the_live_view",
    "GET /api/audit": NO_SCHOOL_DATA,  # the auditor's, whole (docs/security.md)
    "GET /api/devices": "test_another_schools_devices_are_not_listed_or_found",
    "GET /api/free-devices": (
        "test_free_devices_are_the_teachers_schools_bands_and_ropes_no_lesson_holds"
    ),
    "GET /api/devices/{device_id}": "test_another_schools_devices_are_not_listed_or_found",
    "GET /api/devices/{device_id}/readings": "test_another_schools_device_readings_are_not_read",
    "POST /api/classes": "test_campus_it_cannot_touch_another_schools_roster",
    "GET /api/classes": "test_another_schools_classes_and_students_are_404",
    "GET /api/classes/{class_id}/students": "test_another_schools_classes_and_students_are_404",
    "PATCH /api/classes/{class_id}": "test_campus_it_cannot_touch_another_schools_roster",
    "POST /api/roster/import": "test_a_roster_import_cannot_reach_into_another_school",
    "GET /api/students/{student_id}/cards": "test_campus_it_cannot_touch_another_schools_roster",
    "POST /api/students/{student_id}/cards": "test_campus_it_cannot_touch_another_schools_roster",
    "DELETE /api/cards/{card_id}": "test_a_roster_import_cannot_reach_into_another_school",
    "POST /api/lessons": "test_teachers_cannot_open_or_end_lessons_of_another_school",
    "POST /api/lessons/{lesson_id}/rope-test": (
        "test_a_rope_test_or_results_file_only_by_the_lessons_teachers_of_its_school"
    ),
    "POST /api/lessons/{lesson_id}/end": (
        "test_teachers_cannot_open_or_end_lessons_of_another_school"
    ),
    "GET /api/lessons/{lesson_id}/live": "test_another_schools_lesson_is_404_in_the_live_view",
    "GET /api/lessons/{lesson_id}/heart-rate": (
        "test_another_schools_lesson_is_404_in_the_live_view"
    ),
    **{
        f"GET /api/lessons/{{lesson_id}}/{report}": (
            "test_another_schools_lesson_is_404_in_the_live_view"
        )
        for report in LESSON_REPORTS
    },
    "POST /api/fitness/sessions/{lesson_id}/results": (
        "test_another_schools_lesson_is_404_in_the_live_view"
    ),
    "POST /api/fitness/sessions/{lesson_id}/results/file": (
        "test_a_rope_test_or_results_file_only_by_the_lessons_teachers_of_its_school"
    ),
    "GET /api/fitness/sessions/{lesson_id}/results": (
        "test_another_schools_lesson_is_404_in_the_live_view"
    ),
    "GET /api/fitness/classes/{class_id}/distribution": (
        "test_another_schools_classes_and_students_are_404"
    ),
    "GET /api/fitness/classes/{class_id}/export": (
        "test_another_schools_classes_and_students_are_404"
    ),
    "GET /api/fitness/students/{student_id}/results": (
        "test_another_schools_classes_and_students_are_404"
    ),
    **{
        route: "test_another_schools_classes_and_students_are_404"
        for route in (
            "GET /api/fitness/students/{student_id}/growth",
            "GET /api/fitness/students/{student_id}/growth/report",
            "GET /api/fitness/classes/{class_id}/growth/export",
            "POST /api/fitness/national",
            "POST /api/fitness/national/problems",
        )
    },
    "GET /api/alerts/silences": "test_silences_of_another_school_are_not_listed_set_or_ended",
    "POST /api/alerts/silences": "test_silences_of_another_school_are_not_listed_set_or_ended",
    "DELETE /api/alerts/silences/{silence_id}": (
        "test_silences_of_another_school_are_not_listed_set_or_ended"
    ),
    "GET /api/alerts/referrals": (
        "test_referrals_of_another_school_are_not_listed_and_cannot_be_changed"
    ),
    "POST /api/alerts/referrals/{referral_id}/status": (
        "test_referrals_of_another_school_are_not_listed_and_cannot_be_changed"
    ),
    "POST /api/alerts/absences": (
        "test_another_schools_warning_level_and_absences_are_not_the_users"
    ),
    "GET /api/alerts/warning-levels": (
        "test_another_schools_warning_level_and_absences_are_not_the_users"
    ),
    "GET /api/alerts/deliveries": (
        "test_the_delivery_log_shows_only_the_users_schools_notifications"
    ),
    "GET /api/alerts/stream": "test_the_alert_stream_tells_nobody_of_another_schools_alerts",
    # No person's token is let in; a push token is its one device's, of its one school.
    "POST /api/ingest/{school}/{device}": "test_a_push_token_posts_only_for_its_own_device",
    "GET /api/alerts": "test_alerts_of_another_school_are_not_listed_and_their_ids_are_404",
    "GET /api/alerts/{alert_id}": (
        "test_alerts_of_another_school_are_not_listed_and_their_ids_are_404"
    ),
    "POST /api/alerts/{alert_id}/acknowledge": (
        "test_alerts_of_another_school_are_not_listed_and_their_ids_are_404"
    ),
    "POST /api/alerts/{alert_id}/resolve": (
        "test_alerts_of_another_school_are_not_listed_and_their_ids_are_404"
    ),
    "POST /api/alerts/{alert_id}/recheck": (
        "test_alerts_of_another_school_are_not_listed_and_their_ids_are_404"
    ),
    # A district user's own district's schools (tests/gateway/district/test_views.py).
    **{
        f"GET /api/district/{view}": "test_a_district_user_reads_its_own_districts_schools_alone"
        for view in ("warning-levels", "fitness", "alerts/summary")
    },
    **{
        route: "test_another_schools_competition_is_unknown_and_a_joint_ones_held_sets_stay_apart"
        for route in (
            "POST /api/competitions",
            "GET /api/competitions",
            "GET /api/competitions/{competition_id}/leaderboard",
            "GET /api/competitions/{competition_id}/export",
            "GET /api/competitions/{competition_id}/stream",
            "GET /api/competitions/{competition_id}/held",
            "POST /api/competitions/results/{result_id}/review",
        )
    },
}


def test_every_api_route_says_how_it_keeps_to_the_users_schools(campus: Campus) -> None:
    schema = campus.client.app.openapi()  # type: ignore[attr-defined]
    routes = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    assert routes == set(ROUTES)
    for route, proof in ROUTES.items():
        assert proof == NO_SCHOOL_DATA or callable(globals().get(proof)), route


def test_campus_it_manage_only_users_of_their_schools_up_to_their_role(two: TwoSchools) -> None:
    campus = two.campus
    gw = campus.gateway
    it = campus.auth("it1")
    campus.tokens["both"] = gw.users.create(
        "both", "Two schools", Role.PE_TEACHER, schools=[SCHOOL, OTHER]
    )
    listed = campus.client.get("/api/users", headers=it).json()
    # Not the other school's staff, nor one who also serves it, nor the auditor, nor a user of
    # no school: only staff all of whose schools campus IT hold.
    assert [u["id"] for u in listed] == ["h1", "it1", "t1", "t2"]
    _no_trace_of_the_other_school(two, listed)
    for body, status, detail in (
        ({"id": "x1", "role": "pe_teacher", "schools": [OTHER]}, 404, f"no school {OTHER!r}"),
        (
            {"id": "x1", "role": "pe_teacher", "schools": [SCHOOL, OTHER]},
            404,
            f"no school {OTHER!r}",
        ),
        (
            {"id": "x1", "role": "auditor", "schools": [SCHOOL]},
            403,
            "role: campus_it may not give the role auditor",
        ),
    ):
        made = campus.client.post("/api/users", headers=it, json=body)
        assert (made.status_code, made.json()) == (status, {"detail": detail}), body
    assert gw.users.get("x1") is None
    for user_id in ("t9", "h2", "both", "au1", "h0"):
        for method, url, body in (
            ("POST", f"/api/users/{user_id}/rotate", None),
            ("PATCH", f"/api/users/{user_id}", {"schools": [SCHOOL]}),
            ("DELETE", f"/api/users/{user_id}", None),
        ):
            response = campus.client.request(method, url, headers=it, json=body)
            assert response.status_code == 404, (method, url)
            assert response.json() == {"detail": f"no user {user_id!r}"}
        still = gw.users.authenticate(campus.tokens[user_id])
        assert still is not None and still.role is not Role.CAMPUS_IT
    # Nor a school campus IT do not hold, nor a role above theirs, to their own staff.
    moved = campus.client.patch("/api/users/t1", headers=it, json={"schools": [OTHER]})
    assert moved.status_code == 404
    raised = campus.client.patch("/api/users/t1", headers=it, json={"role": "auditor"})
    assert raised.status_code == 403
    t1 = gw.users.get("t1")
    assert t1 is not None and (t1.role, t1.schools) == (Role.PE_TEACHER, {SCHOOL})
    assert gw.audit.entries(user_id="it1") == []


def test_campus_it_enrol_and_revoke_only_in_their_schools(two: TwoSchools) -> None:
    campus = two.campus
    fleet = campus.gateway.fleet
    it = campus.auth("it1")
    fleet.enrol_box(OTHER, "box-90", ["hr-90"])
    fleet.enrol_box(SCHOOL, "box-10", ["hr-10"])
    before = fleet.get("box/sch2/box-90").password_hash
    listed = campus.client.get("/api/enrolment", headers=it).json()
    assert [(b["school"], b["box"], b["devices"]) for b in listed["boxes"]] == [
        (SCHOOL, "box-10", ["hr-10"])
    ]
    _no_trace_of_the_other_school(two, listed)
    asked = campus.client.get("/api/enrolment", headers=it, params={"school": OTHER})
    assert asked.status_code == 404
    for body in (
        {"school": OTHER, "device_id": "box-91", "kind": "edge"},
        {"school": OTHER, "device_id": "hr-91", "kind": "hr_band", "box": "box-90"},
    ):
        refused = campus.client.post("/api/enrolment", headers=it, json=body)
        assert refused.status_code == 404 and refused.json() == {"detail": f"no school {OTHER!r}"}
    # The other school's box is no box of this school.
    behind = campus.client.post(
        "/api/enrolment",
        headers=it,
        json={"school": SCHOOL, "device_id": "hr-91", "kind": "hr_band", "box": "box-90"},
    )
    assert behind.status_code == 422 and behind.json()["detail"].startswith(
        f"box: no enrolled edge box 'box-90' in school {SCHOOL!r}"
    )
    for device in ("box-90", "hr-90"):
        gone = campus.client.delete(f"/api/enrolment/{OTHER}/{device}", headers=it)
        assert gone.status_code == 404 and gone.json() == {"detail": f"no school {OTHER!r}"}
    rotated = campus.client.post(f"/api/enrolment/{OTHER}/box-90/rotate", headers=it)
    assert rotated.status_code == 404 and rotated.json() == {"detail": f"no school {OTHER!r}"}
    # Nor under this school's name.
    rotated = campus.client.post(f"/api/enrolment/{SCHOOL}/box-90/rotate", headers=it)
    assert rotated.status_code == 404
    assert "password" not in rotated.text
    assert fleet.get("box/sch2/box-90").devices == ("hr-90",)
    assert fleet.get("box/sch2/box-90").password_hash == before
    assert [i.username for i in fleet.active()] == ["box/sch1/box-10", "box/sch2/box-90"]


def test_a_push_token_posts_only_for_its_own_device(two: TwoSchools) -> None:
    campus = two.campus
    token = campus.gateway.push_tokens.mint(OTHER, "tg-90", "vendor_gate_cloud")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    body = {"record": {"id": "90", "time": at.isoformat(), "temp_x10": 366}}
    headers = {"Authorization": f"Bearer {token}"}
    # The same device id under this school is another device: refused, nothing stored there.
    here = campus.client.post(f"/api/ingest/{SCHOOL}/tg-90", json=body, headers=headers)
    assert here.status_code == 403 and OTHER not in here.text
    theirs = campus.client.post(f"/api/ingest/{OTHER}/tg-90", json=body, headers=headers)
    assert theirs.status_code == 200, theirs.text
    assert [e.school for e in campus.gateway.store.events(device_id="tg-90")] == [OTHER]


def test_campus_it_command_only_their_schools_boxes(two: TwoSchools, tmp_path: Path) -> None:
    campus = two.campus
    gw = campus.gateway
    it = campus.auth("it1")
    gw.fleet.enrol_box(OTHER, "box-90", ["hr-90"])
    gw.fleet.enrol_box(SCHOOL, "box-10", ["hr-10"])
    model = tmp_path / "m.onnx"
    model.write_bytes(b"a model")
    sha = gw.models.add(model, base64.b64encode(bytes(64)).decode()).sha256
    body = {"school": OTHER, "box": "box-90", "name": "rope", "body": {"action": "end"}}
    refused = campus.client.post("/api/fleet/commands", headers=it, json=body)
    assert refused.status_code == 404 and refused.json() == {"detail": f"no school {OTHER!r}"}
    # Their own school's name with the other school's box: no such box here either.
    mixed = campus.client.post("/api/fleet/commands", headers=it, json={**body, "school": SCHOOL})
    assert mixed.status_code == 404 and "box-90" in mixed.json()["detail"]
    listed = campus.client.get("/api/fleet/commands", headers=it, params={"school": OTHER})
    assert listed.status_code == 404
    rollout = {"school": OTHER, "sha256": sha, "percent": 100}
    assert campus.client.post("/api/fleet/rollouts", headers=it, json=rollout).status_code == 404
    assert gw.box_commands.list(OTHER) == []
    # Their own school's rollout reaches their box alone.
    own = campus.client.post("/api/fleet/rollouts", headers=it, json={**rollout, "school": SCHOOL})
    assert own.status_code == 201 and own.json()["included"] == ["box-10"]
