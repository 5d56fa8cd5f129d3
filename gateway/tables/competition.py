"""Tables of the rope-skipping competition: definitions, results (ranked or held), rope progress."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text, UniqueConstraint

from gateway.tables import metadata

competitions = Table(
    "competitions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("definition", Text, nullable=False),  # the validated config as JSON
    Column("defined_by", Text, nullable=False),
    Column("defined_at", Text, nullable=False),
)

# One row per finished set of a competition, keyed by the rope message that carried it, so a
# set handled again (a redelivery, a consumer restarted from its cursor) is stored once.
competition_results = Table(
    "competition_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("competition_id", Text, nullable=False),
    Column("round_id", Text),
    Column("event", Text, nullable=False),
    Column("school", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("student_id", Text),
    Column("class_id", Text),
    Column("grade", Text),
    Column("sex", Text),
    Column("count", Integer, nullable=False),
    Column("trips", Integer, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    # ranked, held, approved (held, then ranked by a teacher) or rejected
    Column("status", Text, nullable=False),
    Column("reasons", Text, nullable=False),  # the holds, comma-separated ("" when ranked)
    Column("reviewed_by", Text),
    Column("reviewed_at", Text),
    Column("recorded_at", Text, nullable=False),
    UniqueConstraint(
        "competition_id", "school", "device_id", "seq", name="competition_results_set"
    ),
    Index("competition_results_status", "competition_id", "status"),
)

# Each rope's newest running count (its device time): a set with none during it is held.
rope_progress = Table(
    "rope_progress",
    metadata,
    Column("school", Text, primary_key=True),
    Column("device_id", Text, primary_key=True),
    Column("last_at", Text, nullable=False),
)
