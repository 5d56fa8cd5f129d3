"""POST /api/ingest/{school}/{device}: device tokens, idempotent storage, dead letters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusedge.settings import MqttSettings
from gateway.api.app import create_app
from gateway.service import Gateway, GatewaySettings, GatewayStartError
from tests.gateway.api.conftest import SCHOOL, build_campus, populate

OTHER = "sch2"
GATE, BAND, OTHER_BAND = "tg-push1", "hr-push1", "hr-push9"


@dataclass
class Pushing:
    gateway: Gateway
    client: TestClient
    users: dict[str, str]
    tokens: dict[tuple[str, str], str]

    def post(self, school: str, device: str, body: bytes | dict[str, object], token: str):  # type: ignore[no-untyped-def]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(
            f"/api/ingest/{school}/{device}",
            content=content,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    def metric(self, name: str, **labels: str) -> float:
        value = self.gateway.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@pytest.fixture(scope="module")
def pushing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushing]:
    """One gateway for the module (SQLite state): each test uses its own sequence numbers."""
    gateway = build_campus(tmp_path_factory.mktemp("push"))
    users = populate(gateway)
    tokens = {
        (SCHOOL, GATE): gateway.push_tokens.mint(SCHOOL, GATE, "vendor_gate_cloud"),
        (SCHOOL, BAND): gateway.push_tokens.mint(SCHOOL, BAND, "vendor_hr_reading"),
        (OTHER, OTHER_BAND): gateway.push_tokens.mint(OTHER, OTHER_BAND, "vendor_hr_reading"),
    }
    with TestClient(create_app(gateway), headers={"Accept-Language": "en"}) as client:
        yield Pushing(gateway, client, users, tokens)
    gateway.store.close()
    gateway.commit_log.close()
    gateway.db.close()


def _gate_pass(record_id: int, temp_x10: int = 365, **extra: object) -> dict[str, object]:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    record = {
        "id": str(record_id),
        "time": at.astimezone().isoformat(),
        "card_no": "C-0012",
        "temp_x10": temp_x10,
        "result": "pass",
        **extra,
    }
    return {"record": record, "gate": {"sn": "TG9-00417"}}


def _dead_letters(p: Pushing, device: str) -> list[object]:
    return [d for d in p.gateway.store.dead_letters(limit=1000) if f"/{device}/" in d.topic]


def test_a_good_post_is_stored_once_and_its_retry_is_a_duplicate(pushing: Pushing) -> None:
    p, token = pushing, pushing.tokens[(SCHOOL, GATE)]
    body = json.dumps(_gate_pass(20261102080012)).encode()
    first = p.post(SCHOOL, GATE, body, token)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "school": SCHOOL,
        "device_id": GATE,
        "seq": 20261102080012,
        "duplicate": False,
    }
    # Answered after the commit: the store and the commit log have it already.
    [stored] = p.gateway.store.events(device_id=GATE, event_type="gate_pass")
    assert stored.seq == 20261102080012 and stored.attributes["subject_id"] == "C-0012"
    assert stored.readings == (("body_temperature", 36.5, "degC"),)
    logged = p.gateway.commit_log.since(0, limit=100_000)
    assert [e.message.seq for e in logged if e.message and e.message.device_id == GATE] == [
        20261102080012
    ]
    retried = p.post(SCHOOL, GATE, body, token)
    assert retried.status_code == 200 and retried.json()["duplicate"] is True
    assert len(p.gateway.store.events(device_id=GATE, event_type="gate_pass")) == 1
    assert p.metric("campusedge_push_requests_total", outcome="duplicate") >= 1


def test_a_derived_sequence_number_makes_a_retry_without_one_idempotent(pushing: Pushing) -> None:
    p, token = pushing, pushing.tokens[(SCHOOL, BAND)]
    t_ms = int((datetime.now(UTC) - timedelta(seconds=3)).timestamp() * 1000)
    body = {"bpm": 132, "battery": 81, "t": t_ms}
    answers = [p.post(SCHOOL, BAND, body, token) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    assert answers[0].json()["seq"] == t_ms  # the device time in milliseconds
    rows = p.gateway.store.readings(device_id=BAND, metric="heart_rate")
    assert [(r.seq, r.value, r.time_quality) for r in rows] == [(t_ms, 132.0, "synced")]


@pytest.mark.parametrize(
    ("body", "status", "reason", "says"),
    [
        (b'{"record": {"id": "1", ', 400, "not_json", "not JSON"),
        (b"[1, 2]", 422, "invalid", "not an object"),
        (_gate_pass(7001, temp_x10=999), 422, "out_of_range", "99.9"),
        ({"record": {"id": "7002", "time": "2026-11-02T08:00:00+08:00"}}, 422, "missing_field",
         "/record/temp_x10"),
        (_gate_pass(7003, result="PASS!"), 422, "bad_attribute", "decision"),
        (_gate_pass(7004) | {"record": {"id": "x"}}, 422, "missing_field", "/record/time"),
    ],
    ids=["bad-json", "not-an-object", "out-of-range", "missing-field", "bad-attribute", "bad-seq"],
)  # fmt: skip
def test_a_bad_body_is_answered_with_its_reason_dead_lettered_and_counted(
    pushing: Pushing, body: bytes | dict[str, object], status: int, reason: str, says: str
) -> None:
    p, token = pushing, pushing.tokens[(SCHOOL, GATE)]
    before = p.metric("campusedge_dead_letters_total", reason=reason)
    letters = len(_dead_letters(p, GATE))
    answer = p.post(SCHOOL, GATE, body, token)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["detail"] and says in answer.json()["detail"]
    assert p.metric("campusedge_dead_letters_total", reason=reason) == before + 1
    newest = p.gateway.store.dead_letters(limit=1)[0]
    assert len(_dead_letters(p, GATE)) == letters + 1
    assert newest.reason == reason and newest.school == SCHOOL
    # The letter keeps the body as posted, not the envelope mapped from it.
    sent = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert newest.payload == sent


def test_a_field_the_mapping_does_not_read_is_refused_when_it_says_so(pushing: Pushing) -> None:
    p, token = pushing, pushing.tokens[(SCHOOL, BAND)]
    t_ms = int(datetime.now(UTC).timestamp() * 1000) - 1000
    answer = p.post(SCHOOL, BAND, {"bpm": 90, "t": t_ms, "spo2": 97}, token)
    assert answer.status_code == 422
    assert "unmapped_field" in answer.json()["detail"] and "/spo2" in answer.json()["detail"]
    assert not p.gateway.store.readings(
        device_id=BAND, since=datetime.fromtimestamp(t_ms / 1000, UTC)
    )


def test_a_body_over_the_message_limit_is_413_and_a_dead_letter(pushing: Pushing) -> None:
    p, token = pushing, pushing.tokens[(SCHOOL, GATE)]
    limit = p.gateway.settings.ingest.max_payload_bytes
    big = json.dumps(_gate_pass(7100, pad="x" * limit)).encode()
    answer = p.post(SCHOOL, GATE, big, token)
    assert answer.status_code == 413 and "too_large" in answer.json()["detail"]
    assert p.gateway.store.dead_letters(limit=1)[0].reason == "too_large"


def test_only_the_devices_own_push_token_is_let_in(pushing: Pushing) -> None:
    p = pushing
    body = _gate_pass(7200)
    refused = p.metric("campusedge_push_requests_total", outcome="refused")
    no_token = p.client.post(f"/api/ingest/{SCHOOL}/{GATE}", json=body)
    assert no_token.status_code == 401 and "push token" in no_token.json()["detail"]
    unknown = p.post(SCHOOL, GATE, body, "cepush_nothing-like-it")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "unknown or revoked push token"
    # Another device's token, of this school and of another.
    for school, device in ((SCHOOL, BAND), (OTHER, OTHER_BAND)):
        theirs = p.post(SCHOOL, GATE, body, p.tokens[(school, device)])
        assert theirs.status_code == 403 and "another device's" in theirs.json()["detail"]
    # The right token on another school's path is another device's too.
    elsewhere = p.post(OTHER, GATE, body, p.tokens[(SCHOOL, GATE)])
    assert elsewhere.status_code == 403
    # A person's token, whatever the role.
    for user in ("it1", "t1", "h1", "au1"):
        person = p.post(SCHOOL, GATE, body, p.users[user])
        assert person.status_code == 403, user
        assert "a person's token cannot push" in person.json()["detail"]
    assert p.metric("campusedge_push_requests_total", outcome="refused") == refused + 9
    assert all(e.seq != 7200 for e in p.gateway.store.events(device_id=GATE))
    # And a push token opens no person's route.
    me = p.client.get("/api/me", headers={"Authorization": f"Bearer {p.tokens[(SCHOOL, GATE)]}"})
    assert me.status_code == 401


def test_a_rotated_or_revoked_token_stops_at_once(pushing: Pushing) -> None:
    p, device = pushing, "hr-push2"
    old = p.gateway.push_tokens.mint(SCHOOL, device, "vendor_hr_reading")
    t_ms = int(datetime.now(UTC).timestamp() * 1000) - 2000
    assert p.post(SCHOOL, device, {"bpm": 80, "t": t_ms}, old).status_code == 200
    new = p.gateway.push_tokens.rotate(SCHOOL, device)
    assert p.post(SCHOOL, device, {"bpm": 80, "t": t_ms + 1}, old).status_code == 401
    assert p.post(SCHOOL, device, {"bpm": 80, "t": t_ms + 1}, new).status_code == 200
    p.gateway.push_tokens.revoke(SCHOOL, device)
    gone = p.post(SCHOOL, device, {"bpm": 80, "t": t_ms + 2}, new)
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    assert [r.seq for r in p.gateway.store.readings(device_id=device)] == [t_ms, t_ms + 1]


def test_refusals_are_worded_in_the_readers_language(pushing: Pushing) -> None:
    p = pushing
    answer = p.client.post(
        f"/api/ingest/{SCHOOL}/{GATE}",
        content=b"{",
        headers={
            "Authorization": f"Bearer {p.users['it1']}",
            "Accept-Language": "zh-CN",
        },
    )
    assert answer.status_code == 403
    assert answer.headers["Content-Language"] == "zh-CN"
    assert "推送" in answer.json()["detail"]


def test_a_bad_mapping_file_stops_the_gateway_naming_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "broken_gate.yaml").write_text(
        "kind: temp_gate\nchannel: reading\nseq:\n  pointer: /id\nreadings:\n"
        "  - pointer: /t\n    metric: body_temperature\n    unit: bpm\n"
    )
    with pytest.raises(GatewayStartError) as raised:
        Gateway(
            GatewaySettings(
                store_url=f"sqlite:///{tmp_path / 'r.db'}",
                state_db=str(tmp_path / "state.db"),
                commit_log=tmp_path / "c.db",
                push_mappings_dir=folder,
                api_port=0,
            ),
            MqttSettings(),
        )
    message = str(raised.value)
    assert "broken_gate.yaml" in message and "readings.0 (line 6)" in message
    assert "cannot be converted" in message


def test_a_store_that_cannot_write_answers_503_and_nothing_is_said_stored(tmp_path: Path) -> None:
    gateway = build_campus(tmp_path)
    token = gateway.push_tokens.mint(SCHOOL, GATE, "vendor_gate_cloud")
    gateway.store.close()  # every write fails from now on, as on a lost disk
    try:
        with TestClient(create_app(gateway), headers={"Accept-Language": "en"}) as client:
            answer = client.post(
                f"/api/ingest/{SCHOOL}/{GATE}",
                json=_gate_pass(7300),
                headers={"Authorization": f"Bearer {token}"},
            )
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert "send the same body again later" in answer.json()["detail"]
        registry = gateway.metrics.registry
        assert registry.get_sample_value("campusedge_push_requests_total", {"outcome": "failed"})
        assert registry.get_sample_value("campusedge_store_errors_total") == 1
    finally:
        gateway.commit_log.close()
        gateway.db.close()
