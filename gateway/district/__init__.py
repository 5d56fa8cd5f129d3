"""District scale: gateway workers sharing one PostgreSQL, each holding leases on schools."""
