"""A non-editable install carries every package, the firmware configs and the model files."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the source tree's build/ folder, which the test processes share:
    # one builds at a time.
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_wheel(out)
    [built] = out.glob("campusedge-*.whl")
    return built


def _build_wheel(out: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )


def test_wheel_holds_packages_configs_and_models(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("campusedge", "drivers", "edge", "gateway", "simulators"):
        assert f"{package}/__init__.py" in names, f"{package} missing from the wheel"
    configs = {Path(n).name for n in names if n.startswith("campusedge/firmware_configs/")}
    on_disk = {p.name for p in (ROOT / "firmware_configs").glob("*.yaml")}
    assert on_disk and on_disk <= configs
    models = {Path(n).name for n in names if n.startswith("campusedge/models/")}
    on_disk_models = {p.name for p in (ROOT / "models").glob("*.onnx")}
    assert on_disk_models <= models
    assert "campusedge/py.typed" in names
    # The fitness scoring tables travel as package data, provenance and confidence included.
    assert "gateway/fitness/data/fitness_standard_2014.json" in names
    # The state database's schema revisions run from the installed package.
    assert "gateway/migrations/env.py" in names
    revisions = {Path(n).name for n in names if n.startswith("gateway/migrations/versions/")}
    on_disk_revisions = {p.name for p in (ROOT / "gateway/migrations/versions").glob("*.py")}
    assert on_disk_revisions and on_disk_revisions <= revisions
    # The example push payload mappings, loaded at every gateway start.
    pushed = {p.name for p in (ROOT / "gateway/push/mappings").glob("*.yaml")}
    assert pushed and {f"gateway/push/mappings/{name}" for name in pushed} <= names
    assert not any(n.startswith("tests/") for n in names)
    # The message catalogs, compiled by the build from the .po files in the repository.
    for language in ("zh_CN", "en"):
        assert f"gateway/locale/{language}/LC_MESSAGES/campusedge.mo" in names, language


def test_installed_copy_finds_its_data_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import campusedge.paths as p, json; "
        "print(json.dumps([str(p.models_dir()), str(p.firmware_configs_dir())]))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    models, configs = (Path(p) for p in __import__("json").loads(out.stdout))
    assert models.is_relative_to(target) and configs.is_relative_to(target)
    assert list(configs.glob("*.yaml"))
    on_disk_models = {p.name for p in (ROOT / "models").glob("*.onnx")}
    assert on_disk_models and {p.name for p in models.glob("*.onnx")} == on_disk_models
    help_text = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(target)!r}); "
            "from campusedge.cli import main; main(['--help'])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "gateway run" in help_text
    translated = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(target)!r}); from gateway.i18n import Catalogs; "
            "print(Catalogs().translator().gettext('Suspected fever'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert translated.stdout.strip() == "疑似发热", translated.stderr
    migrated = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(target)!r}); from campusedge.cli import main; "
            f"sys.exit(main(['gateway', 'migrate', '--state-db', {str(tmp_path / 's.db')!r}]))",
        ],
        cwd=tmp_path,
        # The command's words come from the installed catalogs too.
        env={**os.environ, "CAMPUSEDGE_LANGUAGE": "zh-CN"},
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "的结构版本为" in migrated.stdout, migrated.stdout


def test_console_script_runs_from_the_installed_copy(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    script = target / "bin" / "campusedge"
    assert script.is_file(), "the wheel declares no `campusedge` console script"
    env = {**os.environ, "PYTHONPATH": str(target)}
    # The installed box configs load, with the device models they name, from the copy.
    done = subprocess.run(
        [str(script), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert "demo" in done.stdout and "gateway run" in done.stdout
    code = (
        "from campusedge.paths import firmware_configs_dir as d; from edge.config import "
        "load_box; print(sum(len(load_box(p).devices) for p in d().glob('box_*.yaml')), d())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert int(out[0]) > 0 and Path(out[1]).is_relative_to(target)
