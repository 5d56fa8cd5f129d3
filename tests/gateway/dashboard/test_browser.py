"""The dashboard in a real headless Chromium against a real gateway fed through Mosquitto.

One gateway (seeded like `campusedge demo`) and one browser serve the whole module; each test
signs in as one role and checks what that role sees, and that it sees no other role's panel.
Screenshots go to $CAMPUSEDGE_DASHBOARD_SCREENSHOTS (default: the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from campusedge.broker import MosquittoProcess
from campusedge.settings import MqttSettings
from gateway.api.routes.dashboard import STATIC_DIR
from gateway.cli.demo import CLASS_ID, seed
from gateway.fleet.registry import FleetRegistry
from gateway.ingest import IngestSettings
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings
from tests.conftest import mqtt_settings_for
from tests.gateway.api_server import serve_api
from tests.gateway.competition.conftest import one_school_cup
from tests.gateway.dashboard.browser import (
    Publisher,
    start_chromium,
    unique_school,
    wait_for,
)
from tests.gateway.mqtt_helpers import publish_all

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

STUDENTS = 4
PANELS = ("fleet-panel", "lessons-panel", "alerts-panel", "district-panel")


@dataclass
class Site:
    gateway: Gateway
    base: str
    tokens: dict[str, str]
    publish: Any
    messages: Publisher
    shots: Path
    mqtt: MqttSettings | None = None


def seeded_gateway(
    tmp: Path, school: str, mqtt: MqttSettings, **settings: Any
) -> tuple[Gateway, dict[str, str]]:
    """A gateway for *school* with its own stores in *tmp*, seeded as the demo is."""
    gateway = Gateway(
        GatewaySettings(
            store_url=f"sqlite:///{tmp / 'readings.db'}",
            state_db=tmp / "state.db",
            api_port=0,
            ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
            **settings,
        ),
        mqtt,
    )
    # The class is the school's whose devices publish: a device binds only in its own school.
    return gateway, seed(gateway, STUDENTS, school)


@pytest.fixture(scope="module")
def site(mosquitto: MosquittoProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("dashboard")
    school = unique_school()
    mqtt = mqtt_settings_for(mosquitto)
    gateway, tokens = seeded_gateway(tmp, school, mqtt)
    # A fitness test earlier in the day, with its own ropes, so that results can be shown.
    gateway.roster.start_lesson(
        CLASS_ID,
        "teacher.demo",
        LessonKind.FITNESS_TEST,
        {"trope-01": "S0001", "trope-02": "S0002"},
        at=datetime.now(UTC) - timedelta(minutes=30),
        lesson_id="demo-test",
    )
    gateway.start()
    api = serve_api(gateway)
    messages = Publisher(school)
    try:
        assert gateway.ingest.connected.wait(15), "gateway did not connect to Mosquitto"
        batch = [messages.heart_rate(f"hr-{i:02d}", 100 + 10 * i) for i in range(1, 4)]
        batch += [
            messages.rope_result("rope-01", 88),
            messages.rope_result("trope-01", 150),
            messages.rope_result("trope-02", 60),
        ]
        batch += [
            messages.status("hr_band", "hr-01", "online", 85, "hr-1.4.2"),
            messages.status("hr_band", "hr-02", "online", 9, "hr-1.4.2"),
            messages.status("hr_band", "hr-03", "offline", 60, "hr-1.4.1"),
            messages.status(
                "edge", "edge-pe-1", "online", None, "edge-0.3.0", {"pose": "blazepose-full-1.0"}
            ),
        ]
        publish_all(mqtt, batch)
        stats = gateway.ingest.stats
        wait_for(
            lambda: stats["stored"] + stats["statuses"] >= len(batch),
            20,
            "the seeded messages to be committed",
        )
        # Results, alerts and live views follow the commits on consumer threads of their own.
        wait_for(gateway.consumers.caught_up, 30, "the consumers to follow the commits")
        shots = Path(os.environ.get("CAMPUSEDGE_DASHBOARD_SCREENSHOTS") or tmp / "shots")
        shots.mkdir(parents=True, exist_ok=True)
        yield Site(
            gateway, api.base, tokens, lambda msgs: publish_all(mqtt, msgs), messages, shots, mqtt
        )
    finally:
        api.stop()
        gateway.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


# Generous: a wait ends as soon as its condition holds, and the machine may be busy.
PATIENCE_S = 20.0

# Rows read in one go inside the page: the panels re-render every few seconds, so elements
# found one call earlier may be gone (stale) by the next.
ROWS_JS = """
return [...document.querySelectorAll(arguments[0])].map((r) => ({
  key: r.dataset.device ?? r.dataset.student ?? r.dataset.alert ?? r.dataset.referral ?? null,
  cls: r.className, text: r.innerText}));
"""


def rows(browser: Any, selector: str) -> dict[str, dict[str, str]]:
    """key (device, student, alert or referral id) -> {"cls", "text"}, in page order."""
    return {r["key"]: r for r in browser.execute_script(ROWS_JS, selector)}


def text_of(browser: Any, element_id: str) -> str:
    return str(
        browser.execute_script(
            "const e = document.getElementById(arguments[0]); return e ? e.innerText : '';",
            element_id,
        )
    )


def click(browser: Any, selector: str) -> None:
    """Click what *selector* finds, finding it again if a re-render replaced it meanwhile, or
    once a render that is on its way has made it."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def attempt() -> bool:
        try:
            browser.find_element(By.CSS_SELECTOR, selector).click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    wait_for(attempt, PATIENCE_S, f"a clickable {selector}")


def choose(browser: Any, select_id: str, value: str) -> None:
    """Pick an option once it exists (options arrive with the page's first API answers)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    option = f'#{select_id} option[value="{value}"]'
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, option), PATIENCE_S, option)
    Select(browser.find_element(By.ID, select_id)).select_by_value(value)


def open_page(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.base + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(site.base + "/")
    # The form shows once the page has its words (its language's catalog).
    wait_for(
        lambda: browser.find_element(By.ID, "token").is_displayed(), PATIENCE_S, "the sign-in form"
    )


def sign_in(browser: Any, site: Site, role: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, site)
    browser.find_element(By.ID, "token").send_keys(site.tokens[role])
    click(browser, "#sign-in-form button[type=submit]")
    wait_for(
        lambda: browser.find_element(By.ID, "who").is_displayed(), PATIENCE_S, f"{role} signed in"
    )


def in_chinese(browser: Any, site: Site) -> None:
    """The reader's choice of Chinese, kept in the browser for the pages opened after it."""
    browser.get(site.base + "/")
    browser.execute_script("localStorage.setItem('campusedge.language', 'zh-CN')")


@contextmanager
def chinese(browser: Any, site: Site) -> Iterator[None]:
    """The page in Chinese for the block, and the reader's choice forgotten after it."""
    in_chinese(browser, site)
    try:
        yield
    finally:
        browser.execute_script("localStorage.clear()")


def visible_panels(browser: Any) -> set[str]:
    from selenium.webdriver.common.by import By

    return {p for p in PANELS if browser.find_element(By.ID, p).is_displayed()}


def test_an_unknown_token_is_refused_with_a_message(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, site)
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    click(browser, "#sign-in-form button[type=submit]")
    wait_for(lambda: "unknown or revoked" in text_of(browser, "message"), PATIENCE_S, "the refusal")
    assert browser.find_element(By.ID, "sign-in").is_displayed()
    assert visible_panels(browser) == set()
    assert browser.execute_script("return sessionStorage.length") == 0


def test_an_expired_token_is_refused_saying_so(browser: Any, site: Site) -> None:
    from datetime import timedelta

    from selenium.webdriver.common.by import By

    from gateway.auth import Role

    stale = site.gateway.users.create(
        "nurse.stale", "Nurse", Role.HEALTH_STAFF, lifetime=timedelta(seconds=-1)
    )
    open_page(browser, site)
    browser.find_element(By.ID, "token").send_keys(stale)
    click(browser, "#sign-in-form button[type=submit]")
    wait_for(lambda: "expired" in text_of(browser, "message"), PATIENCE_S, "the refusal")
    assert visible_panels(browser) == set()


def test_sign_out_forgets_the_token(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, site, "pe_teacher")
    assert browser.execute_script("return sessionStorage.getItem('campusedge.token')")
    click(browser, "#sign-out")
    wait_for(
        lambda: browser.find_element(By.ID, "sign-in").is_displayed(),
        PATIENCE_S,
        "the sign-in form",
    )
    assert browser.execute_script("return sessionStorage.length") == 0
    assert visible_panels(browser) == set()


def test_campus_it_sees_the_fleet_with_problems_highlighted(browser: Any, site: Site) -> None:
    sign_in(browser, site, "campus_it")
    assert visible_panels(browser) == {"fleet-panel"}
    assert "Campus IT (campus IT)" in text_of(browser, "who")
    fleet = wait_for(
        lambda: (r := rows(browser, "#fleet-table tbody tr[data-device]")) and len(r) >= 5 and r,
        PATIENCE_S,
        "device rows",
    )
    assert "offline" in fleet["hr-03"]["cls"].split()
    assert "low-battery" in fleet["hr-02"]["cls"].split()
    assert fleet["hr-01"]["cls"] == ""
    assert "hr-1.4.2" in fleet["hr-01"]["text"] and "85 %" in fleet["hr-01"]["text"]
    assert "pose blazepose-full-1.0" in fleet["edge-pe-1"]["text"]
    # Problems first: the offline and the low-battery band head the table.
    assert set(list(fleet)[:2]) == {"hr-02", "hr-03"}
    health = text_of(browser, "gateway-health")
    assert "MQTT\nconnected" in health and "Writer\nrunning" in health
    assert "Student" not in text_of(browser, "fleet-panel")
    browser.save_screenshot(str(site.shots / "campus_it.png"))


