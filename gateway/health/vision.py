"""Vision screening findings that make a referral: poor acuity, screening myopia, a drop."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from campusedge.topics import DeviceKind
from gateway.alerts.config import VisionConfig
from gateway.alerts.rules import reading
from gateway.store.base import StoredMessage

SCREENING = "vision_screening"
EYES = ("left", "right")


@dataclass(frozen=True)
class Refraction:
    """One eye's autorefraction as the screener sends it: dioptres, and the axis in degrees."""

    sphere: float
    cylinder: float | None
    axis: float | None


@dataclass(frozen=True)
class Screening:
    """One eye test result: uncorrected acuity (5-point) and spherical equivalent per eye, and
    the refraction behind it where the screener sent one (the national upload file asks)."""

    acuity: dict[str, float | None]
    spherical_equivalent: dict[str, float | None]
    refraction: dict[str, Refraction | None] = field(default_factory=dict)


def screening_of(msg: StoredMessage) -> Screening | None:
    if msg.kind is not DeviceKind.VISION_SCREENER or msg.event_type != SCREENING:
        return None
    acuity = {eye: reading(msg, f"acuity_uncorrected_{eye}") for eye in EYES}
    se = {eye: reading(msg, f"spherical_equivalent_{eye}") for eye in EYES}
    refraction: dict[str, Refraction | None] = {}
    for eye in EYES:
        sphere, cylinder = reading(msg, f"sphere_{eye}"), reading(msg, f"cylinder_{eye}")
        # A cylinder not sent stays unknown (an empty cell), not a measured 0.00 D.
        refraction[eye] = (
            Refraction(sphere, cylinder, reading(msg, f"axis_{eye}"))
            if sphere is not None
            else None
        )
        if se[eye] is None and sphere is not None:
            # SE = sphere + cylinder / 2, when the screener did not send it.
            se[eye] = sphere + (cylinder or 0.0) / 2
    return Screening(acuity, se, refraction)


def chart_line(acuity: float) -> float:
    """The nearest 0.1 line of the 5-point chart, halves up (4.85 from a decimal → 4.9)."""
    # round() would take 4.85 to 4.8: binary floats hold it as 4.8499…
    return math.floor(acuity * 10 + 0.5 + 1e-9) / 10


def grade(acuity: float, cfg: VisionConfig) -> str | None:
    """视力不良 grade of an uncorrected acuity, or None when it is not poor."""
    value = chart_line(acuity)
    if value >= cfg.poor_below:
        return None
    if value >= cfg.mild_at_least:
        return "mild"
    if value >= cfg.moderate_at_least:
        return "moderate"
    return "severe"


def findings(now: Screening, previous: Screening | None, cfg: VisionConfig) -> list[dict[str, Any]]:
    """What makes this screening worth a referral; empty when nothing does."""
    out: list[dict[str, Any]] = []
    for eye in EYES:
        acuity = now.acuity[eye]
        if acuity is None:
            continue
        poor = grade(acuity, cfg)
        if poor is not None:
            out.append(
                {"eye": eye, "finding": "poor_vision", "grade": poor, "acuity": chart_line(acuity)}
            )
        se = now.spherical_equivalent[eye]
        if chart_line(acuity) < cfg.poor_below and se is not None and se < cfg.myopia_se_below_d:
            out.append(
                {
                    "eye": eye,
                    "finding": "screening_myopia",
                    "acuity": chart_line(acuity),
                    "spherical_equivalent_d": round(se, 2),
                }
            )
        before = previous.acuity[eye] if previous is not None else None
        if before is not None and round(before - acuity, 2) >= cfg.drop_at_least:
            out.append(
                {
                    "eye": eye,
                    "finding": "acuity_drop",
                    "from": chart_line(before),
                    "to": chart_line(acuity),
                }
            )
    return out
