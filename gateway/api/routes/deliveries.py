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
    return [DeliveryPublic(**vars(e)) for e in alerts.deliveries(notification_id, limit)]