def test_campus_it_sees_a_clean_stop_as_stopped_not_as_a_problem(browser: Any, site: Site) -> None:
    box_stopped = "rope-s" + uuid.uuid4().hex[:4]
    link_lost = "rope-l" + uuid.uuid4().hex[:4]
    site.publish(
        [
            site.messages.status(
                "jump_rope",
                box_stopped,
                "offline",
                70,
                "rope-2.0",
                stopped=True,
                detail="box stopped",
            ),
            site.messages.status(
                "jump_rope", link_lost, "offline", 70, "rope-2.0", detail="serial port closed"
            ),
        ]
    )
    with chinese(browser, site):
        sign_in(browser, site, "campus_it")
        fleet = wait_for(
            lambda: (
                (r := rows(browser, "#fleet-table tbody tr[data-device]"))
                and {box_stopped, link_lost} <= set(r)
                and r
            ),
            PATIENCE_S,
            "the two ropes' rows",
        )
        stopped, lost = fleet[box_stopped], fleet[link_lost]
        assert stopped["cls"].split() == ["stopped"]
        assert "已停机" in stopped["text"] and "离线" not in stopped["text"]
        assert "box stopped" in stopped["text"]
        assert "offline" in lost["cls"].split()
        # The state is said once, with the reason the box gave under it.
        assert lost["text"].count("离线") == 1 and "serial port closed" in lost["text"]
        assert fleet["hr-03"]["text"].count("离线") == 1
        # Problems first: the stopped rope is not among them, the one that lost its link is.
        order = list(fleet)
        assert order.index(link_lost) < order.index(box_stopped)
        summary = text_of(browser, "fleet-summary")
        assert "台为正常停机" in summary
        problems = [
            k
            for k, r in fleet.items()
            if {"offline", "stale", "low-battery"} & set(r["cls"].split())
        ]
        assert box_stopped not in problems and link_lost in problems
        assert f"{len(problems)} 台需要处理" in summary


def test_campus_it_sees_the_devices_of_a_box_that_died_as_unknown(browser: Any, site: Site) -> None:
    box = "box-" + uuid.uuid4().hex[:6]
    rope = "rope-b" + uuid.uuid4().hex[:4]
    site.publish(
        [
            site.messages.status("edge", box, "online", None, "edge-0.3.0"),
            site.messages.status("jump_rope", rope, "online", 80, "rope-2.0", edge_id=box),
        ]
    )
    wait_for(
        lambda: (d := site.gateway.devices.get(rope)) is not None and d.edge_id == box,
        PATIENCE_S,
        "the rope's status",
    )
    # The box's connection dies: the broker publishes its last will, for the box alone.
    site.publish([site.messages.status("edge", box, "offline", None, "edge-0.3.0")])
    wait_for(
        lambda: (d := site.gateway.devices.get(box)) is not None and d.state == "offline",
        PATIENCE_S,
        "the box's last will",
    )
    with chinese(browser, site):
        sign_in(browser, site, "campus_it")
        fleet = wait_for(
            lambda: (r := rows(browser, "#fleet-table tbody tr[data-device]")) and rope in r and r,
            PATIENCE_S,
            "the rope's row",
        )
        row = fleet[rope]
        assert "box-offline" in row["cls"].split()
        assert "未知" in row["text"] and "边缘盒子离线" in row["text"]
        assert f"经由 {box}（离线）" in row["text"]
        assert "在线" not in row["text"]


def test_campus_it_is_not_shown_an_uptime_counter_as_a_clock_offset(
    browser: Any, site: Site
) -> None:
    rope = "rope-u" + uuid.uuid4().hex[:4]
    gate = "gate-c" + uuid.uuid4().hex[:4]
    site.publish(
        [  # as an agent before the fix reported a rope (uptime vs wall clock)
            site.messages.status(
                "jump_rope", rope, "online", 70, "rope-2.0", detail="clock offset +1795355161.674 s"
            ),
            site.messages.status(
                "temp_gate", gate, "online", None, "tg-1.0", detail="clock offset -3.250 s"
            ),
        ]
    )
    sign_in(browser, site, "campus_it")
    fleet = wait_for(
        lambda: (
            (r := rows(browser, "#fleet-table tbody tr[data-device]"))
            and {rope, gate} <= set(r)
            and r
        ),
        PATIENCE_S,
        "the rope and the gate",
    )
    assert "clock offset" not in fleet[rope]["text"]
    assert "1795355161" not in fleet[rope]["text"]
    assert "clock offset -3.250 s" in fleet[gate]["text"]  # a real clock, really off


