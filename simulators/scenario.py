"""Scenario runner: virtual devices on their transports, an edge agent, time at any speed.

The edge agent runs as its own process (`campusedge edge run`) with a box config written for
this run, pointing at the pty paths and local ports of the virtual devices, exactly as a real
box points at /dev/ttyUSB0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from campusedge.processes import child_options
from campusedge.settings import MqttSettings
from campusedge.words import _, error_line
from simulators.broker_check import broker_problem
from simulators.cli_help import DefaultsHelpFormatter
from simulators.faults import Faults
from simulators.links import PtyLink, StreamServer

TICK_S = 0.05


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = DefaultsHelpFormatter
    parser.add_argument(
        "--speed", type=float, default=1.0, help="scenario seconds per wall second (1: real time)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the scenario")
    parser.add_argument(
        "--delete-on",
        choices=("gateway", "broker"),
        default="gateway",
        help="when the edge agent deletes a sent message: once the gateway's stored watermark "
        "covers it, or on the broker's PUBACK (a broker with no campusedge gateway behind it)",
    )
    parser.add_argument(
        "--drop-link",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="all device links down this long (scenario seconds), at 40 %%",
    )
    parser.add_argument(
        "--duplicate-rate",
        type=float,
        default=0.0,
        help="share of frames sent twice (devices with a frame counter)",
    )
    parser.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how far the clocks of devices that have one are off",
    )
    parser.add_argument(
        "--garbage-rate",
        type=float,
        default=0.0,
        help="share of frames with noise before them or cut short",
    )
    parser.add_argument(
        "--low-battery",
        type=float,
        nargs="?",
        const=0.1,
        default=0.0,
        metavar="SHARE",
        help="share of devices starting nearly empty (0.1 when given without a value)",
    )
    parser.add_argument("--school", default="demo-school", help="school in the MQTT topics")
    parser.add_argument("--edge-id", default=None, help="edge box id (default: <scenario>-box)")
    parser.add_argument(
        "--workdir", type=Path, help="box config and buffer (default: a temporary folder)"
    )
    for name, fallback in (
        ("host", "127.0.0.1"),
        ("port", "1883"),
        ("username", "none"),
        ("password", "none"),
    ):
        parser.add_argument(
            f"--mqtt-{name}",
            type=int if name == "port" else str,
            help=f"MQTT broker {name} (default: $CAMPUSEDGE_MQTT_{name.upper()}, else {fallback})",
        )
    parser.add_argument(
        "--no-edge",
        action="store_true",
        help="only run the devices; print the box config for `edge run`",
    )


def faults_from(args: argparse.Namespace) -> Faults:
    return Faults(
        drop_link_s=args.drop_link,
        duplicate_rate=args.duplicate_rate,
        clock_skew_s=args.clock_skew,
        garbage_rate=args.garbage_rate,
        low_battery=args.low_battery,
    )


def mqtt_from(args: argparse.Namespace) -> MqttSettings:
    s = MqttSettings()
    update: dict[str, Any] = {}
    for name in ("host", "port", "username", "password"):
        value = getattr(args, f"mqtt_{name}")
        if value is not None:
            update[name] = value
    return MqttSettings.model_validate({**s.model_dump(), **update})


def _open_files(pid: int) -> set[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    out = set()
    try:
        for fd in fd_dir.iterdir():
            try:
                out.add(os.readlink(fd))
            except OSError:
                continue
    except OSError:
        pass
    return out


@dataclass
class EdgeProcess:
    """`campusedge edge run` as a child process."""

    box_path: Path
    mqtt: MqttSettings
    stats_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log_offset: int = 0

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "campusedge.cli",
            "edge",
            "run",
            "--config",
            str(self.box_path),
            "--stats-out",
            str(self.stats_path),
            "--mqtt-host",
            self.mqtt.host,
            "--mqtt-port",
            str(self.mqtt.port),
            "--drain",
            "120",
            "--log-level",
            "WARNING",
        ]
        if self.mqtt.username:
            cmd += ["--mqtt-username", self.mqtt.username]
        env = {**os.environ}
        if self.mqtt.password:
            # Not on argv: a password starting with "-" would read as an option there.
            env["CAMPUSEDGE_MQTT_PASSWORD"] = self.mqtt.password.get_secret_value()
        self.log_path = self.stats_path.with_suffix(".log")
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the child
        # Its own session: a Ctrl-C in the terminal reaches the scenario only, which then
        # stops the agent itself (a drain first, cut short when it is in a hurry); SIGTERM
        # reaches it should the scenario die without doing so.
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env, **child_options())

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def new_log_lines(self) -> list[str]:
        """Lines the agent logged since the last call."""
        if self.log_path is None or not self.log_path.exists():
            return []
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        self._log_offset += end
        return data[:end].decode(errors="replace").splitlines()

    def stop(
        self,
        timeout_s: float = 180,
        drain_s: float | None = None,
        hurry: threading.Event | None = None,
    ) -> dict[str, Any]:
        """SIGTERM (the agent drains its buffer first); its counters.

        After *drain_s*, or as soon as *hurry* is set, a second SIGTERM ends the drain: what
        is unsent stays in the agent's buffer file.
        """
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        cut = False
        while self.proc.poll() is None and time.monotonic() - start < timeout_s:
            waited = time.monotonic() - start
            if not cut and (
                (drain_s is not None and waited >= drain_s)
                or (hurry is not None and hurry.is_set())
            ):
                self.proc.send_signal(signal.SIGTERM)
                cut = True
                timeout_s = min(timeout_s, waited + 10)
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.stats_path.exists():
            log = self.log_path.read_text()[-2000:] if self.log_path else ""
            raise RuntimeError(
                f"the edge agent wrote no stats (exit {self.proc.returncode}):\n{log}"
            )
        stats: dict[str, Any] = json.loads(self.stats_path.read_text())
        return stats


@dataclass
class Scenario(ABC):
    """A timeline of device activity; subclasses add devices and say what happens when."""

    name: str
    duration_s: float
    faults: Faults
    seed: int
    devices: list[dict[str, Any]] = field(default_factory=list)
    ptys: list[PtyLink] = field(default_factory=list)
    servers: list[StreamServer] = field(default_factory=list)
    frames_sent: int = 0
    counters: dict[str, int] = field(default_factory=dict)

    def pty(self) -> PtyLink:
        link = PtyLink()
        self.ptys.append(link)
        return link

    def server(self) -> StreamServer:
        srv = StreamServer()
        self.servers.append(srv)
        return srv

    @abstractmethod
    def step(self, t: float, dt: float) -> None:
        """Advance the devices from scenario time *t* by *dt* seconds, writing their bytes."""

    def link_down(self, t: float) -> bool:
        start = self.duration_s * 0.4
        return bool(self.faults.drop_link_s) and start <= t < start + self.faults.drop_link_s

    def _set_links(self, up: bool) -> None:
        for link in self.ptys:
            link.link_up = up
        for srv in self.servers:
            if up and not srv.link_up:
                srv.restore()
            elif not up and srv.link_up:
                srv.drop()

    def write_box(
        self,
        path: Path,
        school: str,
        edge_id: str,
        buffer_path: Path,
        delete_on: str = "gateway",
    ) -> None:
        path.write_text(
            yaml.safe_dump(
                {
                    "kind": "edge_box",
                    "edge_id": edge_id,
                    "school": school,
                    "config_version": f"{self.name}-sim",
                    "buffer": {"path": str(buffer_path)},
                    "status_interval_s": 10,
                    "delete_on": delete_on,
                    "devices": self.devices,
                }
            )
        )

    def wait_connected(
        self, timeout_s: float, agent_pid: int | None = None, stop: threading.Event | None = None
    ) -> None:
        """Wait until the agent is connected to every device (bytes sent before are lost).

        TCP links know when a client is connected; for serial ports the agent's process is
        asked which files it holds open (Linux /proc), else a short grace period is given.
        Returns early when *stop* is set.
        """
        end = time.monotonic() + timeout_s
        ports = {link.port for link in self.ptys}
        while time.monotonic() < end and not (stop is not None and stop.is_set()):
            servers_ok = all(s.connected for s in self.servers)
            ports_ok = not ports or (agent_pid is not None and ports <= _open_files(agent_pid))
            if servers_ok and ports_ok:
                # pyserial flushes the input buffer just after opening the port.
                time.sleep(0.3)
                return
            if servers_ok and ports and agent_pid is None:
                time.sleep(0.5)
                return
            time.sleep(0.05)

    def play(self, speed: float, on_tick: Any = None, stop: threading.Event | None = None) -> float:
        """Run the timeline at *speed* (until *stop* is set); the wall seconds it took."""
        start = time.monotonic()
        t = 0.0
        while t < self.duration_s and not (stop is not None and stop.is_set()):
            self._set_links(not self.link_down(t))
            self.step(t, TICK_S * speed)
            t += TICK_S * speed
            if on_tick is not None:
                on_tick(t, time.monotonic() - start)
            lag = start + t / speed - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        self._set_links(True)
        return time.monotonic() - start

    def close(self) -> None:
        for link in self.ptys:
            link.close()
        for srv in self.servers:
            srv.close()


def _say(scenario: Scenario, text: str) -> None:
    print(error_line(f"campusedge simulate {scenario.name}", text), file=sys.stderr, flush=True)


def _agent_trouble(stats: dict[str, Any]) -> str | None:
    """Why the agent's run did not deliver everything, from its counters; None if it did."""
    if not stats.get("connects"):
        why = stats.get("mqtt_error")
        if not why:
            return _("the edge agent never reached the MQTT broker (no answer)")
        return _("the edge agent never reached the MQTT broker ({reason})").format(reason=why)
    if stats.get("buffered"):
        return _("the edge agent left {count} messages unsent").format(count=stats["buffered"])
    return None


