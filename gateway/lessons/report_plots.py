"""The lesson report drawn with matplotlib: the class curve and zone shares as PNG, all as PDF.

Figures are made with `matplotlib.figure.Figure` and the Agg and PDF canvases, never pyplot;
drawing is serialized by one lock, because matplotlib is not thread-safe (its rcParams, which
`rc_context` sets and restores, and its font cache are process-wide) and API requests run in
threads. Labels come from the
reader's gettext catalog (Simplified Chinese by default), which needs a CJK font: the first
installed one of `CJK_FONTS` (Debian: fonts-noto-cjk, fonts-wqy-microhei or -zenhei). Without
one the report is still drawn, with a logged warning, and Chinese shows as empty boxes.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gateway.i18n import N_, Translator
from gateway.lessons.heart_rate import ZONE_NAMES
from gateway.lessons.report import Labels, LessonReport, StudentReport, Target

log = logging.getLogger(__name__)

# Simplified Chinese faces first; the Japanese and Traditional faces of the same collections
# still carry every Chinese character the labels use.
CJK_FONTS: Final = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
)
ZONE_LABELS: Final = {
    "very_light": N_("very light"),
    "light": N_("light"),
    "moderate": N_("moderate"),
    "vigorous": N_("vigorous"),
    "near_maximal": N_("near maximal"),
}
ZONE_COLOURS: Final = {
    "very_light": "#c6dbef",
    "light": "#9ecae1",
    "moderate": "#fdae6b",
    "vigorous": "#e6550d",
    "near_maximal": "#a50f15",
}
# Students per page of the zone chart in the PDF: a bar each, readable on A4.
STUDENTS_PER_PAGE: Final = 25
A4_PORTRAIT: Final = (8.27, 11.69)
_DRAWING = threading.Lock()


# File names of those fonts, looked for when matplotlib's font cache predates their install.
CJK_FONT_FILES: Final = ("notosanscjk", "sourcehansans", "wqy-microhei", "wqy-zenhei")


def _known_cjk() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FONTS if family in installed), None)


@functools.cache
def cjk_font() -> str | None:
    """The family of the first installed CJK font of CJK_FONTS, or None (warned once)."""
    found = _known_cjk()
    if found is not None:
        return found
    # matplotlib caches the system's fonts once: a font installed since is not in the cache.
    for path in font_manager.findSystemFonts():
        if any(name in Path(path).name.lower() for name in CJK_FONT_FILES):
            font_manager.fontManager.addfont(path)
    found = _known_cjk()
    if found is not None:
        return found
    log.warning(
        "no CJK font installed (any of %s): lesson reports show Chinese as empty boxes; "
        "install the Debian package fonts-wqy-microhei (or fonts-noto-cjk)",
        ", ".join(CJK_FONTS),
    )
    return None


def _style() -> dict[Any, Any]:
    family = cjk_font()
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    # The PDF keeps matplotlib's default Type 3 fonts: Type 42 would embed the CJK fonts'
    # CFF outlines as TrueType, which poppler reports as a font mismatch.
    return {"font.family": "sans-serif", "font.sans-serif": fonts, "axes.unicode_minus": False}


def curve_png(report: LessonReport, t: Translator, labels: Labels) -> bytes:
    with _DRAWING, matplotlib.rc_context(_style()):
        fig = Figure(figsize=(9, 4.5), layout="constrained")
        _draw_curve(fig.add_subplot(), report, t, labels)
        return _png(fig)


def zones_png(report: LessonReport, t: Translator, labels: Labels) -> bytes:
    with _DRAWING, matplotlib.rc_context(_style()):
        fig = Figure(figsize=(9, 1.5 + 0.32 * max(1, len(report.students))), layout="constrained")
        _draw_zones(fig.add_subplot(), report.students, t, labels)
        return _png(fig)


def report_pdf(report: LessonReport, t: Translator, labels: Labels) -> bytes:
    """Page 1: the figures against the targets and the class curve; then the zone shares,
    STUDENTS_PER_PAGE students a page."""
    out = io.BytesIO()
    with _DRAWING, matplotlib.rc_context(_style()), PdfPages(out) as pdf:
        first = Figure(figsize=A4_PORTRAIT)
        grid = first.add_gridspec(2, 1, height_ratios=(1.1, 1), top=0.95, bottom=0.07)
        _draw_summary(first.add_subplot(grid[0]), report, t, labels)
        _draw_curve(first.add_subplot(grid[1]), report, t, labels)
        pdf.savefig(first)
        students = report.students
        for start in range(0, len(students), STUDENTS_PER_PAGE):
            page = Figure(figsize=A4_PORTRAIT, layout="constrained")
            chunk = students[start : start + STUDENTS_PER_PAGE]
            _draw_zones(page.add_subplot(), chunk, t, labels, slots=STUDENTS_PER_PAGE)
            pdf.savefig(page)
        info = pdf.infodict()
        info["Title"] = t.gettext("PE lesson heart-rate report") + " " + labels.title
        info["Creator"] = "campusedge"
    return out.getvalue()


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    return out.getvalue()


def _draw_curve(ax: Axes, report: LessonReport, t: Translator, lab: Labels) -> None:
    # Each minute's value is drawn at the minute's middle; a minute nobody was measured in is
    # a gap (NaN), not a line drawn across it.
    xs = [p.minute + 0.5 for p in report.curve]

    def series(values: list[float | None]) -> list[float]:
        return [math.nan if v is None else v for v in values]

    minutes = len(report.curve)
    main_from = (report.main_since - report.since).total_seconds() / 60
    main_to = (report.main_until - report.since).total_seconds() / 60
    s = report.settings
    ax.axvspan(main_from, main_to, color="#eeeeee", label=t.gettext("main part"))
    ax.axhspan(
        s.mean_hr_low_bpm,
        s.mean_hr_high_bpm,
        color="#d9f0d3",
        alpha=0.7,
        label=t.gettext("target {low:g}–{high:g} bpm").format(
            low=s.mean_hr_low_bpm, high=s.mean_hr_high_bpm
        ),
    )
    if any(p.students for p in report.curve):
        ax.fill_between(
            xs,
            series([p.p10_bpm for p in report.curve]),
            series([p.p90_bpm for p in report.curve]),
            color="#6baed6",
            alpha=0.45,
            label=t.gettext("middle 80 percent of the class"),
        )
        ax.plot(
            xs,
            series([p.mean_bpm for p in report.curve]),
            color="#08519c",
            marker="o",
            markersize=3,
            label=t.gettext("class mean"),
        )
    else:
        ax.text(0.5, 0.5, t.gettext("no heart-rate readings"), ha="center", transform=ax.transAxes)
    ax.set_xlim(0, max(1, minutes))
    ax.set_ylim(60, 210)
    ax.set_xlabel(t.gettext("minute of the lesson"))
    ax.set_ylabel(t.gettext("heart rate (bpm)"))
    ax.set_title(t.gettext("Class heart-rate curve"))
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.legend(loc="upper right", fontsize=8)


def _draw_zones(
    ax: Axes,
    rows: Sequence[StudentReport],
    t: Translator,
    lab: Labels,
    slots: int | None = None,
) -> None:
    """A bar per student; with *slots*, room for that many, so every page's bars are alike."""
    names = [lab.students.get(s.student_id, s.student_id) for s in rows]
    ys = list(range(len(rows)))
    left = [0.0] * len(rows)
    for zone in ZONE_NAMES:
        widths = [(s.zone_pct or {}).get(zone, 0.0) for s in rows]
        ax.barh(
            ys,
            widths,
            left=left,
            color=ZONE_COLOURS[zone],
            label=t.gettext(ZONE_LABELS[zone]),
            height=0.7,
        )
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, s in zip(ys, rows, strict=True):
        hr = s.heart_rate
        note = (
            t.gettext("no readings")
            if hr.density_pct is None or hr.mean_bpm is None
            else t.gettext("density {density:.0f} %, mean {mean:.0f} bpm").format(
                density=hr.density_pct, mean=hr.mean_bpm
            )
        )
        ax.text(101, y, note, va="center", fontsize=7)
    ax.set_yticks(ys, names, fontsize=8)
    # At least one slot: a lesson with no device handed out has no bars, and an empty range
    # is a singular axis (matplotlib warns and widens it on its own).
    ax.set_ylim(max(slots or len(rows), 1) - 0.5, -0.5)
    ax.set_xlim(0, 135)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(t.gettext("share of the main part's measured time (%)"))
    ax.set_title(t.gettext("Time in each heart-rate zone"))
    ax.legend(loc="lower right", fontsize=7, ncols=len(ZONE_NAMES))


