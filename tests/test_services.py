"""A missing Mosquitto, influxd or PostgreSQL skips its tests with the reason, or fails them in CI.

The Debian binaries are found off PATH too (/usr/sbin/mosquitto), so hiding them from PATH
does not make them missing; the generated test below makes the lookup find nothing instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NEEDS_SERVICE = """
import tests.services as services

def test_needs_{name}(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "{finder}", lambda: None)
    services.{start}(tmp_path)
"""

SERVICES = {
    "mosquitto": ("find_mosquitto", "start_mosquitto", "mosquitto"),
    "influxd": ("find_influxd", "start_influxd", "influxdb"),
    "postgres": ("find_pg_bin", "start_postgres", "postgresql"),
}


def run_without(name: str, tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    finder, start, _ = SERVICES[name]
    test = tmp_path / f"test_without_{name}.py"
    test.write_text(NEEDS_SERVICE.format(name=name, finder=finder, start=start))
    # The outer run's options (PYTEST_ADDOPTS, e.g. a --basetemp) are not for the inner one.
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "CAMPUSEDGE_REQUIRE_SERVICES" and not k.startswith("PYTEST_")
    }
    if require:
        env["CAMPUSEDGE_REQUIRE_SERVICES"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rsf",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(test),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_missing_service_skips_with_the_reason(name: str, tmp_path: Path) -> None:
    done = run_without(name, tmp_path, require=False)
    package = SERVICES[name][2]
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout, done.stdout
    assert (
        f"{package} is not installed (Debian package); `make test` installs it when run "
        "as root" in done.stdout
    )


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_missing_service_fails_when_ci_requires_it(name: str, tmp_path: Path) -> None:
    done = run_without(name, tmp_path, require=True)
    package = SERVICES[name][2]
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout, done.stdout
    assert f"CAMPUSEDGE_REQUIRE_SERVICES=1 but {package} is not installed" in done.stdout
