"""Tables of a member node of the threat-intelligence hub: where each pull from a remote TAXII 2.1 collection
stopped.

``date_added_last`` is the remote server's own timestamp text (X-TAXII-Date-Added-Last), kept as written so that
the next pull resumes with exactly the ``added_after`` the server gave, whatever its precision. The row is updated
in the same transaction as the objects it covers: a crash never moves it past objects that were not stored.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.store.models import Base


class IntelSyncState(Base):
    """The cursor of ``mamori intel sync`` for one remote collection (its objects URL, credentials not included)."""

    __tablename__ = "intel_sync_state"

    remote_url: Mapped[str] = mapped_column(String(1000), primary_key=True)
    local_collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collections.id"))
    date_added_last: Mapped[str | None] = mapped_column(String(64), nullable=True)
    objects: Mapped[int] = mapped_column(BigInteger)  # object versions received so far (repeats included)
    synced_us: Mapped[int] = mapped_column(BigInteger)  # when the last page was stored (the member's clock)
