"""The state database's tables as SQLAlchemy Core objects, one module per area, one MetaData.

The schema itself is made by the Alembic revisions in gateway/migrations; these declarations
say the same (tests/gateway/test_migrations.py compares them with a migrated database).
Times are ISO-8601 text, as the first release stored them: text order is time order.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()


def all_tables() -> MetaData:
    """The MetaData with every area's tables declared on it."""
    from gateway.tables import (  # noqa: F401
        alerts,
        box_commands,
        competition,
        consumers,
        devices,
        district,
        districts,
        fitness,
        fleet,
        health,
        ingest,
        people,
        push,
        roster,
    )

    return metadata
