"""The alert API through HTTP: role-based visibility, actions, audit log, referrals, levels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.contract import DeviceState
from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.auth import Role
from gateway.ingest import CommittedBatch
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings
from tests.gateway.alerts.scenario import (
    MORNING,
    SCHOOL,
    batch,
    bound,
    gate_pass,
    heart_rate,
    screening,
    status,
)


@dataclass
class Api:
    gateway: Gateway
    client: TestClient
    tokens: dict[str, str]

    def get(self, who: str, url: str, **params: object) -> list | dict:  # type: ignore[type-arg]
        r = self.client.get(url, params=params, headers=self.auth(who))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_gateway(tmp: Path) -> Gateway:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp}/readings.db", state_db=tmp / "state.db", api_port=0
    )
    # The MQTT side is not started: these tests drive the engine with committed batches.
    gw = Gateway(settings, MqttSettings(host="127.0.0.1", port=1))
    roster = gw.roster
    roster.add_class("c1", "sch1", "Grade 7 class 1", "7", pe_teacher_id="teacher1")
    roster.add_class("c2", "sch1", "Grade 7 class 2", "7", pe_teacher_id="teacher2")
    for sid, cls in (("c1s01", "c1"), ("c1s02", "c1"), ("c1s03", "c1"), ("c2s01", "c2")):
        roster.add_student(sid, f"Name {sid}", "F", date(2014, 3, 1), cls, card_id=f"card-{sid}")
    return gw


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    gw = make_gateway(tmp_path)
    tokens = {
        "nurse": gw.users.create("nurse", "Nurse Wang", Role.HEALTH_STAFF, schools=[SCHOOL]),
        "teacher1": gw.users.create("teacher1", "Teacher Li", Role.PE_TEACHER, schools=[SCHOOL]),
        "teacher2": gw.users.create("teacher2", "Teacher Zhao", Role.PE_TEACHER, schools=[SCHOOL]),
        "it": gw.users.create("it", "IT Chen", Role.CAMPUS_IT, schools=[SCHOOL]),
    }
    # The tests read the gateway's messages in English (the deployment's default is Chinese).
    with TestClient(create_app(gw), headers={"Accept-Language": "en"}) as client:
        yield Api(gw, client, tokens)
    assert gw.alerts is not None
    gw.alerts.stop()
    gw.store.close()


def feed(api: Api, committed: CommittedBatch) -> None:
    """What ingest commits (messages bound as it binds them), read by the gateway's consumers:
    the alert consumer's rules, the health consumer's referrals."""
    committed = bound(api.gateway.roster, committed)
    api.gateway.commit_log.append(committed.messages, committed.statuses)
    api.gateway.consumers.catch_up()


def seed(api: Api) -> dict[str, int]:
    """A fever at the gate, a runaway heart rate in teacher1's lesson, a gate going offline."""
    engine = api.gateway.alerts.engine  # type: ignore[union-attr]
    api.gateway.roster.start_lesson(
        "c1", "teacher1", LessonKind.LESSON, {"band-1": "c1s02"}, at=MORNING, lesson_id="pe-1"
    )
    feed(
        api,
        batch(
            gate_pass("card-c1s01", 38.1, MORNING),
            statuses=[status("gate-9", DeviceState.OFFLINE, MORNING)],
        ),
    )
    for t in range(70):
        feed(api, batch(heart_rate("band-1", 195.0, MORNING + timedelta(seconds=t))))
    ids = {a.rule.value: a.id for a in engine.lifecycle.find()}
    assert set(ids) == {"fever", "hr_high", "device_offline"}
    return ids


def names(alerts: list) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {a["rule"]: a["student_name"] for a in alerts}


def test_names_only_for_health_staff_and_the_lessons_teacher(api: Api) -> None:
    seed(api)
    assert names(api.get("nurse", "/api/alerts")) == {
        "fever": "Name c1s01",
        "hr_high": "Name c1s02",
        "device_offline": None,
    }
    # A health alert is listed only for the people it is sent to: the lesson's teacher sees
    # the heart-rate alert of their own lesson (with the name), not the fever at the gate.
    assert names(api.get("teacher1", "/api/alerts")) == {
        "hr_high": "Name c1s02",
        "device_offline": None,
    }
    # Everyone else sees device alerts only: no student ids, pseudonymous or not.
    for other in ("teacher2", "it"):
        listed = api.get(other, "/api/alerts")
        assert [a["rule"] for a in listed] == ["device_offline"]
        assert "c1s0" not in str(listed)


