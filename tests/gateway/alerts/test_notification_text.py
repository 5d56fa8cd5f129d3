"""Robot and webhook messages in the deployment's language, built from each alert's detail."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.alerts.config import WebhookFormat, WebhookTarget
from gateway.alerts.delivery.webhook import WECOM_MAX_BYTES, body_for
from gateway.alerts.model import Alert, AlertState, Rule, Severity
from gateway.alerts.notification import (
    KIND_NAMES,
    Notification,
    NotificationKind,
    headline,
    markdown,
)
from gateway.alerts.wording import RULE_NAMES, SEVERITY_NAMES, STATE_NAMES, Wording
from gateway.i18n import Catalogs

# 00:05 UTC is 08:05 on a school's wall clock in Shanghai.
AT = datetime(2026, 12, 4, 0, 5, tzinfo=UTC)
CATALOGS = Catalogs()
ZH = Wording(CATALOGS.translator("zh_CN"), ZoneInfo("Asia/Shanghai"))
EN = Wording(CATALOGS.translator("en"), ZoneInfo("Asia/Shanghai"))
SUMMARY = "stored English summary that people must not be shown"


def alert(rule: Rule, detail: dict[str, Any], **fields: Any) -> Alert:
    base = Alert(
        id=12,
        rule=rule,
        key="k",
        school="sch1",
        severity=Severity.WARNING,
        state=AlertState.OPEN,
        summary=SUMMARY,
        student_id="s123",
        class_id="5a",
        lesson_id=None,
        teacher_id=None,
        device_id="dev-7",
        detail=detail,
        count=1,
        opened_at=AT,
        last_seen_at=AT,
        acknowledged_at=None,
        acknowledged_by=None,
        resolved_at=None,
        resolved_by=None,
        outcome=None,
        last_notified_at=None,
        notify_count=0,
        escalation_level=0,
        silenced=False,
    )
    return replace(base, **fields)


def note(*alerts: Alert, kind: NotificationKind = NotificationKind.OPENED) -> Notification:
    first = alerts[0]
    return Notification(kind, first.school, first.rule, first.severity, alerts, AT)


FEVER = alert(Rule.FEVER, {"temperature_c": 37.94, "max_value": 38.26, "site": "wrist"})
HR = {"bpm": 201.0, "max_value": 203.0, "limit_bpm": 179.6, "held_s": 61.2, "age": 12}
# Each rule with its detail as the rule writes it, and the lines staff read in each language.
CASES: list[tuple[Alert, list[str], list[str]]] = [
    (
        FEVER,
        [
            "**【警告】新告警：疑似发热 · sch1**",
            "类别：疑似发热",
            "> 学校/班级：sch1 / 5a",
            "> 学生：s123",
            "> 体温与测量部位：38.3 °C（腕温）",
            "> 时间：2026-12-04 08:05",
            "> 状态：未处理",
        ],
        [
            "**[Warning] New: Suspected fever at sch1**",
            "> Temperature and site: 38.3 °C (wrist)",
            "> Time: 2026-12-04 08:05",
        ],
    ),
    (
        alert(
            Rule.FEVER,
            {"max_value": 38.0, "site": "forehead", "recheck_c": 37.0, "confirmed": False},
        ),
        ["> 体温与测量部位：38.0 °C（额温）", "> 复测体温：37.0 °C，未发热"],
        ["> Recheck: 37.0 °C, no fever"],
    ),
    (
        alert(Rule.FEVER, {"max_value": 38.0, "recheck_c": 38.4, "confirmed": True}),
        ["> 复测体温：38.4 °C，确认发热"],
        ["> Recheck: 38.4 °C, fever confirmed"],
    ),
    (
        alert(Rule.HR_HIGH, HR),
        ["类别：心率过高", "> 心率：203 次/分，持续 61 秒（上限 180 次/分）"],
        ["> Heart rate: 203 bpm for 61 s (limit 180 bpm)"],
    ),
    (
        alert(
            Rule.HR_EXTREME,
            {"bpm": 224.0, "limit_bpm": 220.0, "held_s": 20.0},
            severity=Severity.CRITICAL,
        ),
        ["**【严重】新告警：心率极高 · sch1**", "> 心率：224 次/分，持续 20 秒（上限 220 次/分）"],
        ["**[Critical] New: Very high heart rate at sch1**"],
    ),
    (
        alert(Rule.HR_LOW, {"bpm": 40.0, "limit_bpm": 45.0, "held_s": 25.0}),
        ["类别：心率过低", "> 心率：40 次/分，持续 25 秒（下限 45 次/分）"],
        ["> Heart rate: 40 bpm for 25 s (lower limit 45 bpm)"],
    ),
    (
        alert(Rule.HR_SIGNAL_LOST, {"silent_s": 75.4}),
        ["类别：心率信号中断", "> 信号：手环 75 秒无信号", "> 设备：dev-7"],
        ["> Signal: no signal from the band for 75 s", "> Device: dev-7"],
    ),
    (
        alert(
            Rule.WARNING_LEVEL,
            {
                "level": "orange",
                "scope": "5a",
                "day": "2026-12-04",
                "cases": 4,
                "fevers": 3,
                "illness_absences": 1,
                "window_cases": 0,
                "unconfirmed_screens": 2,
            },
            student_id=None,
            device_id=None,
            severity=Severity.CRITICAL,
        ),
        [
            "类别：传染病预警等级",
            "> 学校/班级：sch1 / 班级 5a",
            "> 等级：橙色",
            "> 病例：2026-12-04 共 4 例（发热 3 例，因病缺勤 1 例）",
            "> 待复测：2 名学生筛查体温异常",
        ],
        [
            "> Level: orange",
            "> Cases: 4 on 2026-12-04 (3 with fever, 1 absent for illness)",
            "> Awaiting recheck: 2 students with a fever screen",
        ],
    ),
    (
        alert(
            Rule.WARNING_LEVEL,
            {"level": "yellow", "scope": "school", "day": "2026-12-04", "cases": 2},
            student_id=None,
            class_id=None,
            device_id=None,
        ),
        ["> 学校/班级：sch1 / 全校", "> 等级：黄色"],
        ["> School/class: sch1 / whole school"],
    ),
    (
        alert(
            Rule.DEVICE_OFFLINE,
            {"reason": "silence", "kind": "temp_gate", "silent_minutes": 16.4},
            student_id=None,
            class_id=None,
        ),
        [
            "类别：设备离线",
            "> 学校：sch1",
            "> 设备类型：测温闸机",
            "> 原因：在校时段 16 分钟无数据",
            "> 设备：dev-7",
        ],
        ["> Device type: temperature gate", "> Reason: silent for 16 min in school hours"],
    ),
    (
        alert(
            Rule.DEVICE_OFFLINE,
            {"reason": "last_will", "kind": "edge", "detail": None},
            student_id=None,
            class_id=None,
        ),
        ["> 设备类型：边缘盒子", "> 原因：连接中断"],
        ["> Reason: connection lost"],
    ),
    (
        alert(
            Rule.BATTERY_LOW,
            {"battery_pct": 12.0},
            student_id=None,
            class_id=None,
            severity=Severity.INFO,
        ),
        ["**【提示】新告警：电量低 · sch1**", "> 电量：12 %"],
        ["> Battery: 12 %"],
    ),
    (
        alert(
            Rule.CLOCK_DRIFT,
            {"clock_offset_s": -3.25},
            student_id=None,
            class_id=None,
            severity=Severity.INFO,
        ),
        ["类别：设备时钟偏差", "> 时钟：偏差 -3.2 秒"],
        ["> Clock: off by -3.2 s"],
    ),
]


@pytest.mark.parametrize(
    ("a", "chinese", "english"), CASES, ids=[f"{c[0].rule}-{i}" for i, c in enumerate(CASES)]
)
def test_each_rule_reads_as_staff_expect(a: Alert, chinese: list[str], english: list[str]) -> None:
    for w, wanted in ((ZH, chinese), (EN, english)):
        lines = markdown(note(a), w).splitlines()
        for line in wanted:
            assert line in lines, f"{line!r} not in:\n" + "\n".join(lines)
        text = "\n".join(lines)
        # From the rule and detail, not from the stored English summary.
        assert SUMMARY not in text
        assert "> **#12**" in lines
    zh = markdown(note(a), ZH)
    # Nothing but ids, numbers and units in Latin letters in the Chinese message.
    for word in ("fever", "heart", "Student", "Device", "School", "Time", "State", "class"):
        assert word not in zh


def test_every_kind_severity_state_and_rule_has_a_name_in_each_language() -> None:
    missing: list[tuple[str, str]] = []
    catalogs = Catalogs(on_missing=lambda lang, msg: missing.append((lang, msg)))
    assert set(RULE_NAMES) == set(Rule)
    assert set(SEVERITY_NAMES) == set(Severity)
    assert set(STATE_NAMES) == set(AlertState)
    assert set(KIND_NAMES) == set(NotificationKind)
    for language in ("zh_CN", "en"):
        w = Wording(catalogs.translator(language))
        for kind in NotificationKind:
            for a, _, _ in CASES:
                markdown(note(a, kind=kind), w)
    assert missing == []
    kinds = [headline(note(FEVER, kind=k), ZH) for k in NotificationKind]
    assert kinds == [
        "【警告】新告警：疑似发热 · sch1",
        "【警告】仍未处理：疑似发热 · sch1",
        "【警告】已升级：疑似发热 · sch1",
        "【警告】已解决：疑似发热 · sch1",
    ]
    resolved = replace(FEVER, state=AlertState.RESOLVED)
    assert "> 状态：已解决" in markdown(note(resolved), ZH).splitlines()
    assert (
        "> State: Acknowledged"
        in markdown(note(replace(FEVER, state=AlertState.ACKNOWLEDGED)), EN).splitlines()
    )


def test_time_is_the_schools_wall_clock_and_the_link_goes_to_the_dashboard() -> None:
    urumqi = Wording(CATALOGS.translator("zh_CN"), ZoneInfo("Asia/Urumqi"), "https://edge.x.cn/")
    lines = markdown(note(FEVER), urumqi).splitlines()
    assert "> 时间：2026-12-04 06:05" in lines
    assert lines[-1] == "处理链接：[https://edge.x.cn/](https://edge.x.cn/)"
    assert not any("处理链接" in line for line in markdown(note(FEVER), ZH).splitlines())


def test_detail_an_older_alert_lacks_is_left_out_not_a_crash() -> None:
    for rule in Rule:
        for detail in ({}, {"max_value": "hot", "bpm": None, "cases": True}):
            text = markdown(note(alert(rule, detail)), ZH)
            assert "类别：" in text and "None" not in text


def test_robot_bodies_keep_each_robots_documented_shape() -> None:
    many = tuple(replace(FEVER, id=i, student_id=f"s{i}") for i in range(3))
    n = note(*many)
    wecom = body_for(WebhookTarget(name="w", url="http://x", format=WebhookFormat.WECOM), n, ZH)
    ding = body_for(WebhookTarget(name="d", url="http://x", format=WebhookFormat.DINGTALK), n, ZH)
    generic = body_for(WebhookTarget(name="g", url="http://x"), n, ZH)
    # WeCom group robot: {"msgtype": "markdown", "markdown": {"content": ...}}, <= 4096 bytes.
    assert wecom == {"msgtype": "markdown", "markdown": {"content": markdown(n, ZH)}}
    assert len(json.dumps(wecom, ensure_ascii=False).encode()) < WECOM_MAX_BYTES + 100
    # DingTalk custom robot: {"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}.
    assert ding["msgtype"] == "markdown" and set(ding["markdown"]) == {"title", "text"}
    assert ding["markdown"]["title"] == "【警告】新告警：疑似发热 · sch1（3 条）"
    # A generic receiver keeps the machine fields and gets the text people read beside them.
    assert generic["rule"] == "fever" and generic["alerts"][0]["summary"] == SUMMARY
    assert generic["title"] == headline(n, ZH) and generic["text"] == markdown(n, ZH)
    for body in (wecom, ding, generic):
        assert json.loads(json.dumps(body, ensure_ascii=False)) == body


def test_the_dashboard_address_must_be_a_web_address() -> None:
    from pydantic import ValidationError

    from gateway.service import GatewaySettings

    assert GatewaySettings(dashboard_url="https://edge.x.cn").dashboard_url == "https://edge.x.cn"
    with pytest.raises(ValidationError, match="dashboard_url"):
        GatewaySettings(dashboard_url="edge.x.cn")
