"""`campusedge demo`: broker, gateway with API, and a simulated PE lesson, with live progress."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from campusedge.broker import MosquittoProcess, find_mosquitto, free_port, wait_for_port
from campusedge.processes import child_options
from campusedge.settings import MqttSettings
from gateway.api.server import ApiServer, listen
from gateway.auth import Role
from gateway.cli.broker import run_amqtt
from gateway.cli.common import load_settings, setup_logging, start_failed
from gateway.cli.language import gettext as _
from gateway.i18n import N_
from gateway.ingest import IngestSettings
from gateway.roster import LessonKind
from gateway.service import Gateway, GatewaySettings, GatewayStartError

SCHOOL = "demo-school"
CLASS_ID = "g5-1"
USER, PASSWORD = "campusedge-demo", "demo-password"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help=_("stop by itself after this long and print a JSON summary"),
    )
    parser.add_argument("--port", type=int, default=8000, help=_("API port"))
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument(
        "--workdir", type=Path, default=Path("var/demo"), help=_("demo data (wiped at start)")
    )
    parser.add_argument(
        "--embedded-broker",
        action="store_true",
        help=_("use the in-process broker even if Mosquitto is installed"),
    )


@dataclass
class Broker:
    """Mosquitto when installed, else amqtt in a thread of this process."""

    port: int
    data_dir: Path
    mosquitto: MosquittoProcess | None = None
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return "mosquitto" if self.mosquitto else "amqtt (in-process)"

    def start(self, embedded: bool) -> None:
        if not embedded and find_mosquitto():
            self.mosquitto = MosquittoProcess(
                data_dir=self.data_dir, users={USER: PASSWORD}, port=self.port
            )
            self.mosquitto.start()
            return
        ready = threading.Event()

        def serve() -> None:
            async def main() -> None:
                self._loop = asyncio.get_running_loop()
                self._stop = asyncio.Event()
                ready.set()
                await run_amqtt(self.port, self.data_dir, {USER: PASSWORD}, self._stop)

            asyncio.run(main())

        self._thread = threading.Thread(target=serve, name="amqtt", daemon=True)
        self._thread.start()
        ready.wait(10)
        wait_for_port("127.0.0.1", self.port, 15)

    def stop(self) -> None:
        if self.mosquitto:
            self.mosquitto.stop()
        elif self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
            if self._thread:
                self._thread.join(10)


def seed(gateway: Gateway, students: int, school: str = SCHOOL) -> dict[str, str]:
    """A class, its students, staff accounts and an open lesson with bands and ropes."""
    roster = gateway.roster
    roster.add_class(CLASS_ID, school, "Grade 5 Class 1", "5", pe_teacher_id="teacher.demo")
    assignments: dict[str, str] = {}
    for i in range(1, students + 1):
        student_id = f"S{i:04d}"
        sex = "M" if i % 2 else "F"
        roster.add_student(
            student_id,
            f"Student {i:02d}",
            sex,
            date(2015, 1 + i % 12, 1 + i % 27),
            CLASS_ID,
            card_id=f"card-{i:04d}",
        )
        assignments[f"hr-{i:02d}"] = student_id
        assignments[f"rope-{i:02d}"] = student_id
    tokens = {
        "campus_it": gateway.users.create("it.demo", "Campus IT", Role.CAMPUS_IT, schools=[school]),
        "pe_teacher": gateway.users.create(
            "teacher.demo", "PE Teacher", Role.PE_TEACHER, schools=[school]
        ),
        "health_staff": gateway.users.create(
            "nurse.demo", "School Nurse", Role.HEALTH_STAFF, schools=[school]
        ),
    }
    roster.start_lesson(
        CLASS_ID,
        "teacher.demo",
        LessonKind.LESSON,
        assignments,
        at=datetime.now(UTC),
        lesson_id="demo-lesson",
    )
    return tokens


def lesson_plan(duration: float | None) -> tuple[float, float]:
    """(lesson minutes, speed): a real-time 45-minute lesson, or one that fits the duration."""
    if duration is None:
        return 45.0, 1.0
    speed = 5.0
    # Leave a quarter of the time for start-up and for draining the edge buffer.
    minutes = max(1.5, duration * 0.6 * speed / 60)
    return round(minutes, 2), speed


# The rope test starts at this lesson minute, after a minute of warm-up, so that a newcomer
# sees ropes counted within the demo's first two minutes (earlier in a short, faster demo).
ROPE_TEST_AT_MIN = 1.0


def rope_test_minute(minutes: float) -> float:
    return max(0.0, min(ROPE_TEST_AT_MIN, minutes - 1.0))


def lesson_line(elapsed_s: float, minutes: float, speed: float) -> str:
    """Where the simulated lesson is, and when the rope test comes."""
    now = min(minutes, elapsed_s * speed / 60)
    start = rope_test_minute(minutes)
    if now < start:
        test = _("rope test in {seconds} s").format(seconds=f"{(start - now) * 60 / speed:.0f}")
    elif now < start + 1:
        test = _("rope test now (1 minute, watch the results grid)")
    else:
        test = _("rope test done")
    return _("minute {now} of {minutes}; {test}").format(
        now=f"{now:.1f}", minutes=f"{minutes:g}", test=test
    )


def lock_workdir(workdir: Path) -> TextIO:
    """Hold the demo's working directory for this process, or say who holds it: a second
    demo would otherwise wipe the running one's files under it."""
    workdir.parent.mkdir(parents=True, exist_ok=True)
    lock = workdir.with_name(workdir.name + ".lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise GatewayStartError(
            N_(
                "{workdir} is in use by the demo with pid {holder}; stop it first, or give this "
                "one its own --workdir (and --port)"
            ),
            workdir=workdir,
            holder=holder,
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def alert_count(gateway: Gateway) -> int:
    return gateway.alerts.count() if gateway.alerts is not None else 0


def progress(
    gateway: Gateway, broker: Broker, started: float, port: int, plan: tuple[float, float]
) -> Table:
    stats = gateway.ingest.stats
    devices = gateway.devices.all(SCHOOL)
    online = sum(
        1 for d in devices if d.last_seen and (datetime.now(UTC) - d.last_seen).total_seconds() < 10
    )
    table = Table(
        title=_("campusedge demo — dashboard and API on {url} (Ctrl-C stops)").format(
            url=f"http://127.0.0.1:{port}/"
        )
    )
    table.add_column(_("what"))
    table.add_column(_("value"), justify="right")
    for name, value in [
        (N_("running for"), _("{seconds} s").format(seconds=f"{time.monotonic() - started:.0f}")),
        (N_("lesson"), lesson_line(time.monotonic() - started, *plan)),
        (N_("broker"), broker.name),
        (N_("messages stored"), stats["stored"]),
        (N_("duplicates absorbed"), stats["duplicates"]),
        (N_("dead-lettered"), stats["dead_lettered"]),
        (N_("devices seen / active"), f"{len(devices)} / {online}"),
        (N_("alerts"), alert_count(gateway)),
    ]:
        table.add_row(_(name), str(value))
    return table


def run(args: argparse.Namespace) -> int:
    setup_logging()
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    console = Console(stderr=True)
    try:
        # The working directory and the port first: a demo running there, or a taken port,
        # stops this one before it wipes or starts anything.
        lock = lock_workdir(args.workdir)
        try:
            sock = listen("127.0.0.1", args.port, "--port")
        except GatewayStartError:
            lock.close()
            raise
    except GatewayStartError as exc:
        return start_failed("campusedge demo", exc)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    mosquitto = not args.embedded_broker and find_mosquitto() is not None
    broker = Broker(free_port(), args.workdir / "broker")
    try:
        mqtt = load_settings(
            MqttSettings, {}, host="127.0.0.1", port=broker.port, username=USER, password=PASSWORD
        )
        settings = load_settings(
            GatewaySettings,
            {},
            store_url=f"sqlite:///{args.workdir / 'readings.db'}",
            state_db=args.workdir / "state.db",
            api_port=args.port,
            # The simulated lesson's devices are made up as it starts: none is enrolled.
            strict_enrolment=False,
            ingest=IngestSettings(
                school=SCHOOL,
                client_id="campusedge-demo-gateway",
                protocol="5" if mosquitto else "3.1.1",
            ),
        )
        gateway = Gateway(settings, mqtt)
    except GatewayStartError as exc:
        sock.close()
        lock.close()
        return start_failed("campusedge demo", exc)
    broker.start(args.embedded_broker)
    tokens = seed(gateway, args.students)
    (args.workdir / "tokens.json").write_text(json.dumps(tokens, indent=2))
    gateway.start()
    api = ApiServer(gateway, sock)
    # Run from a thread, uvicorn leaves the signals to the demo's main thread.
    threading.Thread(target=api.serve_forever, name="api", daemon=True).start()
    gateway.ingest.connected.wait(15)
    minutes, speed = lesson_plan(args.duration)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "campusedge.cli",
            "simulate",
            "lesson",
            "--students",
            str(args.students),
            "--minutes",
            str(minutes),
            "--rope-test-at",
            str(rope_test_minute(minutes)),
            "--speed",
            str(speed),
            "--school",
            SCHOOL,
            "--workdir",
            str(args.workdir / "lesson"),
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            str(broker.port),
            "--mqtt-username",
            USER,
        ],
        env={**os.environ, "CAMPUSEDGE_MQTT_PASSWORD": PASSWORD},
        stdout=subprocess.PIPE,
        text=True,
        **child_options(),
    )  # Ctrl-C reaches the demo, which stops it in order
    console.print(
        _("Dashboard: {url} — sign in with a token (also in {path}): {tokens}").format(
            url=f"http://127.0.0.1:{args.port}/",
            path=args.workdir / "tokens.json",
            tokens=", ".join(f"{k}={v}" for k, v in tokens.items()),
        )
    )
    started = time.monotonic()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    summary: dict[str, Any] = {}
    try:
        with Live(
            progress(gateway, broker, started, args.port, (minutes, speed)),
            console=console,
            refresh_per_second=2,
        ) as live:
            while not stop.is_set():
                if args.duration is not None and time.monotonic() - started >= args.duration:
                    break
                if sim.poll() is not None and not summary:
                    summary = _last_json(sim.stdout.read() if sim.stdout else "")
                live.update(progress(gateway, broker, started, args.port, (minutes, speed)))
                stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print()  # end the live table's line before the summary
        summary = summary or lesson_report(sim)
        if not summary:
            message = _(
                "the lesson simulator ended without its report; the published count is unknown"
            )
            console.print(f"[red]{message}[/red]")
        published = int(summary.get("edge", {}).get("acked", 0))
        _settle(gateway, published)
        stats = dict(gateway.ingest.stats)
        result = {
            "published": published,
            "stored": stats["stored"],
            "lost": max(0, published - stats["stored"]),
            "dead_lettered": stats["dead_lettered"],
            "alerts": alert_count(gateway),
        }
        api.should_exit = True
        gateway.stop()
        broker.stop()
        lock.close()
    print(json.dumps(result))
    return 0


def lesson_report(sim: subprocess.Popen[str]) -> dict[str, Any]:
    """The lesson simulator's JSON report, stopping it first if it still runs.

    Read whether or not it is still running: when it ends between the last look and the end
    of the duration, its report is still waiting in the pipe.
    """
    if sim.poll() is None:
        # The simulator stops its devices, lets the edge agent drain, then reports.
        sim.send_signal(signal.SIGTERM)
    out, _ = sim.communicate(timeout=180)
    return _last_json(out or "")


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _settle(gateway: Gateway, published: int, timeout_s: float = 15) -> None:
    """Wait until the gateway has stored what the edge agent had acknowledged (or stalls)."""
    deadline = time.monotonic() + timeout_s
    while gateway.ingest.stats["stored"] < published and time.monotonic() < deadline:
        time.sleep(0.1)
