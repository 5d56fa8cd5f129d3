"""The BLE band simulator as a subprocess: its HCI port and the events it prints."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from simulators.hr_band import address

Event = dict[str, Any]


class BandSimulator:
    """`campusedge simulate ble-bands` in a child process, read line by line."""

    def __init__(self, bands: int, *args: str) -> None:
        self.addresses = [address(i + 1) for i in range(bands)]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from campusedge.cli import main; raise SystemExit(main())",
                "simulate",
                "ble-bands",
                "--bands",
                str(bands),
                *args,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError(f"the band simulator exited with {self.proc.wait()}")
        ready = json.loads(first)
        assert ready["event"] == "ready", ready
        self.port: int = ready.get("hci_port") or ready["port"]
        self.hci = f"tcp-client:127.0.0.1:{self.port}"
        self.hcis = [f"tcp-client:127.0.0.1:{p}" for p in ready.get("hci_ports", [])]
        self.events: list[Event] = [ready]
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.events.append(json.loads(line))

    def seen(self, event: str, addr: str | None = None) -> list[Event]:
        with self._lock:
            return [
                e
                for e in self.events
                if e["event"] == event and (addr is None or e.get("address") == addr)
            ]

    def wait_for(self, check: Callable[[], bool], timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if check():
                return True
            time.sleep(0.02)
        return check()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(2)