def test_a_health_alert_is_refused_to_those_it_is_not_sent_to(api: Api) -> None:
    ids = seed(api)
    unknown = max(ids.values()) + 100
    nothing = api.client.get(f"/api/alerts/{unknown}", headers=api.auth("it"))
    assert nothing.status_code == 404
    for who, rule in (
        ("it", "fever"),
        ("it", "hr_high"),
        ("teacher2", "hr_high"),
        ("teacher1", "fever"),
    ):
        # Answered exactly like an id that does not exist: neither that the alert is there
        # nor what kind of alert it is.
        for method, path in (("GET", ""), ("POST", "/acknowledge"), ("POST", "/resolve")):
            r = api.client.request(method, f"/api/alerts/{ids[rule]}{path}", headers=api.auth(who))
            assert r.status_code == 404, (who, rule, path)
            assert r.json()["detail"] == f"no alert {ids[rule]}"
            assert rule not in r.text
    assert api.get("teacher1", f"/api/alerts/{ids['hr_high']}")["student_name"] == "Name c1s02"
    assert api.get("it", f"/api/alerts/{ids['device_offline']}")["device_id"] == "gate-9"
    # Asking for a rule one may not see gives nothing rather than someone else's alerts.
    assert api.get("it", "/api/alerts", rule="fever") == []
    # Refused reads are not health data shown: nothing audited for them.
    assert not [e for e in api.gateway.audit.entries() if e.user_id in ("it", "teacher2")]


def test_every_read_of_health_data_is_audited(api: Api) -> None:
    ids = seed(api)
    api.get("teacher1", "/api/alerts")
    api.get("nurse", f"/api/alerts/{ids['fever']}")
    api.get("it", f"/api/alerts/{ids['device_offline']}")
    entries = api.gateway.audit.entries()
    seen = {(e.user_id, e.action, e.subject_type, e.subject_id) for e in entries}
    assert ("teacher1", "list_alert", "student", "c1s02") in seen
    assert ("teacher1", "list_alert", "student", "c1s01") not in seen  # not shown to them
    assert ("nurse", "read_alert", "student", "c1s01") in seen
    # A device alert is not health data.
    assert not [e for e in entries if e.user_id == "it"]


def test_acknowledge_and_resolve_by_the_right_people(api: Api) -> None:
    ids = seed(api)
    c = api.client
    hr = ids["hr_high"]
    r = c.post(f"/api/alerts/{hr}/acknowledge", json={"note": "x"}, headers=api.auth("teacher2"))
    assert r.status_code == 404  # another teacher's lesson: not theirs to know of
    r = c.post(
        f"/api/alerts/{hr}/acknowledge", json={"note": "with him"}, headers=api.auth("teacher1")
    )
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "teacher1"
    r = c.post(f"/api/alerts/{hr}/acknowledge", json={}, headers=api.auth("nurse"))
    assert r.status_code == 409
    r = c.post(
        f"/api/alerts/{hr}/resolve",
        json={"outcome": "rested", "note": "fine"},
        headers=api.auth("nurse"),
    )
    assert r.json()["state"] == "resolved" and r.json()["resolved_by"] == "nurse"
    r = c.post(f"/api/alerts/{ids['fever']}/acknowledge", json={}, headers=api.auth("it"))
    assert r.status_code == 404
    r = c.post(f"/api/alerts/{ids['device_offline']}/resolve", json={}, headers=api.auth("it"))
    assert r.status_code == 200
    detail = api.get("nurse", f"/api/alerts/{hr}")
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [
        ("opened", "system"),
        ("notified", "system"),
        ("acknowledged", "teacher1"),
        ("resolved", "nurse"),
    ]


