"""A size-limited filesystem for disk-full tests: a 2 MiB tmpfs the test mounts and fills."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import REQUIRE


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a fresh 2 MiB tmpfs, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("a size-limited filesystem is mounted as tmpfs, which needs root")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        # Root without CAP_SYS_ADMIN (an unprivileged container): the services are there,
        # the mount is not; fail only where CI promises both.
        reason = f"cannot mount a tmpfs: {done.stderr.strip() or done.returncode}"
        if REQUIRE:
            pytest.fail(f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            # Still busy (a process of the test that did not stop): detach it at least.
            subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the filesystem of *folder* to the last byte; return the filler file to delete."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)  # unbuffered: nothing left to fail at close
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler
