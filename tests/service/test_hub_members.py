"""Member organisations and accounts of the hub (service/hub_members.py): tokens, HTTP Basic passwords kept as
scrypt hashes, revocation, and one answer for every failure."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, update

from mamori.errors import InputError, MamoriError
from mamori.intel.tlp import Reader
from mamori.service.hub_members import (
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    add_account,
    add_organisation,
    authenticate_basic,
    authenticate_token,
    hash_password,
    password_matches,
    revoke_account,
)
from mamori.store import upgrade
from mamori.store.hub_models import HubAccount, HubOrganisation

T0 = 1_772_503_200_000_000
IDENTITY = "identity--5a1f8a8e-4f59-4f0f-8a7c-2f4b3c1d9e10"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password


@pytest.fixture
def engine(database) -> Iterator[Engine]:
    engine = database.engine()
    upgrade(engine)
    with engine.begin() as connection:
        add_organisation(connection, "exchange-a", "Exchange A", IDENTITY, now_us=T0)
    yield engine
    engine.dispose()


def refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MamoriError) as caught:
        call()
    assert caught.value.code == "AUTH_INVALID"


def test_a_password_is_kept_as_scrypt_with_the_hub_s_parameters() -> None:
    salt = bytes(range(16))
    stored = hash_password(PASSWORD, salt=salt)
    scheme, n, r, p, _salt, digest = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", SCRYPT_N, SCRYPT_R, SCRYPT_P)
    expected = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    assert digest == base64.b64encode(expected).decode().rstrip("=")
    assert PASSWORD not in stored
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, PASSWORD + " ")
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # a fresh salt each time


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$14$8$1$AAAA$AAAA",
        "scrypt$2$1$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",  # weaker parameters than the hub's are never honoured
        "scrypt$16384$8$1$not base64!$AAAA",
        "scrypt$１６３８４$8$1$AAAA$AAAA",
    ],
)
def test_a_malformed_or_weakened_stored_hash_never_matches(stored: str) -> None:
    assert not password_matches(stored, PASSWORD)


def test_a_hash_made_with_weaker_parameters_is_not_honoured_even_when_right() -> None:
    salt = bytes(16)
    weak = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2, r=1, p=1, dklen=32)
    stored = f"scrypt$2$1$1${base64.b64encode(salt).decode().rstrip('=')}${base64.b64encode(weak).decode().rstrip('=')}"
    assert not password_matches(stored, PASSWORD)


def test_a_token_and_a_password_name_the_account_and_its_organisation(engine: Engine) -> None:
    with engine.begin() as connection:
        token = add_account(connection, "exchange-a", "a-bot", password=PASSWORD, now_us=T0)
    with engine.connect() as connection:
        by_token = authenticate_token(connection, token)
        by_password = authenticate_basic(connection, "a-bot", PASSWORD)
        stored = connection.execute(select(HubAccount.password_hash, HubAccount.secret_sha256)).one()
    assert by_token == by_password
    assert isinstance(by_token, Reader) and by_token.organisation == "exchange-a"
    assert token.split("_")[1] == by_token.account
    assert stored.password_hash is not None and PASSWORD not in stored.password_hash
    assert token.split("_", 2)[2].encode() not in stored.secret_sha256


def test_every_failure_is_the_same_answer(engine: Engine) -> None:
    with engine.begin() as connection:
        token = add_account(connection, "exchange-a", "a-bot", password=PASSWORD, now_us=T0)
        token_only = add_account(connection, "exchange-a", "b-bot", now_us=T0)
    with engine.connect() as connection:
        refused(lambda: authenticate_token(connection, token[:-1] + ("A" if token[-1] != "A" else "B")))
        refused(lambda: authenticate_token(connection, "not a token"))
        refused(lambda: authenticate_basic(connection, "a-bot", PASSWORD + "!"))
        refused(lambda: authenticate_basic(connection, "nobody", PASSWORD))
        refused(lambda: authenticate_basic(connection, "b-bot", PASSWORD))  # an account without a password
        assert authenticate_token(connection, token_only).organisation == "exchange-a"


def test_revoked_accounts_and_removed_organisations_no_longer_authenticate(engine: Engine) -> None:
    with engine.begin() as connection:
        token = add_account(connection, "exchange-a", "a-bot", password=PASSWORD, now_us=T0)
        other = add_account(connection, "exchange-a", "c-bot", password=PASSWORD, now_us=T0)
        revoke_account(connection, authenticate_token(connection, token).account, now_us=T0 + 1)
    with engine.connect() as connection:
        refused(lambda: authenticate_token(connection, token))
        refused(lambda: authenticate_basic(connection, "a-bot", PASSWORD))
        assert authenticate_token(connection, other).organisation == "exchange-a"
    with engine.begin() as connection:
        connection.execute(update(HubOrganisation).values(removed_us=T0 + 2))
    with engine.connect() as connection:
        refused(lambda: authenticate_token(connection, other))
        refused(lambda: authenticate_basic(connection, "c-bot", PASSWORD))
    with engine.begin() as connection, pytest.raises(MamoriError) as caught:
        add_account(connection, "exchange-a", "d-bot", now_us=T0 + 3)
    assert caught.value.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("name", "password"),
    [("a:b", PASSWORD), ("a-bot", "short"), ("", PASSWORD), ("bot\x00", PASSWORD)],
)
def test_bad_account_details_are_refused(engine: Engine, name: str, password: str) -> None:
    with engine.begin() as connection, pytest.raises(MamoriError) as caught:
        add_account(connection, "exchange-a", name, password=password, now_us=T0)
    assert caught.value.code == "FIELD_TYPE_INVALID"


def test_an_organisation_is_known_to_stix_by_an_identity(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(InputError):
        add_organisation(
            connection, "exchange-b", "Exchange B", "indicator--5a1f8a8e-4f59-4f0f-8a7c-2f4b3c1d9e10", now_us=T0
        )