def test_fever_recheck_over_http(api: Api) -> None:
    ids = seed(api)
    url = f"/api/alerts/{ids['fever']}/recheck"
    r = api.client.post(url, json={"temperature_c": 37.9}, headers=api.auth("teacher1"))
    assert r.status_code == 403
    r = api.client.post(url, json={"temperature_c": 51}, headers=api.auth("nurse"))
    assert r.status_code == 422
    r = api.client.post(
        url, json={"temperature_c": 36.8, "thermometer": "infrared"}, headers=api.auth("nurse")
    )
    assert r.status_code == 422 and "thermometer" in r.text  # a forehead gun is no recheck
    r = api.client.post(
        url,
        json={"temperature_c": 36.8, "method": "axillary", "thermometer": "electronic"},
        headers=api.auth("nurse"),
    )
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["outcome"]) == ("resolved", "cleared")
    detail = api.get("nurse", f"/api/alerts/{ids['fever']}")["detail"]
    assert (detail["recheck_method"], detail["recheck_thermometer"]) == ("axillary", "electronic")
    # A second recheck (a nurse whose list still showed it open): refused in her language, and
    # the first recheck is kept as it was.
    again = api.client.post(
        url,
        json={"temperature_c": 38.4, "method": "oral", "thermometer": "mercury"},
        headers={**api.auth("nurse"), "Accept-Language": "zh-CN"},
    )
    assert again.status_code == 409
    assert again.json()["detail"] == f"告警 {ids['fever']} 已经处理完毕"
    assert api.get("nurse", f"/api/alerts/{ids['fever']}")["detail"] == detail


def test_silences_referrals_absences_levels_and_deliveries(api: Api) -> None:
    c = api.client
    body = {
        "school": "sch1",
        "starts_at": MORNING.isoformat(),
        "ends_at": (MORNING + timedelta(hours=2)).isoformat(),
        "reason": "gate service",
        "device_id": "gate-1",
    }
    assert (
        c.post("/api/alerts/silences", json=body, headers=api.auth("teacher1")).status_code == 403
    )
    r = c.post("/api/alerts/silences", json=body, headers=api.auth("it"))
    assert r.status_code == 201 and r.json()["created_by"] == "it"
    assert [s["id"] for s in api.get("nurse", "/api/alerts/silences")] == [r.json()["id"]]
    bad = {**body, "ends_at": MORNING.isoformat()}
    assert c.post("/api/alerts/silences", json=bad, headers=api.auth("it")).status_code == 422
    # A local time without its offset is ambiguous, and a class is not something to silence.
    naive = {**body, "starts_at": "2026-09-01T13:00:00", "ends_at": "2026-09-01T17:00:00"}
    refused = c.post("/api/alerts/silences", json=naive, headers=api.auth("it"))
    assert refused.status_code == 422 and "timezone" in refused.text
    refused = c.post(
        "/api/alerts/silences", json={**body, "class_id": "c1"}, headers=api.auth("it")
    )
    assert refused.status_code == 422 and "cannot name a class" in refused.text
    assert (
        c.delete(f"/api/alerts/silences/{r.json()['id']}", headers=api.auth("it")).status_code
        == 204
    )

    feed(api, batch(screening("card-c1s03", MORNING, 4.7, 5.0, -1.0, 0.0)))
    assert c.get("/api/alerts/referrals", headers=api.auth("teacher1")).status_code == 403
    [ref] = api.get("nurse", "/api/alerts/referrals")
    assert ref["student_name"] == "Name c1s03" and ref["worst_grade"] == "moderate"
    assert any(
        e.action == "read_referral" and e.subject_id == "c1s03"
        for e in api.gateway.audit.entries(user_id="nurse")
    )
    r = c.post(
        f"/api/alerts/referrals/{ref['id']}/status",
        json={"status": "parents_informed"},
        headers=api.auth("nurse"),
    )
    assert r.status_code == 204

    day = MORNING.date().isoformat()
    for sid in ("c1s01", "c1s02"):
        r = c.post(
            "/api/alerts/absences",
            json={"student_id": sid, "day": day, "reason": "illness", "symptoms": "fever"},
            headers=api.auth("nurse"),
        )
        assert r.status_code == 201
    assert r.json()["classes"][0] == {
        "scope": "c1",
        "fevers": 0,
        "illness_absences": 2,
        "cases": 2,
        "level": "yellow",
        "window_cases": 2,
        "window_days": 3,
        "unconfirmed_screens": 0,
        # The rule behind the level: two cases today reach the class's yellow threshold.
        "set_by": "day",
        "threshold": 2,
    }
    levels = api.get("nurse", "/api/alerts/warning-levels", school="sch1", day=day)
    assert levels["school_level"]["level"] == "green" and "authority" in levels["owner"]
    assert (levels["school_level"]["set_by"], levels["count_unconfirmed_screens"]) == (None, False)
    # A school nobody configured or enrolled is not "green": it is not known here.
    r = c.get(
        "/api/alerts/warning-levels",
        params={"school": "sch-typo", "day": day},
        headers=api.auth("nurse"),
    )
    assert r.status_code == 404 and r.json()["detail"] == "no school 'sch-typo'"  # not hers
    # Hers by a typo when her account was made: the gateway knows nothing of that school.
    api.gateway.users.set_schools("nurse", ["sch1", "sch-typo"])
    r = c.get(
        "/api/alerts/warning-levels",
        params={"school": "sch-typo", "day": day},
        headers=api.auth("nurse"),
    )
    assert r.status_code == 404 and "unknown school 'sch-typo'" in r.json()["detail"]
    r = c.get("/api/alerts/warning-levels", headers=api.auth("nurse"))
    assert r.status_code == 422 and "school" in r.text  # the parameter is required
    r = c.post(
        "/api/alerts/absences",
        json={"student_id": "nobody", "day": day, "reason": "illness"},
        headers=api.auth("nurse"),
    )
    assert r.status_code == 422 and "student_id" in r.json()["detail"]
    assert c.get("/api/alerts/deliveries", headers=api.auth("nurse")).status_code == 403
    assert api.get("it", "/api/alerts/deliveries") == []


