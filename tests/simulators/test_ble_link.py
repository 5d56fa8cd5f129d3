"""`campusedge simulate ble-bands`: its arguments, both feeds, and `bench ble` on a few bands."""

from __future__ import annotations

import json
import time

import pytest

from campusedge.cli import main
from drivers.hr_band import parse
from edge.transports.ble import SimulatedBleAdapter
from simulators.ble_link import Outage
from tests.edge.ble_bands import BandSimulator


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


def test_outages_parse_and_bad_ones_are_named() -> None:
    assert Outage.parse("2:3:1.5") == Outage(2, 3.0, 1.5)
    for bad in ["2:3", "a:1:1", "1:-1:1", "1:1:0"]:
        with pytest.raises(ValueError, match=bad):
            Outage.parse(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bands", "0"], "--bands"),
        (["--period", "0"], "--period"),
        (["--outage", "1:1"], "INDEX:AT_S:FOR_S"),
        (["--bands", "2", "--outage", "2:1:1"], "beyond --bands 2"),
        (["--bands", "2", "--trace", "2"], "--trace INDEX"),
    ],
)
def test_bad_arguments_are_named(args: list[str], message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        main(["simulate", "ble-bands", *args])


def test_the_tcp_feed_serves_the_same_bands() -> None:
    sim = BandSimulator(2, "--feed", "tcp", "--period", "0.1")
    adapter = SimulatedBleAdapter("127.0.0.1", sim.events[0]["port"])
    adapter.open()
    got: list[tuple[str | None, bytes]] = []
    try:
        end = time.monotonic() + 5
        while {s for s, _ in got} != set(sim.addresses) and time.monotonic() < end:
            got += adapter.read(0.1)
    finally:
        adapter.close()
        sim.stop()
    assert {s for s, _ in got} == set(sim.addresses)
    assert all(parse(note).heart_rate >= 40 for _, note in got)


def test_bench_ble_prints_both_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["bench", "ble", "--bands", "3", "--period", "0.1", "--seconds", "1", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["sent_per_s"] == 30.0
    for feed in ("ble", "baseline_tcp"):
        assert result[feed]["fewest_per_band"] >= 5, result
        assert 20 <= result[feed]["received_per_s"] <= 40, result
        assert result[feed]["latency_samples"] >= 5, result
        assert 0 < result[feed]["latency_ms_p50"] <= result[feed]["latency_ms_p99"] < 1000
    assert result["ble"]["dropped"] == 0
