"""The delivery log of alert notifications (webhooks, robots, MQTT displays), for campus IT."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.api.deps import Alerts, CampusIT

router = APIRouter(prefix="/api/alerts", tags=["deliveries"])


class DeliveryPublic(BaseModel):
    notification_id: str
    channel: str
    target: str
    attempt: int
    status: str
    http_status: int | None
    error: str | None
    alert_ids: list[int]
    at: datetime


@router.get("/deliveries", response_model=list[DeliveryPublic])
def deliveries(
    alerts: Alerts,
    user: CampusIT,
    notification_id: str | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[DeliveryPublic]:
    records = alerts.deliveries(notification_id, limit)
    schools = alerts.schools_of(i for r in records for i in r.alert_ids)
    # Only notifications about the user's schools' alerts (a page may then hold fewer).
    return [
        DeliveryPublic(**vars(r))
        for r in records
        if all(schools.get(i) in user.schools for i in r.alert_ids)
    ]
