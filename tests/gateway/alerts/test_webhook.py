"""Webhooks against a local receiver: retries with backoff, formats, signing, no names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
import urllib.parse
from pathlib import Path

import pytest

from gateway.alerts.config import (
    DeliveryConfig,
    LifecycleConfig,
    RetryConfig,
    SchoolAlertConfig,
    WebhookFormat,
    WebhookTarget,
)
from gateway.alerts.delivery import webhook
from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.receiver import WebhookReceiver
from gateway.alerts.delivery.redact import redact_text, redact_url
from gateway.alerts.delivery.webhook import WebhookChannel, backoff, dingtalk_signed_url
from gateway.alerts.model import Severity
from tests.gateway.alerts.scenario import MORNING, World, batch, build_world, gate_pass

FAST = RetryConfig(max_attempts=4, first_delay_s=0.05, max_delay_s=0.2, timeout_s=2)


def config(*targets: WebhookTarget, retry: RetryConfig = FAST) -> SchoolAlertConfig:
    return SchoolAlertConfig(
        delivery=DeliveryConfig(webhooks=list(targets), mqtt=False, retry=retry),
        lifecycle=LifecycleConfig(group_interval_s=0),
    )


def wired(
    tmp: Path | str, url: str, retry: RetryConfig = FAST
) -> tuple[World, DeliveryLog, WebhookChannel]:
    """A world whose engine delivers to one webhook target at *url*."""
    w = build_world(tmp, config(WebhookTarget(name="office", url=url), retry=retry))
    log = DeliveryLog(w.db)
    channel = WebhookChannel(w.configs, log)
    w.engine.notifier.channels.append(channel)
    return w, log, channel


def wait_for_entries(log: DeliveryLog, count: int, timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while len(log.entries()) < count and time.monotonic() < deadline:
        time.sleep(0.02)


# Long enough that a test ends inside the backoff after the first failure.
SLOW = RetryConfig(max_attempts=5, first_delay_s=30, max_delay_s=30, timeout_s=2)


def test_backoff_doubles_and_caps() -> None:
    retry = RetryConfig(first_delay_s=0.5, max_delay_s=3)
    assert [backoff(n, retry) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retries_until_the_receiver_takes_it(state_url: str) -> None:
    receiver = WebhookReceiver(fail_first=2).start()
    try:
        w, log, channel = wired(state_url, receiver.url)
        started = time.monotonic()
        w.feed(batch(gate_pass("card-c1s07", 38.3, MORNING)))
        assert receiver.wait_for(1, timeout_s=10)
        elapsed = time.monotonic() - started
        channel.close()
    finally:
        receiver.stop()
    assert receiver.attempts == 3
    assert elapsed >= 0.05 + 0.1  # two backoffs waited
    entries = list(reversed(log.entries()))
    assert [(e.attempt, e.status, e.http_status) for e in entries] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "delivered", 200),
    ]
    body = receiver.received[0].body
    assert body["type"] == "campusedge.alert" and body["rule"] == "fever"
    [alert] = body["alerts"]
    assert alert["student_id"] == "c1s07" and alert["detail"]["temperature_c"] == 38.3
    # Webhooks leave the building: the student's name is never in them.
    assert "Name c1s07" not in str(body)


def test_gives_up_after_max_attempts(state_url: str) -> None:
    receiver = WebhookReceiver(fail_first=100).start()
    try:
        retry = RetryConfig(max_attempts=3, first_delay_s=0.01, max_delay_s=0.02, timeout_s=2)
        w, log, channel = wired(state_url, receiver.url, retry)
        w.feed(batch(gate_pass("card-c1s07", 38.3, MORNING)))
        wait_for_entries(log, 3)
        channel.close()
    finally:
        receiver.stop()
    assert [e.status for e in reversed(log.entries())] == ["failed", "failed", "gave_up"]


def test_wecom_and_dingtalk_formats(state_url: str) -> None:
    receiver = WebhookReceiver().start()
    try:
        cfg = config(
            WebhookTarget(name="wecom", url=receiver.url + "?key=abc", format=WebhookFormat.WECOM),
            WebhookTarget(
                name="ding",
                url=receiver.url + "?access_token=t",
                format=WebhookFormat.DINGTALK,
                secret="SEC123",
            ),
            WebhookTarget(
                name="critical-only", url=receiver.url + "?c=1", min_severity=Severity.CRITICAL
            ),
        )
        w = build_world(state_url, cfg)
        channel = WebhookChannel(w.configs, DeliveryLog(w.db))
        w.engine.notifier.channels.append(channel)
        w.feed(batch(gate_pass("card-c1s07", 38.3, MORNING)))
        assert receiver.wait_for(2, timeout_s=10)
        time.sleep(0.2)  # a third (wrong) delivery would have arrived by now
        channel.close()
    finally:
        receiver.stop()
    assert len(receiver.received) == 2  # the critical-only target took no fever warning
    by_path = {r.path.split("?")[1].split("=")[0]: r for r in receiver.received}
    wecom = by_path["key"].body
    assert wecom["msgtype"] == "markdown" and set(wecom["markdown"]) == {"content"}
    # In the deployment's language, Chinese by default, with the student's pseudonymous id.
    content = wecom["markdown"]["content"]
    assert "疑似发热" in content and "学生：c1s07" in content and "38.3 °C（额温）" in content
    ding = by_path["access_token"]
    assert ding.body["msgtype"] == "markdown" and set(ding.body["markdown"]) == {"title", "text"}
    assert ding.body["markdown"]["title"] == "【警告】新告警：疑似发热 · sch1"
    assert "学生：c1s07" in ding.body["markdown"]["text"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding.path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(
        hmac.new(b"SEC123", f"{timestamp}\nSEC123".encode(), hashlib.sha256).digest()
    ).decode()
    assert sign == expected
    for r in receiver.received:
        assert "Name c1s07" not in str(r.body)


def test_dingtalk_signature_is_stable() -> None:
    url = dingtalk_signed_url(
        "https://example.invalid/robot/send?access_token=x", "s", now_ms=1_700_000_000_000
    )
    assert url.startswith(
        "https://example.invalid/robot/send?access_token=x&timestamp=1700000000000&sign="
    )


def test_a_restart_resumes_the_deliveries_left_waiting(state_url: str) -> None:
    receiver = WebhookReceiver(fail_first=1_000).start()
    try:
        w, log, channel = wired(state_url, receiver.url, SLOW)
        w.feed(batch(gate_pass("card-c1s07", 38.3, MORNING)))
        wait_for_entries(log, 1)
        # The gateway stops in the 30 s backoff after the first failure...
        channel.close()
        w.engine.notifier.channels.remove(channel)
        [first] = log.entries()
        assert (first.attempt, first.status) == (1, "failed")
        # ...the receiver recovers, and the next start delivers what was waiting, once.
        receiver.fail_first = 0
        restarted = WebhookChannel(w.configs, log)
        assert receiver.wait_for(1, timeout_s=10)
        time.sleep(0.2)
        restarted.close()
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["X-Campusedge-Notification"] == first.notification_id
    assert [(e.attempt, e.status) for e in reversed(log.entries())] == [
        (1, "failed"),
        (2, "delivered"),
    ]
    assert restarted.outbox.targets() == set()


def test_waiting_deliveries_for_a_removed_target_are_given_up_on_start(state_url: str) -> None:
    w = build_world(state_url, config())
    log = DeliveryLog(w.db)
    outbox = WebhookChannel(w.configs, log).outbox
    assert outbox.add("gone|generic|http://127.0.0.1:9/hook", "n1", [7], {"x": 1}, limit=10)
    channel = WebhookChannel(w.configs, log)
    channel.close()
    [entry] = log.entries()
    assert (entry.notification_id, entry.status, entry.error) == (
        "n1",
        "gave_up",
        "target no longer configured",
    )
    assert entry.target == "gone" and entry.alert_ids == [7]
    assert outbox.targets() == set()


def test_a_full_outbox_gives_new_deliveries_up_and_logs_why(
    state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "OUTBOX_LIMIT", 1)
    receiver = WebhookReceiver(fail_first=1_000).start()
    try:
        w, log, channel = wired(state_url, receiver.url, SLOW)
        # Two notifications at once: the first fever, and the class's warning level that two
        # fevers raise when the district counts screens before their recheck.
        w.configs.warning_levels = w.configs.warning_levels.model_copy(
            update={"count_unconfirmed_screens": True}
        )
        w.feed(
            batch(gate_pass("card-c1s07", 38.3, MORNING), gate_pass("card-c1s08", 38.6, MORNING))
        )
        wait_for_entries(log, 2)
        channel.close()
    finally:
        receiver.stop()
    statuses = sorted((e.status, e.error or "") for e in log.entries())
    assert statuses[0][0] == "failed"
    assert statuses[1] == ("gave_up", "1 deliveries already waiting for this target")


def test_robot_keys_and_signatures_stay_out_of_the_log(
    state_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # As a gateway started with --verbose would have it: the root logger and httpx at INFO.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="httpx")
    receiver = WebhookReceiver().start()
    try:
        target = WebhookTarget(
            name="duty",
            url=f"{receiver.url}?access_token=TOKEN-4711",
            format=WebhookFormat.DINGTALK,
            secret="SEC-0815",
        )
        w = build_world(state_url, config(target))
        channel = WebhookChannel(w.configs, DeliveryLog(w.db))
        w.engine.notifier.channels.append(channel)
        w.feed(batch(gate_pass("card-c1s01", 38.3, MORNING)))
        assert receiver.wait_for(1, timeout_s=10)
        channel.close()
    finally:
        receiver.stop()
    assert "access_token=TOKEN-4711" in receiver.received[0].path  # it was really sent
    assert "TOKEN-4711" not in caplog.text and "sign=" not in caplog.text


def test_redacted_urls_keep_where_but_not_the_keys() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=x%2By"
    assert redact_url(url) == (
        "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=***&sign=***"
    )
    assert redact_url("http://u:pw@influx:8086/write?db=x") == "http://***@influx:8086/write?db=***"
    error = f"ConnectError: failed to reach {url}"
    assert "abc" not in redact_text(error, [url])
