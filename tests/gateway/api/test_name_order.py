"""A class's rows in pinyin order of the names the reader sees; unsorted by names they do not."""

from __future__ import annotations

from gateway.roster import LessonKind
from tests.gateway.api.conftest import Campus, now


def test_the_live_view_lists_names_in_pinyin_order_only_to_who_sees_them(campus: Campus) -> None:
    # Opened on class 5a (taught by t1) by t2, who sees ids only.
    lesson = campus.gateway.roster.start_lesson(
        "5a", "t2", LessonKind.LESSON, {"hr-a": "s3", "hr-b": "s1", "hr-c": "s2"}, at=now()
    )

    def rows(user: str) -> list[tuple[str, str | None]]:
        r = campus.client.get(f"/api/lessons/{lesson.id}/live", headers=campus.auth(user))
        assert r.status_code == 200, r.text
        return [(s["student_id"], s["name"]) for s in r.json()["students"]]

    # 李小红, 王小明, 张三: li, wang, zhang (by code point 张 would come first).
    assert rows("t1") == [("s2", "李小红"), ("s1", "王小明"), ("s3", "张三")]
    assert rows("t2") == [("s3", None), ("s1", None), ("s2", None)]  # as the bands were assigned
