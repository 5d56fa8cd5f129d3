"""Alembic's entry: runs the revisions on the connection the caller opened (see __init__)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gateway.migrations (campusedge gateway migrate)")
# The caller's transaction holds the whole upgrade; SQLite, like PostgreSQL, rolls back DDL.
context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
