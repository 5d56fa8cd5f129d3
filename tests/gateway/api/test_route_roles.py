"""Every API route x every role: who may call it, and that another school's ids are unknown.

`ACCESS` is the whole rule in one table (route -> the roles it lets through); `CALLS` says how
each route is called with one school's ids. Each (route, role) is called three ways:

- with the user's own school's ids: the roles in `ACCESS` get the route's answer (2xx, or
  the 404/409 stated), every other role 403;
- with the other school's ids, and with ids that exist nowhere: the two answers are the
  same, status and body, but for the id itself (404 for the roles let through, 403 for the
  others): another school's id tells nobody anything, not even that it exists.

A route missing from either table fails, as does a role missing from `USERS`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response

from gateway.api.deps import RoleCheck
from gateway.auth import Role
from tests.gateway.api.conftest import SCHOOL
from tests.gateway.api.two_schools import (
    AT,
    OTHER_SECRETS,
    PROBE_SHA256,
    UNKNOWN,
    TwoSchools,
    World,
    two_schools,
)
from tests.gateway.competition.conftest import one_school_cup

IT, PE, HEALTH, AUDITOR = Role.CAMPUS_IT, Role.PE_TEACHER, Role.HEALTH_STAFF, Role.AUDITOR
DISTRICT = Role.DISTRICT
STAFF = frozenset({IT, PE, HEALTH})
ALL = frozenset(Role)
TEACHING = frozenset({PE, HEALTH})  # lessons, fitness results: student data, with names

# One user of each role, all of SCHOOL; t1 is the PE teacher of class 5a and opened its lesson.
# d1 is a district user of a district whose one school is SCHOOL (OTHER is another district's).
USERS = {IT: "it1", PE: "t1", HEALTH: "h1", AUDITOR: "au1", DISTRICT: "d1"}

# Who may call each route. Students are minors: their names, heart rates, temperatures,
# fitness and vision results go only to health staff and their own PE teacher; campus IT runs
# the fleet and the roster (ids, no names), the auditor reads the audit log alone, and a
# district user its district's aggregates alone: no route of a school answers it.
ACCESS: dict[str, frozenset[Role]] = {
    "GET /api/locale": ALL,  # no token needed either: a language and a time zone
    "GET /api/me": ALL,
    "GET /api/me/lessons": ALL,  # empty for campus IT and auditors
    "GET /api/audit": frozenset({AUDITOR}),
    "GET /api/devices": frozenset({IT}),
    "GET /api/devices/{device_id}": frozenset({IT}),
    "GET /api/devices/{device_id}/readings": frozenset({IT}),  # device metrics only
    # Campus IT run their schools' staff accounts and the fleet's enrolment.
    "GET /api/users": frozenset({IT}),
    "POST /api/users": frozenset({IT}),
    "POST /api/users/{user_id}/rotate": frozenset({IT}),
    "PATCH /api/users/{user_id}": frozenset({IT}),
    "DELETE /api/users/{user_id}": frozenset({IT}),
    "GET /api/enrolment": frozenset({IT}),
    "POST /api/enrolment": frozenset({IT}),
    "POST /api/enrolment/{school}/{device_id}/rotate": frozenset({IT}),
    "DELETE /api/enrolment/{school}/{device_id}": frozenset({IT}),
    "POST /api/classes": frozenset({IT}),
    "GET /api/classes": STAFF,
    "GET /api/classes/{class_id}/students": STAFF,  # names for HEALTH and the class's PE
    "PATCH /api/classes/{class_id}": frozenset({IT}),
    "POST /api/roster/import": frozenset({IT}),
    "GET /api/students/{student_id}/cards": frozenset({IT}),
    "POST /api/students/{student_id}/cards": frozenset({IT}),
    "DELETE /api/cards/{card_id}": frozenset({IT}),
    "POST /api/lessons": frozenset({PE}),
    "POST /api/lessons/{lesson_id}/end": frozenset({PE}),
    "POST /api/lessons/{lesson_id}/rope-test": frozenset({PE}),
    "GET /api/free-devices": frozenset({PE}),
    "GET /api/lessons/{lesson_id}/live": TEACHING,
    "GET /api/lessons/{lesson_id}/heart-rate": TEACHING,
    "GET /api/lessons/{lesson_id}/report": TEACHING,
    "GET /api/lessons/{lesson_id}/report.pdf": TEACHING,
    "GET /api/lessons/{lesson_id}/report/curve.png": TEACHING,
    "GET /api/lessons/{lesson_id}/report/zones.png": TEACHING,
    "POST /api/fitness/sessions/{lesson_id}/results": frozenset({PE}),
    "POST /api/fitness/sessions/{lesson_id}/results/file": frozenset({PE}),
    "GET /api/fitness/sessions/{lesson_id}/results": TEACHING,
    "GET /api/fitness/classes/{class_id}/distribution": TEACHING,
    "GET /api/fitness/classes/{class_id}/export": TEACHING,
    "GET /api/fitness/students/{student_id}/results": TEACHING,
    "GET /api/fitness/students/{student_id}/growth": TEACHING,  # health data: HEALTH only
    "GET /api/fitness/students/{student_id}/growth/report": TEACHING,
    "GET /api/fitness/classes/{class_id}/growth/export": TEACHING,
    # The national upload file (names, measurements, vision): as the class export.
    "POST /api/fitness/national": TEACHING,
    "POST /api/fitness/national/problems": TEACHING,
    "GET /api/alerts": STAFF,  # health alerts only to their recipients
    "GET /api/alerts/{alert_id}": STAFF,  # a device alert here: every staff role reads it
    # A device alert here, handled by campus IT; a health alert by health staff (and a
    # heart-rate one by the lesson's PE teacher): tests/gateway/alerts.
    "POST /api/alerts/{alert_id}/acknowledge": frozenset({IT}),
    "POST /api/alerts/{alert_id}/resolve": frozenset({IT}),
    "POST /api/alerts/{alert_id}/recheck": frozenset({HEALTH}),
    "GET /api/alerts/stream": STAFF,
    "GET /api/alerts/silences": STAFF,
    "POST /api/alerts/silences": frozenset({IT, HEALTH}),
    "DELETE /api/alerts/silences/{silence_id}": frozenset({IT, HEALTH}),
    "GET /api/alerts/referrals": frozenset({HEALTH}),
    "POST /api/alerts/referrals/{referral_id}/status": frozenset({HEALTH}),
    "POST /api/alerts/absences": frozenset({HEALTH}),
    "GET /api/alerts/warning-levels": frozenset({HEALTH}),
    "GET /api/alerts/deliveries": frozenset({IT}),
    # The district's competition: defined by campus IT of every school in it (the district
    # role does not define them yet); its board and export are public-safe (no ids,
    # initials), so every staff role of a school taking part reads them; held sets go to PE
    # teachers of their school.
    "POST /api/competitions": frozenset({IT}),
    "GET /api/competitions": STAFF,
    "GET /api/competitions/{competition_id}/leaderboard": STAFF,
    "GET /api/competitions/{competition_id}/export": STAFF,
    "GET /api/competitions/{competition_id}/stream": STAFF,
    "GET /api/competitions/{competition_id}/held": frozenset({PE}),
    "POST /api/competitions/results/{result_id}/review": frozenset({PE}),
    # A district's aggregates (no student's id or name) to its district users alone.
    "GET /api/district/warning-levels": frozenset({DISTRICT}),
    "GET /api/district/fitness": frozenset({DISTRICT}),
    "GET /api/district/alerts/summary": frozenset({DISTRICT}),
    # Devices only, with their own push token: a person's token of any role is refused (403).
    # The device tokens' own tests: tests/gateway/push; the fuzz posts with one.
    "POST /api/ingest/{school}/{device}": frozenset(),
    # Remote management of the boxes: campus IT. A model file goes to boxes alone, with their
    # command's download token; a person's token is refused (tests/gateway/api/
    # test_box_command_routes.py downloads one).
    "POST /api/fleet/commands": frozenset({IT}),
    "GET /api/fleet/commands": frozenset({IT}),
    "GET /api/fleet/models": frozenset({IT}),
    "POST /api/fleet/rollouts": frozenset({IT}),
    "GET /api/fleet/models/{sha256}/file": frozenset(),
}


@dataclass(frozen=True)
class Call:
    """One request, and what the roles let through get for the user's own school's ids."""

    method: str
    url: str
    ok: int = 200
    # What every role let through gets for another school's id, as for an id of none.
    unknown: int = 404
    # The id that differs between schools (None: the route names none; then its answers
    # must hold no trace of the other school instead).
    subject: str | int | None = None
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    csv: str | None = None
    stream: bool = False  # an SSE stream: ended by the test once it has answered


LESSON_VIEWS = (
    "live",
    "heart-rate",
    "report",
    "report.pdf",
    "report/curve.png",
    "report/zones.png",
)


def _csv(w: World) -> str:
    return f"student_id,name,sex,birth_date,class_id\ns1,王小明,M,2015-03-01,{w.class_id}\n"


# How each route is called with the ids of world *w*. Writes with the user's own ids are
# ones that can be made once per role without changing what the other rows read.
CALLS: dict[str, Callable[[World], Call]] = {
    "GET /api/locale": lambda w: Call("GET", "/api/locale"),
    "GET /api/me": lambda w: Call("GET", "/api/me"),
    "GET /api/me/lessons": lambda w: Call("GET", "/api/me/lessons"),
    "GET /api/audit": lambda w: Call("GET", "/api/audit", params={"student": w.student}),
    "GET /api/devices": lambda w: Call(
        "GET", "/api/devices", subject=w.school, params={"school": w.school}
    ),
    "GET /api/devices/{device_id}": lambda w: Call(
        "GET", f"/api/devices/{w.device}", subject=w.device
    ),
    "GET /api/devices/{device_id}/readings": lambda w: Call(
        "GET",
        f"/api/devices/{w.device}/readings",
        unknown=200,  # no readings stored, as for a device never heard
        subject=w.device,
        params={"metric": "battery"},
    ),
    "GET /api/users": lambda w: Call("GET", "/api/users"),
    # Made once (only campus IT get past the role check): a new id of the school.
    "POST /api/users": lambda w: Call(
        "POST",
        "/api/users",
        ok=201,
        subject=w.school,
        json={"id": "new.user", "role": "pe_teacher", "schools": [w.school]},
    ),
    "POST /api/users/{user_id}/rotate": lambda w: Call(
        "POST", f"/api/users/{w.user}/rotate", subject=w.user
    ),
    "PATCH /api/users/{user_id}": lambda w: Call(
        "PATCH", f"/api/users/{w.user}", subject=w.user, json={"schools": [w.school]}
    ),
    "DELETE /api/users/{user_id}": lambda w: Call(
        "DELETE", f"/api/users/{w.gone_user}", ok=204, subject=w.gone_user
    ),
    "GET /api/enrolment": lambda w: Call(
        "GET", "/api/enrolment", subject=w.school, params={"school": w.school}
    ),
    "POST /api/enrolment": lambda w: Call(
        "POST",
        "/api/enrolment",
        ok=201,
        subject=w.school,
        json={"school": w.school, "device_id": "new-box", "kind": "edge"},
    ),
    "POST /api/enrolment/{school}/{device_id}/rotate": lambda w: Call(
        "POST", f"/api/enrolment/{w.school}/{w.box}/rotate", subject=w.school
    ),
    "DELETE /api/enrolment/{school}/{device_id}": lambda w: Call(
        "DELETE", f"/api/enrolment/{w.school}/{w.box}", subject=w.school
    ),
    # 409: class 5a exists (a new one would be made once per role).
    "POST /api/classes": lambda w: Call(
        "POST",
        "/api/classes",
        ok=409,
        subject=w.school,
        json={"id": "5a", "school": w.school, "name": "Class 5A", "grade": "5"},
    ),
    "GET /api/classes": lambda w: Call("GET", "/api/classes"),
    "GET /api/classes/{class_id}/students": lambda w: Call(
        "GET", f"/api/classes/{w.class_id}/students", subject=w.class_id
    ),
    "PATCH /api/classes/{class_id}": lambda w: Call(
        "PATCH", f"/api/classes/{w.class_id}", subject=w.class_id, json={"grade": "5"}
    ),
    "POST /api/roster/import": lambda w: Call(
        "POST", "/api/roster/import", unknown=422, subject=w.class_id, csv=_csv(w)
    ),
    "GET /api/students/{student_id}/cards": lambda w: Call(
        "GET", f"/api/students/{w.student}/cards", subject=w.student
    ),
    "POST /api/students/{student_id}/cards": lambda w: Call(
        "POST",
        f"/api/students/{w.student}/cards",
        ok=201,
        subject=w.student,
        json={"card_id": "C-7777"},
    ),
    "DELETE /api/cards/{card_id}": lambda w: Call(
        "DELETE", f"/api/cards/{w.card}", ok=204, subject=w.card
    ),
    "POST /api/lessons": lambda w: Call(
        "POST", "/api/lessons", ok=201, subject=w.class_id, json={"class_id": w.class_id}
    ),
    "POST /api/lessons/{lesson_id}/end": lambda w: Call(
        "POST", f"/api/lessons/{w.lesson}/end", subject=w.lesson
    ),
    # 409: no rope of the lesson is known behind an edge box (or the lesson has ended).
    "POST /api/lessons/{lesson_id}/rope-test": lambda w: Call(
        "POST",
        f"/api/lessons/{w.lesson}/rope-test",
        ok=409,
        subject=w.lesson,
        json={"action": "start"},
    ),
    "GET /api/free-devices": lambda w: Call(
        "GET", "/api/free-devices", subject=w.school, params={"school": w.school}
    ),
    **{
        f"GET /api/lessons/{{lesson_id}}/{view}": (
            lambda w, view=view: Call("GET", f"/api/lessons/{w.lesson}/{view}", subject=w.lesson)
        )
        for view in LESSON_VIEWS
    },
    "POST /api/fitness/sessions/{lesson_id}/results": lambda w: Call(
        "POST",
        f"/api/fitness/sessions/{w.lesson}/results",
        ok=201,
        subject=w.lesson,
        json={"student_id": w.student, "item": "sit_and_reach", "value": 10},
    ),
    "POST /api/fitness/sessions/{lesson_id}/results/file": lambda w: Call(
        "POST",
        f"/api/fitness/sessions/{w.lesson}/results/file",
        subject=w.lesson,
        csv=f"id,sit_and_reach\n{w.student},11\n",
    ),
    "GET /api/fitness/sessions/{lesson_id}/results": lambda w: Call(
        "GET", f"/api/fitness/sessions/{w.lesson}/results", subject=w.lesson
    ),
    "GET /api/fitness/classes/{class_id}/distribution": lambda w: Call(
        "GET", f"/api/fitness/classes/{w.class_id}/distribution", subject=w.class_id
    ),
    "GET /api/fitness/classes/{class_id}/export": lambda w: Call(
        "GET", f"/api/fitness/classes/{w.class_id}/export", subject=w.class_id
    ),
    "GET /api/fitness/students/{student_id}/results": lambda w: Call(
        "GET", f"/api/fitness/students/{w.student}/results", subject=w.student
    ),
    "GET /api/fitness/students/{student_id}/growth": lambda w: Call(
        "GET", f"/api/fitness/students/{w.student}/growth", subject=w.student
    ),
    "GET /api/fitness/students/{student_id}/growth/report": lambda w: Call(
        "GET", f"/api/fitness/students/{w.student}/growth/report", subject=w.student
    ),
    "GET /api/fitness/classes/{class_id}/growth/export": lambda w: Call(
        "GET", f"/api/fitness/classes/{w.class_id}/growth/export", subject=w.class_id
    ),
    **{
        f"POST /api/fitness/national{tail}": (
            lambda w, tail=tail: Call(
                "POST",
                f"/api/fitness/national{tail}",
                subject=w.class_id,
                params={"school": w.school, "year": "2026", "class_id": w.class_id},
                csv=f"学号,学籍号,民族\n{w.student},G110101201503010011,汉族\n",
            )
        )
        for tail in ("", "/problems")
    },
    "GET /api/alerts": lambda w: Call(
        "GET", "/api/alerts", subject=w.school, params={"school": w.school}
    ),
    "GET /api/alerts/{alert_id}": lambda w: Call(
        "GET", f"/api/alerts/{w.device_alert}", subject=w.device_alert
    ),
    "POST /api/alerts/{alert_id}/acknowledge": lambda w: Call(
        "POST", f"/api/alerts/{w.device_alert}/acknowledge", subject=w.device_alert
    ),
    "POST /api/alerts/{alert_id}/resolve": lambda w: Call(
        "POST", f"/api/alerts/{w.device_alert}/resolve", subject=w.device_alert
    ),
    "POST /api/alerts/{alert_id}/recheck": lambda w: Call(
        "POST",
        f"/api/alerts/{w.fever_alert}/recheck",
        subject=w.fever_alert,
        json={"temperature_c": 36.8},
    ),
    "GET /api/alerts/stream": lambda w: Call("GET", "/api/alerts/stream", stream=True),
    "GET /api/alerts/silences": lambda w: Call(
        "GET", "/api/alerts/silences", subject=w.school, params={"school": w.school}
    ),
    "POST /api/alerts/silences": lambda w: Call(
        "POST",
        "/api/alerts/silences",
        ok=201,
        subject=w.school,
        json={
            "school": w.school,
            "starts_at": "2026-11-02T08:00:00+08:00",
            "ends_at": "2026-11-02T09:00:00+08:00",
            "reason": "drill",
        },
    ),
    # Deleted once per role let through: the second finds it gone (404, as for any id).
    "DELETE /api/alerts/silences/{silence_id}": lambda w: Call(
        "DELETE", f"/api/alerts/silences/{w.silence}", ok=204, subject=w.silence
    ),
    "GET /api/alerts/referrals": lambda w: Call(
        "GET", "/api/alerts/referrals", subject=w.school, params={"school": w.school}
    ),
    "POST /api/alerts/referrals/{referral_id}/status": lambda w: Call(
        "POST",
        f"/api/alerts/referrals/{w.referral}/status",
        ok=204,
        subject=w.referral,
        json={"status": "parents_informed"},
    ),
    "POST /api/alerts/absences": lambda w: Call(
        "POST",
        "/api/alerts/absences",
        ok=201,
        unknown=422,  # "not on the roster"
        subject=w.student,
        json={"student_id": w.student, "day": "2026-11-02", "reason": "other"},
    ),
    "GET /api/alerts/warning-levels": lambda w: Call(
        "GET", "/api/alerts/warning-levels", subject=w.school, params={"school": w.school}
    ),
    "GET /api/alerts/deliveries": lambda w: Call("GET", "/api/alerts/deliveries"),
    # 409: the world's competition exists (a new one would be made once per role).
    "POST /api/competitions": lambda w: Call(
        "POST",
        "/api/competitions",
        ok=409,
        subject=w.school,
        json=one_school_cup(w.competition, w.school, AT).model_dump(mode="json"),
    ),
    "GET /api/competitions": lambda w: Call("GET", "/api/competitions"),
    **{
        f"GET /api/competitions/{{competition_id}}/{view}": (
            lambda w, view=view: Call(
                "GET", f"/api/competitions/{w.competition}/{view}", subject=w.competition
            )
        )
        for view in ("leaderboard", "export", "held")
    },
    "GET /api/competitions/{competition_id}/stream": lambda w: Call(
        "GET", f"/api/competitions/{w.competition}/stream", subject=w.competition, stream=True
    ),
    "POST /api/competitions/results/{result_id}/review": lambda w: Call(
        "POST",
        f"/api/competitions/results/{w.held_result}/review",
        subject=w.held_result,
        json={"decision": "approve"},
    ),
    **{
        f"GET /api/district/{view}": (
            lambda w, view=view: Call(
                "GET", f"/api/district/{view}", subject=w.school, params={"school": w.school}
            )
        )
        for view in ("warning-levels", "fitness", "alerts/summary")
    },
    "POST /api/ingest/{school}/{device}": lambda w: Call(
        "POST",
        f"/api/ingest/{w.school}/{w.push_device}",
        subject=w.school,
        json={"record": {"id": "1", "time": "2026-11-02T08:00:00+08:00", "temp_x10": 365}},
    ),
    "POST /api/fleet/commands": lambda w: Call(
        "POST",
        "/api/fleet/commands",
        ok=201,
        subject=w.school,
        json={
            "school": w.school,
            "box": f"fleet-{w.class_id}",
            "name": "rope",
            "body": {"action": "end"},
        },
    ),
    "GET /api/fleet/commands": lambda w: Call(
        "GET", "/api/fleet/commands", subject=w.school, params={"school": w.school}
    ),
    "GET /api/fleet/models": lambda w: Call("GET", "/api/fleet/models"),
    "POST /api/fleet/rollouts": lambda w: Call(
        "POST",
        "/api/fleet/rollouts",
        ok=201,
        subject=w.school,
        json={"school": w.school, "sha256": PROBE_SHA256, "percent": 100},
    ),
    "GET /api/fleet/models/{sha256}/file": lambda w: Call(
        "GET", f"/api/fleet/models/{PROBE_SHA256}/file", params={"token": "t" * 32}
    ),
}


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoSchools]:
    with two_schools(tmp_path_factory.mktemp("roles")) as made:
        yield made


def _send(two: TwoSchools, call: Call, role: Role) -> Response:
    client: TestClient = two.campus.client
    headers = two.campus.auth(USERS[role])
    content = None
    if call.csv is not None:
        content = call.csv.encode()
        headers = {**headers, "Content-Type": "text/csv"}
    done = threading.Event()
    if call.stream:
        gateway = two.campus.gateway
        assert gateway.alerts is not None
        competitions = call.url.startswith("/api/competitions/")
        hub = gateway.competitions.hub if competitions else gateway.alerts.hub
        threading.Thread(target=_end_streams, args=(hub, done), daemon=True).start()
    try:
        return client.request(
            call.method,
            call.url,
            params=call.params,
            json=call.json,
            content=content,
            headers=headers,
        )
    finally:
        done.set()


def _end_streams(hub: Any, done: threading.Event) -> None:
    """A stream that opened answers 200 with its first line; the hub then ends it."""
    while hub.subscribers == 0 and not done.wait(0.005):
        pass
    hub.close()


CASES = [(route, role) for route in ACCESS for role in Role]


@pytest.mark.parametrize(("route", "role"), CASES, ids=[f"{r}-{role}" for r, role in CASES])
def test_each_role_is_let_through_or_refused_and_another_schools_ids_are_unknown(
    two: TwoSchools, route: str, role: Role
) -> None:
    allowed = role in ACCESS[route]
    own = CALLS[route](two.own)
    response = _send(two, own, role)
    if not allowed:
        assert response.status_code == 403, (response.status_code, response.text)
    elif own.ok == 204 and route.startswith("DELETE /api/alerts/silences"):
        assert response.status_code in (204, 404), response.text  # see CALLS
    else:
        assert response.status_code == own.ok, response.text
    if own.stream and allowed:
        assert response.text.startswith(": subscribed")
    if own.subject is None:
        # Nothing to name another school by: what this school's users see holds none of it.
        assert not any(secret in response.text for secret in OTHER_SECRETS), response.text
        return
    theirs = _send(two, CALLS[route](two.other), role)
    unknown = _send(two, CALLS[route](UNKNOWN), role)
    assert theirs.status_code == unknown.status_code, theirs.text
    if allowed:
        assert theirs.status_code == own.unknown, theirs.text
    else:
        # Refused by role (403), or by the route's own rule after the id was not found.
        assert theirs.status_code in (403, 404), theirs.text
    other_id, no_id = CALLS[route](two.other).subject, CALLS[route](UNKNOWN).subject
    assert _without(theirs, other_id) == _without(unknown, no_id)
    assert not any(s in theirs.text for s in OTHER_SECRETS if s != other_id), theirs.text


def _without(response: Response, subject: str | int | None) -> object:
    """The answer with the id asked for taken out: what is left must not depend on whose."""
    body = json.loads(response.text) if response.text else None
    return json.loads(json.dumps(body, ensure_ascii=False).replace(str(subject), "<id>"))


def _api_routes(app: Any) -> dict[str, APIRoute]:
    return {
        f"{method} {route.path}": route
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods
    }


def test_the_tables_name_every_api_route_and_every_role(two: TwoSchools) -> None:
    schema = two.campus.client.app.openapi()  # type: ignore[attr-defined]
    documented = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    assert documented == set(ACCESS) == set(CALLS)
    assert set(USERS) == set(Role)
    for role, user_id in USERS.items():
        user = two.campus.gateway.users.get(user_id)
        assert user is not None and user.role is role
        if role is DISTRICT:  # of no school itself: it reads its district's
            assert not user.schools and user.district_schools == {SCHOOL}
        else:
            assert user.schools == {SCHOOL}


def _declared_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles a route's `RoleCheck` dependency lets through (None: it has none)."""
    found: list[frozenset[Role]] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, RoleCheck):
            found.append(dep.call.roles)
        pending.extend(dep.dependencies)
    return frozenset.intersection(*found) if found else None


def test_the_table_keeps_within_each_routes_declared_role_check(two: TwoSchools) -> None:
    # Where a route declares its roles (deps.require), the table may narrow them (a check in
    # the route itself, e.g. PE teachers set no silences) but never widen them.
    for name, route in _api_routes(two.campus.client.app).items():
        declared = _declared_roles(route)
        if declared is not None:
            assert ACCESS[name] <= declared, (name, declared)
        else:
            # Only these check the role themselves, or let every signed-in user in.
            assert name in {
                "GET /api/locale",
                "GET /api/me",
                "GET /api/me/lessons",
                "GET /api/alerts/stream",
                "GET /api/competitions/{competition_id}/stream",
                "POST /api/ingest/{school}/{device}",  # a device's push token, no role
                "GET /api/fleet/models/{sha256}/file",  # a box's download token, no role
            }, name
