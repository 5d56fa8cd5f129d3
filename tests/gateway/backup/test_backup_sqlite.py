"""`campusedge backup` and `restore` on SQLite: copies during ingest, refusals, retention."""

from __future__ import annotations

import io
import sqlite3
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from campusedge.cli import main
from campusedge.settings import MqttSettings
from gateway.backup.archive import read_manifest
from gateway.ingest import IngestSettings
from gateway.service import Gateway, GatewaySettings
from tests.gateway.mqtt_helpers import client, reading, wait_subscribed, wait_until
from tests.small_disk import small_disk


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's messages in English (the deployment's default is
    Chinese; tests/campusedge/test_cli_errors.py reads them in both)."""
    monkeypatch.setenv("CAMPUSEDGE_LANGUAGE", "en")


__all__ = ["small_disk"]  # the fixture


def _rows(db: Path) -> set[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return {(str(d), int(s)) for d, s in conn.execute("SELECT device_id, seq FROM messages")}


def _device_ids(state_db: Path) -> set[str]:
    with sqlite3.connect(state_db) as conn:
        return {str(r[0]) for r in conn.execute("SELECT device_id FROM devices")}


class Publisher(threading.Thread):
    """Publishes readings of four bands at QoS 1 until stopped, as a lesson would."""

    def __init__(self, settings: MqttSettings, school: str) -> None:
        super().__init__(daemon=True)
        self.settings, self.school = settings, school
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        c = client(self.settings)
        seq = 0
        while not self.stop.is_set():
            infos: list[mqtt.MQTTMessageInfo] = []
            for _ in range(50):
                infos += [c.publish(*reading(self.school, f"hr-{d}", seq), qos=1) for d in range(4)]
                seq += 1
            for info in infos:
                info.wait_for_publish(timeout=30)
            self.sent += len(infos)
        c.loop_stop()
        c.disconnect()


@pytest.fixture
def school() -> str:
    return "s" + uuid.uuid4().hex[:8]


@pytest.fixture
def gateway(tmp_path: Path, mqtt_settings: MqttSettings, school: str) -> Iterator[Gateway]:
    settings = GatewaySettings(
        store_url=f"sqlite:///{tmp_path / 'readings.db'}",
        state_db=tmp_path / "state.db",
        api_port=0,
        ingest=IngestSettings(school=school, client_id=f"gw-{school}"),
    )
    gw = Gateway(settings, mqtt_settings)
    gw.start()
    assert gw.ingest.connected.wait(10)
    wait_subscribed(mqtt_settings, school, lambda: gw.ingest.stats["stored"])
    yield gw
    gw.stop()


@pytest.mark.mosquitto
def test_a_backup_taken_during_ingest_restores_every_acknowledged_row(
    tmp_path: Path,
    gateway: Gateway,
    mqtt_settings: MqttSettings,
    school: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, readings = tmp_path / "state.db", tmp_path / "readings.db"
    publisher = Publisher(mqtt_settings, school)
    publisher.start()
    try:
        wait_until(lambda: gateway.ingest.stats["stored"] >= 2000, 60, "2000 stored")
        # Acknowledgements follow commits: what is committed now includes everything the
        # gateway has acknowledged so far.
        acknowledged = _rows(readings)
        devices_before = _device_ids(state)
        stored_at_start = gateway.ingest.stats["stored"]
        out = tmp_path / "backups" / "during-ingest.tar.gz"
        assert (
            main(["backup", "--out", str(out), "--state-db", str(state), "--db", str(readings)])
            == 0
        )
        # The gateway went on storing while and after the copy was made.
        wait_until(
            lambda: gateway.ingest.stats["stored"] > stored_at_start + 1000, 60, "ingest goes on"
        )
    finally:
        publisher.stop.set()
        publisher.join(30)
    wait_until(
        lambda: gateway.ingest.stats["stored"] == publisher.sent + 1,  # and the probe
        60,
        f"the rest stored: {publisher.sent} sent, {gateway.ingest.stats}",
    )
    assert "backup written" in capsys.readouterr().out

    manifest = read_manifest(out)
    assert set(manifest["members"]) == {"state", "readings"}
    assert "messages" in manifest["members"]["readings"]["schema"]["tables"]
    assert "devices" in manifest["members"]["state"]["schema"]["tables"]
    assert manifest["campusedge_version"] and manifest["created_at"]

    # A restore while the gateway holds its files is refused, and changes nothing.
    assert main(["restore", str(out), "--state-db", str(state), "--db", str(readings)]) == 1
    assert "is open by process" in capsys.readouterr().err
    assert len(_rows(readings)) == publisher.sent + 1

    new_state, new_readings = tmp_path / "restored" / "state.db", tmp_path / "restored" / "r.db"
    assert main(["restore", str(out), "--state-db", str(new_state), "--db", str(new_readings)]) == 0
    restored = _rows(new_readings)
    assert acknowledged <= restored, f"{len(acknowledged - restored)} acknowledged rows missing"
    assert restored <= _rows(readings)
    assert len(restored) < publisher.sent  # a copy of a moment during ingest, not of the end
    assert devices_before <= _device_ids(new_state)
    with sqlite3.connect(new_readings) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_restore_keeps_the_previous_contents_and_force_restores_under_an_open_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    with sqlite3.connect(state) as conn:
        conn.execute("CREATE TABLE roster (student TEXT)")
        conn.execute("INSERT INTO roster VALUES ('before')")
    out = tmp_path / "b.tar.gz"
    assert main(["backup", "--out", str(out), "--state-db", str(state), "--no-readings"]) == 0
    with sqlite3.connect(state) as conn:
        conn.execute("UPDATE roster SET student = 'after'")
    holder = sqlite3.connect(state)  # as a running gateway would hold it
    try:
        assert (
            main(["restore", str(out), "--state-db", str(state), "--db", str(tmp_path / "x")]) == 1
        )
        assert "stop the gateway first" in capsys.readouterr().err
        assert (
            main(["restore", str(out), "--state-db", str(state), "--only", "state", "--force"]) == 0
        )
        assert holder.execute("SELECT student FROM roster").fetchall() == [("before",)]
    finally:
        holder.close()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("state.db.before-restore-")]
    assert len(kept) == 1
    with sqlite3.connect(kept[0]) as conn:
        assert conn.execute("SELECT student FROM roster").fetchall() == [("after",)]


def test_bad_input_is_refused_with_a_clear_message_and_no_file_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "b.tar.gz"
    assert main(["backup", "--out", str(out), "--state-db", str(tmp_path / "none.db")]) == 1
    assert "none.db does not exist" in capsys.readouterr().err
    assert not out.exists() and list((tmp_path / "out").iterdir()) == []

    state = tmp_path / "state.db"
    sqlite3.connect(state).execute("CREATE TABLE t (x)").connection.close()
    assert main(["backup", "--out", str(out), "--state-db", str(state), "--no-readings"]) == 0
    # Damage the database inside the archive: the checksum catches it before any restore.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(out) as src, tarfile.open(damaged, "w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "state.db":
                data = data[:-10] + b"x" * 10
            dst.addfile(info, io.BytesIO(data))
    target = tmp_path / "target.db"
    capsys.readouterr()
    assert main(["restore", str(damaged), "--state-db", str(target), "--only", "state"]) == 1
    assert "does not match its checksum" in capsys.readouterr().err
    assert not target.exists()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(out.read_bytes()[:100])
    assert main(["restore", str(truncated), "--state-db", str(target)]) == 1
    assert "not a readable campusedge backup" in capsys.readouterr().err
    assert main(["restore", str(out), "--state-db", "postgresql://gw@localhost/x"]) == 1
    assert "the backup's state is sqlite, the target is postgresql" in capsys.readouterr().err


def test_scheduled_backups_keep_the_newest_n_and_nothing_else_is_touched(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    sqlite3.connect(state).execute("CREATE TABLE t (x)").connection.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    mine = [folder / f"campusedge-backup-2026090{d}T021500Z.tar.gz" for d in range(1, 5)]
    for path in mine:
        path.write_bytes(b"old")
    other = folder / "notes.txt"
    other.write_text("an operator's file")
    args = ["backup", "--out-dir", str(folder), "--keep", "2", "--state-db", str(state)]
    assert main([*args, "--no-readings"]) == 0
    left = sorted(p.name for p in folder.iterdir())
    assert left == [mine[-1].name, left[1], "notes.txt"]
    assert read_manifest(folder / left[1])["members"]["state"]["kind"] == "sqlite"
    assert main(["backup", "--out", str(tmp_path / "x.tar.gz"), "--keep", "2"]) == 2


def test_a_backup_that_does_not_fit_fails_clearly_and_leaves_nothing(
    tmp_path: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    with sqlite3.connect(state) as conn:
        conn.execute("CREATE TABLE audit (entry BLOB)")
        conn.executemany("INSERT INTO audit VALUES (randomblob(4096))", [()] * 1000)  # 4 MB
    out = small_disk / "backups" / "b.tar.gz"
    assert main(["backup", "--out", str(out), "--state-db", str(state), "--no-readings"]) == 1
    assert "database or disk is full" in capsys.readouterr().err
    assert list((small_disk / "backups").iterdir()) == []
