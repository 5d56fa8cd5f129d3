"""`campusedge bench modbus` with tiny settings: it runs, and its JSON has what the docs show."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_modbus_prints_rates_latency_errors_and_overhead() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "campusedge.cli", "bench", "modbus", "--devices", "2",
         "--seconds", "0.3", "--turns", "1", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["target_overhead_pct"] == 20.0
    assert len(result["load_1m"]) == 2
    for link in ("tcp", "rtu"):
        got = result[link]
        for path in ("ours", "baseline_pymodbus"):
            side = got[path]
            assert side["readings_per_s"] > 0 and side["polls_per_s"] > 0
            assert side["errors"] == 0
            assert 0 < side["p50_poll_ms"] <= side["p99_poll_ms"]
            # The env sensor's map: three readings a poll, on either path.
            assert (
                side["readings_per_s"] == round(3 * side["polls_per_s"], 1)
                or abs(side["readings_per_s"] - 3 * side["polls_per_s"]) < 1
            )
        assert isinstance(got["overhead_pct"], float)
        assert got["within_target"] == (got["overhead_pct"] <= 20.0)