def test_teacher_sees_names_live_heart_rate_and_results(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    with chinese(browser, site):
        sign_in(browser, site, "pe_teacher")
        assert visible_panels(browser) == {"lessons-panel"}
        choose(browser, "lesson-select", "demo-lesson")

        def live(student: str) -> str:
            return (
                rows(browser, "#live-table tbody tr[data-student]").get(student, {}).get("text", "")
            )

        wait_for(lambda: "110 次/分" in live("S0001"), PATIENCE_S, "S0001's heart rate")
        assert live("S0001").startswith("Student 01")
        assert "88" in live("S0001")  # its rope count
        assert "130 次/分" in live("S0003")
        assert live("S0004").startswith("Student 04")  # assigned, nothing measured yet
        # The view polls every 2 s: a new reading shows without any action in the page.
        site.publish([site.messages.heart_rate("hr-04", 163)])
        wait_for(lambda: "163 次/分" in live("S0004"), PATIENCE_S, "the live view to pick up hr-04")

        click(browser, "#analytics-load")
        analytics = wait_for(lambda: text_of(browser, "analytics"), PATIENCE_S, "analytics")
        assert "全班：" in analytics and "Student 01" in analytics
        assert browser.find_element(By.ID, "results-section").is_displayed() is False
        exports = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#export-links button")]
        assert exports == ["下载 CSV", "下载 XLSX"]
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher.png"))

        choose(browser, "lesson-select", "demo-test")
        results = wait_for(
            lambda: rows(browser, "#results tr[data-student]"), PATIENCE_S, "results"
        )
        assert "1分钟跳绳" in text_of(browser, "results")
        s1 = results["S0001"]["text"]
        assert s1.startswith("Student 01") and "150 次" in s1
        assert "未完成（缺 6 项）" in s1  # one item of seven entered
        # The live view now follows the test session: its ropes, not the lesson's bands.
        wait_for(
            lambda: set(rows(browser, "#live-table tbody tr[data-student]")) == {"S0001", "S0002"},
            PATIENCE_S,
            "the test session's live rows",
        )
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher_results.png"))


def test_teacher_tells_same_named_students_apart_and_sees_a_silent_band(
    browser: Any, site: Site
) -> None:
    roster = site.gateway.roster
    for i in (1, 2, 3):  # three 赵磊 in one class
        roster.add_student(f"S010{i}", "赵磊", "M", date(2015, 4, i), CLASS_ID)
    roster.start_lesson(
        CLASS_ID,
        "teacher.demo",
        LessonKind.LESSON,
        {"hr-z1": "S0101", "hr-z2": "S0102", "hr-z3": "S0103"},
        at=datetime.now(UTC) - timedelta(minutes=5),
        lesson_id="dup-lesson",
    )
    # hr-z2 stopped sending 30 s ago; hr-z1 is live; hr-z3 never sent.
    site.publish(
        [site.messages.heart_rate("hr-z2", 131, datetime.now(UTC) - timedelta(seconds=30))]
    )
    with chinese(browser, site):
        sign_in(browser, site, "pe_teacher")
        choose(browser, "lesson-select", "dup-lesson")
        site.publish([site.messages.heart_rate("hr-z1", 120)])

        def live() -> dict[str, dict[str, str]]:
            return rows(browser, "#live-table tbody tr[data-student]")

        shown = wait_for(
            lambda: (
                (r := live())
                and "120 次/分" in r.get("S0101", {}).get("text", "")
                and "131 次/分" in r.get("S0102", {}).get("text", "")
                and r
            ),
            PATIENCE_S,
            "the lesson's heart rates",
        )
        for i in (1, 2, 3):
            assert shown[f"S010{i}"]["text"].startswith(f"赵磊 S010{i}")
        fresh, silent = shown["S0101"], shown["S0102"]
        assert "stale-reading" not in fresh["cls"].split()
        assert "stale-reading" in silent["cls"].split()
        ages = [int(a) for a in re.findall(r"(\d+) 秒前", silent["text"])]
        assert ages and 30 <= ages[0] < 60, silent["text"]
        assert shown["S0103"]["text"].rstrip().endswith("—")  # nothing measured: no age either
        # The greyed-out value is really greyed: its colour is the muted one.
        colour = browser.execute_script(
            "return getComputedStyle(document.querySelector("
            "'tr[data-student=\"S0102\"] td.stale-value')).color"
        )
        fresh_colour = browser.execute_script(
            "return getComputedStyle(document.querySelector("
            "'tr[data-student=\"S0101\"] td.num')).color"
        )
        assert colour != fresh_colour
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher_stale.png"))


def test_teacher_export_downloads_through_the_api(browser: Any, site: Site) -> None:
    """The export buttons fetch with the bearer token; the same request, checked from Python."""
    r = httpx.get(
        f"{site.base}/api/fitness/classes/{CLASS_ID}/export?format=csv",
        headers={"Authorization": f"Bearer {site.tokens['pe_teacher']}"},
    )
    assert r.status_code == 200 and "Student 01" in r.text


def alerts_route(site: Site) -> int:
    r = httpx.get(
        f"{site.base}/api/alerts",
        headers={"Authorization": f"Bearer {site.tokens['health_staff']}"},
    )
    return r.status_code


@pytest.fixture(scope="module")
def site_without_alerts(
    mosquitto: MosquittoProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """A second gateway with `alerts_enabled=False`: its alerts routes answer 503."""
    tmp = tmp_path_factory.mktemp("dashboard-no-alerts")
    school = unique_school()
    mqtt = mqtt_settings_for(mosquitto)
    gateway, tokens = seeded_gateway(tmp, school, mqtt, alerts_enabled=False)
    gateway.start()
    api = serve_api(gateway)
    try:
        yield Site(
            gateway, api.base, tokens, lambda msgs: publish_all(mqtt, msgs), Publisher(school), tmp
        )
    finally:
        api.stop()
        gateway.stop()


def test_health_staff_without_alerts_service_see_a_clear_message(
    browser: Any, site_without_alerts: Site
) -> None:
    from selenium.webdriver.common.by import By

    site = site_without_alerts
    assert alerts_route(site) == 503
    sign_in(browser, site, "health_staff")
    assert visible_panels(browser) == {"alerts-panel"}
    wait_for(
        lambda: browser.find_element(By.ID, "alerts-status").is_displayed(),
        PATIENCE_S,
        "the unavailable notice",
    )
    assert "alerts service is not available" in text_of(browser, "alerts-status")
    assert not browser.find_element(By.ID, "alerts-table").is_displayed()
    assert not browser.find_element(By.ID, "alerts-filter").is_displayed()
    wait_for(
        lambda: "Referrals are not available" in text_of(browser, "referrals"),
        PATIENCE_S,
        "the referrals notice",
    )
    browser.save_screenshot(str(site.shots / "health_staff_no_alerts.png"))


def alert_rows(browser: Any, selector: str, alert_id: int) -> int:
    """How many rows of the table at *selector* show the alert (the page keeps one per id)."""
    return int(
        browser.execute_script(
            "return document.querySelectorAll(arguments[0]).length",
            f'{selector} tbody tr[data-alert="{alert_id}"]',
        )
    )


def test_health_staff_get_a_fever_alert_live_and_acknowledge_it(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    from gateway.alerts.model import Candidate, Rule, Severity

    service = site.gateway.alerts
    assert service is not None
    # An alert from before the page opened: the stream never tells of it, only the list does.
    earlier = service.engine.lifecycle.raise_(
        Candidate(
            rule=Rule.FEVER,
            key="fever:earlier-" + uuid.uuid4().hex[:6],
            school=site.messages.school,
            severity=Severity.WARNING,
            at=datetime.now(UTC),
            summary="fever 38.2 °C at the gate",
            student_id="S0003",
            device_id="gate-earlier",
        )
    ).alert
    # The list's requests fail at the network (a flaky link) while the stream gets through:
    # the page says its list is out of date and keeps asking; what the stream brings meanwhile
    # is shown at once.
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/alerts?state=open"]})
    selector = "#alerts-table tbody tr[data-alert]"
    try:
        with chinese(browser, site):
            sign_in(browser, site, "health_staff")
            assert visible_panels(browser) == {"alerts-panel"}
            wait_for(
                lambda: text_of(browser, "alerts-live") == "实时更新：已连接",
                PATIENCE_S,
                "the alert stream to connect",
            )
            wait_for(
                lambda: (
                    browser.find_element(By.ID, "alerts-status").is_displayed()
                    and text_of(browser, "alerts-status").startswith(
                        "此列表可能已过时：网关没有应答"
                    )
                ),
                PATIENCE_S,
                "the list to say it is out of date",
            )
            assert str(earlier.id) not in rows(browser, selector)
            # Raised while the list is still refused, so the row can only come through the
            # stream (no page reload).
            gate = "gate-" + uuid.uuid4().hex[:6]
            site.publish([site.messages.gate_pass(gate, "card-0002", 38.4)])
            found = wait_for(
                lambda: [(k, r) for k, r in rows(browser, selector).items() if gate in r["text"]],
                PATIENCE_S,
                "the fever alert to arrive over SSE",
            )
            [(alert_id, row)] = found
            assert "Student 02" in row["text"] and "疑似发热" in row["text"]
            # Worded by the stream as the list would word it, in the reader's language.
            assert "体温与测量部位：38.4 °C" in row["text"]
            assert browser.find_element(By.ID, "alerts-status").is_displayed()
            assert str(earlier.id) not in rows(browser, selector)
            # The link is back: the next try loads the list, which has the earlier alert and
            # the streamed one as one row.
            browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
            wait_for(
                lambda: str(earlier.id) in rows(browser, selector),
                PATIENCE_S,
                "the list to load once it answers",
            )
            assert not browser.find_element(By.ID, "alerts-status").is_displayed()
            assert alert_rows(browser, "#alerts-table", int(alert_id)) == 1
            # Device faults are campus IT's: not in the health staff's list.
            assert "设备离线" not in text_of(browser, "alerts-table")
            browser.save_screenshot(str(site.shots / "zh-CN_health_staff.png"))
            click(browser, f'tr[data-alert="{alert_id}"] button[aria-label="确认告警 {alert_id}"]')

            def state() -> str:
                r = httpx.get(
                    f"{site.base}/api/alerts/{alert_id}",
                    headers={"Authorization": f"Bearer {site.tokens['health_staff']}"},
                )
                return str(r.json()["state"])

            wait_for(lambda: state() == "acknowledged", PATIENCE_S, "the alert to be acknowledged")
            # The list shows open alerts by default: the acknowledged one leaves it.
            wait_for(
                lambda: alert_id not in rows(browser, selector),
                PATIENCE_S,
                "the acknowledged alert to leave the open list",
            )
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        browser.execute_cdp_cmd("Network.disable", {})
        service.resolve(earlier.id, "nurse.demo", "resolved")


def test_health_staff_see_the_card_of_a_fever_the_roster_does_not_know(
    browser: Any, site: Site
) -> None:
    gate = "gate-" + uuid.uuid4().hex[:6]
    card = "C-" + uuid.uuid4().hex[:8].upper()  # enrolled nowhere
    site.publish([site.messages.gate_pass(gate, card, 38.1)])
    auth = {"Authorization": f"Bearer {site.tokens['health_staff']}"}
    # Fevers of one school are notified one group a minute: the page is opened once the alert
    # exists rather than waiting for the stream to tell of it.
    wait_for(
        lambda: any(
            a["device_id"] == gate
            for a in httpx.get(f"{site.base}/api/alerts", headers=auth).json()
        ),
        PATIENCE_S,
        "the fever alert",
    )
    with chinese(browser, site):
        sign_in(browser, site, "health_staff")
        selector = "#alerts-table tbody tr[data-alert]"
        [row] = wait_for(
            lambda: [r for r in rows(browser, selector).values() if gate in r["text"]],
            PATIENCE_S,
            "the unknown card's fever alert",
        )
        assert f"{card}（不在花名册中）" in row["text"]
        assert "—" not in row["text"].split("\t")[3]  # the Student cell is not empty


def test_health_staff_follow_up_a_vision_referral(browser: Any, site: Site) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    site.publish([site.messages.vision_screening("screener-1", "card-0003", 4.7, 5.0, -1.0, 0.0)])
    with chinese(browser, site):
        sign_in(browser, site, "health_staff")
        selector = "#referrals-table tbody tr[data-referral]"

        def referral() -> list[tuple[str, dict[str, str]]]:
            click(browser, "#referrals-reload")
            return [(k, r) for k, r in rows(browser, selector).items() if "Student 03" in r["text"]]

        [(referral_id, row)] = wait_for(referral, PATIENCE_S, "the referral of Student 03")
        assert "左眼：视力不良 4.7（中度）" in row["text"]
        assert "筛查性近视" in row["text"]

        def choose_status() -> bool:
            # The list may be drawn again (the reload clicked above answers late): find it anew.
            try:
                Select(
                    browser.find_element(By.ID, f"referral-{referral_id}-status")
                ).select_by_value("parents_informed")
            except StaleElementReferenceException:
                return False
            return True

        wait_for(choose_status, PATIENCE_S, "the referral's status menu")
        auth = {"Authorization": f"Bearer {site.tokens['health_staff']}"}

        def status() -> str:
            listed = httpx.get(f"{site.base}/api/alerts/referrals", headers=auth).json()
            return str(next(r["status"] for r in listed if str(r["id"]) == referral_id))

        wait_for(lambda: status() == "parents_informed", PATIENCE_S, "the referral's new status")
        browser.save_screenshot(str(site.shots / "zh-CN_health_staff_referrals.png"))


def test_campus_it_sees_and_resolves_device_alerts(browser: Any, site: Site) -> None:
    with chinese(browser, site):
        sign_in(browser, site, "campus_it")
        selector = "#device-alerts-table tbody tr[data-alert]"
        alerts = wait_for(
            lambda: (r := rows(browser, selector)) and len(r) >= 2 and r,
            PATIENCE_S,
            "the offline and low-battery alerts",
        )
        text = "\n".join(r["text"] for r in alerts.values())
        assert "设备离线" in text and "hr-03" in text
        assert "电量低" in text and "hr-02" in text
        assert "疑似发热" not in text  # health alerts are not campus IT's
        alert_id = next(k for k, r in alerts.items() if "电量低" in r["text"])
        browser.save_screenshot(str(site.shots / "zh-CN_campus_it_alerts.png"))
        click(
            browser,
            f'tr[data-alert="{alert_id}"] button[aria-label="将告警 {alert_id} 标为处理完毕"]',
        )
        wait_for(
            lambda: alert_id not in rows(browser, selector),
            PATIENCE_S,
            "the resolved alert to leave the open list",
        )


def test_a_role_cannot_read_another_roles_data_from_the_page(browser: Any, site: Site) -> None:
    """The panels follow the API's rules: the teacher's token gets 403 for the fleet."""
    sign_in(browser, site, "pe_teacher")
    status = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/devices', {headers: {Authorization:
            'Bearer ' + sessionStorage.getItem('campusedge.token')}}).then(r => done(r.status));
    """)
    assert status == 403
    assert browser.execute_script("return localStorage.length") == 0


# Every text a person reads in the page: visible or not (other roles' panels are translated
# too), with the labels and tooltips of controls and the page's title.
TEXTS_JS = """
const texts = [document.title];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  if (walker.currentNode.parentElement.closest("script, style")) continue;
  texts.push(walker.currentNode.textContent);
}
for (const node of document.querySelectorAll("[aria-label], [title]")) {
  texts.push(node.getAttribute("aria-label") ?? "", node.getAttribute("title") ?? "");
}
return texts.map((t) => t.trim()).filter(Boolean);
"""


def english_leaks(texts: list[str]) -> list[tuple[str, str]]:
    """(English catalog words, the page text holding them): a phrase of several words found in
    a text, or a single word that is a whole text. Words both catalogs give alike (MQTT) are
    not leaks; tests/test_catalogs.py keeps that list short."""
    catalogs = {}
    for language in ("en", "zh-CN"):
        path = STATIC_DIR / "i18n" / f"{language}.json"
        catalogs[language] = json.loads(path.read_text(encoding="utf-8"))

    def fragments(text: str) -> set[str]:
        parts = (p.strip(" .,:;()·") for p in re.split(r"\{\w+\}", text))
        return {p for p in parts if re.search(r"[A-Za-z]{3,}", p)}

    chinese = catalogs["zh-CN"]
    english = set().union(*(fragments(v) for k, v in catalogs["en"].items() if v != chinese[k]))
    leaks = []
    for words in english:
        for text in texts:
            if (" " in words and words in text) or words == text:
                leaks.append((words, text))
    return leaks


def test_the_pages_in_chinese_show_no_english(browser: Any, site: Site) -> None:
    """The reader's choice of Chinese (kept in the browser, sent as Accept-Language): every
    role's page reads in Chinese, with times on the school's clock; screenshots beside the
    English ones."""
    from selenium.webdriver.common.by import By

    browser.get(site.base + "/")
    browser.execute_script("localStorage.setItem('campusedge.language', 'zh-CN')")
    try:
        # The gateway's refusal comes in the page's language too.
        open_page(browser, site)
        browser.find_element(By.ID, "token").send_keys("not-a-token")
        click(browser, "#sign-in-form button[type=submit]")
        wait_for(
            lambda: text_of(browser, "message") == "登录失败：令牌无效或已被吊销",
            PATIENCE_S,
            "the refusal in Chinese",
        )
        sign_in(browser, site, "campus_it")
        assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
        wait_for(lambda: rows(browser, "#fleet-table tbody tr[data-device]"), PATIENCE_S, "devices")
        wait_for(lambda: rows(browser, "#device-alerts-table tbody tr"), PATIENCE_S, "alerts")
        alerts_text = text_of(browser, "device-alerts-table")
        # What each rule saw, worded by the gateway in the reader's language.
        assert "设备离线" in alerts_text and "原因：" in alerts_text
        texts = browser.execute_script(TEXTS_JS)
        browser.save_screenshot(str(site.shots / "zh-CN_campus_it.png"))

        sign_in(browser, site, "pe_teacher")
        choose(browser, "lesson-select", "demo-test")
        results = wait_for(lambda: text_of(browser, "results"), PATIENCE_S, "results")
        assert "1分钟跳绳" in results and "未完成（缺 6 项）" in results
        click(browser, "#analytics-load")
        wait_for(lambda: "全班" in text_of(browser, "analytics"), PATIENCE_S, "analytics")
        # The lesson's start on the school's clock (Asia/Shanghai), as staff write times.
        option = browser.find_element(By.CSS_SELECTOR, '#lesson-select option[value="demo-test"]')
        [started] = [x.started_at for x in site.gateway.roster.lessons() if x.id == "demo-test"]
        shanghai = started.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
        assert f"体质测试 · {shanghai}" in option.text
        texts += browser.execute_script(TEXTS_JS)
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher.png"))

        sign_in(browser, site, "health_staff")
        wait_for(
            lambda: text_of(browser, "alerts-live") == "实时更新：已连接", PATIENCE_S, "the stream"
        )
        wait_for(lambda: rows(browser, "#referrals-table tbody tr"), PATIENCE_S, "referrals")
        texts += browser.execute_script(TEXTS_JS)
        browser.save_screenshot(str(site.shots / "zh-CN_health_staff.png"))
    finally:
        browser.execute_script("localStorage.clear()")
    assert english_leaks(texts) == []


def fill(browser: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


def test_teacher_starts_a_lesson_handing_out_devices_and_ends_it_in_chinese(
    browser: Any, site: Site
) -> None:
    from selenium.webdriver.common.by import By

    school = site.messages.school
    roster = site.gateway.roster
    roster.add_class("g5-2", school, "Grade 5 Class 2", "5", pe_teacher_id="teacher.demo")
    for student in ("S0201", "S0202"):
        roster.add_student(student, f"Pupil {student}", "F", date(2015, 3, 3), "g5-2")
    site.publish(
        [
            site.messages.status("hr_band", "hr-21", "online", 90, "hr-1.4.2"),
            site.messages.status("hr_band", "hr-22", "online", 80, "hr-1.4.2"),
            site.messages.status("jump_rope", "rope-21", "online", 70, "rope-2.0"),
        ]
    )
    # A band enrolled for another school's box: its label can be scanned here, but it is theirs.
    FleetRegistry(site.gateway.db).enrol_box("other-" + school, "box-o", ["hr-91"])
    wait_for(lambda: site.gateway.devices.get("rope-21"), PATIENCE_S, "the devices' statuses")
    with chinese(browser, site):
        sign_in(browser, site, "pe_teacher")
        choose(browser, "start-class", "g5-2")
        free = '#free-hr_band option[value="hr-22"]'
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, free), PATIENCE_S, "free bands")
        assert not browser.find_elements(By.CSS_SELECTOR, '#free-hr_band option[value="hr-01"]')
        # The class's students come in an answer of their own, which may come after the devices'.
        wait_for(
            lambda: browser.find_elements(By.ID, "assign-hr_band-S0202"),
            PATIENCE_S,
            "the students",
        )
        # The same band twice: refused in the page, next to both cells, before anything is sent.
        fill(browser, "assign-hr_band-S0201", "hr-21")
        fill(browser, "assign-hr_band-S0202", "hr-21")
        fill(browser, "assign-jump_rope-S0201", "hr-22")
        click(browser, "#lesson-start-submit")
        for cell in ("assign-hr_band-S0201", "assign-hr_band-S0202"):
            assert text_of(browser, f"{cell}-error") == "hr-21 分给了不止一名学生"
        assert (
            text_of(browser, "assign-jump_rope-S0201-error") == "hr-22 是心率手环，不能填在这一栏"
        )
        assert "请先改正标红的格子" in text_of(browser, "start-error")
        # A band another lesson holds (typed, as a scanner would): the gateway refuses, the
        # cell says.
        fill(browser, "assign-hr_band-S0202", "hr-01")
        fill(browser, "assign-jump_rope-S0201", "rope-21")
        click(browser, "#lesson-start-submit")
        wait_for(
            lambda: text_of(browser, "assign-hr_band-S0202-error") == "这台设备正被另一节课占用",
            PATIENCE_S,
            "the refusal next to hr-01",
        )
        assert "设备 'hr-01' 已分配给正在进行的课程" in text_of(browser, "start-error")
        # Another school's band: the gateway's reason, in Chinese, beside the cell.
        fill(browser, "assign-hr_band-S0202", "hr-91")
        click(browser, "#lesson-start-submit")
        wait_for(
            lambda: text_of(browser, "assign-hr_band-S0202-error") == "'hr-91' 是其他学校的设备",
            PATIENCE_S,
            "the refusal next to hr-91",
        )
        assert text_of(browser, "assign-hr_band-S0201-error") == ""
        assert roster.lessons(class_id="g5-2") == []
        # Nothing typed was lost to the refusals.
        typed = {
            c: browser.find_element(By.ID, c).get_attribute("value")
            for c in ("assign-hr_band-S0201", "assign-jump_rope-S0201")
        }
        assert typed == {"assign-hr_band-S0201": "hr-21", "assign-jump_rope-S0201": "rope-21"}
        fill(browser, "assign-hr_band-S0202", "hr-22")
        click(browser, "#lesson-start-submit")
        opened = wait_for(lambda: roster.lessons(class_id="g5-2"), PATIENCE_S, "the lesson")
        [lesson] = opened
        assert roster.assignments(lesson.id) == {
            "hr-21": "S0201",
            "rope-21": "S0201",
            "hr-22": "S0202",
        }
        wait_for(
            lambda: set(rows(browser, "#live-table tbody tr[data-student]")) == {"S0201", "S0202"},
            PATIENCE_S,
            "the new lesson's live view",
        )
        assert browser.find_element(By.ID, "lesson-select").get_attribute("value") == lesson.id
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher_lesson_control.png"))
        click(browser, "#lesson-end")
        assert roster.lesson(lesson.id).ended_at is None  # type: ignore[union-attr]
        click(browser, "#lesson-end")  # a second click ends it
        wait_for(
            lambda: roster.lesson(lesson.id).ended_at is not None,  # type: ignore[union-attr]
            PATIENCE_S,
            "the lesson to end",
        )
        wait_for(
            lambda: not browser.find_element(By.ID, "lesson-end").is_displayed(),
            PATIENCE_S,
            "the end button to go",
        )


def test_teacher_gets_a_heart_rate_alert_of_their_lesson_live_and_acknowledges_it(
    browser: Any, site: Site
) -> None:
    with chinese(browser, site):
        sign_in(browser, site, "pe_teacher")
        wait_for(
            lambda: text_of(browser, "teacher-alerts-live") == "实时更新：已连接",
            PATIENCE_S,
            "the alert stream to connect",
        )
        # 226 bpm for 24 s, inside the demo lesson (it may have begun less than 24 s ago).
        begun = site.gateway.roster.lesson("demo-lesson").started_at  # type: ignore[union-attr]
        first = max(datetime.now(UTC) - timedelta(seconds=24), begun + timedelta(seconds=1))
        site.publish(
            [
                site.messages.heart_rate("hr-03", 226, first + timedelta(seconds=s))
                for s in (0, 8, 16, 24)
            ]
        )
        selector = "#teacher-alerts-table tbody tr[data-alert]"
        found = wait_for(
            lambda: [
                (k, r) for k, r in rows(browser, selector).items() if "Student 03" in r["text"]
            ],
            PATIENCE_S,
            "the heart-rate alert to arrive over SSE",
        )
        [(alert_id, row)] = found
        assert "hr-03" in row["text"]
        click(
            browser,
            f'tr[data-alert="{alert_id}"] button[aria-label="确认告警 {alert_id}"]',
        )
        alerts = site.gateway.alerts
        assert alerts is not None
        wait_for(
            lambda: (
                (a := alerts.get(int(alert_id))) is not None and a.state.value == "acknowledged"
            ),
            PATIENCE_S,
            "the alert to be acknowledged",
        )


def test_teacher_starts_and_ends_a_rope_test_on_the_lessons_ropes(browser: Any, site: Site) -> None:
    from tests.gateway.mqtt_helpers import Collector

    assert site.mqtt is not None
    school = site.messages.school
    site.publish(
        [
            site.messages.status(
                "jump_rope", "rope-01", "online", 75, "rope-2.0", edge_id="edge-pe-1"
            )
        ]
    )
    wait_for(
        lambda: (d := site.gateway.devices.get("rope-01")) is not None and d.edge_id,
        PATIENCE_S,
        "rope-01's box",
    )
    boxes = Collector(site.mqtt, f"campus/{school}/edge/+/cmd/rope")
    try:
        in_chinese(browser, site)
        sign_in(browser, site, "pe_teacher")
        choose(browser, "lesson-select", "demo-lesson")
        fill(browser, "rope-seconds", "5")
        click(browser, "#rope-start")
        assert "10 到 600" in text_of(browser, "rope-status")  # refused in the page, none sent
        fill(browser, "rope-seconds", "60")
        click(browser, "#rope-start")
        [(topic, payload)] = boxes.wait_for(1)
        assert topic == f"campus/{school}/edge/edge-pe-1/cmd/rope"
        assert json.loads(payload) == {
            "action": "start",
            "mode": "countdown_time",
            "set_value": 60,
            "ropes": ["rope-01"],
        }
        status = wait_for(
            lambda: (t := text_of(browser, "rope-status")) and "开始指令" in t and t,
            PATIENCE_S,
            "the answer",
        )
        assert "已向 1 根跳绳发出开始指令" in status and "rope-02, rope-03, rope-04" in status
        click(browser, "#rope-end")
        end = boxes.wait_for(2)[1]
        assert json.loads(end[1]) == {"action": "end", "ropes": ["rope-01"]}
    finally:
        boxes.close()
        browser.execute_script("localStorage.clear()")


def test_teacher_types_results_in_the_grid_and_uploads_a_class_file_in_chinese(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def saved(student: str, item: str) -> list[float]:
        rows_ = site.gateway.fitness_results.rows(lesson_ids=["demo-test"], student_id=student)
        return [float(r.value) for r in rows_ if r.item == item]

    in_chinese(browser, site)
    try:
        sign_in(browser, site, "pe_teacher")
        choose(browser, "lesson-select", "demo-test")
        cell = "entry-S0003-run_50m"
        wait_for(lambda: browser.find_elements(By.ID, cell), PATIENCE_S, "the entry grid")
        fill(browser, cell, "96")
        browser.find_element(By.ID, cell).send_keys(Keys.TAB)  # leaving the cell saves it
        wait_for(
            lambda: "未保存" in text_of(browser, f"{cell}-error"), PATIENCE_S, "the cell's refusal"
        )
        assert "50米跑的成绩 '96' 不可能" in text_of(browser, f"{cell}-error")
        fill(browser, cell, "9.6")
        browser.find_element(By.ID, cell).send_keys(Keys.TAB)
        wait_for(lambda: saved("S0003", "run_50m") == [9.6], PATIENCE_S, "the typed result")
        # The page clears the refusal when the save's answer comes back, just after the row is in.
        wait_for(lambda: text_of(browser, f"{cell}-error") == "", PATIENCE_S, "the cleared refusal")
        # A class file as Excel saves it on Chinese Windows: GBK, the standard's item names.
        bad, good, mixed = tmp_path / "bad.csv", tmp_path / "good.csv", tmp_path / "mixed.csv"
        header = "学号,姓名,性别,1分钟跳绳\n"
        rows_ = "S0004,Student 04,女,120\nS0003,Student 03,男,999\n"
        bad.write_bytes((header + rows_).encode("gbk"))
        good.write_bytes((header + "S0004,Student 04,女,120\n").encode("gbk"))
        # The UTF-8 template with GBK rows pasted under it: refused whole, saying which lines.
        mixed.write_bytes(header.encode() + "S0004,学生四,女,120\n".encode("gbk"))
        browser.find_element(By.ID, "results-file").send_keys(str(mixed))
        click(browser, "#results-upload")
        wait_for(
            lambda: (
                "文件混用了不同的字符编码：第 1 行是 UTF-8，第 2 行不是"
                in text_of(browser, "upload-outcome")
            ),
            PATIENCE_S,
            "the mixed file's refusal",
        )
        assert saved("S0004", "rope_skip_1min") == []
        assert browser.find_element(By.ID, cell).get_attribute("value") == "9.6"  # kept
        browser.find_element(By.ID, "results-file").send_keys(str(bad))
        click(browser, "#results-upload")
        wait_for(
            lambda: "一条也没有保存" in text_of(browser, "upload-outcome"), PATIENCE_S, "refusal"
        )
        assert "第 3 行" in text_of(browser, "upload-outcome")
        assert "未保存" in text_of(browser, "entry-S0003-rope_skip_1min-error")
        assert saved("S0004", "rope_skip_1min") == []
        browser.find_element(By.ID, "results-file").send_keys(str(good))
        click(browser, "#results-upload")
        wait_for(lambda: "保存 1 项成绩" in text_of(browser, "upload-outcome"), PATIENCE_S, "saved")
        assert saved("S0004", "rope_skip_1min") == [120.0]
        grid_cell = browser.find_element(By.ID, "entry-S0004-rope_skip_1min")
        assert grid_cell.get_attribute("value") == "120"  # the grid shows what the file saved
    finally:
        browser.execute_script("localStorage.clear()")


def test_health_staff_record_a_fever_recheck_from_its_alert(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    gate = "gate-" + uuid.uuid4().hex[:6]
    site.publish(
        [
            site.messages.gate_pass(gate, "card-0001", 38.6),
            site.messages.gate_pass(gate, "card-0004", 38.3),
        ]
    )
    auth = {"Authorization": f"Bearer {site.tokens['health_staff']}"}
    fevers = wait_for(
        lambda: (
            len(
                found := {
                    a["student_id"]: a["id"]
                    for a in httpx.get(f"{site.base}/api/alerts", headers=auth).json()
                    if a["device_id"] == gate
                }
            )
            == 2
            and found
        ),
        PATIENCE_S,
        "the two fever alerts",
    )
    alert_id, resolved_id = fevers["S0001"], fevers["S0004"]
    alerts = site.gateway.alerts
    assert alerts is not None
    with chinese(browser, site):
        sign_in(browser, site, "health_staff")
        button = 'button[aria-label="为告警 {} 登记复测体温"]'
        # A recheck on an alert another nurse resolved while this list still showed it open:
        # refused beside the form, in Chinese, with what was typed kept; the list catches up.
        click(browser, button.format(resolved_id))
        alerts.resolve(resolved_id, "nurse.other", "resolved")
        fill(browser, "recheck-temperature", "38.1")
        click(browser, "#recheck-submit")
        wait_for(
            lambda: text_of(browser, "recheck-error") == f"未保存：告警 {resolved_id} 已经处理完毕",
            PATIENCE_S,
            "the refusal beside the form",
        )
        assert browser.find_element(By.ID, "recheck-temperature").get_attribute("value") == "38.1"
        wait_for(
            lambda: str(resolved_id) not in rows(browser, "#alerts-table tbody tr[data-alert]"),
            PATIENCE_S,
            "the resolved alert to leave the open list",
        )
        resolved = alerts.get(resolved_id)
        assert resolved is not None and "recheck_c" not in resolved.detail
        assert resolved.resolved_by == "nurse.other"
        click(browser, button.format(alert_id))
        fill(browser, "recheck-temperature", "45")
        click(browser, "#recheck-submit")
        # The gateway's own limit, worded in Chinese beside the field; nothing recorded.
        wait_for(
            lambda: text_of(browser, "recheck-temperature-error") == "不能高于 43",
            PATIENCE_S,
            "the refusal beside the field",
        )
        assert text_of(browser, "recheck-error") == ""
        assert "recheck_c" not in alerts.get(alert_id).detail  # type: ignore[union-attr]
        fill(browser, "recheck-temperature", "38.2")
        Select(browser.find_element(By.ID, "recheck-site")).select_by_value("oral")
        Select(browser.find_element(By.ID, "recheck-thermometer")).select_by_value("mercury")
        click(browser, "#recheck-submit")
        wait_for(lambda: "已确认发热" in text_of(browser, "message"), PATIENCE_S, "the recheck")
        browser.save_screenshot(str(site.shots / "zh-CN_health_staff_recheck.png"))
    alert = alerts.get(alert_id)
    assert alert is not None
    d = alert.detail
    assert (d["recheck_c"], d["recheck_method"], d["recheck_thermometer"]) == (
        38.2,
        "oral",
        "mercury",
    )
    assert d["confirmed"] is True and d["recheck_by"] == "nurse.demo"


def test_health_staff_record_absences_and_see_the_levels_with_their_rule(
    browser: Any, site: Site
) -> None:
    school = site.messages.school
    in_chinese(browser, site)
    try:
        sign_in(browser, site, "health_staff")
        wait_for(lambda: rows_by_scope(browser).get("school"), PATIENCE_S, "the school's level row")
        fill(browser, "absence-student", "S9999")
        click(browser, "#absence-submit")
        wait_for(
            lambda: "不在花名册中" in text_of(browser, "absence-student-error"),
            PATIENCE_S,
            "the refusal beside the student id",
        )
        for student in ("S0002", "S0004"):
            fill(browser, "absence-student", student)
            fill(browser, "absence-symptoms", "发热、咳嗽")
            click(browser, "#absence-submit")
            wait_for(
                lambda s=student: f"已登记：{s}" in text_of(browser, "absence-saved"),  # type: ignore[misc]
                PATIENCE_S,
                f"{student}'s absence",
            )
        today = site.gateway.alerts.today(school)  # type: ignore[union-attr]
        absent = site.gateway.absences.absent_for_illness(school, today, today)
        assert {"S0002", "S0004"} <= {a.student_id for a in absent}
        levels = site.gateway.alerts.levels(school, today)  # type: ignore[union-attr]
        [klass] = [c for c in levels.classes if c.scope == CLASS_ID]
        assert klass.cases >= 2 and klass.level.value != "green"
        # The counts behind the class's level and the threshold that set it, as stored.
        row = wait_for(
            lambda: (r := rows_by_scope(browser).get(CLASS_ID)) and str(klass.cases) in r and r,
            PATIENCE_S,
            "the class's row",
        )
        assert f"当日病例 {klass.cases} 例，达到" in row and "预警阈值" in row
        assert str(klass.illness_absences) in row.split("\t")[4]
        browser.save_screenshot(str(site.shots / "zh-CN_health_staff_levels.png"))
    finally:
        browser.execute_script("localStorage.clear()")


def rows_by_scope(browser: Any) -> dict[str, str]:
    return dict(
        browser.execute_script(
            "return [...document.querySelectorAll('#levels-table tbody tr[data-scope]')]"
            ".map((r) => [r.dataset.scope, r.innerText]);"
        )
    )


def test_campus_it_imports_the_roster_from_a_gbk_file_with_chinese_headers_in_chinese(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    with chinese(browser, site):
        sign_in(browser, site, "campus_it")
        # The template the page offers: what the files below are made from.
        href = browser.find_element(By.ID, "roster-template").get_attribute("href")
        header = httpx.get(href).content.decode("utf-8-sig").splitlines()[0]
        assert header == "学号,姓名,性别,出生日期,班级编号,卡号"
        bad, good, mixed = tmp_path / "bad.csv", tmp_path / "good.csv", tmp_path / "mixed.csv"
        row = f"S7001,王五,男,2015-02-01,{CLASS_ID},\n"
        # GBK rows with a row pasted in from a UTF-8 file: refused whole, naming both lines.
        mixed.write_bytes(
            f"{header}\n{row}".encode("gbk") + f"S7003,张三,男,2015-02-01,{CLASS_ID},\n".encode()
        )
        browser.find_element(By.ID, "roster-file").send_keys(str(mixed))
        click(browser, "#roster-upload")
        wait_for(
            lambda: (
                "文件混用了不同的字符编码：第 3 行是 UTF-8，第 1 行不是"
                in text_of(browser, "roster-outcome")
            ),
            PATIENCE_S,
            "the mixed file's refusal",
        )
        assert text_of(browser, "roster-outcome").startswith("未导入：")
        bad.write_bytes(f"{header}\n{row}S7002,赵六,x,2015-13-01,{CLASS_ID},\n".encode("gbk"))
        good.write_bytes(f"{header}\n{row}".encode("gbk"))
        browser.find_element(By.ID, "roster-file").send_keys(str(bad))
        click(browser, "#roster-upload")
        wait_for(lambda: "共 2 处问题" in text_of(browser, "roster-outcome"), PATIENCE_S, "refusal")
        outcome = text_of(browser, "roster-outcome")
        assert "第 3 行，“性别”列" in outcome and "第 3 行，“出生日期”列" in outcome
        assert site.gateway.roster.student("S7001") is None  # all or nothing
        browser.find_element(By.ID, "roster-file").send_keys(str(good))
        click(browser, "#roster-upload")
        wait_for(
            lambda: (
                "已从 good.csv 导入 1 名学生（文件编码：GBK）" in text_of(browser, "roster-outcome")
            ),
            PATIENCE_S,
            "the import",
        )
        student = site.gateway.roster.student("S7001")
        assert student is not None and (student.name, student.class_id) == ("王五", CLASS_ID)


def test_a_competitions_leaderboard_page_follows_new_sets_live(browser: Any, site: Site) -> None:
    """The leaderboard page: signed in once, it redraws from the SSE stream as a rope's set is
    committed, showing the student's initials and class, never the name or id."""
    from selenium.webdriver.common.by import By

    gateway = site.gateway
    now = datetime.now(UTC)
    gateway.competitions.define(one_school_cup("live-cup", site.messages.school, now), "it.demo")
    # A class of its own, its rope bound since before the set began.
    school = site.messages.school
    gateway.roster.add_class("g5-cup", school, "Grade 5 Class 2", "5", "teacher.demo")
    gateway.roster.add_student("C0001", "Li Lei", "M", date(2015, 1, 1), "g5-cup")
    at = now - timedelta(minutes=10)
    gateway.roster.start_lesson(
        "g5-cup", "teacher.demo", LessonKind.LESSON, {"crope-01": "C0001"}, at=at
    )
    browser.get(site.base + "/static/leaderboard.html?competition=live-cup")
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    wait_for(lambda: browser.find_element(By.ID, "token").is_displayed(), PATIENCE_S, "sign-in")
    browser.find_element(By.ID, "token").send_keys(site.tokens["health_staff"])
    click(browser, "#sign-in-form button[type=submit]")
    wait_for(lambda: text_of(browser, "board-live") == "Live", PATIENCE_S, "the stream")
    assert "No ranked sets yet." in text_of(browser, "board")

    site.publish(
        [
            site.messages.rope_progress("crope-01", 80, datetime.now(UTC) - timedelta(seconds=30)),
            site.messages.rope_result("crope-01", 155),
        ]
    )
    board = wait_for(
        lambda: (text := text_of(browser, "board")) and "155" in text and text,
        PATIENCE_S,
        "the new set on the board, without a reload",
    )
    assert "L.L." in board and "Grade 5 Class 2" in board
    assert "Li Lei" not in board and "C0001" not in board
    browser.save_screenshot(str(site.shots / "leaderboard.png"))
    # Leaving the page closes its stream (an open one holds the server's stop for seconds).
    browser.get("about:blank")
    hub = gateway.competitions.hub
    wait_for(lambda: hub.subscribers == 0, PATIENCE_S, "the page to close its stream")


