"""The outage bench, short: a 3 s broker outage mid-lesson loses and doubles nothing.

It runs the real `campusedge gateway run` as the receiver, as the full bench does.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from campusedge.broker import find_mosquitto
from campusedge.cli import main
from simulators import bench_outage
from tests.services import missing


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_short_outage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")  # skips, or fails under CAMPUSEDGE_REQUIRE_SERVICES=1
    # A password that looks like an option once broke the gateway's argv (1 run in 64).
    monkeypatch.setattr(bench_outage.secrets, "token_urlsafe", lambda n: "-Ab_" + "x" * n)
    rc = main(
        [
            "bench",
            "outage",
            "--students",
            "8",
            "--minutes",
            "2",
            "--speed",
            "10",
            # settle: how long the drain may take at most; on a busy machine 30 s was
            # once too short, and waiting costs nothing when the drain is quick.
            "--outage",
            "3",
            "--outage-at",
            "3",
            "--settle",
            "90",
            "--json",
            "--workdir",
            str(tmp_path),
        ]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0, result
    assert result["published"] > 500 and result["max_buffered"] > 50
    assert (
        result["lost"],
        result["duplicates_stored"],
        result["order_violations"],
        result["seq_gaps"],
    ) == (0, 0, 0, 0)
    assert result["devices"] == 16


def test_an_outage_longer_than_the_lesson_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "bench",
            "outage",
            "--minutes",
            "3",
            "--outage",
            "20",
            "--json",
            "--workdir",
            str(tmp_path / "w"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "the lesson lasts 30 s" in err and "--outage-at" in err
    assert not (tmp_path / "w").exists()  # nothing was started


def _gateway_db(path: Path, seqs: dict[str, list[int]]) -> Path:
    """A gateway database holding just what `analyse` reads."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE messages (device_id, seq, ts, received_at)")
        conn.execute("CREATE TABLE readings (device_id, seq)")
        conn.executemany(
            "INSERT INTO messages VALUES (?, ?, 100.0, 100.5)",
            [(d, s) for d, items in seqs.items() for s in items],
        )
    return path


def test_gaps_count_from_a_devices_first_number_not_from_zero(tmp_path: Path) -> None:
    # A fresh edge buffer numbers a device from the wall clock in milliseconds.
    start = 1_795_000_000_000
    whole = _gateway_db(
        tmp_path / "whole.db",
        {"hr-1": [start, start + 1, start + 2], "hr-2": [start + 7, start + 8]},
    )
    assert bench_outage.analyse(whole, 200.0, 210.0)["seq_gaps"] == 0
    holed = _gateway_db(
        tmp_path / "holed.db", {"hr-1": [start, start + 3], "hr-2": [start + 7, start + 8]}
    )
    assert bench_outage.analyse(holed, 200.0, 210.0)["seq_gaps"] == 2
