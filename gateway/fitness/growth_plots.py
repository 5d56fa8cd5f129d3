"""A student's growth record on one page for parents: the totals and each item's trend by year.

Drawn as the lesson report is (gateway/lessons/report_plots.py): `Figure` objects without
pyplot, under the same process-wide drawing lock and CJK font choice, Chinese labels from the
reader's catalog. One figure makes both the PDF page and the PNG. A year without a value is a
gap in the line, not a point at zero.
"""

from __future__ import annotations

import io
import math
from typing import Final

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from gateway.fitness.growth import GrowthRecord, GrowthYear
from gateway.fitness.growth_export import GRADE_WORDS
from gateway.fitness.headers import ITEM_NAMES, LEVEL_NAMES
from gateway.fitness.values import SPECS
from gateway.i18n import N_, Translator

# The lesson report's lock and style: matplotlib's state is process-wide, so both kinds of
# report must take turns.
from gateway.lessons.report_plots import _DRAWING, A4_PORTRAIT, _style

LEVEL_WORDS: Final = {
    "excellent": N_("excellent"),
    "good": N_("good"),
    "pass": N_("pass"),
    "fail": N_("fail"),
}
# The standard's cut-offs, drawn behind the totals.
CUTOFFS: Final = ((90, "#31a354"), (80, "#74c476"), (60, "#fd8d3c"))
PANEL_COLUMNS: Final = 3
ITEM_ORDER: Final = (
    "height_cm",
    "weight_kg",
    "bmi",
    "vital_capacity",
    "run_50m",
    "sit_and_reach",
    "rope_skip_1min",
    "sit_up_1min",
    "shuttle_50x8",
    "standing_long_jump",
    "pull_up",
    "run_1000m",
    "run_800m",
)


def item_label(item: str, t: Translator) -> str:
    """The item as the standard prints it in Chinese (50米跑), else its id, with its unit."""
    name = ITEM_NAMES.get(item, item) if t.language.startswith("zh") else item
    unit = "kg/m²" if item == "bmi" else SPECS[item].unit if item in SPECS else ""
    if unit == "count" and t.language.startswith("zh"):
        unit = "次"  # as the standard's tables head 跳绳 and 仰卧起坐
    return f"{name} ({unit})" if unit else name


def _level(level: str | None, t: Translator) -> str:
    if level is None:
        return "—"
    if t.language.startswith("zh") and level in LEVEL_NAMES:
        return LEVEL_NAMES[level]
    return t.gettext(LEVEL_WORDS[level]) if level in LEVEL_WORDS else level


def _grade(grade: str | None, t: Translator) -> str:
    if grade is None:
        return "—"
    return GRADE_WORDS.get(grade, grade) if t.language.startswith("zh") else grade