def _api_as(site: Site, token: str, path: str) -> httpx.Response:
    return httpx.get(site.base + path, headers={"Authorization": f"Bearer {token}"})


def test_campus_it_add_a_user_change_them_give_a_new_token_and_revoke_in_chinese(
    browser: Any, site: Site
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(site.base + "/")
    browser.execute_script("localStorage.setItem('campusedge.language', 'zh-CN')")
    try:
        sign_in(browser, site, "campus_it")
        wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, "#users-table tr[data-user]"),
            PATIENCE_S,
            "the users",
        )
        fill(browser, "user-id", "li hua")
        click(browser, "#user-add-submit")
        wait_for(
            lambda: "不是有效的用户编号" in text_of(browser, "user-id-error"),
            PATIENCE_S,
            "the refusal beside the id",
        )
        fill(browser, "user-id", "li.hua")
        fill(browser, "user-name", "李华")
        Select(browser.find_element(By.ID, "user-role")).select_by_value("health_staff")
        click(browser, "#user-add-submit")
        first = wait_for(lambda: text_of(browser, "user-token-text"), PATIENCE_S, "the token")
        assert text_of(browser, "user-id-error") == ""
        click(browser, "#user-token-text-copy")
        wait_for(lambda: text_of(browser, "user-token-text-copy") == "已复制", PATIENCE_S, "copy")
        me = _api_as(site, first, "/api/me").json()
        assert (me["id"], me["display_name"], me["role"], me["schools"]) == (
            "li.hua",
            "李华",
            "health_staff",
            [site.messages.school],
        )

        click(browser, "#edit-li\\.hua")
        choose(browser, "edit-role", "pe_teacher")
        click(browser, "#user-edit-save")
        row = '#users-table tr[data-user="li.hua"]'
        # Read in the page: the table re-renders as it is polled, so a row element found here
        # can be gone (stale) by the time its text is asked for.
        row_text = f"return document.querySelector('{row}')?.textContent ?? ''"
        wait_for(lambda: "体育教师" in browser.execute_script(row_text), 20, "role")
        assert _api_as(site, first, "/api/me").json()["role"] == "pe_teacher"

        click(browser, "#rotate-li\\.hua")  # asks first
        assert text_of(browser, "user-token-text") == first
        click(browser, "#rotate-li\\.hua")
        second = wait_for(
            lambda: (text := text_of(browser, "user-token-text")) != first and text,
            PATIENCE_S,
            "the new token",
        )
        assert _api_as(site, first, "/api/me").status_code == 401
        assert _api_as(site, second, "/api/me").status_code == 200

        click(browser, "#revoke-li\\.hua")
        click(browser, "#revoke-li\\.hua")
        wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, row), PATIENCE_S, "revoked")
        assert "已吊销 li.hua" in text_of(browser, "users-status")
        assert text_of(browser, "user-token") == ""  # its token gone from the page too
        assert _api_as(site, second, "/api/me").status_code == 401
        browser.save_screenshot(str(site.shots / "zh-CN_campus_it_users.png"))
    finally:
        browser.execute_script("localStorage.clear()")


