"""Children that end with their parent: the parent-death signal, in every window of a start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusedge.processes import child_options, popen

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@pytest.fixture
def parent_handles_sigterm() -> Iterator[None]:
    """This process handles SIGTERM in Python, as a command that stops in order does."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parent_of(start_child: str) -> tuple[subprocess.Popen[str], int]:
    """A Python process that runs *start_child* (which sets `pid`), says the pid and waits;
    the process and the child's pid."""
    code = "\n".join(
        (
            "import subprocess, threading, time",
            start_child,
            "print(pid, flush=True)",
            "time.sleep(60)",
        )
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def _kill_and_see_the_child_go(parent: subprocess.Popen[str], child: int) -> None:
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_child_ends_when_its_parent_dies(parent_handles_sigterm: None) -> None:
    parent, child = _parent_of(
        "from campusedge.processes import child_options\n"
        "pid = subprocess.Popen(['sleep', '60'], **child_options()).pid"
    )
    _kill_and_see_the_child_go(parent, child)


def test_a_parent_death_signal_between_fork_and_exec_ends_the_child(
    parent_handles_sigterm: None,
) -> None:
    # Between fork and exec the child still has its parent's handlers: a Python handler
    # there notes a signal that comes after the last Python line, exec forgets the note, and
    # the command would run on with no parent and no signal to come. The signal is sent here
    # as the kernel sends it when the parent dies in that window.
    options = child_options()
    prepare = options["preexec_fn"]

    def _parent_dies_now() -> None:
        prepare()
        os.kill(os.getpid(), signal.SIGTERM)

    child = subprocess.Popen(["sleep", "30"], **{**options, "preexec_fn": _parent_dies_now})
    try:
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_child_a_passing_thread_started_lives_on_and_ends_with_the_process() -> None:
    # A fault injector's thread restarts a broker and ends: the broker runs on, and goes
    # when the command is killed.
    parent, child = _parent_of(
        "from campusedge.processes import popen\n"
        "started = []\n"
        "t = threading.Thread(target=lambda: started.append(popen(['sleep', '60'])))\n"
        "t.start(); t.join()\n"
        "pid = started[0].pid"
    )
    time.sleep(0.5)  # the thread that asked for it has ended
    assert _alive(child)
    _kill_and_see_the_child_go(parent, child)


def test_popen_from_a_thread_raises_what_popen_raises(tmp_path: Path) -> None:
    failed: list[BaseException] = []

    def _start() -> None:
        try:
            popen([str(tmp_path / "no-such-program")])
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=_start)
    thread.start()
    thread.join(10)
    assert len(failed) == 1 and isinstance(failed[0], FileNotFoundError)
