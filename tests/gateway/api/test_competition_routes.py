"""The competition API: define, leaderboard (public-safe), held results' review, export."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from campusedge.topics import DeviceKind
from gateway.api.app import create_app
from gateway.auth import Role
from gateway.roster import LessonKind
from gateway.store.base import StoredMessage
from tests.gateway.api.conftest import Campus, build_campus, populate, reading, rope_result
from tests.gateway.competition.conftest import SAMPLE

START = datetime.fromisoformat("2026-11-02T09:10:00+08:00")
FINISH = START + timedelta(seconds=60)


def progress(rope: str, at: datetime) -> StoredMessage:
    return reading(rope, 1, at, "rope_count", 80.0, "count", kind=DeviceKind.JUMP_ROPE)


def cup(**changes: object) -> str:
    data = yaml.safe_load(SAMPLE.read_text("utf-8"))
    data.update(schools=["sch1"], **changes)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.fixture
def campus(tmp_path: Path) -> Iterator[Campus]:
    """SQLite only: the consumer's tests and the OpenAPI fuzz run cover PostgreSQL."""
    gateway = build_campus(tmp_path)
    tokens = populate(gateway)
    tokens["t9"] = gateway.users.create("t9", "Teacher Nine", Role.PE_TEACHER, schools=["sch2"])
    with TestClient(create_app(gateway), headers={"Accept-Language": "en"}) as client:
        yield Campus(gateway, client, tokens)
    gateway.store.close()
    gateway.db.close()


def define(campus: Campus, body: str, user: str = "it1") -> object:
    return campus.client.post(
        "/api/competitions",
        content=body.encode(),
        headers={**campus.auth(user), "Content-Type": "application/yaml"},
    )


def test_campus_it_defines_a_competition_of_its_schools_and_a_wrong_one_names_the_field(
    campus: Campus,
) -> None:
    wrong = cup(rounds=[{"id": "r1", "event": "relay", "opens_at": "x", "closes_at": "y"}])
    answer = define(campus, wrong)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    detail = answer.json()["detail"]  # type: ignore[attr-defined]
    assert "rounds[0].opens_at" in detail and "rounds[0].closes_at" in detail, detail
    # A school the user does not belong to is answered as an unknown one.
    full = yaml.safe_load(cup())
    full["schools"] = ["sch1", "sch2"]
    assert define(campus, yaml.safe_dump(full)).status_code == 404  # type: ignore[attr-defined]
    assert define(campus, cup(), user="t1").status_code == 403  # type: ignore[attr-defined]
    made = define(campus, cup())
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    assert define(campus, cup()).status_code == 409  # type: ignore[attr-defined]
    listed = campus.get("/api/competitions", "t1").json()  # type: ignore[attr-defined]
    assert [c["id"] for c in listed] == ["autumn-cup-2026"]
    assert campus.get("/api/competitions", "t9").json() == []  # type: ignore[attr-defined]


