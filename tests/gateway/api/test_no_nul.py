"""A NUL character anywhere in a request is a 422 before any route runs, and nothing is stored.

On PostgreSQL each of these was a 500: its text cannot hold a NUL.
"""

from __future__ import annotations

import io
import json

from tests.gateway.api.conftest import SCHOOL, Campus

NEW_CLASS = {"id": "6a", "school": SCHOOL, "name": "Class 6A", "grade": "6"}


def _refused(response: object, where: str) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert (
        detail
        == f"the request's {where} holds a NUL character (U+0000), which no field may contain"
    )


def test_a_nul_in_a_path_query_or_body_is_refused_and_nothing_is_stored(campus: Campus) -> None:
    it = campus.auth("it1")
    for url in ("/api/classes/5a%00/students", "/api/devices/hr%001", "/api/cards/C-00%0001"):
        _refused(campus.client.get(url, headers=it), "path")
    _refused(campus.client.get("/api/devices", params={"school": "sch\x001"}, headers=it), "query")
    _refused(campus.client.get("/api/audit?student=s%001", headers=campus.auth("au1")), "query")
    for field in ("id", "name"):
        body = {**NEW_CLASS, field: "6\x00a"}
        _refused(campus.client.post("/api/classes", json=body, headers=it), "body")
    _refused(campus.client.patch("/api/classes/5a", json={"name": "A\x00"}, headers=it), "body")
    csv = "student_id,name,sex,birth_date,class_id\ns7,王\x00七,M,2015-03-01,5a\n"
    imported = campus.client.post(
        "/api/roster/import",
        content=csv.encode(),
        headers={**it, "Content-Type": "text/csv"},
    )
    _refused(imported, "body")
    roster = campus.gateway.roster
    assert roster.class_of("6a") is None and roster.student("s7") is None
    assert roster.class_of("5a")["name"] == "Class 5A"  # type: ignore[index]


def test_an_escaped_backslash_before_u0000_is_text_and_passes(campus: Campus) -> None:
    name = "Class \\u0000"  # a backslash, then "u0000": odd but harmless text
    raw = json.dumps({**NEW_CLASS, "name": name})
    assert "\\\\u0000" in raw
    created = campus.client.post(
        "/api/classes",
        content=raw.encode(),
        headers={**campus.auth("it1"), "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert campus.gateway.roster.class_of("6a")["name"] == name  # type: ignore[index]


def test_a_workbook_is_binary_and_reaches_its_route(campus: Campus) -> None:
    # An XLSX results file is a zip, full of NUL bytes; its cells (XML) cannot hold one.
    from openpyxl import Workbook

    book = Workbook()
    data = io.BytesIO()
    book.save(data)
    assert b"\x00" in data.getvalue()
    r = campus.client.post(
        "/api/fitness/sessions/l404/results/file",
        content=data.getvalue(),
        headers={**campus.auth("t1"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 404 and "l404" in r.json()["detail"], r.text
