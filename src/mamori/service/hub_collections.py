"""API roots, collections, sharing groups and each member's rights on a collection: what the hub's operator sets
up, and what the TAXII endpoints ask before they read or write (TAXII 2.1 §4.2, §5.1-5.2)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from mamori.errors import InputError, MamoriError
from mamori.guard import require_text
from mamori.intel.tlp import Tlp
from mamori.service.hub_members import require_members
from mamori.store.hub_models import (
    CollectionRight,
    SharingGroup,
    SharingGroupMember,
    TaxiiApiRoot,
    TaxiiCollection,
)

MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # the largest request body an API root takes by default (TAXII 2.1 §4.2)


@dataclass(frozen=True, slots=True)
class Rights:
    can_read: bool
    can_write: bool


NO_RIGHTS = Rights(can_read=False, can_write=False)


def add_api_root(
    connection: Connection,
    name: str,
    title: str,
    *,
    description: str = "",
    max_content_length: int = MAX_CONTENT_LENGTH,
) -> None:
    """An API root served at ``/taxii2/<name>/``: a path segment of letters, digits, ``-`` and ``_``."""
    if not (name.isascii() and name.replace("-", "").replace("_", "").isalnum() and len(name) <= 64):
        raise InputError("FIELD_TYPE_INVALID", field="name", expected="a path segment of a-z, 0-9, '-' and '_'")
    require_text(title, field="title")
    if max_content_length < 1:
        raise InputError("FIELD_TYPE_INVALID", field="max_content_length", expected="a positive number of bytes")
    connection.execute(
        insert(TaxiiApiRoot).values(
            name=name, title=title, description=description, max_content_length=max_content_length
        )
    )


def add_sharing_group(connection: Connection, group_id: str, name: str, members: Iterable[str]) -> None:
    """A group of member organisations that receives the TLP:AMBER objects of the collections naming it."""
    require_text(group_id, field="group")
    require_text(name, field="name")
    connection.execute(insert(SharingGroup).values(id=group_id, name=name))
    organisations = sorted(set(members))
    require_members(connection, organisations)
    if organisations:
        connection.execute(
            insert(SharingGroupMember), [{"group_id": group_id, "organisation_id": o} for o in organisations]
        )


def add_collection(
    connection: Connection,
    api_root: str,
    title: str,
    *,
    now_us: int,
    default_tlp: Tlp = Tlp.AMBER,
    sharing_group: str | None = None,
    description: str = "",
    alias: str | None = None,
    collection_id: str | None = None,
) -> str:
    """A new collection of ``api_root``; returns its id (a UUID, as TAXII requires). ``default_tlp``: the level of
    an object that carries no TLP marking — AMBER unless the operator decides otherwise (deny by default)."""
    require_text(title, field="title")
    if connection.execute(select(TaxiiApiRoot.name).where(TaxiiApiRoot.name == api_root)).first() is None:
        raise MamoriError("NOT_FOUND", what="API root", id=api_root)
    if sharing_group is not None:
        known = connection.execute(select(SharingGroup.id).where(SharingGroup.id == sharing_group)).first()
        if known is None:
            raise MamoriError("NOT_FOUND", what="sharing group", id=sharing_group)
    new_id = collection_id or str(uuid.uuid4())
    connection.execute(
        insert(TaxiiCollection).values(
            id=new_id,
            api_root=api_root,
            title=title,
            description=description,
            alias=alias,
            default_tlp=int(Tlp(default_tlp)),
            sharing_group_id=sharing_group,
            created_us=now_us,
        )
    )
    return new_id


def grant(connection: Connection, collection_id: str, organisation_id: str, rights: Rights) -> None:
    """Set ``organisation_id``'s rights on a collection (replacing what it had)."""
    require_members(connection, [organisation_id])
    if connection.execute(select(TaxiiCollection.id).where(TaxiiCollection.id == collection_id)).first() is None:
        raise MamoriError("NOT_FOUND", what="collection", id=collection_id)
    key = (CollectionRight.collection_id == collection_id, CollectionRight.organisation_id == organisation_id)
    changed = connection.execute(
        update(CollectionRight).where(*key).values(can_read=rights.can_read, can_write=rights.can_write)
    ).rowcount
    if not changed:
        connection.execute(
            insert(CollectionRight).values(
                collection_id=collection_id,
                organisation_id=organisation_id,
                can_read=rights.can_read,
                can_write=rights.can_write,
            )
        )


def rights_of(connection: Connection, collection_id: str, organisation_id: str) -> Rights:
    """What ``organisation_id`` may do on the collection: nothing unless granted."""
    row = connection.execute(
        select(CollectionRight.can_read, CollectionRight.can_write).where(
            CollectionRight.collection_id == collection_id, CollectionRight.organisation_id == organisation_id
        )
    ).first()
    return Rights(bool(row.can_read), bool(row.can_write)) if row is not None else NO_RIGHTS


def collections_of(connection: Connection, api_root: str, organisation_id: str) -> list[tuple[TaxiiCollection, Rights]]:
    """The collections of ``api_root`` that ``organisation_id`` may read or write, with its rights, by title."""
    statement = (
        select(TaxiiCollection, CollectionRight.can_read, CollectionRight.can_write)
        .join(CollectionRight, CollectionRight.collection_id == TaxiiCollection.id)
        .where(
            TaxiiCollection.api_root == api_root,
            CollectionRight.organisation_id == organisation_id,
            CollectionRight.can_read | CollectionRight.can_write,
        )
        .order_by(TaxiiCollection.title, TaxiiCollection.id)
    )
    with Session(bind=connection) as session:
        return [(row[0], Rights(bool(row[1]), bool(row[2]))) for row in session.execute(statement)]
