"""Alembic environment: runs on the connection that :func:`mamori.store.database.upgrade` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mamori.store import (
    assess_models,  # noqa: F401 - registers the self-assessment's tables on Base.metadata
    guard_models,  # noqa: F401 - registers the guard's tables on Base.metadata
    hub_models,  # noqa: F401 - registers the hub's tables on Base.metadata
    member_models,  # noqa: F401 - registers the member node's tables on Base.metadata
)
from mamori.store.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise TypeError("run migrations through mamori.store.database.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
