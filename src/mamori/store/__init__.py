"""The durable store: SQLAlchemy 2 models and Alembic migrations, one database for all parts.

An adapter at the edge: only the outer layers (``cli``, ``api``, ``guard``) import it.
"""

from mamori.store.database import DatabaseError, create_engine, downgrade, upgrade
from mamori.store.models import AuditEntry, AuditSubtree, AuditTreeHead, Base

__all__ = [
    "AuditEntry",
    "AuditSubtree",
    "AuditTreeHead",
    "Base",
    "DatabaseError",
    "create_engine",
    "downgrade",
    "upgrade",
]
