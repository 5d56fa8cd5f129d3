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
