"""The deployment's language (CAMPUSEDGE_LANGUAGE) against a reader's Accept-Language, and the
count of messages shown in English for want of a translation, at /metrics."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from tests.gateway.api.conftest import Campus, build_campus, populate


@pytest.fixture
def english_campus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Campus]:
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")
    gateway = build_campus(tmp_path)
    tokens = populate(gateway)
    with TestClient(create_app(gateway)) as client:
        yield Campus(gateway, client, tokens)
    gateway.store.close()
    gateway.db.close()


def export_header(campus: Campus, **headers: str) -> list[str]:
    r = campus.client.get(
        "/api/fitness/classes/5a/export?format=csv", headers={**campus.auth("t1"), **headers}
    )
    assert r.status_code == 200, r.text
    return next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_an_english_deployment_exports_english_unless_the_reader_asks(
    english_campus: Campus,
) -> None:
    assert english_campus.gateway.catalogs.default == "en"
    assert export_header(english_campus)[:3] == ["student_id", "name", "sex"]
    asked = export_header(english_campus, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert asked[:3] == ["学号", "姓名", "性别"] and asked[-1] == "等级"


def test_messages_shown_in_english_are_counted_at_metrics(english_campus: Campus) -> None:
    catalogs = english_campus.gateway.catalogs
    assert catalogs.translator("zh_CN").gettext("Suspected fever") == "疑似发热"
    assert (
        "campusedge_translations_missing_total{" not in english_campus.client.get("/metrics").text
    )
    # An id no catalog has (a message added to the code without `make messages`).
    shown = catalogs.translator("zh_CN").gettext("A message added without its translation")
    assert shown == "A message added without its translation"
    metrics = english_campus.client.get("/metrics").text
    assert 'campusedge_translations_missing_total{language="zh_CN"} 1.0' in metrics
    assert 'campusedge_translations_missing_total{language="en"} 1.0' in metrics


@pytest.fixture
def chinese_campus(tmp_path: Path) -> Iterator[Campus]:
    """A deployment left at its default language (zh-CN), read without the API tests' English."""
    gateway = build_campus(tmp_path)
    tokens = populate(gateway)
    with TestClient(create_app(gateway)) as client:
        yield Campus(gateway, client, tokens)
    gateway.store.close()
    gateway.db.close()


def test_refusals_are_in_the_readers_language(chinese_campus: Campus) -> None:
    client = chinese_campus.client
    unknown = {"Authorization": "Bearer not-a-token"}
    r = client.get("/api/me", headers=unknown)
    assert r.status_code == 401 and r.json() == {"detail": "令牌无效或已被吊销"}
    assert r.headers["content-language"] == "zh-CN"
    # The machine's part is the same in every language.
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    r = client.get("/api/me", headers={**unknown, "Accept-Language": "en-GB,en;q=0.9"})
    assert r.status_code == 401 and r.json() == {"detail": "unknown or revoked token"}
    assert r.headers["content-language"] == "en"
    # A refusal that names what was asked for, in either language.
    path = "/api/fitness/students/s90/results"
    r = client.get(path, headers=chinese_campus.auth("t1"))
    assert r.status_code == 404 and r.json() == {"detail": "没有学生 's90'"}
    r = client.get(path, headers={**chinese_campus.auth("t1"), "Accept-Language": "en"})
    assert r.json() == {"detail": "no student 's90'"}


def test_the_dashboard_is_told_its_language_and_clock(
    chinese_campus: Campus, english_campus: Campus
) -> None:
    def locale(campus: Campus, **headers: str) -> dict[str, object]:
        r = campus.client.get("/api/locale", headers=headers)
        assert r.status_code == 200 and r.headers["vary"] == "Accept-Language"
        body: dict[str, object] = r.json()
        return body

    assert locale(chinese_campus) == {
        "language": "zh-CN",
        "default_language": "zh-CN",
        "languages": ["zh-CN", "en"],
        "time_zone": "Asia/Shanghai",
    }
    assert locale(chinese_campus, **{"Accept-Language": "en-US,en;q=0.9"})["language"] == "en"
    # A language without a catalog, or Traditional script: the deployment's.
    assert locale(chinese_campus, **{"Accept-Language": "fr-FR"})["language"] == "zh-CN"
    assert locale(english_campus, **{"Accept-Language": "zh-TW"})["language"] == "en"
    assert locale(english_campus, **{"Accept-Language": "zh-Hans-CN"})["language"] == "zh-CN"


def test_a_lower_layers_refusal_is_worded_for_the_reader(chinese_campus: Campus) -> None:
    """What the alert lifecycle refuses (here a silence ending before it starts) comes back in
    the reader's language, with the same status in both."""
    silence = {
        "school": "sch1",
        "starts_at": "2026-12-04T10:00:00+08:00",
        "ends_at": "2026-12-04T09:00:00+08:00",
        "reason": "bands replaced",
    }
    for language, said in (
        ("zh-CN", "告警静默的结束时间必须晚于开始时间"),
        ("en", "after it starts"),
    ):
        r = chinese_campus.client.post(
            "/api/alerts/silences",
            json=silence,
            headers={**chinese_campus.auth("it1"), "Accept-Language": language},
        )
        assert r.status_code == 422 and said in r.json()["detail"], r.text


def test_a_roster_file_refused_says_why_in_the_readers_language(chinese_campus: Campus) -> None:
    bad = b"student_id,name\n\x81\x20\xff\xfe,x\n"  # neither UTF-8 nor GB18030
    headers = {**chinese_campus.auth("it1"), "Content-Type": "text/csv"}
    r = chinese_campus.client.post("/api/roster/import", content=bad, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("花名册 CSV 既不是 UTF-8 也不是 GBK/GB18030 编码")
    r = chinese_campus.client.post(
        "/api/roster/import", content=bad, headers={**headers, "Accept-Language": "en"}
    )
    assert r.json()["detail"].startswith("roster CSV is neither UTF-8 nor GBK/GB18030")
    # Each bad cell of a readable file too, named by row and column.
    text = "学号,姓名,性别,出生日期,班级编号\nn9,九,x,2015-13-01,5a\n"
    r = chinese_campus.client.post("/api/roster/import", content=text.encode(), headers=headers)
    assert r.status_code == 422
    assert "第 2 行，sex 列：性别应填 男/女" in r.json()["detail"]
    assert "第 2 行，birth_date 列：'2015-13-01' 不是有效日期" in r.json()["detail"]
    # A reason given by a lower layer inside the refusal is worded alike (card_id: …).
    r = chinese_campus.client.post(
        "/api/students/s1/cards", json={"card_id": "not a card"}, headers=chinese_campus.auth("it1")
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("card_id：card_id 'not a card'")
