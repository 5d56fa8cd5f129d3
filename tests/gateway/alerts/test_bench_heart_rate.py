"""`campusedge bench hr-alerts`: a healthy class in a maximal test raises nothing critical."""

from __future__ import annotations

import json

import pytest

from campusedge.cli import main


def test_a_healthy_class_raises_no_critical_alert_and_every_emergency_is_critical_in_30_s(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "hr-alerts", "--lessons", "2", "--students", "20", "--minutes", "12"]
    assert main([*argv, "--rope-test-at", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    seen = result["alerts_per_lesson"]
    assert not [k for k in seen if k.endswith("/critical")], seen
    # Without the ropes telling the rules a test is on, the rope minute raises warnings.
    before = result["baseline_without_ropes"]
    assert before.get("hr_high/warning", {}).get("mean", 0) > seen.get("hr_high/warning", {}).get(
        "mean", 0
    )
    for name, seconds in result["seconds_to_critical"].items():
        assert all(s is not None and s <= 30 for s in seconds), (name, seconds)
