"""What an alert says to people: its kind, state and facts in the reader's language.

Built from the alert's rule, severity, state and `detail`, never from its stored `summary`
(English, for logs and machines). Student ids only, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from gateway.alerts.model import Alert, AlertState, Rule, Severity
from gateway.alerts.rules.warning_level import SCHOOL_SCOPE
from gateway.i18n import N_, Translator

RULE_NAMES: Final[dict[Rule, str]] = {
    Rule.FEVER: N_("Suspected fever"),
    Rule.HR_HIGH: N_("High heart rate"),
    Rule.HR_EXTREME: N_("Very high heart rate"),
    Rule.HR_LOW: N_("Low heart rate"),
    Rule.HR_SIGNAL_LOST: N_("Heart-rate signal lost"),
    Rule.WARNING_LEVEL: N_("Illness warning level"),
    Rule.DEVICE_OFFLINE: N_("Device offline"),
    Rule.BATTERY_LOW: N_("Low battery"),
    Rule.CLOCK_DRIFT: N_("Device clock off"),
}
SEVERITY_NAMES: Final[dict[Severity, str]] = {
    Severity.INFO: N_("Info"),
    Severity.WARNING: N_("Warning"),
    Severity.CRITICAL: N_("Critical"),
}
STATE_NAMES: Final[dict[AlertState, str]] = {
    AlertState.OPEN: N_("Open"),
    AlertState.ACKNOWLEDGED: N_("Acknowledged"),
    AlertState.RESOLVED: N_("Resolved"),
}
SITE_NAMES: Final[dict[str, str]] = {"forehead": N_("forehead"), "wrist": N_("wrist")}
LEVEL_NAMES: Final[dict[str, str]] = {
    "green": N_("green"),
    "yellow": N_("yellow"),
    "orange": N_("orange"),
    "red": N_("red"),
}
DEVICE_KIND_NAMES: Final[dict[str, str]] = {
    "edge": N_("edge box"),
    "temp_gate": N_("temperature gate"),
    "hr_band": N_("heart-rate band"),
}
# Staff read times as the school's wall clock shows them.
TIME_FORMAT: Final = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Wording:
    """How a notification reads: in whose language, on which clock, linking where."""

    translator: Translator
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    # The address people open the dashboard at; without it, no link.
    dashboard_url: str | None = None

    def name(self, names: dict[Any, str], key: Any) -> str:
        """A name from one of the tables above, translated; an unknown key as it is."""
        message = names.get(key)
        return str(key) if message is None else self.translator.gettext(message)

    def time(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime(TIME_FORMAT)

    def link(self) -> str | None:
        return None if self.dashboard_url is None else self.dashboard_url.rstrip("/") + "/"


def _number(value: Any, digits: int) -> str | None:
    """A detail value as text, or None when it is missing or not a number (an older alert)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.{digits}f}"


def facts(alert: Alert, w: Wording) -> list[tuple[str, str]]:
    """(label, value) lines of one alert for people: where, who, what was measured, when."""
    t = w.translator
    d = alert.detail
    lines: list[tuple[str, str]] = []
    if alert.rule is Rule.WARNING_LEVEL:
        scope = d.get("scope")
        where = (
            t.gettext("whole school")
            if scope == SCHOOL_SCOPE or scope is None
            else t.gettext("class {class_id}").format(class_id=scope)
        )
        lines.append((t.gettext("School/class"), f"{alert.school} / {where}"))
    elif alert.class_id:
        lines.append((t.gettext("School/class"), f"{alert.school} / {alert.class_id}"))
    else:
        lines.append((t.gettext("School"), alert.school))
    if alert.student_id:
        lines.append((t.gettext("Student"), alert.student_id))
    lines += _measured(alert, w)
    if alert.device_id and alert.rule not in (Rule.FEVER, Rule.HR_HIGH, Rule.HR_EXTREME):
        lines.append((t.gettext("Device"), alert.device_id))
    lines.append((t.gettext("Time"), w.time(alert.opened_at)))
    lines.append((t.gettext("State"), w.name(STATE_NAMES, alert.state)))
    return lines


def measured(alert: Alert, translator: Translator) -> str | None:
    """What the rule saw as one line in *translator*'s language (the dashboard's summary of
    an alert), or None when the alert's detail holds none of it (an older alert)."""
    w = Wording(translator)
    line = translator.gettext("{label}: {value}").format
    parts = [line(label=label, value=value) for label, value in _measured(alert, w)]
    return translator.gettext("; ").join(parts) or None