def test_campus_it_enrol_a_box_and_a_waiting_device_then_revoke_it_in_chinese(
    browser: Any, site: Site
) -> None:
    from selenium.webdriver.common.by import By

    from gateway.fleet.enrolment import UNKNOWN_DEVICE_REASON
    from gateway.store.base import DeadLetter

    school = site.messages.school
    # What ingest keeps of a band's reading refused as not enrolled (strict enrolment).
    site.gateway.store.write_dead_letters(
        [
            DeadLetter(
                school,
                f"campus/{school}/hr_band/hr-77/reading",
                UNKNOWN_DEVICE_REASON,
                "device hr-77 is not enrolled",
                b"{}",
                datetime.now(UTC),
            )
        ]
    )
    token = site.tokens["campus_it"]
    browser.get(site.base + "/")
    browser.execute_script("localStorage.setItem('campusedge.language', 'zh-CN')")
    try:
        sign_in(browser, site, "campus_it")
        wait_for(lambda: "hr-77" in text_of(browser, "pending-table"), PATIENCE_S, "pending")
        fill(browser, "enrol-device", "gym-box")
        fill(browser, "enrol-host", "broker.school.lan")
        fill(browser, "enrol-port", "8883")
        click(browser, "#enrol-submit")
        written = wait_for(lambda: text_of(browser, "cred-json"), PATIENCE_S, "the credentials")
        creds = json.loads(written)
        assert creds["username"] == f"box/{school}/gym-box" and len(creds["password"]) > 30
        assert (creds["host"], creds["port"]) == ("broker.school.lan", 8883)
        assert "BEGIN CERTIFICATE" in text_of(browser, "cred-crt")
        assert "PRIVATE KEY" in text_of(browser, "cred-key")
        assert f"edge_id: gym-box\nschool: {school}" in text_of(browser, "cred-config")

        # Lost: new credentials for the box, after a second click.
        click(browser, "#renew-gym-box")
        click(browser, "#renew-gym-box")
        renewed = wait_for(
            lambda: (text := text_of(browser, "cred-json")) != written and text,
            PATIENCE_S,
            "the new credentials",
        )
        assert json.loads(renewed)["password"] != creds["password"]
        assert "换发凭据" in text_of(browser, "enrol-result")

        click(browser, "#enrol-pending-hr-77")
        assert browser.find_element(By.ID, "enrol-kind").get_attribute("value") == "hr_band"
        choose(browser, "enrol-box", "gym-box")
        fill(browser, "enrol-device", "hr 77")
        click(browser, "#enrol-submit")
        wait_for(
            lambda: "不是有效的编号" in text_of(browser, "enrol-device-error"),
            PATIENCE_S,
            "the refusal beside the device id",
        )
        fill(browser, "enrol-device", "hr-77")
        click(browser, "#enrol-submit")
        wait_for(
            lambda: "经由边缘盒 gym-box" in text_of(browser, "enrol-result"),
            PATIENCE_S,
            "the band enrolled behind the box",
        )
        listed = _api_as(site, token, "/api/enrolment").json()
        assert [(b["box"], b["devices"]) for b in listed["boxes"]] == [("gym-box", ["hr-77"])]
        assert listed["pending"] == []
        wait_for(lambda: "没有待登记的设备" in text_of(browser, "pending-table"), 20, "none left")

        click(browser, "#revoke-device-hr-77")
        click(browser, "#revoke-device-hr-77")
        wait_for(lambda: "已吊销 hr-77" in text_of(browser, "enrol-status"), PATIENCE_S, "revoked")
        listed = _api_as(site, token, "/api/enrolment").json()
        assert [(b["box"], b["devices"]) for b in listed["boxes"]] == [("gym-box", [])]
        browser.save_screenshot(str(site.shots / "zh-CN_campus_it_enrolment.png"))
    finally:
        browser.execute_script("localStorage.clear()")


