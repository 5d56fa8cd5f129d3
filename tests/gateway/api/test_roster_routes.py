"""Classes and roster import through the HTTP API: validation, conflicts, all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.api.conftest import SCHOOL, Campus


def post(campus: Campus, url: str, user: str = "it1", **kw: Any) -> Any:
    return campus.client.post(url, headers=campus.auth(user), **kw)


def import_csv(campus: Campus, text: str) -> Any:
    return campus.client.post(
        "/api/roster/import",
        content=text.encode(),
        headers={**campus.auth("it1"), "Content-Type": "text/csv"},
    )


HEADER = "student_id,name,sex,birth_date,class_id,card_id\n"


def test_import_is_all_or_nothing_and_names_every_bad_row(campus: Campus) -> None:
    text = HEADER + (
        "n1,New One,M,2015-02-01,5a,card-n1\n"
        "n2,New Two,F,2015-13-01,5a,\n"
        "n3,New Three,x,2015-03-01,5z,\n"
    )
    r = import_csv(campus, text)
    assert r.status_code == 422
    detail = r.json()["detail"]
    for part in ("row 3, column birth_date", "row 4, column sex", "row 4, column class_id"):
        assert part in detail
    assert "row 2" not in detail
    roster = campus.gateway.roster
    assert roster.student("n1") is None and roster.student_for_card("card-n1") is None


def test_the_dashboards_template_with_chinese_headers_imports(campus: Campus) -> None:
    """The template campus IT download (UTF-8 with a BOM, as Excel opens it right), filled in
    and saved by Excel on Chinese Windows (GBK), imports."""
    template = campus.client.get("/static/roster_template.csv")
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    text = template.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "学号,姓名,性别,出生日期,班级编号,卡号"
    filled = (text + "t1,张三,男,2015-02-01,5a,card-t1\r\n").encode("gbk")
    r = campus.client.post(
        "/api/roster/import",
        content=filled,
        headers={**campus.auth("it1"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 1, "encoding": "gb18030"}
    assert campus.gateway.roster.student("t1").name == "张三"  # type: ignore[union-attr]
    assert campus.gateway.roster.student_for_card("card-t1") is not None


def test_import_accepts_both_sex_spellings(campus: Campus) -> None:
    text = (
        "\ufeff"
        + HEADER
        + (
            "n1,One,male,2015-02-01,5a,card-n1\n"
            "n2,Two,Female,2015-02-01,5a,\n"
            "n3,Three,f,2015-02-01,5b,\n"
            "n4,四,男,2015-02-01,5b,\n"
            "n5,五,女,2015-02-01,5b,\n"
        )
    )
    r = import_csv(campus, text)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 5, "encoding": "utf-8"}
    roster = campus.gateway.roster
    assert [roster.student(s).sex for s in ("n1", "n2", "n3", "n4", "n5")] == [  # type: ignore[union-attr]
        "M",
        "F",
        "F",
        "M",
        "F",
    ]
    assert roster.student_for_card("card-n1") == "n1"


def test_import_rejects_a_student_twice_in_one_file(campus: Campus) -> None:
    r = import_csv(campus, HEADER + "n1,One,M,2015-02-01,5a,\nn1,Again,M,2015-02-01,5a,\n")
    assert r.status_code == 422
    assert "row 3, column student_id: 'n1' is also on row 2" in r.json()["detail"]


def test_a_student_may_have_several_enrolled_ids(campus: Campus) -> None:
    # The same child passes a gate by card one day and by face the next, and is screened by
    # a class-list id: all three name them.
    # (The face id typed in lower case: the gate sends its hex in capitals.)
    r = import_csv(campus, HEADER + "n1,One,M,2015-02-01,5a,C-0000C001;f-0000f001 S-0000A001\n")
    assert r.status_code == 200, r.text
    roster = campus.gateway.roster
    assert [roster.student_for_card(c) for c in ("C-0000C001", "F-0000F001", "S-0000A001")] == [
        "n1"
    ] * 3
    r = campus.client.get("/api/students/n1/cards", headers=campus.auth("it1"))
    assert r.json() == {"student_id": "n1", "card_ids": ["C-0000C001", "F-0000F001", "S-0000A001"]}


def test_an_id_enrolled_twice_or_malformed_is_named(campus: Campus) -> None:
    r = import_csv(
        campus,
        HEADER + ("n1,One,M,2015-02-01,5a,C-0000C001\nn2,Two,F,2015-02-01,5a,C-0000C001;bad/id\n"),
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "row 3, column card_id: 'C-0000C001' is also enrolled on row 2" in detail
    assert "row 3, column card_id: 'bad/id' is not an id a device sends" in detail
    assert campus.gateway.roster.student("n1") is None


def test_campus_it_enrols_and_withdraws_cards(campus: Campus) -> None:
    it = campus.auth("it1")
    r = campus.client.post("/api/students/s1/cards", json={"card_id": "F-0000F0A1"}, headers=it)
    assert r.status_code == 201, r.text
    assert "F-0000F0A1" in r.json()["card_ids"]
    assert campus.gateway.roster.student_for_card("F-0000F0A1") == "s1"
    # A card handed on moves to its new holder.
    r = campus.client.post("/api/students/s3/cards", json={"card_id": "F-0000F0A1"}, headers=it)
    assert r.status_code == 201 and campus.gateway.roster.student_for_card("F-0000F0A1") == "s3"
    assert campus.client.delete("/api/cards/F-0000F0A1", headers=it).status_code == 204
    assert campus.gateway.roster.student_for_card("F-0000F0A1") is None
    assert campus.client.delete("/api/cards/F-0000F0A1", headers=it).status_code == 404
    r = campus.client.post("/api/students/s1/cards", json={"card_id": "a b"}, headers=it)
    assert r.status_code == 422 and "card_id" in r.json()["detail"]
    r = campus.client.post("/api/students/nobody/cards", json={"card_id": "C-1"}, headers=it)
    assert r.status_code == 404
    # Enrolment is campus IT's job.
    for who in ("t1", "h1"):
        r = campus.client.post(
            "/api/students/s1/cards", json={"card_id": "C-2"}, headers=campus.auth(who)
        )
        assert r.status_code == 403


def test_existing_class_is_a_conflict_and_patch_keeps_other_fields(campus: Campus) -> None:
    r = post(
        campus, "/api/classes", json={"id": "5a", "school": SCHOOL, "name": "Renamed", "grade": "5"}
    )
    assert r.status_code == 409 and "PATCH /api/classes/5a" in r.json()["detail"]
    roster = campus.gateway.roster
    assert roster.class_of("5a") == {
        "id": "5a",
        "school": SCHOOL,
        "name": "Class 5A",
        "grade": "5",
        "pe_teacher_id": "t1",
    }
    r = campus.client.patch(
        "/api/classes/5a", json={"name": "Class 5A (blue)"}, headers=campus.auth("it1")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": "5a",
        "school": SCHOOL,
        "name": "Class 5A (blue)",
        "grade": "5",
        "pe_teacher_id": "t1",
    }
    r = campus.client.patch(
        "/api/classes/5a", json={"pe_teacher_id": "t2"}, headers=campus.auth("it1")
    )
    assert r.json()["pe_teacher_id"] == "t2" and r.json()["name"] == "Class 5A (blue)"
    r = campus.client.patch("/api/classes/nope", json={"name": "x"}, headers=campus.auth("it1"))
    assert r.status_code == 404
    r = campus.client.patch("/api/classes/5a", json={"name": "x"}, headers=campus.auth("t1"))
    assert r.status_code == 403


def test_new_class_created(campus: Campus) -> None:
    r = post(
        campus,
        "/api/classes",
        json={
            "id": "u1",
            "school": SCHOOL,
            "name": "Univ 1",
            "grade": "univ_1_2",
            "pe_teacher_id": "t2",
        },
    )
    assert r.status_code == 201, r.text
    assert campus.gateway.roster.class_of("u1") == {
        "id": "u1",
        "school": SCHOOL,
        "name": "Univ 1",
        "grade": "univ_1_2",
        "pe_teacher_id": "t2",
    }


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("grade", "13", "'13' is not one of 1, 2"),
        ("grade", "grade5", "'grade5' is not one of"),
        ("pe_teacher_id", "ghost", "no user 'ghost'"),
        ("pe_teacher_id", "h1", "role health_staff, not pe_teacher"),
    ],
)
def test_class_fields_are_checked(campus: Campus, field: str, value: str, says: str) -> None:
    body = {"id": "6a", "school": SCHOOL, "name": "Class 6A", "grade": "6", field: value}
    r = post(campus, "/api/classes", json=body)
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    assert campus.gateway.roster.class_of("6a") is None
    r = campus.client.patch("/api/classes/5a", json={field: value}, headers=campus.auth("it1"))
    assert r.status_code == 422 and says in r.json()["detail"], r.text


def import_bytes(campus: Campus, data: bytes) -> Any:
    return campus.client.post(
        "/api/roster/import",
        content=data,
        headers={**campus.auth("it1"), "Content-Type": "text/csv"},
    )


def test_import_reads_gbk_as_excel_on_chinese_windows_saves_it(campus: Campus) -> None:
    text = HEADER + "n1,陈小龙,M,2015-02-01,5a,\nn2,刘丽,F,2015-02-01,5b,\n"
    r = import_bytes(campus, text.encode("gbk"))
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 2, "encoding": "gb18030"}
    roster = campus.gateway.roster
    assert [roster.student(s).name for s in ("n1", "n2")] == ["陈小龙", "刘丽"]  # type: ignore[union-attr]


def test_import_of_an_undecodable_file_says_to_save_as_utf8(campus: Campus) -> None:
    # 0xFF is a lead byte in neither UTF-8 nor GB18030.
    r = import_bytes(campus, HEADER.encode() + b"n1,\xff\xfe\xff,M,2015-02-01,5a,\n")
    assert r.status_code == 422, r.text
    assert "UTF-8" in r.json()["detail"] and "CSV UTF-8" in r.json()["detail"]
    assert campus.gateway.roster.student("n1") is None


def test_classes_list_what_each_role_may_see(campus: Campus) -> None:
    def ids(user: str) -> list[str]:
        r = campus.client.get("/api/classes", headers=campus.auth(user))
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    assert ids("t1") == ["5a"] and ids("t2") == ["5b"]
    assert ids("h1") == ["5a", "5b"] and ids("it1") == ["5a", "5b"]
    [five_a] = [
        c
        for c in campus.client.get("/api/classes", headers=campus.auth("it1")).json()
        if c["id"] == "5a"
    ]
    assert five_a == {
        "id": "5a",
        "school": SCHOOL,
        "name": "Class 5A",
        "grade": "5",
        "pe_teacher_id": "t1",
        "students": 3,
    }
    assert campus.client.get("/api/classes").status_code == 401


def students(campus: Campus, user: str, class_id: str = "5a") -> Any:
    r = campus.client.get(f"/api/classes/{class_id}/students", headers=campus.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_class_students_names_only_where_the_role_allows(campus: Campus) -> None:
    named = students(campus, "t1")
    assert [s["id"] for s in named] == ["s1", "s2", "s3"]
    assert named[0] == {
        "id": "s1",
        "class_id": "5a",
        "name": "王小明",
        "sex": "M",
        "birth_date": "2015-03-01",
    }
    assert students(campus, "h1")[1]["name"] == "李小红"
    # Campus IT and a teacher covering the class: pseudonymous ids, enough to assign devices.
    for user in ("it1", "t2"):
        shown = students(campus, user)
        assert [s["id"] for s in shown] == ["s1", "s2", "s3"]
        assert all(
            s["name"] is None and s["sex"] is None and s["birth_date"] is None for s in shown
        )
    r = campus.client.get("/api/classes/nope/students", headers=campus.auth("h1"))
    assert r.status_code == 404


def test_class_student_reads_with_names_are_audited(campus: Campus) -> None:
    students(campus, "t1")
    students(campus, "it1")
    entries = campus.gateway.audit.entries()
    assert sorted((e.user_id, e.action, e.subject_id, e.detail) for e in entries) == [
        ("t1", "read_class_roster", sid, "class=5a") for sid in ("s1", "s2", "s3")
    ]


@pytest.mark.parametrize(
    "body",
    [
        # A bare carriage return (an old Mac export) once tripped the csv module: now a line end.
        (HEADER + "n1,One,M,2015-02-01,5a,\rn2,Two,F,2015-02-01,5a,\r").encode(),
        # One field beyond the csv module's limit: a 422 naming the line, not a 500.
        (HEADER + "n1," + "x" * 200_000 + ",M,2015-02-01,5a,\n").encode(),
    ],
)
def test_awkward_csv_is_imported_or_refused_never_a_500(campus: Campus, body: bytes) -> None:
    r = import_bytes(campus, body)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["imported"] == 2
    else:
        assert "not readable as CSV after line 1" in r.json()["detail"]


def test_ids_enrolled_in_lower_case_before_are_put_in_capitals(campus: Campus) -> None:
    from sqlalchemy import insert

    from gateway.roster import Roster
    from gateway.tables.roster import cards
    from tests.gateway.state_helpers import reopened_from

    with campus.gateway.roster.db.transaction() as conn:
        conn.execute(insert(cards).values(card_id="C-00a1b2c3", student_id="s1"))
    # The next start of a gateway that was at revision 2, before ids were put in capitals.
    roster = Roster(reopened_from(campus.gateway.roster.db, "0002"))
    assert roster.student_for_card("C-00A1B2C3") == "s1"
    assert "C-00A1B2C3" in roster.cards_of("s1")
    r = campus.client.delete("/api/cards/c-00a1b2c3", headers=campus.auth("it1"))
    assert r.status_code == 204 and roster.cards_of("s1") == []