def _measured(alert: Alert, w: Wording) -> list[tuple[str, str]]:
    """What the rule saw, from the alert's detail; a value the detail lacks is left out."""
    t = w.translator
    d = alert.detail
    rule = alert.rule
    if rule is Rule.FEVER:
        temperature = _number(d.get("max_value", d.get("temperature_c")), 1)
        if temperature is None:
            return []
        site = w.name(SITE_NAMES, d.get("site", "forehead"))
        value = t.gettext("{temperature} °C ({site})").format(temperature=temperature, site=site)
        lines = [(t.gettext("Temperature and site"), value)]
        recheck = _number(d.get("recheck_c"), 1)
        if recheck is not None:
            # A contact thermometer's reading, which confirms the screen or clears it.
            value = (
                t.gettext("{temperature} °C, fever confirmed")
                if d.get("confirmed")
                else t.gettext("{temperature} °C, no fever")
            ).format(temperature=recheck)
            lines.append((t.gettext("Recheck"), value))
        return lines
    if rule in (Rule.HR_HIGH, Rule.HR_EXTREME, Rule.HR_LOW):
        bpm = _number(d.get("max_value", d.get("bpm")), 0)
        held, limit = _number(d.get("held_s"), 0), _number(d.get("limit_bpm"), 0)
        if bpm is None:
            return []
        if held is None or limit is None:
            return [(t.gettext("Heart rate"), t.gettext("{bpm} bpm").format(bpm=bpm))]
        message = (
            t.gettext("{bpm} bpm for {seconds} s (lower limit {limit} bpm)")
            if rule is Rule.HR_LOW
            else t.gettext("{bpm} bpm for {seconds} s (limit {limit} bpm)")
        )
        return [(t.gettext("Heart rate"), message.format(bpm=bpm, seconds=held, limit=limit))]
    if rule is Rule.HR_SIGNAL_LOST:
        silent = _number(d.get("silent_s"), 0)
        if silent is None:
            return []
        value = t.gettext("no signal from the band for {seconds} s").format(seconds=silent)
        return [(t.gettext("Signal"), value)]
    if rule is Rule.WARNING_LEVEL:
        out: list[tuple[str, str]] = []
        if isinstance(d.get("level"), str):
            out.append((t.gettext("Level"), w.name(LEVEL_NAMES, d["level"])))
        cases = _number(d.get("cases"), 0)
        if cases is not None:
            value = t.gettext(
                "{cases} on {day} ({fevers} with fever, {absences} absent for illness)"
            ).format(
                cases=cases,
                day=d.get("day", ""),
                fevers=_number(d.get("fevers"), 0) or "0",
                absences=_number(d.get("illness_absences"), 0) or "0",
            )
            out.append((t.gettext("Cases"), value))
        pending = d.get("unconfirmed_screens")
        if isinstance(pending, int) and not isinstance(pending, bool) and pending > 0:
            value = t.ngettext(
                "{count} student with a fever screen",
                "{count} students with a fever screen",
                pending,
            ).format(count=pending)
            out.append((t.gettext("Awaiting recheck"), value))
        return out
    if rule is Rule.DEVICE_OFFLINE:
        kind = w.name(DEVICE_KIND_NAMES, d.get("kind", ""))
        reason = d.get("reason")
        if reason == "silence":
            minutes = _number(d.get("silent_minutes"), 0) or "?"
            why = t.gettext("silent for {minutes} min in school hours").format(minutes=minutes)
        elif reason == "last_will":
            why = t.gettext("connection lost")
        else:
            why = t.gettext("link to the device lost")
        return [(t.gettext("Device type"), kind), (t.gettext("Reason"), why)]
    if rule is Rule.BATTERY_LOW:
        pct = _number(d.get("battery_pct"), 0)
        return [] if pct is None else [(t.gettext("Battery"), f"{pct} %")]
    if rule is Rule.CLOCK_DRIFT:
        offset = d.get("clock_offset_s")
        if _number(offset, 1) is None:
            return []
        value = t.gettext("off by {seconds} s").format(seconds=f"{offset:+.1f}")
        return [(t.gettext("Clock"), value)]
    return []
