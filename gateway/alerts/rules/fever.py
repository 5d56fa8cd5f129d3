"""Fever at the temperature gate: a reading at or above the site's threshold opens an alert."""

from __future__ import annotations

from datetime import timedelta

from campusedge.topics import DeviceKind
from gateway.alerts.config import FeverConfig, Site
from gateway.alerts.lookup import RosterLookup
from gateway.alerts.model import Candidate, Rule
from gateway.alerts.rules import attribute, identify, reading, subject_of
from gateway.store.base import StoredMessage

GATE_PASS = "gate_pass"


def evaluate(msg: StoredMessage, cfg: FeverConfig, lookup: RosterLookup) -> Candidate | None:
    """A suspected-fever candidate for a gate pass at or above threshold, else None."""
    if msg.kind is not DeviceKind.TEMP_GATE or msg.event_type != GATE_PASS:
        return None
    temperature = reading(msg, "body_temperature")
    if temperature is None:
        return None
    site_attr = attribute(msg, "site")
    site: Site = (
        "wrist"
        if site_attr == "wrist"
        else "forehead"
        if site_attr == "forehead"
        else cfg.default_site
    )
    threshold = cfg.threshold_c.get(site, 37.3)
    if temperature < threshold:
        return None
    subject = subject_of(msg)
    student = identify(subject, lookup) if subject else None
    # Without a roster match the alert is keyed by the (pseudonymous) subject, so repeats of
    # an unknown card still fold together and staff can find the child at the gate.
    key_subject = student.id if student else f"subject:{subject}"
    return Candidate(
        rule=Rule.FEVER,
        key=f"fever:{msg.school}:{key_subject}",
        school=msg.school,
        severity=cfg.severity,
        at=msg.ts,
        summary=f"suspected fever: {temperature:.1f} °C ({site}) at gate {msg.device_id}",
        student_id=student.id if student else None,
        class_id=student.class_id if student else None,
        device_id=msg.device_id,
        detail={
            "temperature_c": round(temperature, 2),
            "max_value": round(temperature, 2),
            "site": site,
            "threshold_c": threshold,
            "subject_id": subject,
            "decision": attribute(msg, "decision"),
        },
        source=(msg.device_id, msg.seq),
        fold_window=timedelta(minutes=cfg.fold_minutes),
    )
