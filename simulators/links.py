"""Transport seams for simulated devices: a pty pair for serial, a TCP stream for BLE/TCP.

The pty's slave end is a real tty device path that pyserial opens like a USB-serial adapter,
so the edge agent's own serial transport is what reads simulated devices.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import socket
import threading
import tty


class PtyLink:
    """The device end of a pty pair; `port` is the path the edge agent opens."""

    def __init__(self) -> None:
        self._master, self._slave = pty.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.link_up = True
        self.bytes_written = 0

    def write(self, data: bytes) -> None:
        """Send bytes to the agent (dropped while the link is down, like a pulled cable)."""
        if not self.link_up or not data:
            return
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self._master], [], 1.0)
            if not ready:
                return  # nobody reads: the device's UART buffer overflows
            n = os.write(self._master, view)
            view = view[n:]
            self.bytes_written += n

    def read(self) -> bytes:
        """Bytes the agent wrote to the device (commands), without blocking."""
        ready, _, _ = select.select([self._master], [], [], 0)
        if not ready:
            return b""
        try:
            return os.read(self._master, 4096)
        except OSError:
            return b""

    def close(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class StreamServer:
    """A one-client TCP server on 127.0.0.1: the simulated BLE adapter or a networked gate.

    Bytes written while no client is connected, or while the link is down, are lost, as
    notifications are when a band is out of radio range.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self.link_up = True
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.link_up:
                    conn.close()
                    continue
                if self._client is not None:
                    self._client.close()
                self._client = conn

    @property
    def connected(self) -> bool:
        return self._client is not None

    def drop(self) -> None:
        """Cut the link: close the client and refuse new ones until `restore`."""
        with self._lock:
            self.link_up = False
            if self._client is not None:
                self._client.close()
                self._client = None

    def restore(self) -> None:
        with self._lock:
            self.link_up = True

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._client is None:
                return
            try:
                self._client.sendall(data)
            except OSError:
                self._client.close()
                self._client = None

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def ble_record(address: str, notification: bytes) -> bytes:
    """One record of the simulated-BLE stream (see edge/transports/ble.py)."""
    raw = bytes(int(part, 16) for part in address.split(":"))
    if len(raw) != 6:
        raise ValueError(f"BLE address {address!r} is not 6 bytes")
    return bytes([6 + len(notification)]) + raw + notification


class PtyBridge:
    """Two pty pairs joined back to back: a null-modem cable between two tty paths.

    `device_port` is opened by a simulator that needs a serial port of its own (pymodbus's
    RTU server opens a path, not a pty's master), `port` by the edge agent, as with PtyLink.
    A thread copies bytes between the two masters until `close`.
    """

    def __init__(self) -> None:
        self._a_master, self._a_slave = pty.openpty()
        self._b_master, self._b_slave = pty.openpty()
        for fd in (self._a_master, self._a_slave, self._b_master, self._b_slave):
            tty.setraw(fd)
        self.device_port = os.ttyname(self._a_slave)
        self.port = os.ttyname(self._b_slave)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="pty-bridge", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        other = {self._a_master: self._b_master, self._b_master: self._a_master}
        while True:
            ready, _, _ = select.select([self._a_master, self._b_master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the far end's last holder closed it; wait for a reopen
                    continue
                view = memoryview(data)
                while view:
                    try:
                        view = view[os.write(other[fd], view) :]
                    except BlockingIOError:
                        select.select([], [other[fd]], [], 1.0)

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (self._a_master, self._a_slave, self._b_master, self._b_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)
