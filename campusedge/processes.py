"""Child processes that end with the command that started them, and signals that end it in order.

A command that starts processes (a broker, a gateway, publishers, an edge agent) must leave
none behind, however it ends: a SIGTERM from systemd or a timeout, a SIGHUP from a closed
terminal, Ctrl-C, or its own error. Three layers see to it:

- `shutdown_on_signals` turns SIGTERM and SIGHUP into SystemExit in the main thread, so the
  command's `finally` blocks run and stop what it started (by default both signals would end
  the process on the spot);
- children get a parent-death signal (Linux `prctl(PR_SET_PDEATHSIG)`), so that even a
  SIGKILL of the command takes them along;
- `stop_group` ends a child started in its own session together with whatever it started
  (a gateway's MQTT process), continuing a stopped group first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    fn: Callable[..., int] = libc.prctl
    return fn


# Looked up once, here: the function given to Popen runs between fork and exec, where as
# little as possible should happen.
_PRCTL = _prctl()


def die_with_parent(sig: int = signal.SIGTERM, parent_pid: int | None = None) -> None:
    """Have the kernel send *sig* to this process when its parent ends (Linux; else nothing).

    The kernel sends it when the parent *thread* that started this process ends, so start
    children from the main thread or from one that outlives them. With *parent_pid*, a
    parent that is already gone (the race before the call) ends this process at once.
    """
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def child_options(sig: int = signal.SIGTERM, *, own_session: bool = True) -> dict[str, Any]:
    """Popen keyword arguments for a child that ends with this process.

    Its own session (or, without *own_session*, its own process group) keeps a terminal's
    Ctrl-C and SIGHUP away from it, so that the command stops it in order (last, after what
    uses it); *sig* reaches it should this process die without doing so.

    A child that may be stopped (SIGSTOP) with children of its own wants SIGKILL and its own
    process group in this session: a stopped process does not act on SIGTERM, and when this
    process dies the kernel sends SIGHUP and SIGCONT to a process group that it leaves
    orphaned with stopped members (POSIX job control), which its own session would not get.
    """
    if threading.current_thread() is not threading.main_thread():
        # The kernel sends the parent-death signal when the *thread* that started the child
        # ends: a child started from a passing thread (a fault injector restarting a broker)
        # would die with that thread. `popen` starts such a child from a thread that lives as
        # long as the process; these options alone leave it to its command's cleanup.
        return _session(own_session)
    return _options(sig, own_session)


def _session(own_session: bool) -> dict[str, Any]:
    return {"start_new_session": True} if own_session else {"process_group": 0}


def _options(sig: int, own_session: bool) -> dict[str, Any]:
    parent = os.getpid()

    def _in_child() -> None:
        # Until exec this process has its parent's handlers. A Python handler runs between
        # Python lines only: a signal after the last of them, just before exec, is noted
        # and the note is forgotten by exec, leaving the command running with no parent and
        # no signal to come. With the default action the signal ends it, before exec as after.
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        die_with_parent(sig, parent)

    return {**_session(own_session), "preexec_fn": _in_child}


# A thread that lives as long as the process (an idle executor's worker waits for work until
# the interpreter ends) and starts the children of other threads, so that their parent-death
# signal comes when the process ends, not the thread that asked.
_STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="child-starter")


def popen(
    args: list[str], sig: int = signal.SIGTERM, *, own_session: bool = True, **kwargs: Any
) -> subprocess.Popen[Any]:
    """`subprocess.Popen(args, **kwargs)` of a child that ends with this process, as with
    `child_options`, from any thread: one started from a thread other than the main one is
    started by a thread that lives as long as the process."""

    def _start() -> subprocess.Popen[Any]:
        return subprocess.Popen(args, **kwargs, **_options(sig, own_session))

    if threading.current_thread() is threading.main_thread():
        return _start()
    return _STARTER.submit(_start).result()


def stop_group(proc: subprocess.Popen[Any], timeout_s: float = 30.0) -> None:
    """End *proc* (started with `child_options`) and every process in its group.

    SIGCONT first (a paused group acts on nothing else), then SIGTERM and a wait, then SIGKILL
    for whatever of the group is left: a child of *proc* that outlived it too.
    """
    pgid = proc.pid
    for sig in (signal.SIGCONT, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait()


def terminate(proc: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    """SIGTERM *proc* and wait for it; SIGKILL it if it is still there after *timeout_s*."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Shutdown(SystemExit):
    """Raised in the main thread by SIGTERM or SIGHUP: the command stops in order."""


@contextlib.contextmanager
def shutdown_on_signals(
    signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP),
) -> Iterator[None]:
    """Within the block, *signals* raise `Shutdown` (exit status 128 + signal) in the main
    thread, once; the handlers before it are put back after it.

    Further signals while the command cleans up are ignored, so that they do not cut the
    cleanup short and leave children behind; SIGINT (Ctrl-C) keeps raising KeyboardInterrupt.
    A command that handles a signal itself installs its own handler inside the block.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum: int, frame: FrameType | None) -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
        raise Shutdown(128 + signum)

    before = {sig: signal.signal(sig, _handler) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
