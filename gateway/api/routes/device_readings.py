"""A device's stored readings of one device metric, for campus IT: battery, clock offset and
the vendor metrics of plug-in drivers (`vendor.metric`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from campusedge.units import Metric, MetricNameError, metric_name
from gateway.api.deps import AuditDep, CampusIT, StoreDep, check_school
from gateway.api.refusals import Refusal
from gateway.i18n import N_

router = APIRouter(prefix="/api/devices", tags=["devices"])

# Built-in metrics that describe the device, or the room it is in, rather than the person
# wearing or using it: a classroom's air (environment sensors, a gate's ambient temperature)
# is never a student's. The rest (heart rate, body temperature, acuity, counts) are a
# student's once a lesson binds the device, and campus IT reads no student data
# (gateway/api/access.py).
DEVICE_METRICS = frozenset(
    {
        Metric.BATTERY,
        Metric.CLOCK_OFFSET,
        Metric.AMBIENT_TEMPERATURE,
        Metric.RELATIVE_HUMIDITY,
        Metric.CO2,
    }
)


class ReadingPublic(BaseModel):
    device_id: str
    school: str
    kind: str
    seq: int
    ts: datetime
    time_quality: str
    metric: str
    value: float
    unit: str


@router.get("/{device_id}/readings", response_model=list[ReadingPublic])
def device_readings(
    device_id: str,
    store: StoreDep,
    audit: AuditDep,
    user: CampusIT,
    metric: str = Query(
        description="battery, clock_offset, a room's air (ambient_temperature, "
        "relative_humidity, co2), or a plug-in's vendor.metric"
    ),
    school: str | None = None,
    since: datetime | None = None,
    limit: int = Query(default=500, ge=1, le=10_000),
) -> list[ReadingPublic]:
    check_school(user, school)
    try:
        name = metric_name(metric)
    except MetricNameError as exc:
        raise HTTPException(422, str(exc)) from None
    if isinstance(name, Metric) and name not in DEVICE_METRICS:
        raise Refusal(
            status.HTTP_403_FORBIDDEN,
            N_(
                "{metric} is a measurement of a person once a lesson binds the device; "
                "campus IT reads device metrics only ({metrics} and plug-ins' vendor.metric)"
            ),
            metric=name.value,
            metrics=", ".join(sorted(DEVICE_METRICS)),
        )
    schools = {school} if school is not None else set(user.schools)
    rows = [
        r
        for r in store.readings(
            device_id=device_id, metric=name.value, since=since, limit=limit, newest_first=True
        )
        if r.school in schools
    ]
    # A vendor metric may measure a person too: who read which device's is kept.
    audit.record(user, "device_readings", "device", device_id, f"{name.value}: {len(rows)}")
    return [ReadingPublic(**vars(r)) for r in rows]