def _year_label(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def _signed(value: object) -> str:
    return "—" if value is None else f"{value:+}"


def growth_figure(record: GrowthRecord, title: str, t: Translator) -> Figure:
    """The page: heading and a table of the years, the totals, then one panel per item."""
    held = {i for y in record.years for i in y.items}
    shown = [i for i in ITEM_ORDER if i in held]
    rows = math.ceil(len(shown) / PANEL_COLUMNS)
    fig = Figure(figsize=A4_PORTRAIT)
    grid = fig.add_gridspec(
        2 + max(rows, 1),
        PANEL_COLUMNS,
        height_ratios=(1.3, 1.2, *([1.0] * max(rows, 1))),
        top=0.93,
        bottom=0.05,
        left=0.08,
        right=0.97,
        hspace=0.75,
        wspace=0.35,
    )
    fig.suptitle(t.gettext("Student physical fitness growth record") + "  " + title, fontsize=13)
    _draw_table(fig.add_subplot(grid[0, :]), record.years, t)
    _draw_totals(fig.add_subplot(grid[1, :]), record.years, t)
    for n, item in enumerate(shown):
        _draw_item(
            fig.add_subplot(grid[2 + n // PANEL_COLUMNS, n % PANEL_COLUMNS]), record, item, t
        )
    if not shown:
        ax = fig.add_subplot(grid[2, :])
        ax.axis("off")
        ax.text(0.5, 0.5, t.gettext("no test results yet"), ha="center", transform=ax.transAxes)
    return fig


def _draw_table(ax: Axes, years: tuple[GrowthYear, ...], t: Translator) -> None:
    ax.axis("off")
    vision = any(y.vision for y in years)
    header = [
        t.gettext("school year"),
        t.gettext("grade"),
        t.gettext("total score"),
        t.gettext("level"),
        t.gettext("change from last year"),
    ]
    if vision:
        header.append(t.gettext("vision L/R"))
    cells: list[list[str]] = []
    for y in years:
        row = [
            _year_label(y.year),
            _grade(y.grade, t),
            str(y.total.total) if y.total else ("—" if y.recorded else t.gettext("not tested")),
            _level(y.total.level if y.total else None, t),
            _signed(y.change_total),
        ]
        if vision:
            v = y.vision
            row.append(f"{v.acuity_left or '—'} / {v.acuity_right or '—'}" if v else "—")
        cells.append(row)
    if not cells:
        ax.text(0.5, 0.5, t.gettext("no test results yet"), ha="center", transform=ax.transAxes)
        return
    table = ax.table(cellText=cells, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)


def _draw_totals(ax: Axes, years: tuple[GrowthYear, ...], t: Translator) -> None:
    xs = list(range(len(years)))
    for cutoff, colour in CUTOFFS:
        ax.axhline(cutoff, color=colour, linestyle="--", linewidth=0.8)
    values = [float(y.total.total) if y.total else math.nan for y in years]
    ax.plot(xs, values, marker="o", color="#08519c")
    for x, y in zip(xs, years, strict=True):
        if y.total:
            ax.annotate(
                _level(y.total.level, t),
                (x, float(y.total.total)),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=8,
            )
    ax.set_xticks(xs, [_year_label(y.year) for y in years])
    ax.set_ylim(0, 120)
    ax.set_xlim(-0.5, max(0.5, len(years) - 0.5))
    ax.set_ylabel(t.gettext("total score"))
    ax.set_title(t.gettext("Total score by school year"), fontsize=10)
    ax.grid(True, color="#dddddd", linewidth=0.5)


def _draw_item(ax: Axes, record: GrowthRecord, item: str, t: Translator) -> None:
    years = record.years
    xs = list(range(len(years)))
    values = [float(y.items[item].value) if item in y.items else math.nan for y in years]
    ax.plot(xs, values, marker="o", markersize=4, color="#3182bd")
    for x, y in zip(xs, years, strict=True):
        result = y.items.get(item)
        if result is not None and result.score is not None:
            ax.annotate(
                str(result.score),
                (x, float(result.value)),
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
                fontsize=7,
                color="#636363",
            )
    ax.set_xticks(xs, [str(y.year) for y in years], fontsize=7)
    ax.set_xlim(-0.5, max(0.5, len(years) - 0.5))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(item_label(item, t), fontsize=9)
    ax.grid(True, color="#eeeeee", linewidth=0.5)


def growth_pdf(record: GrowthRecord, title: str, t: Translator) -> bytes:
    out = io.BytesIO()
    with _DRAWING, matplotlib.rc_context(_style()), PdfPages(out) as pdf:
        pdf.savefig(growth_figure(record, title, t))
        info = pdf.infodict()
        info["Title"] = t.gettext("Student physical fitness growth record") + " " + title
        info["Creator"] = "campusedge"
    return out.getvalue()


def growth_png(record: GrowthRecord, title: str, t: Translator) -> bytes:
    out = io.BytesIO()
    with _DRAWING, matplotlib.rc_context(_style()):
        growth_figure(record, title, t).savefig(out, format="png", dpi=80)
    return out.getvalue()
