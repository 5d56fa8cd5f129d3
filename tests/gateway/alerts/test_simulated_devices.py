"""`campusedge simulate gate|screening` against a running gateway: with `--roster` the devices
name the students of a real roster, so the gateway raises fevers and builds referrals for them;
a gate whose clock is off raises clock drift.

Everything is real: Mosquitto, the gateway's ingest and alert engine, the simulator's devices
and its `campusedge edge run` agent process.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess
from campusedge.cli import main
from gateway.alerts.model import Rule
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.conftest import mqtt_settings_for
from tests.gateway.alerts.test_delivery import wait_until
from tests.services import MQTT_PASSWORD, MQTT_USER

pytestmark = pytest.mark.mosquitto

STUDENTS = 12


def roster_csv(path: Path) -> list[str]:
    """A class list as a school exports it: screener ids as student ids, gate cards enrolled."""
    ids = [f"S-{0x5C000000 + i:08X}" for i in range(STUDENTS)]
    rows = ["student_id,name,sex,birth_date,class_id,card_id"]
    rows += [
        f"{sid},Pupil {i},{'MF'[i % 2]},2014-0{1 + i % 9}-15,c7,C-{0xCA000000 + i:08X}"
        for i, sid in enumerate(ids)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ids


@pytest.fixture
def gateway(tmp_path: Path, mosquitto: MosquittoProcess) -> Iterator[Gateway]:
    school = f"ros{uuid.uuid4().hex[:6]}"
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings_for(mosquitto))
    gw.roster.add_class("c7", school, "Grade 7 class 7", "7")
    gw.start()
    assert gw.ingest.connected.wait(15)
    try:
        yield gw
    finally:
        gw.stop()


def simulate(
    argv: list[str], broker: MosquittoProcess, tmp: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    rc = main(
        [
            "simulate",
            *argv,
            "--mqtt-host",
            broker.host,
            "--mqtt-port",
            str(broker.port),
            "--mqtt-username",
            MQTT_USER,
            "--mqtt-password",
            MQTT_PASSWORD,
            "--workdir",
            str(tmp),
        ]
    )
    assert rc == 0
    summary: dict[str, object] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return summary


def test_a_screening_day_of_a_real_roster_builds_its_referral_list(
    tmp_path: Path,
    mosquitto: MosquittoProcess,
    gateway: Gateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = tmp_path / "roster.csv"
    ids = roster_csv(roster)
    assert gateway.roster.import_csv(roster.read_text(encoding="utf-8")) == STUDENTS
    school = gateway.settings.ingest.school
    summary = simulate(
        [
            "screening",
            "--roster",
            str(roster),
            "--seconds-per-student",
            "2",
            "--speed",
            "8",
            "--school",
            school,
        ],
        mosquitto,
        tmp_path / "sim",
        capsys,
    )
    assert summary["records"] == STUDENTS  # --students defaults to the whole roster
    assert gateway.alerts is not None
    engine = gateway.alerts.engine
    # Every child on the roster was screened and recognised (none "not on the roster").
    assert wait_until(
        lambda: (
            len(
                gateway.db.query(
                    "SELECT 1 FROM vision_screenings WHERE school=:school", {"school": school}
                )
            )
            == STUDENTS
        ),
        20,
    )
    rows = gateway.db.query(
        "SELECT student_id, acuity_left, acuity_right FROM vision_screenings WHERE school=:school",
        {"school": school},
    )
    assert sorted(r["student_id"] for r in rows) == sorted(ids)
    poor = {r["student_id"] for r in rows if min(r["acuity_left"], r["acuity_right"]) < 5.0}
    assert poor, "a population with 35 % myopia has children with poor vision"
    assert gateway.referrals is not None
    referrals = gateway.referrals.find(school=school)
    assert {r.student_id for r in referrals} == poor
    assert all(r.class_id == "c7" for r in referrals)
    # Referrals page nobody.
    assert engine.lifecycle.find(school=school) == []


def test_a_gate_morning_of_a_real_roster_alerts_its_students(
    tmp_path: Path,
    mosquitto: MosquittoProcess,
    gateway: Gateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = tmp_path / "roster.csv"
    roster_csv(roster)
    gateway.roster.import_csv(roster.read_text(encoding="utf-8"))
    school = gateway.settings.ingest.school
    summary = simulate(
        [
            "gate",
            "--roster",
            str(roster),
            "--fever-rate",
            "0.4",
            "--window-minutes",
            "0.3",
            "--speed",
            "4",
            "--school",
            school,
        ],
        mosquitto,
        tmp_path / "sim",
        capsys,
    )
    assert summary["passes"] == STUDENTS
    fevers = summary["fevers"]
    assert isinstance(fevers, int) and fevers > 0
    assert gateway.alerts is not None
    lifecycle = gateway.alerts.engine.lifecycle
    assert wait_until(lambda: len(lifecycle.find(school=school, rule=Rule.FEVER)) == fevers, 20)
    alerts = lifecycle.find(school=school, rule=Rule.FEVER)
    # Each is a student of the roster, found by the card the gate read.
    assert all(a.student_id is not None and a.class_id == "c7" for a in alerts)
    assert all(a.detail["subject_id"].startswith("C-") for a in alerts)


def test_a_gate_whose_clock_is_off_raises_clock_drift(
    tmp_path: Path,
    mosquitto: MosquittoProcess,
    gateway: Gateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    school = gateway.settings.ingest.school
    # The north gate's clock runs ten minutes ahead; the south gate's is right.
    simulate(
        [
            "gate",
            "--students",
            "20",
            "--window-minutes",
            "0.2",
            "--speed",
            "2",
            "--clock-skew",
            "600",
            "--school",
            school,
        ],
        mosquitto,
        tmp_path / "sim",
        capsys,
    )
    assert gateway.alerts is not None
    lifecycle = gateway.alerts.engine.lifecycle
    assert wait_until(lambda: bool(lifecycle.find(school=school, rule=Rule.CLOCK_DRIFT)), 20)
    [drift] = lifecycle.find(school=school, rule=Rule.CLOCK_DRIFT)
    assert drift.device_id == "gate-north"
    assert -602 < drift.detail["clock_offset_s"] < -598  # the box's clock minus the gate's