def test_ropes_sets_rank_publicly_by_initials_and_a_teacher_approves_a_held_one(
    campus: Campus,
) -> None:
    assert define(campus, cup()).status_code == 201  # type: ignore[attr-defined]
    named = cup(id="named-cup", show_full_names=True)
    assert define(campus, named).status_code == 201  # type: ignore[attr-defined]
    gw = campus.gateway
    gw.roster.add_student("s4", "Anna Li", "F", date(2015, 7, 7), "5b")
    before = START - timedelta(hours=1)
    gw.roster.start_lesson(
        "5a", "t1", LessonKind.LESSON, {"rope-1": "s1", "rope-2": "s2", "rope-3": "s3"}, at=before
    )
    gw.roster.start_lesson("5b", "t2", LessonKind.LESSON, {"rope-4": "s4"}, at=before)
    running = START + timedelta(seconds=30)
    campus.feed(*(progress(r, running) for r in ("rope-1", "rope-3")))
    campus.feed(
        *(progress(r, running) for r in ("rope-4",)),
        rope_result("rope-1", 2, FINISH, 181),
        rope_result("rope-2", 2, FINISH, 190),  # no running count: held
        rope_result("rope-3", 2, FINISH, 150),
        rope_result("rope-4", 2, FINISH, 170),
    )
    board = campus.get("/api/competitions/autumn-cup-2026/leaderboard", "h1")
    assert board.status_code == 200, board.text  # type: ignore[attr-defined]
    [event] = [e for e in board.json()["events"] if e["event"] == "rope_1min"]  # type: ignore[attr-defined]
    boys = next(g for g in event["individuals"] if (g["grade"], g["sex"]) == ("5", "M"))
    assert [(r["rank"], r["name"], r["class_name"], r["count"]) for r in boys["ranking"]] == [
        (1, "W.X.M.", "Class 5A", 181),
        (2, "Z.S.", "Class 5A", 150),
    ]
    # No student ids, no names, no ropes on a public board.
    for secret in ("王小明", "张三", "s1", "s3", "rope-1"):
        assert secret not in board.text, secret  # type: ignore[attr-defined]
    assert [(c["class_name"], c["score"]) for c in event["classes"]] == [
        ("Class 5A", round((181 + 150) / 3, 2)),
        ("Class 5B", round(170 / 3, 2)),
    ]
    assert [(s["school"], s["participants"]) for s in event["schools"]] == [("sch1", 3)]
    full = campus.get("/api/competitions/named-cup/leaderboard", "t1").json()  # type: ignore[attr-defined]
    assert "王小明" in str(full) and "Anna Li" in str(full)

    # The held set, to PE teachers of its school only.
    assert campus.get("/api/competitions/autumn-cup-2026/held", "h1").status_code == 403  # type: ignore[attr-defined]
    assert campus.get("/api/competitions/autumn-cup-2026/held", "t9").status_code == 404  # type: ignore[attr-defined]
    [held] = campus.get("/api/competitions/autumn-cup-2026/held", "t1").json()  # type: ignore[attr-defined]
    assert (held["student_id"], held["count"], held["reasons"]) == ("s2", 190, ["no_live_progress"])
    review = f"/api/competitions/results/{held['id']}/review"
    as_t9 = campus.client.post(review, json={"decision": "approve"}, headers=campus.auth("t9"))
    assert as_t9.status_code == 404
    approved = campus.client.post(review, json={"decision": "approve"}, headers=campus.auth("t1"))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = campus.client.post(review, json={"decision": "reject"}, headers=campus.auth("t1"))
    assert again.status_code == 409, again.text
    assert campus.get("/api/competitions/autumn-cup-2026/held", "t1").json() == []  # type: ignore[attr-defined]
    board = campus.get("/api/competitions/autumn-cup-2026/leaderboard", "h1").json()  # type: ignore[attr-defined]
    [event] = [e for e in board["events"] if e["event"] == "rope_1min"]
    girls = next(g for g in event["individuals"] if (g["grade"], g["sex"]) == ("5", "F"))
    assert [(r["rank"], r["name"]) for r in girls["ranking"]] == [(1, "L.X.H."), (2, "A.L.")]

    # The export: the same public projection, in the reader's language.
    exported = campus.client.get(
        "/api/competitions/autumn-cup-2026/export",
        headers={**campus.auth("t1"), "Accept-Language": "zh-CN"},
    )
    assert exported.status_code == 200
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["项目", "榜单", "年级", "性别", "名次"]
    assert [
        "一分钟跳绳",
        "个人",
        "5",
        "M",
        "1",
        "sch1",
        "Class 5A",
        "W.X.M.",
        "181",
        "",
        "",
    ] in table
    assert "王小明" not in exported.text
    xlsx = campus.client.get(
        "/api/competitions/autumn-cup-2026/export",
        params={"format": "xlsx"},
        headers=campus.auth("t1"),
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "event" and rows[-3][:5] == ["一分钟跳绳", "class", None, None, 1]


def test_the_leaderboard_stream_sends_the_board_and_again_after_a_new_set(campus: Campus) -> None:
    assert define(campus, cup()).status_code == 201  # type: ignore[attr-defined]
    gw = campus.gateway
    gw.roster.start_lesson(
        "5a", "t1", LessonKind.LESSON, {"rope-1": "s1"}, at=START - timedelta(hours=1)
    )
    hub = gw.competitions.hub

    def a_set_then_stop() -> None:
        while hub.subscribers == 0:
            time.sleep(0.005)
        campus.feed(
            progress("rope-1", START + timedelta(seconds=30)),
            rope_result("rope-1", 2, FINISH, 177),
        )
        # The stream ends at the hub's close, after the change it was told of before it.
        hub.close()

    feeder = threading.Thread(target=a_set_then_stop)
    feeder.start()
    answer = campus.client.get(
        "/api/competitions/autumn-cup-2026/stream", params={"access_token": campus.tokens["h1"]}
    )
    feeder.join()
    assert answer.status_code == 200 and answer.text.startswith(": subscribed\n\n")
    boards = [
        json.loads(line.removeprefix("data: "))
        for line in answer.text.splitlines()
        if line.startswith("data: ")
    ]
    assert len(boards) >= 2
    [event] = [e for e in boards[-1]["events"] if e["event"] == "rope_1min"]
    assert event["individuals"][0]["ranking"][0]["name"] == "W.X.M."
    assert event["individuals"][0]["ranking"][0]["count"] == 177
    assert "s1" not in answer.text and "王小明" not in answer.text
    # Another school's teacher cannot open it.
    refused = campus.client.get(
        "/api/competitions/autumn-cup-2026/stream", params={"access_token": campus.tokens["t9"]}
    )
    assert refused.status_code == 404


def test_a_public_board_is_read_without_a_token_and_any_other_asks_for_one(
    campus: Campus,
) -> None:
    assert define(campus, cup()).status_code == 201  # type: ignore[attr-defined]
    public = cup(id="gym-screen", public_board=True)
    assert define(campus, public).status_code == 201  # type: ignore[attr-defined]
    client = campus.client
    for competition in ("autumn-cup-2026", "no-such-cup"):
        refused = client.get(f"/api/competitions/{competition}/leaderboard")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get(f"/api/competitions/{competition}/stream").status_code == 401
    board = client.get("/api/competitions/gym-screen/leaderboard")
    assert board.status_code == 200 and board.json()["competition"] == "gym-screen"
    # Staff of another school read a public board too; a token given is still checked.
    assert campus.get("/api/competitions/gym-screen/leaderboard", "t9").status_code == 200  # type: ignore[attr-defined]
    assert campus.get("/api/competitions/autumn-cup-2026/leaderboard", "t9").status_code == 404  # type: ignore[attr-defined]
    assert campus.get("/api/competitions/gym-screen/leaderboard", "au1").status_code == 403  # type: ignore[attr-defined]
    bad = client.get(
        "/api/competitions/gym-screen/leaderboard", headers={"Authorization": "Bearer x"}
    )
    assert bad.status_code == 401
    hub = campus.gateway.competitions.hub

    def stop_when_open() -> None:
        while hub.subscribers == 0:
            time.sleep(0.005)
        hub.close()

    closer = threading.Thread(target=stop_when_open)
    closer.start()
    streamed = client.get("/api/competitions/gym-screen/stream")
    closer.join()
    assert streamed.status_code == 200 and "event: leaderboard" in streamed.text
