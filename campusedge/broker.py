"""Run a Mosquitto process with its own config, data directory and password file."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from campusedge.contract import MAX_PAYLOAD_BYTES
from campusedge.processes import popen, terminate


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian installs it in /usr/sbin, often not on PATH)."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {timeout_s:g} s"
                ) from None
            time.sleep(0.05)


def _hash_password(binary: str, password_file: Path, users: dict[str, str]) -> None:
    passwd = Path(binary).with_name("mosquitto_passwd")
    tool = str(passwd) if passwd.exists() else (shutil.which("mosquitto_passwd") or "")
    if not tool:
        raise FileNotFoundError("mosquitto_passwd not found next to mosquitto or on PATH")
    password_file.unlink(missing_ok=True)
    for i, (user, password) in enumerate(users.items()):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run(
            [tool, *flags, str(password_file), user, password], check=True, capture_output=True
        )


@dataclass
class MosquittoProcess:
    """A Mosquitto broker on 127.0.0.1:port with persistence in data_dir and password login.

    Queues are sized so that a persistent session survives a long subscriber outage without
    the broker dropping QoS 1 messages (Mosquitto's default keeps only 1000 per client), and
    bounded, so that no client can make the broker hold memory and disk without end:

    - `message_size_limit`: the gateway's own payload limit, so the broker refuses what the
      gateway would only dead-letter, before it is queued, retained or persisted (1 MB
      payloads once left 410 MB retained); 0 turns it off;
    - `max_queued_bytes` next to `max_queued_messages`, per client;
    - `persistent_client_expiration`: a persistent session whose client has not come back
      for that long is removed with its queue (stale sessions grew mosquitto.db to 1.6 GB).
    """

    data_dir: Path
    users: dict[str, str]
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    max_inflight: int = 0
    max_queued: int = 1_000_000
    max_queued_bytes: int = 512 * 1024 * 1024
    message_size_limit: int = MAX_PAYLOAD_BYTES
    # Mosquitto's duration syntax: a number and h, d, w, m or y; None keeps sessions for ever.
    session_expiry: str | None = "7d"
    # Seconds between saves of the in-memory state: what arrived since the last save is lost
    # if the broker is killed (edge boxes keep their copies until the gateway has them).
    autosave_interval: int = 1
    # TLS on the listener: (CA file, certificate, key) in PEM; plain MQTT without.
    tls: tuple[Path, Path, Path] | None = None
    # Mosquitto's acl_file: which user may read and write which topics (None: all may).
    acl_file: Path | None = None
    binary: str | None = field(default_factory=find_mosquitto)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def write_config(self) -> None:
        if self.binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian package 'mosquitto')")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.data_dir / "passwords"
        _hash_password(self.binary, password_file, self.users)
        self.config_path.write_text(
            "\n".join(
                [
                    # Stay the user that started us, so the broker can read its own temporary files.
                    "user " + _current_user(),
                    "per_listener_settings false",
                    f"listener {self.port} {self.host}",
                    *(
                        [
                            f"cafile {self.tls[0]}",
                            f"certfile {self.tls[1]}",
                            f"keyfile {self.tls[2]}",
                        ]
                        if self.tls
                        else []
                    ),
                    *([f"acl_file {self.acl_file}"] if self.acl_file else []),
                    "allow_anonymous false",
                    f"password_file {password_file}",
                    "persistence true",
                    f"persistence_location {self.data_dir}/",
                    f"autosave_interval {self.autosave_interval}",
                    f"max_inflight_messages {self.max_inflight}",
                    f"max_queued_messages {self.max_queued}",
                    f"max_queued_bytes {self.max_queued_bytes}",
                    f"message_size_limit {self.message_size_limit}",
                    *(
                        [f"persistent_client_expiration {self.session_expiry}"]
                        if self.session_expiry
                        else []
                    ),
                    f"log_dest file {self.log_path}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            )
        )

    def start(self, timeout_s: float = 10.0) -> None:
        if not self.config_path.exists():
            self.write_config()
        assert self.binary is not None
        # Its own session: a Ctrl-C in the terminal goes to the demo, which stops the broker
        # last, after the gateway has let go of it, instead of the broker dying first; and it
        # ends with the process that started it, should that one die without stopping it.
        # (From whichever thread starts it: a soak's fault injector restarts it.)
        self._proc = popen(
            [self.binary, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.host, self.port, timeout_s)
        except TimeoutError:
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{log}") from None

    def stop(self) -> None:
        if self._proc is None:
            return
        terminate(self._proc)
        self._proc = None

    def kill(self) -> None:
        """kill -9: the broker gets no chance to save what it holds."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def terminate(self) -> None:
        """Ask Mosquitto to stop without waiting (safe from a signal handler)."""
        if self._proc is not None:
            self._proc.terminate()

    def rotate_log(self, max_bytes: int, backups: int = 3) -> bool:
        """Rotate the broker's log file when it has grown past *max_bytes*: mosquitto.log
        becomes mosquitto.log.1 (older ones shift up, the oldest beyond *backups* goes) and
        Mosquitto, sent SIGHUP, reopens a fresh file. Returns whether it rotated."""
        try:
            if self.log_path.stat().st_size <= max_bytes:
                return False
        except FileNotFoundError:
            return False
        for n in range(backups - 1, 0, -1):
            older = self.log_path.with_name(f"{self.log_path.name}.{n}")
            if older.exists():
                older.replace(self.log_path.with_name(f"{self.log_path.name}.{n + 1}"))
        self.log_path.replace(self.log_path.with_name(f"{self.log_path.name}.1"))
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)  # Mosquitto reopens its log file on HUP
        return True

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for Mosquitto to end; subprocess.TimeoutExpired after *timeout* seconds."""
        assert self._proc is not None
        return self._proc.wait(timeout)


def _current_user() -> str:
    import getpass

    return getpass.getuser()
