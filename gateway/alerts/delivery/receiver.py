"""A local webhook receiver (stdlib HTTP server) for the benchmark and for trying a config."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    body: Any
    headers: dict[str, str]
    at: float  # time.perf_counter() on arrival


class WebhookReceiver:
    """Records every POST; answers 500 to the first `fail_first` requests to exercise retries."""

    def __init__(self, fail_first: int = 0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.attempts = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                at = time.perf_counter()
                with receiver._lock:
                    receiver.attempts += 1
                    fail = receiver.attempts <= receiver.fail_first
                    if not fail:
                        receiver.received.append(
                            Received(
                                self.path,
                                json.loads(raw or b"null"),
                                dict(self.headers.items()),
                                at,
                            )
                        )
                        receiver._arrived.notify_all()
                self.send_response(500 if fail else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}' if not fail else b'{"error": "busy"}')

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the benchmark measures, it does not log each request

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="webhook-receiver"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def wait_for(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