def _nothing_unsent(buffer_db: Path) -> bool:
    """Whether an agent's buffer file is absent or holds no message waiting to be sent.

    Read with sqlite3 directly (simulators do not import the edge package); a file that
    cannot be read is taken as holding something, so it is kept.
    """
    if not buffer_db.exists():
        return True
    try:
        with closing(sqlite3.connect(f"file:{buffer_db}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
    except sqlite3.Error:
        return False
    return bool(row is not None and row[0] == 0)


def run_scenario(scenario: Scenario, args: argparse.Namespace) -> int:
    """Common main of `campusedge simulate …`: devices, an edge agent, a JSON summary.

    Exits 0 when the agent delivered everything, 2 when the broker cannot be reached or
    refuses the login (checked before the scenario starts), 1 when the agent failed or left
    messages unsent, 130 when interrupted (SIGINT/SIGTERM/SIGHUP: the scenario stops at once and the
    agent gets a few seconds to send what it holds). A temporary folder is removed after a run
    that left nothing unsent, else it is kept, and named, with the messages in its buffer.db.
    """
    started = time.monotonic()
    interrupted = threading.Event()
    halt = threading.Event()  # interrupted, or the agent is gone: the timeline stops

    def _interrupt(signum: int, frame: object) -> None:
        interrupted.set()
        halt.set()

    old_handlers = {
        sig: signal.signal(sig, _interrupt)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    temp = args.workdir is None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"campusedge-{scenario.name}-"))
    disposable = False  # whether the folder holds nothing worth keeping at the end
    edge = None
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        box_path = workdir / "box.yaml"
        edge_id = args.edge_id or f"{scenario.name}-box"
        scenario.write_box(
            box_path, args.school, edge_id, workdir / "buffer.db", delete_on=args.delete_on
        )
        if args.no_edge:
            print(f"devices ready; run: campusedge edge run --config {box_path}", flush=True)
        else:
            mqtt = mqtt_from(args)
            # The agent would only retry quietly in its log: a wrong login or an unreachable
            # broker is said here, before any device starts.
            problem = broker_problem(mqtt, stop=interrupted)
            if problem is not None:
                _say(scenario, problem)
                disposable = True
                return 2
            edge = EdgeProcess(box_path, mqtt, workdir / "edge-stats.json")
            edge.start()
        scenario.wait_connected(
            30 if not args.no_edge else 3600,
            None if edge is None or edge.proc is None else edge.proc.pid,
            stop=halt,
        )
        watched = [0.0]
        broker_down = threading.Event()

        def watch(t: float, wall: float) -> None:
            if edge is None or wall - watched[0] < 1.0:
                return
            watched[0] = wall
            for line in edge.new_log_lines():
                if " edge.mqtt_link: " in line:  # the broker went away, or came back
                    said = line.split(" edge.mqtt_link: ", 1)[1]
                    _say(scenario, f"edge agent: {said}")
                    if said.endswith("connected again"):
                        broker_down.clear()
                    else:
                        broker_down.set()
            if not edge.running():
                halt.set()

        timeline = scenario.play(args.speed, on_tick=watch, stop=halt)
        summary: dict[str, Any] = {
            "scenario": scenario.name,
            "scenario_s": scenario.duration_s,
            "interrupted": interrupted.is_set(),
            # The whole run (waiting for the agent included): a run stopped while waiting for
            # a hand-started agent (--no-edge) took that long, though its timeline never ran.
            "wall_s": round(time.monotonic() - started, 1),
            "timeline_wall_s": round(timeline, 1),
            "frames_sent": scenario.frames_sent,
            **scenario.counters,
        }
        trouble = None
        if edge is not None:
            if not edge.running():
                code = edge.proc.returncode if edge.proc is not None else None
                trouble = _("the edge agent exited early (code {code}); see {log}").format(
                    code=code, log=edge.log_path
                )
            try:
                # A short drain when it would only wait for a broker that is not there.
                drain_s = 5 if interrupted.is_set() else 10 if broker_down.is_set() else None
                stats = edge.stop(drain_s=drain_s, hurry=interrupted)
            except RuntimeError as exc:
                _say(scenario, str(exc))
                return 1
            finally:
                edge = None
            summary["edge"] = stats
            trouble = trouble or _agent_trouble(stats)
        print(json.dumps(summary), flush=True)
        if trouble is not None:
            _say(scenario, trouble)
            return 1
        # With --no-edge the agent was started by hand on this folder's box.yaml: its buffer
        # tells whether it left anything to send later.
        disposable = not args.no_edge or _nothing_unsent(workdir / "buffer.db")
        return 130 if interrupted.is_set() else 0
    finally:
        if edge is not None:
            try:
                edge.stop(30, drain_s=5)
            except RuntimeError as exc:
                _say(scenario, str(exc))
        scenario.close()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        if temp and disposable:
            shutil.rmtree(workdir, ignore_errors=True)
        elif temp:
            _say(
                scenario,
                _("kept {workdir}: the agent's buffer.db (unsent messages) and its log").format(
                    workdir=workdir
                ),
            )
