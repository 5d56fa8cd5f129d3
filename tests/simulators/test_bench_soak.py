"""The soak bench, short: one compressed school day with faults every few seconds.

Broker restarts and kill -9, gateway kill -9, link drops and floods of bad input, or with the
InfluxDB store its server stopped for 20-60 s: every message the edge agents published is
stored once, every fever raised an alert, and nothing the command started is left running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from campusedge.broker import find_mosquitto
from campusedge.cli import main
from campusedge.influxd import find_influxd
from simulators.bench_soak import _late_trend
from tests.services import missing

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def _running_in(folder: Path) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append(cmdline)
    return found


# One short soak for the suite, on the district store with every fault it knows (broker
# restarts and kills, gateway kills, InfluxDB outages): each soak takes about a minute and a
# half whatever its --minutes, since every box's round runs whole. Broker and gateway kills
# on the SQLite store are covered by the crash and stored-watermark tests.
def test_a_short_soak_with_every_fault_loses_nothing_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")
    if find_influxd() is None:
        missing("influxdb")
    rc = main(
        [
            "bench",
            "soak",
            "--store",
            "influx",
            "--minutes",
            "0.1",
            "--speed",
            "30",
            "--students",
            "5",
            "--fault-every",
            "8",
            "--seed",
            "5",
            "--json",
            "--workdir",
            str(tmp_path),
        ]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0, result
    assert result["store"] == "influx"
    assert result["published"] > 1000
    assert (result["lost"], result["duplicates_stored"]) == (0, 0), result
    assert result["faults"].get("influx_stop", 0) >= 1, result
    assert sum(result["faults"].values()) >= 3, result
    assert result["alerts_expected"] > 0
    assert result["alerts_delivered"] == result["alerts_expected"], result
    assert result["bad_messages_sent"] > 0
    # The outage reached the gateway: its store writes failed while influxd was down, and
    # went through again once it was back.
    log = (tmp_path / "gateway.log").read_text(errors="replace")
    assert "(store_unreachable); nothing is acknowledged" in log
    assert "the store takes writes again" in log
    assert _running_in(tmp_path) == []


def test_influx_stop_needs_the_influx_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["bench", "soak", "--faults", "broker_kill,influx_stop", "--workdir", str(tmp_path)])
    assert rc == 2
    assert "influx_stop stops the soak's InfluxDB: it needs --store influx" in (
        capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_the_late_trend_is_the_slope_of_the_last_gateways_second_half() -> None:
    # Caches filling over the first half, then flat: the late slope is about nothing.
    warming = [(float(m), 200.0 + min(m, 10) * 3, 0) for m in range(20)]
    assert _late_trend(warming) == 0.0
    # 1 MB a minute throughout is 60 MB an hour.
    growing = [(float(m), 200.0 + m, 0) for m in range(20)]
    assert _late_trend(growing) == 60.0
    # A gateway killed and started again is another process: only the last one counts.
    restarted = [(float(m), 500.0 - m * 10, 0) for m in range(10)] + [
        (float(m), 250.0, 1) for m in range(10, 20)
    ]
    assert _late_trend(restarted) == 0.0
    assert _late_trend(growing[:6]) is None and _late_trend([]) is None
