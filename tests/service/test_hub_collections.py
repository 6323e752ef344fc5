"""API roots, collections, sharing groups and rights (service/hub_collections.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from mamori.errors import MamoriError
from mamori.intel.tlp import Tlp
from mamori.service.hub_collections import (
    NO_RIGHTS,
    Rights,
    add_api_root,
    add_collection,
    add_sharing_group,
    collections_of,
    grant,
    rights_of,
)
from mamori.service.hub_members import add_organisation
from mamori.store import upgrade

T0 = 1_772_503_200_000_000
READ, WRITE, BOTH = Rights(True, False), Rights(False, True), Rights(True, True)


@pytest.fixture
def engine(database) -> Iterator[Engine]:
    engine = database.engine()
    upgrade(engine)
    with engine.begin() as connection:
        for org in ("exchange-a", "exchange-b", "exchange-c"):
            add_organisation(connection, org, org, f"identity--{uuid.uuid4()}", now_us=T0)
        add_api_root(connection, "isac", "JVCEA ISAC")
    yield engine
    engine.dispose()


def code_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(MamoriError) as caught:
        call()
    return caught.value.code


def test_rights_are_nothing_until_granted_and_replaced_when_granted_again(engine: Engine) -> None:
    with engine.begin() as connection:
        wallets = add_collection(connection, "isac", "Wallets", now_us=T0)
        assert rights_of(connection, wallets, "exchange-a") == NO_RIGHTS
        grant(connection, wallets, "exchange-a", BOTH)
        grant(connection, wallets, "exchange-b", READ)
        grant(connection, wallets, "exchange-b", WRITE)
        assert rights_of(connection, wallets, "exchange-a") == BOTH
        assert rights_of(connection, wallets, "exchange-b") == WRITE
        assert rights_of(connection, wallets, "exchange-c") == NO_RIGHTS


def test_a_member_lists_the_collections_it_may_read_or_write(engine: Engine) -> None:
    with engine.begin() as connection:
        add_sharing_group(connection, "exchanges", "Exchanges", ["exchange-a", "exchange-b"])
        wallets = add_collection(connection, "isac", "Wallets", now_us=T0, sharing_group="exchanges")
        lures = add_collection(connection, "isac", "Recruiter lures", now_us=T0, default_tlp=Tlp.RED)
        hidden = add_collection(connection, "isac", "Operator only", now_us=T0)
        grant(connection, wallets, "exchange-a", READ)
        grant(connection, lures, "exchange-a", WRITE)
        grant(connection, hidden, "exchange-a", NO_RIGHTS)
        listed = collections_of(connection, "isac", "exchange-a")
        assert [(c.title, r) for c, r in listed] == [("Recruiter lures", WRITE), ("Wallets", READ)]
        assert listed[1][0].sharing_group_id == "exchanges" and listed[1][0].default_tlp == Tlp.AMBER
        assert listed[0][0].default_tlp == Tlp.RED
        assert collections_of(connection, "isac", "exchange-c") == []


def test_what_does_not_exist_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        assert code_of(lambda: add_collection(connection, "nowhere", "X", now_us=T0)) == "NOT_FOUND"
        assert code_of(lambda: add_collection(connection, "isac", "X", now_us=T0, sharing_group="none")) == "NOT_FOUND"
        assert code_of(lambda: add_sharing_group(connection, "g", "G", ["exchange-z"])) == "NOT_FOUND"
    with engine.begin() as connection:
        wallets = add_collection(connection, "isac", "Wallets", now_us=T0)
        assert code_of(lambda: grant(connection, wallets, "exchange-z", READ)) == "NOT_FOUND"


@pytest.mark.parametrize("name", ["", "has space", "slash/", "ｉｓａｃ", "a" * 65])
def test_an_api_root_is_a_plain_path_segment(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        assert code_of(lambda: add_api_root(connection, name, "Title")) == "FIELD_TYPE_INVALID"
