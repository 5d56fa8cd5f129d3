"""Every command that starts processes leaves none behind when signalled mid-run.

Each command runs as a real subprocess (with a real Mosquitto where it starts or needs one).
While it runs, every process descended from it is recorded by walking /proc (pid and start
time, so a reused pid is not mistaken for one of them); it is then signalled, and once it
has exited, none of those processes may be left (a zombie counts as gone).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port
from tests.conftest import MQTT_PASSWORD, MQTT_USER

pytestmark = [
    pytest.mark.mosquitto,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="walks /proc (Linux)"),
    pytest.mark.skipif(find_mosquitto() is None, reason="needs Mosquitto"),
]

Proc = tuple[int, int]  # pid, start time (clock ticks after boot)


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time, state) of *pid*, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields follow its last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19]), fields[0]


def _descendants(root: int) -> set[Proc]:
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
                starts[int(entry)] = st[1]
    out: set[Proc] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add((child, starts[child]))
            todo.append(child)
    return out


def _alive(proc: Proc) -> bool:
    st = _stat(proc[0])
    return st is not None and st[1] == proc[1] and st[2] != "Z"


def _describe(proc: Proc) -> str:
    try:
        cmd = Path(f"/proc/{proc[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmd = "?"
    return f"{proc[0]}: {cmd[:160]}"


Command = Callable[[Path, MosquittoProcess], list[str]]
MQTT = ["--mqtt-host", "127.0.0.1", "--mqtt-username", MQTT_USER]


def _broker(tmp: Path, broker: MosquittoProcess) -> list[str]:
    port = str(free_port())
    return ["broker", "--port", port, "--data-dir", str(tmp / "b"), "--user", "u:p"]


def _gateway(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return [
        *("gateway", "run", "--db", str(tmp / "r.db"), "--api-port", str(free_port())),
        *(*MQTT, "--mqtt-port", str(broker.port), "--client-id", f"orphans-{tmp.name}"),
    ]


def _lesson(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return [
        *(
            "simulate",
            "lesson",
            "--students",
            "4",
            "--minutes",
            "10",
            "--speed",
            "1",
            "--delete-on",
            "broker",
        ),
        *("--school", "orphans", "--workdir", str(tmp / "lesson")),
        *(*MQTT, "--mqtt-port", str(broker.port)),
    ]


def _edge(tmp: Path, broker: MosquittoProcess) -> list[str]:
    box = tmp / "box.yaml"
    box.write_text(
        "kind: edge_box\nedge_id: orphans-box\nschool: orphans\n"
        f"buffer: {{path: {tmp / 'buffer.db'}}}\ndevices:\n"
        "  - id: g1\n    model: temp_gate_ce_tg100\n"
        "    transport: {type: serial, port: /dev/null}\n"
    )
    return ["edge", "run", "--config", str(box), *MQTT, "--mqtt-port", str(broker.port)]


def _demo(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["demo", "--duration", "300", "--port", str(free_port()), "--workdir", str(tmp / "d")]


def _bench_ingest(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["bench", "ingest", "--seconds", "20", "--rounds", "1", "--publishers", "2"]


def _bench_ingest_short(tmp: Path, broker: MosquittoProcess) -> list[str]:
    # The gateway is paused while the second publishing phase runs, 3 s after the first.
    return ["bench", "ingest", "--seconds", "3", "--rounds", "1", "--publishers", "2"]


def _bench_alerts(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["bench", "alerts", "--seconds", "30", "--rate", "50", "--fevers", "5"]


def _bench_outage(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["bench", "outage", "--students", "4", "--workdir", str(tmp / "o")]


def _bench_soak(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["bench", "soak", "--minutes", "5", "--workdir", str(tmp / "soak")]


def _bench_ble(tmp: Path, broker: MosquittoProcess) -> list[str]:
    return ["bench", "ble", "--bands", "2", "--seconds", "30"]


def _stopped(procs: set[Proc]) -> bool:
    return any((st := _stat(pid)) is not None and st[2] == "T" for pid, _ in procs)


# Each command, and how many processes of its own it has once it is well under way.
COMMANDS: dict[str, tuple[Command, int]] = {
    "broker": (_broker, 1),  # mosquitto
    "gateway run": (_gateway, 1),  # its MQTT process
    "edge run": (_edge, 0),  # threads only: it must still end on each signal
    "simulate lesson": (_lesson, 1),  # the edge agent
    "demo": (_demo, 4),  # mosquitto, the gateway's MQTT process, the lesson, its edge agent
    "bench ingest": (_bench_ingest, 4),  # mosquitto, gateway, its MQTT process, publishers
    # The same, signalled while it holds the gateway paused (SIGSTOP) between drains.
    "bench ingest paused": (_bench_ingest_short, 4),
    "bench alerts": (_bench_alerts, 4),  # mosquitto, gateway, its MQTT process, publishers
    "bench outage": (_bench_outage, 3),  # mosquitto, gateway (and its MQTT process), agent
    "bench ble": (_bench_ble, 1),  # the band simulator
    "bench soak": (_bench_soak, 4),  # mosquitto, gateway, its MQTT process, an edge agent
}
# SIGKILL gives the command no chance to clean up: its children's parent-death signal must.
SIGNALS = {
    "TERM": signal.SIGTERM,
    "HUP": signal.SIGHUP,
    "INT": signal.SIGINT,
    "KILL": signal.SIGKILL,
}


# SIGHUP goes through the very handler SIGTERM does (campusedge.processes): the commands that
# take seconds to get under way are sent it once, by the light ones, not once each. Ctrl-C
# (SIGINT) is for the commands a person runs in a terminal; the benches get TERM and KILL.
# The demo (run from a terminal: INT, not TERM) and the paused ingest bench (what matters is
# that a paused group dies with its killed command: KILL) are sent the one that tells.
LIGHT = {"broker", "gateway run", "edge run", "simulate lesson"}
INTERACTIVE = LIGHT | {"demo"}
ONLY = {"demo": {"INT", "KILL"}, "bench ingest paused": {"KILL"}}
CASES = [
    (name, sig)
    for name in COMMANDS
    for sig in SIGNALS
    if (sig != "HUP" or name in LIGHT)
    and (sig != "INT" or name in INTERACTIVE)
    and sig in ONLY.get(name, SIGNALS)
]


@contextlib.contextmanager
def _sigint_as_a_terminal_gives_it() -> Iterator[None]:
    """Start children with SIGINT's default action. A test run started as a background job
    of a shell (`nohup make test &`) ignores SIGINT, and an ignored signal stays ignored
    across exec: the command would start deaf to Ctrl-C, which is the shell's choice for
    background jobs, not a fault of the command."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _signal_state(pid: int) -> str:
    """The masks of signals blocked, ignored and caught, from /proc (a command that inherits
    a blocked or ignored SIGINT never sees a Ctrl-C)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError as exc:
        return f"unknown ({exc})"
    return ", ".join(line for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


@pytest.mark.parametrize(("name", "sig"), CASES)
def test_a_signalled_command_leaves_no_process_behind(
    name: str, sig: str, tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    make, expected = COMMANDS[name]
    env = {**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": MQTT_PASSWORD}
    log = (tmp_path / "out.log").open("wb")
    with _sigint_as_a_terminal_gives_it():
        cmd = subprocess.Popen(
            [sys.executable, "-m", "campusedge.cli", *make(tmp_path, mosquitto)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # as a service or a script would start it: no terminal
        )
    seen: set[Proc] = set()
    # The most processes alive at one look: a command's children come and go (a bench
    # restarts its gateway's MQTT process through an outage), so the count at the end of
    # the wait may be lower on a slow machine although the command was well under way.
    most = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cmd.poll() is None:
            seen |= _descendants(cmd.pid)
            most = max(most, len({p for p in seen if _alive(p)}))
            if most >= expected and (not name.endswith("paused") or _stopped(seen)):
                break
            time.sleep(0.1)
        settle = time.monotonic() + 1.0  # well under way, and children of children started
        while time.monotonic() < settle:
            seen |= _descendants(cmd.pid)
            most = max(most, len({p for p in seen if _alive(p)}))
            time.sleep(0.1)
        assert cmd.poll() is None, (tmp_path / "out.log").read_text()[-3000:]
        assert most >= expected, [_describe(p) for p in seen]
        assert _stopped(seen) or not name.endswith("paused")
        cmd.send_signal(SIGNALS[sig])
        try:
            cmd.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{name} did not end within 120 s of SIG{sig}; its signal state "
                f"{_signal_state(cmd.pid)}, the test's {_signal_state(os.getpid())}; its "
                f"output ends: {(tmp_path / 'out.log').read_text()[-2000:]}"
            )
        # A child the command signalled may take a moment; one that a parent-death SIGTERM
        # reached stops in order, which for a lesson simulator means its agent's drain too.
        # An edge agent a scenario started drains for up to 120 s (its --drain) after the
        # parent-death SIGTERM, with the broker gone too when the bench was killed, and then
        # stops its threads, link and buffer: 10 s beyond the drain was once too few for a
        # soak's gate box on a loaded machine.
        end = time.monotonic() + (160 if sig == "KILL" else 5)
        while time.monotonic() < end and any(_alive(p) for p in seen):
            time.sleep(0.1)
        left = [_describe(p) for p in seen if _alive(p)]
        assert not left, f"{name} left after SIG{sig}: {left}"
        if sig in ("TERM", "HUP"):
            assert "Traceback" not in (tmp_path / "out.log").read_text()
    finally:
        # Whatever is left after a failure is not left for the next test.
        if cmd.poll() is None:
            cmd.kill()
        for p in seen:
            if _alive(p):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p[0], signal.SIGKILL)
        cmd.wait()
        log.close()
