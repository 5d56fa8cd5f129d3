"""Run an influxd 1.x with its own config, data directories and HTTP port (benches and tests)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from campusedge.broker import free_port
from campusedge.processes import popen, terminate


def find_influxd() -> str | None:
    """Path of the influxd binary (Debian package `influxdb`), or None."""
    return shutil.which("influxd") or (
        "/usr/bin/influxd" if Path("/usr/bin/influxd").exists() else None
    )


class PortTaken(RuntimeError):
    """The server could not bind its port: another process took it first."""


@dataclass
class InfluxProcess:
    """An influxd on 127.0.0.1:port keeping everything in data_dir.

    With *admin* (user, password), HTTP authentication is on and start() creates that admin
    user on first start (InfluxDB allows it while no user exists). stop() and start() again
    keep the data directory and the port: a server that went away and came back.
    """

    binary: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    admin: tuple[str, str] | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_enabled(self) -> bool:
        return self.admin is not None

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self._proc

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "influxdb.conf"
        rpc = free_port()
        while rpc == self.port:
            rpc = free_port()
        conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{self.data_dir}/meta"
[data]
  dir = "{self.data_dir}/data"
  wal-dir = "{self.data_dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {str(self.auth_enabled).lower()}
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""")
        return conf

    def start(self, timeout_s: float = 20.0) -> None:
        conf = self._write_config()
        first_start = not (self.data_dir / "meta").exists()
        with open(self.data_dir / "influxd.log", "ab") as log:
            # Its own session and the parent-death signal, as for Mosquitto (broker.py).
            self._proc = popen([self.binary, "-config", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                # Typically a port taken between free_port() and bind; start_influxd retries.
                self._proc = None
                raise PortTaken(f"influxd exited at start; see {self.data_dir}/influxd.log")
            if self._ping():
                if self.admin is not None and first_start:
                    user, password = self.admin
                    self.query(
                        f"CREATE USER \"{user}\" WITH PASSWORD '{_quote(password)}' "
                        "WITH ALL PRIVILEGES",
                        auth=False,
                    )
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"influxd did not answer /ping within {timeout_s:g} s; see {self.data_dir}/influxd.log"
        )

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as answer:
                return int(answer.status) == 204
        except (urllib.error.URLError, OSError):
            return False

    def query(self, q: str, *, auth: bool = True) -> bytes:
        """POST an InfluxQL statement to /query as the admin; the raw JSON answer."""
        request = urllib.request.Request(
            f"{self.url}/query",
            data=urllib.parse.urlencode({"q": q}).encode(),
            method="POST",
        )
        if auth and self.admin is not None:
            token = base64.b64encode(":".join(self.admin).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            body: bytes = answer.read()
            return body

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is None:
            return
        terminate(self._proc)
        self._proc = None


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def start_influxd(
    data_dir: Path, *, admin: tuple[str, str] | None = None, binary: str | None = None
) -> InfluxProcess:
    """A started influxd on a free port; a port taken meanwhile is tried again (3 times)."""
    binary = binary or find_influxd()
    if binary is None:
        raise FileNotFoundError("influxd is not installed (Debian package 'influxdb')")
    for attempt in range(3):
        server = InfluxProcess(binary=binary, data_dir=data_dir, admin=admin)
        try:
            server.start()
            return server
        except PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