def test_warning_levels_of_a_school_known_only_by_its_alert_config(tmp_path: Path) -> None:
    """A school with a config file but no classes yet is known: its level is answered."""
    folder = tmp_path / "alerts"
    folder.mkdir()
    (folder / "sch-new.yaml").write_text("fever:\n  threshold_c: {forehead: 37.5}\n")
    gw = Gateway(
        GatewaySettings(
            store_url=f"sqlite:///{tmp_path}/readings.db",
            state_db=tmp_path / "state.db",
            api_port=0,
            alerts_dir=folder,
        ),
        MqttSettings(host="127.0.0.1", port=1),
    )
    assert gw.alerts is not None
    token = gw.users.create("nurse", "Nurse Wang", Role.HEALTH_STAFF, schools=["sch-new"])
    with TestClient(create_app(gw)) as client:
        r = client.get(
            "/api/alerts/warning-levels",
            params={"school": "sch-new"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200 and r.json()["school_level"]["level"] == "green"
    gw.alerts.stop()
    gw.store.close()


def test_alert_metrics_are_exported(api: Api) -> None:
    seed(api)
    text = api.client.get("/metrics").text
    assert 'campusedge_alerts_opened_total{rule="fever",severity="warning"} 1.0' in text
    assert 'campusedge_alerts_opened_total{rule="hr_high",severity="warning"} 1.0' in text
    assert "campusedge_alert_sse_clients 0.0" in text


def test_a_bare_post_acknowledges_and_refusals_name_the_reason(api: Api) -> None:
    ids = seed(api)
    r = api.client.post(f"/api/alerts/{ids['fever']}/acknowledge", headers=api.auth("nurse"))
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "nurse"
    r = api.client.post(
        f"/api/alerts/{ids['device_offline']}/resolve", headers=api.auth("teacher1")
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "role pe_teacher does not handle device_offline alerts"


def test_acting_on_a_health_alert_is_audited_as_a_read(api: Api) -> None:
    ids = seed(api)
    c = api.client
    # Each answer shows the alert (name and reading) to the person who acted.
    assert (
        c.post(
            f"/api/alerts/{ids['hr_high']}/acknowledge", headers=api.auth("teacher1")
        ).status_code
        == 200
    )
    assert (
        c.post(
            f"/api/alerts/{ids['fever']}/recheck",
            json={"temperature_c": 37.9},
            headers=api.auth("nurse"),
        ).status_code
        == 200
    )
    assert (
        c.post(f"/api/alerts/{ids['fever']}/resolve", headers=api.auth("nurse")).status_code == 200
    )
    assert (
        c.post(f"/api/alerts/{ids['device_offline']}/resolve", headers=api.auth("it")).status_code
        == 200
    )
    seen = [(e.user_id, e.action, e.subject_id) for e in reversed(api.gateway.audit.entries())]
    assert seen == [
        ("teacher1", "acknowledge_alert", "c1s02"),
        ("nurse", "recheck_alert", "c1s01"),
        ("nurse", "resolve_alert", "c1s01"),
    ]


def test_a_silence_naming_a_health_rule_is_refused(api: Api) -> None:
    body = {
        "school": "sch1",
        "starts_at": MORNING.isoformat(),
        "ends_at": (MORNING + timedelta(hours=2)).isoformat(),
        "reason": "quiet",
        "rule": "fever",
    }
    for who in ("it", "nurse"):
        r = api.client.post("/api/alerts/silences", json=body, headers=api.auth(who))
        assert r.status_code == 422 and "fever alerts are never silenced" in r.json()["detail"]
    assert api.get("nurse", "/api/alerts/silences") == []


def test_ending_a_lesson_over_http_resolves_its_lost_bands_in_the_teachers_name(api: Api) -> None:
    from gateway.alerts.model import Candidate, Rule, Severity

    ids = seed(api)
    engine = api.gateway.alerts.engine  # type: ignore[union-attr]
    [lost] = engine.process(
        [
            Candidate(
                rule=Rule.HR_SIGNAL_LOST,
                key="hr_signal_lost:pe-1:c1s02",
                school="sch1",
                severity=Severity.WARNING,
                at=MORNING,
                summary="no heart-rate signal from band band-1",
                student_id="c1s02",
                class_id="c1",
                lesson_id="pe-1",
                teacher_id="teacher1",
                device_id="band-1",
            )
        ]
    )
    r = api.client.post("/api/lessons/pe-1/end", headers=api.auth("teacher1"))
    assert r.status_code == 200, r.text
    shown = api.get("nurse", f"/api/alerts/{lost.id}")
    assert (shown["state"], shown["resolved_by"], shown["outcome"]) == (
        "resolved",
        "teacher1",
        "lesson_ended",
    )
    # The runaway heart rate of the same lesson is still waiting for someone.
    assert api.get("nurse", f"/api/alerts/{ids['hr_high']}")["state"] == "open"


def test_referrals_filter_by_class(api: Api) -> None:
    api.gateway.roster.add_student(
        "c2s02", "Name c2s02", "M", date(2014, 3, 1), "c2", card_id="card-c2s02"
    )
    feed(
        api,
        batch(
            screening("card-c1s03", MORNING, 4.7, 5.0, -1.0, 0.0),
            screening("card-c2s02", MORNING, 4.6, 4.7, -1.5, 0.0),
        ),
    )
    assert {r["student_id"] for r in api.get("nurse", "/api/alerts/referrals")} == {
        "c1s03",
        "c2s02",
    }
    [only] = api.get("nurse", "/api/alerts/referrals", class_id="c2")
    assert only["student_id"] == "c2s02" and only["class_id"] == "c2"
    # The audit names only the students actually shown.
    reads = [
        e.subject_id
        for e in api.gateway.audit.entries(user_id="nurse")
        if e.action == "read_referral"
    ]
    assert reads.count("c2s02") == 2 and reads.count("c1s03") == 1
    r = api.client.get(
        "/api/alerts/referrals", params={"class_id": "c9"}, headers=api.auth("nurse")
    )
    assert r.status_code == 404 and "c9" in r.json()["detail"]
