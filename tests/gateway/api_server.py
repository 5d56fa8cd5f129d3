"""The gateway's app under a real uvicorn in a thread, on a socket bound before it starts."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from gateway.api.app import create_app
from gateway.service import Gateway


@dataclass
class ApiServer:
    """uvicorn serving the gateway's app from a thread."""

    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_api(gateway: Gateway) -> ApiServer:
    """Serve on a port of our own: a port picked free and bound later can be taken in between
    (an outgoing connection of the gateway's own MQTT process once took one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # An open alert stream would hold a graceful shutdown forever: cut it short.
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(gateway), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return ApiServer(server, thread, port)
