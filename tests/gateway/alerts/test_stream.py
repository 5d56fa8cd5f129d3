"""The SSE stream over real HTTP: a user revoked while their stream is open hears no more."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.alerts.engine import AlertEngine
from gateway.alerts.notification import Notification, NotificationKind
from gateway.auth import Role
from gateway.service import Gateway
from tests.gateway.alerts.scenario import MORNING, SCHOOL, batch, gate_pass
from tests.gateway.alerts.test_api import make_gateway
from tests.gateway.alerts.test_delivery import wait_until
from tests.gateway.api_server import serve_api


@dataclass
class Stream:
    """One open `GET /api/alerts/stream`, read on a thread."""

    url: str
    token: str
    events: list[dict[str, Any]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Stream:
        threading.Thread(target=self._run, daemon=True).start()
        assert self.ready.wait(10)
        return self

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5, read=None)) as http,
                http.stream("GET", self.url, params={"access_token": self.token}) as response,
            ):
                for line in response.iter_lines():
                    if line.startswith(": subscribed"):
                        self.ready.set()
                    elif line.startswith("data: "):
                        self.events.append(json.loads(line[6:]))
        finally:
            self.ended.set()


@dataclass
class Served:
    gateway: Gateway
    engine: AlertEngine
    url: str
    tokens: dict[str, str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    gw = make_gateway(tmp_path)
    tokens = {
        "nurse": gw.users.create("nurse", "Nurse Wang", Role.HEALTH_STAFF, schools=[SCHOOL]),
        "temp": gw.users.create("h.temp", "Temp Nurse", Role.HEALTH_STAFF, schools=[SCHOOL]),
    }
    api = serve_api(gw)
    assert gw.alerts is not None
    try:
        yield Served(gw, gw.alerts.engine, f"{api.base}/api/alerts/stream", tokens)
    finally:
        gw.alerts.hub.close()
        api.stop()
        gw.alerts.stop()
        gw.store.close()


def test_a_revoked_users_open_stream_hears_no_more_and_ends(served: Served) -> None:
    nurse = Stream(served.url, served.tokens["nurse"]).start()
    temp = Stream(served.url, served.tokens["temp"]).start()
    served.engine.on_batch(batch(gate_pass("card-c1s01", 38.2, MORNING)))
    assert wait_until(lambda: len(temp.events) == 1 and len(nurse.events) == 1)
    assert temp.events[0]["alerts"][0]["student_name"] == "Name c1s01"

    served.gateway.users.delete("h.temp")  # what `campusedge gateway user revoke` does
    # The second fever of the minute waits for its group; the class's warning level, which
    # two fevers raise when the district counts screens before their recheck, goes at once.
    levels = served.engine.configs.warning_levels
    served.engine.configs.warning_levels = levels.model_copy(
        update={"count_unconfirmed_screens": True}
    )
    served.engine.on_batch(batch(gate_pass("card-c1s02", 38.6, MORNING)))
    assert wait_until(lambda: len(nurse.events) == 2)
    # The revoked user's stream ends instead of carrying the second child's name.
    assert temp.ended.wait(10)
    assert len(temp.events) == 1
    streamed = [
        e.subject_id
        for e in served.gateway.audit.entries(user_id="h.temp")
        if e.action == "stream_alert"
    ]
    assert streamed == ["c1s01"]
    assert not nurse.ended.is_set()


def test_a_client_that_never_reads_is_cut_off_at_its_queue_and_counted(served: Served) -> None:
    hub = served.gateway.alerts.hub  # type: ignore[union-attr]
    hub.queue_size = 20
    served.engine.on_batch(batch(gate_pass("card-c1s01", 38.2, MORNING)))
    [alert] = served.engine.lifecycle.find(school="sch1")
    notification = Notification(
        NotificationKind.RENOTIFIED, "sch1", alert.rule, alert.severity, (alert,), MORNING
    )
    url = urlsplit(served.url)
    with socket.socket() as sock:
        # A small receive window: the server's writes block soon, as with a stalled client.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((url.hostname, url.port))
        sock.sendall(
            f"GET {url.path}?access_token={served.tokens['nurse']} HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\n\r\n".encode()
        )
        assert wait_until(lambda: hub.subscribers == 1)
        sent = 0
        while hub.subscribers and sent < 20_000:
            hub.send(notification)
            sent += 1
            if sent % 20 == 0:
                time.sleep(0.01)  # let the stream take what it can
        assert hub.subscribers == 0, f"still subscribed after {sent} notifications"
        assert (
            served.gateway.metrics.registry.get_sample_value(
                "campusedge_alert_sse_clients_cut_total"
            )
            == 1.0
        )
        # The server closes the connection: what it wrote before, then the end.
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    assert received.count(b"event: alert") < sent
    # A new stream is served as usual.
    again = Stream(served.url, served.tokens["nurse"]).start()
    hub.send(notification)
    assert wait_until(lambda: len(again.events) == 1)
