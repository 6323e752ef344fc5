"""Tables of the threat-intelligence hub: member organisations and their accounts, TAXII API roots and collections
with each organisation's rights, sharing groups, the STIX objects themselves (one row per version) with the audience
their TLP marking allows, and the status of each submission.

Times are integer microseconds since the Unix epoch (UTC), as in the guard's tables. ``date_added_us`` is distinct
and strictly increasing within a collection (the hub assigns it under the collection's lock), which is what makes
TAXII paging by ``added_after`` or ``next`` exact across any number of server processes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from mamori.store.models import Base


class HubOrganisation(Base):
    """A member organisation (an exchange, the self-regulatory organisation, the ISAC itself)."""

    __tablename__ = "hub_organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    identity_ref: Mapped[str] = mapped_column(String(300))  # its STIX identity (identity--UUID)
    created_us: Mapped[int] = mapped_column(BigInteger)
    removed_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The hub's own organisation: its identity replaces the producer's in anonymous submissions.
    operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class HubAccount(Base):
    """A member's credential: a bearer token (``mk_<key_id>_<secret>``, SHA-256 of the secret kept) and, for HTTP
    Basic, a password kept only as a slow salted hash."""

    __tablename__ = "hub_accounts"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("hub_organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))  # the user name of HTTP Basic, unique
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)
    revoked_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Its submissions name the hub as producer; who submitted them stays in ``taxii_objects.submitted_by``.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (UniqueConstraint("name", name="uq_hub_accounts_name"),)


class TaxiiApiRoot(Base):
    __tablename__ = "taxii_api_roots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # its path segment under /taxii2/
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    max_content_length: Mapped[int] = mapped_column(BigInteger)


class SharingGroup(Base):
    """The organisations that receive a collection's TLP:AMBER objects (with those each producer names)."""

    __tablename__ = "hub_sharing_groups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))


class SharingGroupMember(Base):
    __tablename__ = "hub_sharing_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("hub_sharing_groups.id"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("hub_organisations.id"), primary_key=True)


class TaxiiCollection(Base):
    """A collection. ``default_tlp``: the level of an object that carries no TLP marking (intel/tlp.py)."""

    __tablename__ = "taxii_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, as TAXII requires
    api_root: Mapped[str] = mapped_column(ForeignKey("taxii_api_roots.name"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    alias: Mapped[str | None] = mapped_column(String(64), nullable=True)
    default_tlp: Mapped[int] = mapped_column(Integer)
    sharing_group_id: Mapped[str | None] = mapped_column(ForeignKey("hub_sharing_groups.id"), nullable=True)
    created_us: Mapped[int] = mapped_column(BigInteger)


class CollectionRight(Base):
    __tablename__ = "taxii_collection_rights"

    collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collections.id"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("hub_organisations.id"), primary_key=True)
    can_read: Mapped[bool] = mapped_column(Boolean)
    can_write: Mapped[bool] = mapped_column(Boolean)


class TaxiiObject(Base):
    """One version of a STIX object in a collection. ``version_us``: its ``modified``, else ``created``, else its
    ``date_added`` (an SCO); ``is_first`` / ``is_last``: the earliest and latest version of its id in the collection,
    kept as versions arrive; ``document``: the object as submitted (canonical JSON)."""

    __tablename__ = "taxii_objects"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("taxii_collections.id"))
    date_added_us: Mapped[int] = mapped_column(BigInteger)
    stix_id: Mapped[str] = mapped_column(String(300))
    stix_type: Mapped[str] = mapped_column(String(250))
    spec_version: Mapped[str] = mapped_column(String(8))
    version_us: Mapped[int] = mapped_column(BigInteger)
    is_first: Mapped[bool] = mapped_column(Boolean)
    is_last: Mapped[bool] = mapped_column(Boolean)
    revoked: Mapped[bool] = mapped_column(Boolean)
    tlp: Mapped[int] = mapped_column(Integer)
    producer_id: Mapped[str] = mapped_column(ForeignKey("hub_organisations.id"))
    submitted_by: Mapped[str] = mapped_column(String(32))  # the account; for the operator (anonymous submissions)
    document: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("collection_id", "date_added_us", name="uq_taxii_objects_date_added"),
        UniqueConstraint("collection_id", "stix_id", "version_us", name="uq_taxii_objects_version"),
        Index("ix_taxii_objects_type_added", "collection_id", "stix_type", "date_added_us"),
    )


class TaxiiObjectReader(Base):
    """Who, beyond every member with read rights, may read an object above TLP:GREEN: ``kind`` ``organisation``
    (named by the producer, or of the sharing group for AMBER) or ``account`` (a named recipient of RED)."""

    __tablename__ = "taxii_object_readers"

    object_seq: Mapped[int] = mapped_column(ForeignKey("taxii_objects.seq", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    reader: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_tlp: Mapped[int] = mapped_column(Integer)  # the most restrictive level this reader is entitled to


class TaxiiStatus(Base):
    """A submission's status resource (TAXII 2.1 §4.3), kept at least 24 hours."""

    __tablename__ = "taxii_status"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    api_root: Mapped[str] = mapped_column(ForeignKey("taxii_api_roots.name"))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("hub_organisations.id"))
    request_us: Mapped[int] = mapped_column(BigInteger)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the status resource as served
