"""Request bodies over the limit get 413 before they are read: over real HTTP, memory measured."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from gateway.api.body_limit import DEFAULT_MAX_BODY_BYTES
from tests.gateway.api.conftest import Campus, build_campus, populate
from tests.gateway.api_server import ApiServer, serve_api

HUGE = 66 * 1024 * 1024  # what took the gateway to 1.19 GB before the 401


def roster_csv(students: int) -> bytes:
    """A school's roster as campus IT exports it: national student ids, Chinese names (a few
    long minority names), three ids per child (gate card, face template, screener id)."""
    names = ("欧阳思思", "王小明", "买买提·艾力", "李红", "阿依古丽·买买提")
    rows = ["student_id,name,sex,birth_date,class_id,card_id"]
    for i in range(students):
        rows.append(
            f"G11010520{i:010d},{names[i % len(names)]},{'MF'[i % 2]},2013-05-01,"
            f"c-7-{i % 40:02d},CARD{i:010d};FACE-{i:016x};VS-2026-{i:06d}"
        )
    return ("\n".join(rows) + "\n").encode()


def test_the_default_limit_holds_a_large_schools_roster_with_margin(campus: Campus) -> None:
    for n in range(40):
        campus.gateway.roster.add_class(f"c-7-{n:02d}", "sch1", f"7-{n}", "7", "t1")
    body = roster_csv(2000)
    # About 0.25 MB: the default leaves room for a roster ten times as large.
    assert 10 * len(body) < DEFAULT_MAX_BODY_BYTES
    r = campus.client.post(
        "/api/roster/import",
        content=body,
        headers={**campus.auth("it1"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 2000


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ApiServer]:
    gateway = build_campus(tmp_path)
    populate(gateway)
    api = serve_api(gateway)
    try:
        yield api
    finally:
        api.stop()
        gateway.store.close()
        gateway.db.close()


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def send_body(
    api: ApiServer, head: bytes, chunks: Iterator[bytes], budget_s: float
) -> tuple[bytes, float]:
    """Send *head* then *chunks* until the server answers (or stops reading for long);
    returns the answer and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", api.port), timeout=budget_s) as sock:
        sock.sendall(head)
        pending = memoryview(b"")
        while True:
            if not pending:
                pending = memoryview(next(chunks, b""))
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 3)
            if readable or not writable:
                break  # an answer, all sent, or a server that no longer reads
            try:
                pending = pending[sock.send(pending) :]
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while True:  # the refusal closes the connection
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            answer += got
    return answer, time.monotonic() - started


def pieces(total: int, size: int = 1024 * 1024, chunked: bool = False) -> Iterator[bytes]:
    piece = b"[" + b"1," * (size // 2 - 1) + b"1"
    for _ in range(total // size):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_unauthenticated_66_mb_body_is_refused_fast_without_growing_memory(
    served: ApiServer, chunked: bool
) -> None:
    framing = (
        b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {HUGE}\r\n".encode()
    )
    head = (
        b"POST /api/lessons HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n" + framing + b"\r\n"
    )
    before = rss()
    answers = []
    for _ in range(4):  # four of them took the gateway to 1.19 GB before the limit
        answer, took = send_body(served, head, pieces(HUGE, chunked=chunked), budget_s=10)
        answers.append(answer)
        assert took < 5, f"413 after {took:.1f} s"
    grown = rss() - before
    for answer in answers:
        # The rest of the answer may be lost to the reset of a connection closed unread.
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert grown < 8 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB"


def test_a_body_under_the_limit_still_reaches_authentication(served: ApiServer) -> None:
    import httpx

    body = b"{" + b" " * (DEFAULT_MAX_BODY_BYTES - 2) + b"}"
    r = httpx.post(f"{served.base}/api/lessons", content=body, timeout=10)
    assert r.status_code == 401
    r = httpx.post(f"{served.base}/api/lessons", content=body + b" ", timeout=10)
    assert r.status_code == 413


def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    import httpx

    gateway = build_campus(tmp_path)
    gateway.settings.api_max_body_bytes = 2048
    api = serve_api(gateway)
    try:
        r = httpx.post(f"{api.base}/api/lessons", content=b"x" * 2049, timeout=10)
        assert r.status_code == 413
        assert "2048 bytes" in r.json()["detail"]

        def stream() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(3):
                yield b"x" * 1000

        r = httpx.post(f"{api.base}/api/lessons", content=stream(), timeout=10)
        assert r.status_code == 413
    finally:
        api.stop()
        gateway.store.close()
        gateway.db.close()
