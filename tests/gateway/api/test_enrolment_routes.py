"""Campus IT enrol boxes and devices through the API, with the CLI's registry, CA and broker
files: credentials once, pending devices from their refused messages, revocation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from gateway.fleet.broker_files import ACL, PASSWORDS
from gateway.fleet.enrolment import UNKNOWN_DEVICE_REASON
from gateway.store.base import DeadLetter
from tests.gateway.api.conftest import SCHOOL, Campus


def _refused(campus: Campus, kind: str, device: str) -> None:
    """What ingest keeps of a message of a device the registry does not list."""
    letter = DeadLetter(
        SCHOOL,
        f"campus/{SCHOOL}/{kind}/{device}/reading",
        UNKNOWN_DEVICE_REASON,
        f"device {device} is not enrolled in school {SCHOOL}",
        b"{}",
        datetime.now(UTC),
    )
    campus.gateway.store.write_dead_letters([letter, letter])


def test_campus_it_enrol_a_box_its_devices_and_an_mqtt_device_then_revoke(
    campus: Campus, tmp_path: Path
) -> None:
    it = campus.auth("it1")
    broker = tmp_path / "broker"
    broker.mkdir()
    campus.gateway.fleet.set_broker_dir(str(broker))  # as `campusedge provision broker` does
    _refused(campus, "hr_band", "hr-07")
    pending = campus.client.get("/api/enrolment", headers=it).json()["pending"]
    assert [(p["kind"], p["device_id"], p["refusals"]) for p in pending] == [
        ("hr_band", "hr-07", 2)
    ]

    box = campus.client.post(
        "/api/enrolment",
        headers=it,
        json={
            "school": SCHOOL,
            "device_id": "gym-box",
            "kind": "edge",
            "broker_host": "broker.school.lan",
            "broker_port": 8883,
        },
    )
    assert box.status_code == 201, box.text
    creds = box.json()["credentials"]
    written = json.loads(creds["credentials_json"])
    assert written == {
        "username": f"box/{SCHOOL}/gym-box",
        "password": creds["password"],
        "tls_ca": "ca.crt",
        "tls_cert": "client.crt",
        "tls_key": "client.key",
        "host": "broker.school.lan",
        "port": 8883,
    }
    cert = x509.load_pem_x509_certificate(creds["client_crt"].encode())
    ca = x509.load_pem_x509_certificate(creds["ca_crt"].encode())
    cert.verify_directly_issued_by(ca)  # by the campus CA the broker trusts
    assert "PRIVATE KEY" in creds["client_key"]
    assert box.json()["broker"] == {"state": "not_running", "detail": str(broker)}
    # Only the hash is kept, in the broker's password file too.
    assert creds["password"] not in (broker / PASSWORDS).read_text()
    assert f"box/{SCHOOL}/gym-box:$7$" in (broker / PASSWORDS).read_text()

    band = campus.client.post(
        "/api/enrolment",
        headers=it,
        json={"school": SCHOOL, "device_id": "hr-07", "kind": "hr_band", "box": "gym-box"},
    )
    assert band.status_code == 201 and band.json()["credentials"] is None
    assert f"topic write campus/{SCHOOL}/hr_band/hr-07/reading" in (broker / ACL).read_text()
    # The box's login stays: adding a device gives it no new secret.
    assert campus.gateway.fleet.get(f"box/{SCHOOL}/gym-box").devices == ("hr-07",)
    native = campus.client.post(
        "/api/enrolment",
        headers=it,
        json={"school": SCHOOL, "device_id": "gate-1", "kind": "temp_gate"},
    )
    assert native.status_code == 201 and native.json()["credentials"]["username"].endswith(
        "/gate-1"
    )

    listed = campus.client.get("/api/enrolment", headers=it, params={"school": SCHOOL}).json()
    assert listed["pending"] == []  # enrolled since it was refused
    assert [(b["box"], b["devices"]) for b in listed["boxes"]] == [
        ("gate-1", ["gate-1"]),
        ("gym-box", ["hr-07"]),
    ]
    assert "password" not in json.dumps(listed)

    for body, status, detail in (
        (
            {"school": SCHOOL, "device_id": "gym-box", "kind": "edge"},
            409,
            f"device_id: 'gym-box' of school '{SCHOOL}' is enrolled already; "
            "revoke it first for new credentials",
        ),
        (
            {"school": SCHOOL, "device_id": "hr-07", "kind": "hr_band", "box": "gate-1"},
            409,
            f"device_id: device hr-07 of school {SCHOOL} belongs to box/{SCHOOL}/gym-box: "
            "revoke that box first or give another device id",
        ),
        (
            {"school": SCHOOL, "device_id": "hr 8", "kind": "hr_band", "box": "gym-box"},
            422,
            "device_id: 'hr 8' is not a valid id: use 1-64 characters from A-Z a-z 0-9 _ . : -, "
            "starting with a letter or digit",
        ),
    ):
        refused = campus.client.post("/api/enrolment", headers=it, json=body)
        assert (refused.status_code, refused.json()) == (status, {"detail": detail}), body

    # Lost credentials: new ones, the devices stay; the old secret's hash is gone.
    old_hash = campus.gateway.fleet.get(f"box/{SCHOOL}/gym-box").password_hash
    renewed = campus.client.post(f"/api/enrolment/{SCHOOL}/gym-box/rotate", headers=it)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["credentials"]["password"] != creds["password"]
    assert campus.gateway.fleet.get(f"box/{SCHOOL}/gym-box").devices == ("hr-07",)
    assert old_hash not in (broker / PASSWORDS).read_text()
    not_a_login = campus.client.post(f"/api/enrolment/{SCHOOL}/hr-07/rotate", headers=it)
    assert not_a_login.status_code == 404
    assert not_a_login.json() == {
        "detail": f"no enrolled edge box or MQTT device 'hr-07' in school '{SCHOOL}'"
    }

    device = campus.client.delete(f"/api/enrolment/{SCHOOL}/hr-07", headers=it)
    assert device.status_code == 200 and device.json()["revoked"] == "device"
    assert campus.gateway.fleet.get(f"box/{SCHOOL}/gym-box").devices == ()
    whole = campus.client.delete(f"/api/enrolment/{SCHOOL}/gym-box", headers=it)
    assert whole.status_code == 200 and whole.json()["revoked"] == "box"
    assert f"box/{SCHOOL}/gym-box" not in (broker / PASSWORDS).read_text()
    again = campus.client.delete(f"/api/enrolment/{SCHOOL}/gym-box", headers=it)
    assert again.status_code == 404
    assert again.json() == {"detail": f"no enrolled device 'gym-box' in school '{SCHOOL}'"}

    entries = campus.gateway.audit.entries(user_id="it1", subject_type="device")
    assert [(e.action, e.subject_id, e.detail) for e in reversed(entries)] == [
        ("enrol_device", f"{SCHOOL}/gym-box", "kind=edge login"),
        ("enrol_device", f"{SCHOOL}/hr-07", "kind=hr_band box=gym-box"),
        ("enrol_device", f"{SCHOOL}/gate-1", "kind=temp_gate login"),
        ("rotate_device", f"{SCHOOL}/gym-box", ""),
        ("revoke_device", f"{SCHOOL}/hr-07", "revoked=device"),
        ("revoke_device", f"{SCHOOL}/gym-box", "revoked=box"),
    ]
