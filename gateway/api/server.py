"""The API's listening socket and uvicorn server, shared by `gateway run` and `demo`."""

from __future__ import annotations

import errno
import socket
from types import FrameType

import uvicorn

from gateway.api.app import create_app
from gateway.i18n import N_
from gateway.service import Gateway, GatewayStartError


def listen(host: str, port: int, option: str) -> socket.socket:
    """Bind the API's socket before anything else starts, so that a taken port stops start-up
    with one line (uvicorn alone would log the error after ingest is already running).
    *option* is what the user changes to pick another port, for the message."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise GatewayStartError(
            N_("API host {host!r}: {reason}"), host=host, reason=exc.strerror
        ) from None
    # A name such as "localhost" may resolve to ::1 first; like uvicorn, prefer IPv4 unless
    # the host is an IPv6 address, so that http://localhost:PORT reaches it either way.
    if ":" not in host:
        found.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = found[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: fast restart
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GatewayStartError(
                N_("cannot serve the API on {host}:{port}: {reason}; choose another with {option}"),
                host=host,
                port=port,
                reason=exc.strerror,
                option=option,
            ) from None
        raise GatewayStartError(
            N_("cannot serve the API on {host}:{port}: {reason}"),
            host=host,
            port=port,
            reason=exc.strerror,
        ) from None
    return sock


class ApiServer(uvicorn.Server):
    """uvicorn serving the gateway's app on a socket from `listen`."""

    def __init__(self, gateway: Gateway, sock: socket.socket) -> None:
        self.gateway = gateway
        self.sock = sock
        super().__init__(
            uvicorn.Config(
                create_app(gateway),
                log_level="warning",
                # A stream that still does not end must not hold a stop.
                timeout_graceful_shutdown=3,
            )
        )

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # End the open alert streams first: uvicorn waits for running responses, and an SSE
        # stream never finishes by itself.
        if self.gateway.alerts is not None:
            self.gateway.alerts.hub.close()
        self.gateway.competitions.hub.close()
        super().handle_exit(sig, frame)

    def serve_forever(self) -> None:
        """Serve until stopped (a signal in the main thread, or `should_exit`)."""
        try:
            self.run(sockets=[self.sock])
        finally:
            self.sock.close()
