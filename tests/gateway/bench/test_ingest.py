"""`campusedge bench ingest`, short: the JSON line has the named keys, nothing lost or doubled."""

from __future__ import annotations

import json

import pytest

from campusedge.broker import find_mosquitto
from campusedge.cli import main
from tests.services import missing

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_short_ingest_bench(capsys: pytest.CaptureFixture[str], tls: bool) -> None:
    if find_mosquitto() is None:
        missing("mosquitto")
    rc = main(
        [
            "bench",
            "ingest",
            "--seconds",
            "1",
            "--rounds",
            "1",
            "--publishers",
            "1",
            "--devices",
            "5",
            "--json",
            *(["--tls"] if tls else []),
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    result = json.loads(out[-1])
    assert {
        "baseline_rate_per_s",
        "rate_per_s",
        "ratio",
        "published",
        "stored",
        "lost",
        "duplicates_stored",
        "rss_mb_start",
        "rss_mb_end",
    } <= set(result)
    assert result["published"] > 100 and result["stored"] == result["published"]
    assert result["lost"] == 0 and result["duplicates_stored"] == 0
    assert result["baseline_rate_per_s"] > 0 and result["rate_per_s"] > 0
    assert result["ratio"] == pytest.approx(
        result["rate_per_s"] / result["baseline_rate_per_s"], abs=0.001
    )
    assert result["rss_mb_start"] > 0 and result["rss_mb_end"] > 0
    # Both of the gateway's processes worked for the messages they took.
    assert result["gateway_cpu_us_per_message"] > 0
    assert result["mqtt_process_cpu_us_per_message"] > 0
    assert result["tls"] is tls