def test_a_district_user_reads_its_schools_aggregates_in_chinese(browser: Any, site: Site) -> None:
    from gateway.auth import Role

    gw = site.gateway
    school = site.messages.school
    gw.districts.add("north", "北区")
    gw.districts.set_schools("north", [school])
    site.tokens["district"] = gw.users.create(
        "district.north", "北区体卫科", Role.DISTRICT, district="north"
    )
    in_chinese(browser, site)
    try:
        sign_in(browser, site, "district")
        assert visible_panels(browser) == {"district-panel"}
        level = wait_for(
            lambda: browser.execute_script(
                "const r = document.querySelector('#district-levels tr[data-school]');"
                "return r ? r.innerText : '';"
            ),
            PATIENCE_S,
            "the school's level",
        )
        today = gw.alerts.today(school)  # type: ignore[union-attr]
        stored = gw.alerts.levels(school, today).school_level  # type: ignore[union-attr]
        names = {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
        assert school in level and names[stored.level.value] in level
        # The demo class's 4 students are fewer than 5: its grade is shown without figures.
        fitness = wait_for(lambda: text_of(browser, "district-fitness"), PATIENCE_S, "fitness")
        assert "人数少于 5，不显示" in fitness
        # The gateway's own words for what it hides, in the reader's language.
        assert "少于 5 名学生的计数不显示" in text_of(browser, "district-note")
        page = browser.execute_script(TEXTS_JS)
        students = gw.roster.students_of_class(CLASS_ID)
        assert not [s for s in students if any(s.name in t or s.id in t for t in page)]
        assert english_leaks(page) == []
        browser.save_screenshot(str(site.shots / "zh-CN_district.png"))
    finally:
        browser.execute_script("localStorage.clear()")


REPORT_LESSON = "report-lesson"


def report_lesson(site: Site) -> str:
    """A finished lesson of four students, a sample every 10 s for 3 minutes: 150, 155 and
    175 bpm are above the moderate threshold all the time, 100 bpm never: density
    (100 + 100 + 0 + 100) / 4 = 75 % and mean (150 + 155 + 100 + 175) / 4 = 145 bpm, both
    meeting the curriculum's targets; the 100 bpm student stayed below, the 175 bpm above.
    Made once for the module."""
    if site.gateway.roster.lesson(REPORT_LESSON) is not None:
        return REPORT_LESSON
    school = site.messages.school
    roster = site.gateway.roster
    roster.add_class("g5-7", school, "五年级7班", "5", pe_teacher_id="teacher.demo")
    bpm = {"S0701": 150, "S0702": 155, "S0703": 100, "S0704": 175}
    names = {"S0701": "陈一", "S0702": "陈二", "S0703": "陈三", "S0704": "陈四"}
    for student, name in names.items():
        roster.add_student(student, name, "F", date(2015, 3, 3), "g5-7")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    bands = {f"hr-7{i}": student for i, student in enumerate(bpm, 1)}
    roster.start_lesson(
        "g5-7", "teacher.demo", LessonKind.LESSON, bands, at=start, lesson_id=REPORT_LESSON
    )
    stats = site.gateway.ingest.stats
    before = stats["stored"]
    batch = [
        site.messages.heart_rate(band, bpm[student], start + timedelta(seconds=5 + 10 * i))
        for i in range(19)
        for band, student in bands.items()
    ]
    site.publish(batch)
    wait_for(lambda: stats["stored"] - before >= len(batch), PATIENCE_S, "the samples stored")
    roster.end_lesson(REPORT_LESSON, at=start + timedelta(minutes=4))
    return REPORT_LESSON


def test_teacher_reads_a_lesson_report_with_its_plots_and_downloads_the_pdf_in_chinese(
    browser: Any, site: Site
) -> None:
    lesson = report_lesson(site)
    in_chinese(browser, site)
    try:
        sign_in(browser, site, "pe_teacher")
        choose(browser, "lesson-select", lesson)
        click(browser, "#report-load")
        density = wait_for(
            lambda: text_of(browser, "report-density"), PATIENCE_S, "the density figure"
        )
        assert "75.0 %" in density and "达标" in density and "未达标" not in density
        mean = text_of(browser, "report-mean")
        assert "145 次/分" in mean and "未达标" not in mean
        assert text_of(browser, "report-below") == "陈三"
        assert text_of(browser, "report-above") == "陈四"
        # Both plots fetched with the token and decoded as images.
        wait_for(
            lambda: browser.execute_script(
                "return ['report-curve', 'report-zones'].every((id) => {"
                " const img = document.getElementById(id);"
                " return img && img.complete && img.naturalWidth > 0; });"
            ),
            PATIENCE_S,
            "both plots",
        )
        click(browser, "#report-pdf")
        wait_for(
            lambda: "PDF 已下载" in text_of(browser, "report-pdf-status"),
            PATIENCE_S,
            "the PDF downloaded",
        )
        assert english_leaks(browser.execute_script(TEXTS_JS)) == []
        browser.execute_script("document.getElementById('report-section').scrollIntoView()")
        browser.save_screenshot(str(site.shots / "zh-CN_pe_teacher_report.png"))
    finally:
        browser.execute_script("localStorage.clear()")


def test_health_staff_pick_a_lesson_and_read_its_report_in_chinese(
    browser: Any, site: Site
) -> None:
    lesson = report_lesson(site)
    in_chinese(browser, site)
    try:
        sign_in(browser, site, "health_staff")
        choose(browser, "health-report-lesson", lesson)
        click(browser, "#health-report-load")
        density = wait_for(
            lambda: text_of(browser, "health-report-density"), PATIENCE_S, "the density figure"
        )
        assert "75.0 %" in density and "未达标" not in density
        assert text_of(browser, "health-report-below") == "陈三"
        wait_for(
            lambda: browser.execute_script(
                "const img = document.getElementById('health-report-zones');"
                "return img && img.complete && img.naturalWidth > 0;"
            ),
            PATIENCE_S,
            "the zones plot",
        )
    finally:
        browser.execute_script("localStorage.clear()")


def test_campus_it_send_a_box_a_command_and_roll_out_a_model_in_chinese(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    """The page sends the command and shows the box's own answer when its status brings it;
    a rollout queues the model for the school's boxes."""
    import base64

    school = site.messages.school
    box = "cmd-box"

    def box_status(*results: dict[str, object]) -> tuple[str, bytes]:
        body: dict[str, object] = {"v": 1, "device_id": box, "kind": "edge", "state": "online"}
        if results:
            body["commands"] = list(results)
        return f"campus/{school}/edge/{box}/status", json.dumps(body).encode()

    site.publish([box_status()])  # a box the gateway has heard of
    wait_for(lambda: site.gateway.devices.get(box, school), PATIENCE_S, "the box's status")
    model = tmp_path / "pose_v2.onnx"
    model.write_bytes(b"model bytes")
    sha = site.gateway.models.add(model, base64.b64encode(bytes(64)).decode()).sha256
    browser.get(site.base + "/")
    browser.execute_script("localStorage.setItem('campusedge.language', 'zh-CN')")
    try:
        sign_in(browser, site, "campus_it")
        fill(browser, "cmd-box", box)
        choose(browser, "cmd-name", "rope")
        fill(browser, "cmd-body", "{not json")
        click(browser, "#cmd-submit")
        wait_for(lambda: "不是 JSON" in text_of(browser, "cmd-body-error"), PATIENCE_S, "refusal")
        fill(browser, "cmd-body", '{"action": "end"}')
        click(browser, "#cmd-submit")
        said = wait_for(lambda: text_of(browser, "cmd-status"), PATIENCE_S, "the command sent")
        command_id = re.search(r"cmd-[0-9a-f]+", said).group(0)  # type: ignore[union-attr]
        assert "已发送" in said  # handed to the broker
        site.publish(
            [
                box_status(
                    {
                        "id": command_id,
                        "name": "rope",
                        "ok": True,
                        "detail": "rope end sent to 2 rope(s)",
                        "at": datetime.now(UTC).isoformat(),
                    }
                )
            ]
        )
        wait_for(
            lambda: (
                (c := site.gateway.box_commands.get(school, command_id)) and c.state == "applied"
            ),
            PATIENCE_S,
            "the box's answer stored",
        )
        click(browser, "#cmd-refresh")  # now, not at the next tick
        wait_for(
            lambda: (
                "已执行" in text_of(browser, "commands-table")
                and "rope end sent to 2 rope(s)" in text_of(browser, "commands-table")
            ),
            PATIENCE_S,
            "the box's answer on the page",
        )
        choose(browser, "rollout-model", sha)
        fill(browser, "rollout-percent", "100")
        click(browser, "#rollout-submit")
        said = wait_for(
            lambda: (text := text_of(browser, "cmd-status")) and "推送" in text and text,
            PATIENCE_S,
            "the rollout",
        )
        assert box in said, said  # every box of the school is in a 100 % share
        wait_for(lambda: "模型更新" in text_of(browser, "commands-table"), PATIENCE_S, "the row")
        [offered] = [
            c for c in site.gateway.box_commands.list(school) if c.name == "model" and c.box == box
        ]
        assert offered.box == box and offered.body["sha256"] == sha
        assert offered.body["url"].startswith(site.base + f"/api/fleet/models/{sha}/file?token=")
        browser.save_screenshot(str(site.shots / "zh-CN_box_commands.png"))
    finally:
        browser.execute_script("localStorage.removeItem('campusedge.language')")


def growth_history(site: Site) -> None:
    """Student 01 tested last school year (rope 100; the result says no grade, so the page
    counts it, grade 4) and this year every item of grade 5 with a vision screening, so that
    the class's national file has one complete row."""
    from gateway.fitness.results import NewResult
    from gateway.fitness.school_year import school_year_of
    from gateway.health.vision import Screening

    roster, results = site.gateway.roster, site.gateway.fitness_results
    if roster.lesson("growth-past") is not None:
        return
    last = datetime(school_year_of(datetime.now(UTC)) - 1, 10, 10, 2, tzinfo=UTC)
    recent = datetime.now(UTC) - timedelta(minutes=20)
    values = {
        "height_cm": 140.2,
        "weight_kg": 33.5,
        "vital_capacity": 1800,
        "run_50m": 9.1,
        "sit_and_reach": 9.4,
        "sit_up_1min": 35,
        "shuttle_50x8": 105,
    }
    for lesson, at, items in (
        ("growth-past", last, {"rope_skip_1min": 100}),
        ("growth-now", recent, values),
    ):
        roster.start_lesson(
            CLASS_ID, "teacher.demo", LessonKind.FITNESS_TEST, {}, at=at, lesson_id=lesson
        )
        roster.end_lesson(lesson, at + timedelta(minutes=10))
        stored = results.record(
            [
                NewResult(lesson, "S0001", item, v, at + timedelta(minutes=1), "staff")
                for item, v in items.items()
            ]
        )
        assert all(not isinstance(r, Exception) for r in stored), stored
    assert site.gateway.referrals is not None
    site.gateway.referrals.record(
        site.messages.school,
        "S0001",
        CLASS_ID,
        recent,
        "vs-growth",
        1,
        Screening({"left": 4.9, "right": 5.0}, {"left": -0.25, "right": 0.0}),
        [],
    )


def test_teacher_reads_a_growth_record_and_downloads_the_class_national_file_in_chinese(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from gateway.fitness.school_year import school_year_of

    growth_history(site)
    year = school_year_of(datetime.now(UTC))
    registry = tmp_path / "学籍.csv"
    registry.write_text(
        "学号,学籍号,民族\n"
        + "".join(f"S000{i},G11010120150{i}010011,汉族\n" for i in range(1, STUDENTS + 1)),
        encoding="utf-8",
    )
    downloads = tmp_path / "downloads"
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    in_chinese(browser, site)
    try:
        sign_in(browser, site, "pe_teacher")
        choose(browser, "records-class", CLASS_ID)
        choose(browser, "growth-student", "S0001")
        record = wait_for(
            lambda: (
                "对照年级标准" in text_of(browser, "growth-record")
                and text_of(browser, "growth-record")
            ),
            PATIENCE_S,
            "the growth record",
        )
        assert "Student 01 S0001 的成长档案" in record
        # This year's grade as its results recorded it; last year's counted back from it.
        assert f"{year}-{year + 1} 学年 · 5 年级（测试时记录）" in record
        assert f"{year - 1}-{year} 学年 · 4 年级（按年推算）" in record
        assert "家长报告（PDF）" in record and "身高、体重、BMI 和视力只向校医显示" in record
        rope = browser.execute_script(
            "return [...document.querySelectorAll('table.growth-year')][0]"
            ".querySelector('tr[data-item=rope_skip_1min]').innerText"
        )
        assert "+50" in rope and ("还差" in rope or "满分" in rope), rope

        browser.find_element("id", "national-registry").send_keys(str(registry))
        click(browser, "#national-download")
        summary = wait_for(
            lambda: (
                "已写入" in text_of(browser, "national-problems")
                and text_of(browser, "national-problems")
            ),
            PATIENCE_S,
            "the national file's problems",
        )
        # Other tests of the module add students to the class: all but Student 01 lack items.
        others = len(site.gateway.roster.students_of_class(CLASS_ID)) - 1
        assert f"已写入 1 名学生，{others} 名未导出" in summary
        listed = rows(browser, "#national-problems-table tbody tr")
        assert "S0001" not in listed and "未导出" in listed["S0002"]["text"]
        assert "本学年没有" in listed["S0002"]["text"]
        path = downloads / f"national-{site.messages.school}-{year}-{CLASS_ID}.xlsx"
        wait_for(path.exists, PATIENCE_S, "the downloaded workbook")
        upload, problems = load_workbook(path).worksheets
        header = [c.value for c in upload[1]]
        [row] = [dict(zip(header, (c.value for c in r), strict=True)) for r in upload.iter_rows(2)]
        assert (row["学籍号"], row["姓名"], row["年级编号"]) == (
            "G110101201501010011",
            "Student 01",
            "15",
        )
        assert (row["一分钟跳绳"], row["50米×8往返跑"], row["左眼裸眼视力"]) == (150, "1'45", 4.9)
        reasons = [r[5] for r in problems.iter_rows(min_row=2, values_only=True)]
        assert any("本学年没有" in str(r) for r in reasons)  # in the page's language
        assert english_leaks(browser.execute_script(TEXTS_JS)) == []
        browser.execute_script("document.getElementById('growth-record').scrollIntoView()")
        browser.save_screenshot(str(site.shots / "zh-CN_growth_and_national.png"))

        # Health staff read the same record with the health data: BMI's band and vision.
        sign_in(browser, site, "health_staff")
        choose(browser, "records-class", CLASS_ID)
        choose(browser, "growth-student", "S0001")
        record = wait_for(
            lambda: (
                "裸眼视力" in text_of(browser, "growth-record")
                and text_of(browser, "growth-record")
            ),
            PATIENCE_S,
            "the record with health data",
        )
        assert "裸眼视力：左 4.9，右 5.0" in record and "体重指数(BMI)" in record
        assert "只向校医显示" not in record
    finally:
        browser.execute_script("localStorage.removeItem('campusedge.language')")
