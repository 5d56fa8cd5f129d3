"""The report's drawings: pages per class size, rendered back with pdftoppm; no CJK font."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from gateway.i18n import Catalogs
from gateway.lessons import report_plots
from gateway.lessons.heart_rate import HeartRateSettings
from gateway.lessons.report import Labels, StudentSamples, lesson_report
from gateway.lessons.report_plots import curve_png, report_pdf
from tests.gateway.lessons.test_report import END, MAIN, T0, at
from tests.services import missing


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


def test_zone_pages_hold_25_students_each(catalogs: Catalogs, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        missing("poppler-utils (pdftoppm)")
    students = [
        StudentSamples(f"s{i}", 12, [(at(t), 100.0 + i) for t in range(0, 601, 5)])
        for i in range(51)
    ]
    report = lesson_report(students, T0, END, HeartRateSettings(), main_part=MAIN)
    labels = Labels("5A", {s.student_id: s.student_id for s in students}, UTC)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report_pdf(report, catalogs.translator("zh_CN"), labels))
    subprocess.run(
        ["pdftoppm", "-r", "10", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # The summary page, then 25 + 25 + 1 students.
    assert len(list(tmp_path.glob("page-*.png"))) == 4


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(report_plots, "CJK_FONTS", ("No Such Font SC",))
    monkeypatch.setattr(report_plots, "CJK_FONT_FILES", ("no-such-font",))
    report_plots.cjk_font.cache_clear()
    yield
    report_plots.cjk_font.cache_clear()


@pytest.mark.usefixtures("no_cjk_font")
# matplotlib says once per missing glyph what the one logged warning says for all.
@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_without_a_cjk_font_it_warns_and_still_draws(
    catalogs: Catalogs, caplog: pytest.LogCaptureFixture
) -> None:
    report = lesson_report([StudentSamples("a", 12, [])], T0, END, HeartRateSettings())
    with caplog.at_level(logging.WARNING, logger="gateway.lessons.report_plots"):
        png = curve_png(report, catalogs.translator("zh_CN"), Labels("5A", {}, UTC))
    assert png.startswith(b"\x89PNG")
    assert any("fonts-wqy-microhei" in r.getMessage() for r in caplog.records)
