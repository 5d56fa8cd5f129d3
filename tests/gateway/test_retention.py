"""Retention: old dead letters, delivery-log entries and outbox rows go; newer ones stay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from campusedge.settings import MqttSettings
from gateway.retention import RetentionSettings
from gateway.service import Gateway, GatewaySettings
from gateway.store.base import DeadLetter


def letter(at: datetime, n: int) -> DeadLetter:
    return DeadLetter(
        school="sch1",
        topic=f"campus/sch1/hr_band/hr-{n}/reading",
        reason="not_json",
        detail=f"letter {n}",
        payload=b"x",
        received_at=at,
    )


def test_the_gateways_sweep_removes_what_is_past_retention_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        retention=RetentionSettings(
            dead_letter_days=30, delivery_log_days=90, webhook_outbox_days=7
        ),
    )
    gw = Gateway(settings, MqttSettings(host="127.0.0.1", port=1))
    try:
        assert gw.alerts is not None
        now = datetime.now(UTC)
        gw.store.write_dead_letters(
            [letter(now - timedelta(days=31), 1), letter(now - timedelta(days=29), 2)]
        )
        log = gw.alerts.delivery_log
        for n in range(3):
            log.record(f"n{n}", "webhook", "robot", 1, "delivered", [n])
        outbox = gw.alerts.webhooks.outbox
        for n in range(2):
            assert outbox.add("robot|https://example.invalid/hook", f"q{n}", [n], {"n": n}, 100)
        with gw.db.transaction() as conn:  # age some of them, as time would
            conn.execute(
                text("UPDATE alert_deliveries SET at=:at WHERE notification_id IN ('n0', 'n1')"),
                {"at": (now - timedelta(days=91)).isoformat()},
            )
            conn.execute(
                text("UPDATE webhook_outbox SET queued_at=:at WHERE notification_id='q0'"),
                {"at": (now - timedelta(days=8)).isoformat()},
            )

        removed = gw.retention.sweep()
        assert {k: removed[k] for k in ("dead_letters", "delivery_log", "webhook_outbox")} == {
            "dead_letters": 1,
            "delivery_log": 2,
            "webhook_outbox": 1,
        }
        # Students' data: nothing old enough here (tests/gateway/test_erasure.py has them).
        assert {
            v
            for k, v in removed.items()
            if k not in ("dead_letters", "delivery_log", "webhook_outbox")
        } == {0}

        assert [d.detail for d in gw.store.dead_letters()] == ["letter 2"]
        entries = {(e.notification_id, e.status) for e in log.entries()}
        # The expired outbox row is given up, and the delivery log says why.
        assert entries == {("n2", "delivered"), ("q0", "gave_up")}
        [gave_up] = log.entries(notification_id="q0")
        assert gave_up.error is not None and "7 days (retention)" in gave_up.error
        assert [
            p.notification_id for p in outbox.pending("robot|https://example.invalid/hook")
        ] == ["q1"]
        registry = gw.metrics.registry
        assert (
            registry.get_sample_value(
                "campusedge_retention_removed_total", {"what": "delivery_log"}
            )
            == 2.0
        )
        # Nothing more to remove: a second sweep removes nothing.
        assert set(gw.retention.sweep().values()) == {0}
    finally:
        gw.alerts.stop()  # type: ignore[union-attr]
        gw.store.close()
        gw.db.close()


def test_the_sweep_runs_at_start_and_then_periodically(tmp_path: Path) -> None:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        alerts_enabled=False,
        retention=RetentionSettings(dead_letter_days=1, sweep_interval_s=1),
    )
    gw = Gateway(settings, MqttSettings(host="127.0.0.1", port=1))
    old = datetime.now(UTC) - timedelta(days=2)
    gw.store.write_dead_letters([letter(old, 1)])
    gw.retention.start()
    try:
        deadline = time.monotonic() + 10
        while gw.store.dead_letters() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gw.store.dead_letters() == []
        gw.store.write_dead_letters([letter(old, 2)])  # arrives later (a replayed backlog)
        deadline = time.monotonic() + 10
        while gw.store.dead_letters() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gw.store.dead_letters() == []
    finally:
        gw.retention.stop()
        gw.store.close()
        gw.db.close()
