"""The national upload file over HTTP: a class's workbook read back, its problems, who may."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from gateway.fitness.national_template import load_template
from gateway.fitness.results import NewResult, ResultError
from gateway.fitness.school_year import school_year_of
from gateway.health.vision import Screening
from gateway.roster import LessonKind
from tests.gateway.api.conftest import SCHOOL, Campus, now

# s1 (boy, grade 5) takes every item of his grade; s2 (girl) only her height and weight.
S1 = {
    "height_cm": "141.26",
    "weight_kg": "33.04",
    "vital_capacity": "1800",
    "run_50m": "9.04",
    "sit_and_reach": "9.4",
    "rope_skip_1min": "120",
    "sit_up_1min": "35",
    "shuttle_50x8": "105.4",
}
REGISTRY = (
    "学号,学籍号,民族\ns1,G110101201503010011,汉族\ns2,G110101201201010022,回族\n"
    "s3,G110101201505050033,火星族\n"
)


def test_a_class_file_read_back_with_its_problems_and_who_may_have_it(campus: Campus) -> None:
    gw = campus.gateway
    year = school_year_of(now())
    at = max(datetime(year, 9, 15, 2, tzinfo=UTC), now() - timedelta(hours=2))
    lesson = gw.roster.start_lesson("5a", "t1", LessonKind.FITNESS_TEST, {}, at=at)
    new = [
        NewResult(
            lesson.id, "s1", item, value, at + timedelta(minutes=5), "staff", None, None, "t1"
        )
        for item, value in S1.items()
    ]
    new += [
        NewResult(lesson.id, "s2", item, v, at + timedelta(minutes=5), "staff", None, None, "t1")
        for item, v in (("height_cm", "150"), ("weight_kg", "40"))
    ]
    assert not any(isinstance(o, ResultError) for o in gw.fitness_results.record(new))
    assert gw.referrals is not None
    gw.referrals.record(
        SCHOOL,
        "s1",
        "5a",
        at,
        "vs-1",
        7,
        Screening({"left": 4.84, "right": 5.0}, {"left": -0.5, "right": 0.0}),
        [],
    )
    query = {"school": SCHOOL, "year": str(year), "class_id": "5a"}
    zh = {**campus.auth("t1"), "Accept-Language": "zh-CN", "Content-Type": "text/csv"}
    reply = campus.client.post(
        "/api/fitness/national", params=query, content=REGISTRY.encode(), headers=zh
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-students-written"] == "1"
    assert reply.headers["x-students-left-out"] == "2"  # s2 short of items, s3 of everything
    assert f'filename="national-{SCHOOL}-{year}-5a.xlsx"' in reply.headers["content-disposition"]

    book = load_workbook(io.BytesIO(reply.content))
    upload, problems = book.worksheets
    template = load_template()
    header = [c.value for c in upload[1]]
    assert header == [c.header for c in template.columns]
    rows = [[c.value for c in r] for r in upload.iter_rows(min_row=2)]
    assert len(rows) == 1
    cell = dict(zip(header, rows[0], strict=True))
    assert (cell["年级编号"], cell["班级编号"], cell["班级名称"]) == ("15", "5", "Class 5A")
    assert (cell["学籍号"], cell["民族代码"], cell["姓名"]) == (
        "G110101201503010011",
        "01",
        "王小明",
    )
    assert (cell["性别"], cell["出生日期"]) == ("1", "2015-03-01")
    assert (cell["身高"], cell["体重"], cell["肺活量"]) == (141.3, 33.0, 1800)
    assert (cell["50米跑"], cell["坐位体前屈"], cell["一分钟跳绳"]) == (9.0, 9.4, 120)
    assert (cell["一分钟仰卧起坐"], cell["50米×8往返跑"]) == (35, "1'45")
    assert (cell["左眼裸眼视力"], cell["右眼裸眼视力"]) == (4.8, 5.0)
    assert cell["立定跳远"] is None and cell["引体向上"] is None  # not grade 5's items
    assert upload.cell(2, header.index("学籍号") + 1).number_format == "@"  # text, not a number
    listed = [[c.value for c in r] for r in problems.iter_rows(min_row=2)]
    s2 = [r for r in listed if r[3] == "s2"]
    assert s2 and all(r[0] == 3 and r[6] == "否" for r in s2)  # row 3: after s1's
    assert any(r[2] == "肺活量" and "本学年没有肺活量成绩" in r[5] for r in s2), s2

    # The same problems as JSON, in the reader's language, for the page's table.
    check = campus.client.post(
        "/api/fitness/national/problems", params=query, content=REGISTRY.encode(), headers=zh
    )
    assert check.status_code == 200, check.text
    body = check.json()
    assert (body["written"], body["left_out"]) == (1, 2)
    assert len(body["problems"]) == int(reply.headers["x-problems"])
    s3 = [p for p in body["problems"] if p["student_id"] == "s3"]
    assert {p["row"] for p in s3 if p["row"]} == {4} and all(p["left_out"] for p in s3 if p["row"])
    # The registry file's own problem first, named by its row and column, in Chinese.
    assert body["problems"][0] == {
        "row": None,
        "column": None,
        "header": None,
        "student_id": "s3",
        "class_name": None,
        "reason": "学籍文件 第 4 行，民族 列："
        "'火星族' 不是 GB 3304-91 中的民族（请填写名称如 汉族，或两位代码如 01）",
        "left_out": False,
    }

    # Without the registry file every student is short of a 学籍号: listed, nothing lost.
    bare = campus.client.post(
        "/api/fitness/national/problems", params=query, headers=campus.auth("h1")
    ).json()
    assert bare["written"] == 0 and any(
        p["student_id"] == "s1" and p["header"] == "学籍号" for p in bare["problems"]
    )
    # The school's file: health staff; not t1, who does not teach 5b; not campus IT.
    school = {"school": SCHOOL, "year": str(year)}
    url = "/api/fitness/national"
    assert campus.client.post(url, params=school, headers=campus.auth("h1")).status_code == 200
    refused = campus.client.post(url, params=school, headers=campus.auth("t1"))
    assert refused.status_code == 403 and "5b" not in refused.text
    assert campus.client.post(url, params=query, headers=campus.auth("t2")).status_code == 403
    assert campus.client.post(url, params=query, headers=campus.auth("it1")).status_code == 403
    bad = campus.client.post(
        url, params=query, content=b"\xff\xfe\x00garbage", headers=campus.auth("t1")
    )
    assert bad.status_code == 422
    exports = [
        (e.user_id, e.subject_id)
        for e in gw.audit.entries(subject_type="student_fitness")
        if e.action == "export_fitness_national"
    ]
    assert ("t1", "s1") in exports and ("h1", "s9") in exports
