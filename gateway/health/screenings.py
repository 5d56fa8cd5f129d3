"""Committed vision screenings become screening records and, with findings, referrals."""

from __future__ import annotations

import logging
from collections.abc import Callable

from campusedge.excerpt import excerpt
from gateway.alerts.config import VisionConfig
from gateway.alerts.lookup import RosterLookup
from gateway.alerts.rules import identify, subject_of
from gateway.health import vision
from gateway.health.referrals import Referral, Referrals
from gateway.roster import Roster
from gateway.store.base import StoredMessage

log = logging.getLogger(__name__)


class Screenings:
    """Judges each screening against the school's vision thresholds and the student's last one.

    Idempotent: the screening and its referral are keyed by (device_id, seq), so a message
    handled again (a redelivery, a consumer reading its log again) changes nothing.
    """

    def __init__(
        self,
        referrals: Referrals,
        roster: Roster,
        vision_config: Callable[[str], VisionConfig],
    ) -> None:
        self.referrals = referrals
        # The rule that names a student from a gate's or screener's subject is the one the
        # fever rule uses (one place for it); a screening day asks for every child once.
        self.lookup = RosterLookup(roster)
        # Per school: the thresholds live in the school's alert config file beside its other
        # health rules, which is where a district sets them.
        self.vision_config = vision_config

    @staticmethod
    def concerns(msg: StoredMessage) -> bool:
        return msg.event_type == vision.SCREENING

    def record(self, msg: StoredMessage) -> Referral | None:
        """Store *msg*'s screening; the new referral it makes, or None (no findings, not a
        screening, a subject not on the roster, or handled before)."""
        screening = vision.screening_of(msg)
        subject = subject_of(msg)
        if screening is None or subject is None:
            return None
        student = identify(subject, self.lookup)
        if student is None:
            log.warning(
                "vision screening %s/%d: subject %s is not on the roster",
                msg.device_id,
                msg.seq,
                excerpt(subject),
            )
            return None
        cfg = self.vision_config(msg.school)
        if student.age_on(msg.ts.date()) < cfg.min_age_years:
            found: list[dict[str, object]] = []
        else:
            previous = self.referrals.previous(student.id, msg.ts)
            found = vision.findings(screening, previous, cfg)
        return self.referrals.record(
            msg.school,
            student.id,
            student.class_id,
            msg.ts,
            msg.device_id,
            msg.seq,
            screening,
            found,
        )