def _draw_summary(ax: Axes, r: LessonReport, t: Translator, lab: Labels) -> None:
    ax.axis("off")
    s, g = r.settings, r.group

    def verdict(ok: bool | None) -> str:
        if ok is None:
            return t.gettext("no data")
        return t.gettext("met") if ok else t.gettext("not met")

    def when(start: datetime, end: datetime) -> str:
        a, b = start.astimezone(lab.zone), end.astimezone(lab.zone)
        return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M}"

    def listed(target: Target) -> str:
        ids = r.stayed(target)
        # Chinese lists names with the enumeration comma (顿号).
        comma = "、" if t.language.startswith("zh") else ", "
        return comma.join(lab.students.get(i, i) for i in ids) if ids else t.gettext("none")

    density = "–" if g.density_pct is None else f"{g.density_pct:.1f} %"
    mean = "–" if g.mean_bpm is None else f"{g.mean_bpm:.1f}"
    lines = [
        (t.gettext("Lesson"), f"{lab.title}, {when(r.since, r.until)}"),
        (t.gettext("Main part"), when(r.main_since, r.main_until)),
        (
            t.gettext("Students measured"),
            t.gettext("{measured} of {total}").format(
                measured=g.students_measured, total=len(r.students)
            ),
        ),
        (
            t.gettext("Exercise density"),
            t.gettext("{value} (target ≥ {target:g} %): {verdict}").format(
                value=density, target=s.group_density_min_pct, verdict=verdict(g.density_ok)
            ),
        ),
        (
            t.gettext("Mean heart rate"),
            t.gettext("{value} bpm (target {low:g}–{high:g} bpm): {verdict}").format(
                value=mean,
                low=s.mean_hr_low_bpm,
                high=s.mean_hr_high_bpm,
                verdict=verdict(g.mean_ok),
            ),
        ),
        (
            t.gettext("Moderate intensity from"),
            t.gettext("{pct:g} percent of HRmax (208 − 0.7 × age)").format(pct=r.moderate_pct),
        ),
        (t.gettext("Stayed below the target"), listed(Target.BELOW)),
        (t.gettext("Stayed above the target"), listed(Target.ABOVE)),
    ]
    ax.text(
        0.0,
        1.0,
        t.gettext("PE lesson heart-rate report"),
        fontsize=16,
        weight="bold",
        va="top",
        transform=ax.transAxes,
    )
    y = 0.86
    for name, value in lines:
        ax.text(0.0, y, name, fontsize=10, weight="bold", va="top", transform=ax.transAxes)
        ax.text(0.3, y, value, fontsize=10, va="top", wrap=True, transform=ax.transAxes)
        y -= 0.1
