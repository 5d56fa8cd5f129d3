"""District users read their schools' aggregates: no student's id or name, small counts hidden,
another district's schools unknown, every read audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.alerts.model import Candidate, Rule, Severity
from gateway.api.app import create_app
from gateway.auth import Role
from gateway.fitness.results import NewResult, ResultError
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings

AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
DAY = date(2026, 11, 2)
LEVELS = """owner: District One health authority
version: "1"
per_class: {yellow: 2, orange: 3, red: 4}
per_school: {yellow: 2, orange: 6, red: 9}
"""
# Six grade-5 students of sch1 (shown), two grade-3 ones (too few: hidden).
GRADE5 = [f"stu-50{i}" for i in range(6)]
GRADE3 = ["stu-301", "stu-302"]
NAMES = {sid: f"学生{sid[-3:]}号" for sid in [*GRADE5, *GRADE3]}


@dataclass
class District:
    client: TestClient
    gateway: Gateway
    tokens: dict[str, str]

    def get(self, url: str, user: str, **params: str) -> Any:
        answer = self.client.get(
            url, params=params, headers={"Authorization": f"Bearer {self.tokens[user]}"}
        )
        assert not any(s in answer.text for s in [*NAMES, *NAMES.values()]), answer.text
        return answer


def _fever(gw: Gateway, school: str, student: str, class_id: str, confirmed: bool) -> None:
    assert gw.alerts is not None
    gw.alerts.engine.lifecycle.raise_(
        Candidate(
            rule=Rule.FEVER,
            key=f"fever-{student}",
            school=school,
            severity=Severity.WARNING,
            at=AT,
            summary="fever",
            student_id=student,
            class_id=class_id,
            detail={"recheck_c": 38.1} if confirmed else {},
        )
    )


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    tmp = tmp_path_factory.mktemp("district")
    (tmp / "alerts" / "districts").mkdir(parents=True)
    (tmp / "alerts" / "districts" / "D1.warning_levels.yaml").write_text(LEVELS)
    gw = Gateway(
        GatewaySettings(
            store_url=f"sqlite:///{tmp / 'readings.db'}",
            state_db=str(tmp / "state.db"),
            commit_log=tmp / "commits.db",
            ca_dir=tmp / "ca",
            alerts_dir=tmp / "alerts",
        ),
        MqttSettings(),
    )
    gw.districts.add("D1", "District One")
    gw.districts.set_schools("D1", ["sch1", "sch3"])
    gw.districts.add("D2", "District Two")
    gw.districts.set_schools("D2", ["sch2"])
    tokens = {
        "d1": gw.users.create("d1", "D1 PE office", Role.DISTRICT, district="D1"),
        "d2": gw.users.create("d2", "D2 health authority", Role.DISTRICT, district="D2"),
    }
    gw.roster.add_class("5a", "sch1", "Class 5A", "5", "t1")
    gw.roster.add_class("3a", "sch1", "Class 3A", "3", "t1")
    for i, sid in enumerate([*GRADE5, *GRADE3]):
        cls = "5a" if sid in GRADE5 else "3a"
        gw.roster.add_student(
            sid, NAMES[sid], "MF"[i % 2], date(2015 if cls == "5a" else 2017, 3, 1), cls
        )
    opened = datetime.now(UTC) - timedelta(minutes=40)
    for cls, ids in (("5a", GRADE5), ("3a", GRADE3)):
        lesson = gw.roster.start_lesson(cls, "t1", LessonKind.FITNESS_TEST, {}, at=opened)
        made = gw.fitness_results.record(
            [
                NewResult(lesson.id, sid, "sit_and_reach", 5 + i, opened, "staff", entered_by="t1")
                for i, sid in enumerate(ids)
            ]
        )
        assert not any(isinstance(r, ResultError) for r in made), made
    for sid in GRADE5:
        _fever(gw, "sch1", sid, "5a", confirmed=True)
    for sid in GRADE3:
        _fever(gw, "sch3", sid, "3x", confirmed=True)
    assert gw.alerts is not None
    gw.alerts.engine.lifecycle.raise_(
        Candidate(Rule.DEVICE_OFFLINE, "off-1", "sch3", Severity.WARNING, AT, "offline")
    )
    with TestClient(create_app(gw), headers={"Accept-Language": "en"}) as client:
        yield District(client, gw, tokens)
    gw.alerts.hub.close()
    gw.store.close()
    gw.db.close()


def test_fitness_by_school_and_grade_with_small_grades_hidden(district: District) -> None:
    body = district.get("/api/district/fitness", "d1").json()
    assert body["district"] == "D1" and body["min_cell"] == 5 and "fewer than 5" in body["note"]
    cells = {(g["school"], g["grade"]): g for g in body["grades"]}
    assert set(cells) == {("sch1", "3"), ("sch1", "5")}
    small = cells["sch1", "3"]
    assert small["suppressed"] and small["tested"] is None and small["items"] == []
    five = cells["sch1", "5"]
    assert (five["students"], five["tested"], five["suppressed"]) == (6, 6, False)
    [reach] = [i for i in five["items"] if i["item"] == "sit_and_reach"]
    assert (reach["tested"], reach["mean"], reach["median"]) == (6, 7.5, 7.5)
    shown = [n for n in reach["levels"].values() if n is not None]
    assert all(n >= 5 for n in shown if n) and sum(shown) <= 6
    # Items nobody took are no group at all: hidden, never a zero that reads as "none failed".
    assert all(i["suppressed"] for i in five["items"] if i["item"] != "sit_and_reach")


def test_warning_levels_roll_up_by_the_districts_own_thresholds(district: District) -> None:
    body = district.get("/api/district/warning-levels", "d1", day=DAY.isoformat()).json()
    schools = {s["school"]: s for s in body["schools"]}
    assert (schools["sch1"]["level"], schools["sch1"]["cases"]) == ("orange", 6)
    assert schools["sch1"]["owner"] == "District One health authority"
    # Two cases: a level (yellow, by D1's file), but the count behind it is too small to show.
    assert (schools["sch3"]["level"], schools["sch3"]["cases"]) == ("yellow", None)
    assert body["level"] == "orange"
    assert body["schools_by_level"] == {"green": 0, "yellow": 1, "orange": 1, "red": 0}


def test_open_alerts_are_counted_and_small_health_counts_hidden(district: District) -> None:
    body = district.get("/api/district/alerts/summary", "d1").json()
    counts = {(c["school"], c["rule"]): c["open"] for c in body["counts"]}
    assert counts == {("sch1", "fever"): 6, ("sch3", "fever"): None, ("sch3", "device_offline"): 1}


def test_another_districts_school_is_unknown_and_reads_are_audited(district: District) -> None:
    for view in ("fitness", "warning-levels", "alerts/summary"):
        theirs = district.get(f"/api/district/{view}", "d2", school="sch1")
        none = district.get(f"/api/district/{view}", "d2", school="sch404")
        assert theirs.status_code == none.status_code == 404
        assert theirs.json()["detail"].replace("sch1", "x") == none.json()["detail"].replace(
            "sch404", "x"
        )
        own = district.get(f"/api/district/{view}", "d2").json()
        assert "sch1" not in str(own) and "sch3" not in str(own)
    entries = district.gateway.audit.entries()
    reads = {(e.user_id, e.action, e.subject_id) for e in entries if e.subject_type == "district"}
    assert ("d1", "read_district_fitness", "D1") in reads
    assert ("d2", "read_district_alerts", "D2") in reads
