"""Tables of the gateway workers that share a district: who is running, who holds which school."""

from __future__ import annotations

from sqlalchemy import Column, Float, Table, Text

from gateway.tables import metadata

# One row per worker id. `instance` is random per process start, so that a second process with
# the same worker id is told apart from the first; `expires_at` (seconds on the database's
# clock) is pushed ahead by every heartbeat, and a row past it is a dead worker's.
gateway_workers = Table(
    "gateway_workers",
    metadata,
    Column("worker_id", Text, primary_key=True),
    Column("instance", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# One row per school held: the holder's worker id and instance, and when the lease lapses
# unless renewed (seconds on the database's clock, like the workers' rows).
school_leases = Table(
    "school_leases",
    metadata,
    Column("school", Text, primary_key=True),
    Column("worker_id", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
)
