"""`campusedge bench district`, as small as it runs: its JSON carries every figure, the
leaderboard latency among them, and nothing published (a worker joining and one killed under
traffic) is lost or stored twice."""

from __future__ import annotations

import json

import pytest

from campusedge.cli import main
from tests.services import PostgresProcess

pytestmark = pytest.mark.mosquitto


def test_a_small_district_bench_reports_its_figures(
    postgres: PostgresProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "district", "--pg-url", postgres.url(), "--schools", "2", "--devices", "1"]
    small = ["--backlog", "100", "--failover-rate", "100", "--lease", "1"]
    assert main([*argv, *small, "--board-sets", "6", "--board-rate", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["lost"] == 0 and result["duplicates_stored"] == 0
    assert result["published"] == result["stored"] > 100
    for figure in ("rate_per_s", "one_worker_rate_per_s", "failover_s"):
        assert isinstance(result[figure], float) and result[figure] > 0
    # Every rope result showed on the board the reader followed over SSE.
    assert result["leaderboard_results"] == 6 and result["leaderboard_missing"] == 0
    for figure in ("leaderboard_median_ms", "leaderboard_p99_ms"):
        assert isinstance(result[figure], float) and result[figure] > 0
    assert result["leaderboard_median_ms"] <= result["leaderboard_p99_ms"]
    # Per-device order is measured, not promised (docs/workers.md): counts, maybe not 0.
    assert isinstance(result["order_inversions_store"], int)
    assert isinstance(result["order_inversions_log"], int)
