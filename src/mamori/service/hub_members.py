"""Member organisations of the hub and their accounts: bearer tokens and HTTP Basic passwords.

A token is ``mk_<key_id>_<secret>`` as for the guard's API keys, and only the secret's SHA-256 is kept (a token is
32 random bytes: a fast hash loses nothing). A password is chosen by a person and may be weak, so it is kept only
as a salted scrypt hash, slow on purpose (RFC 7914; n=2^14, r=8, p=1: about 16 MiB and tens of milliseconds). Every
failure is the same ``AUTH_INVALID``, and an unknown user name costs the same hash as a wrong password, so that
neither the answer nor its time tells which accounts exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Row, insert, or_, select, update

from mamori.errors import InputError, MamoriError
from mamori.guard import require_text
from mamori.intel.stix_forms import id_type
from mamori.intel.tlp import Reader
from mamori.service.auth import new_api_key, parse_token, secret_matches
from mamori.store.hub_models import HubAccount, HubOrganisation

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 12
_SCHEME = "scrypt"
_A = HubAccount.__table__.c
_DUMMY = (
    f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in unpadded base64)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join((_SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def password_matches(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; False for anything malformed."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME or not all(p.isascii() and p.isdigit() for p in parts[1:4]):
        return False
    n, r, p = (int(part) for part in parts[1:4])
    if (n, r, p) != (SCRYPT_N, SCRYPT_R, SCRYPT_P):  # parameters are the hub's own, never the stored text's
        return False
    try:
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return hmac.compare_digest(digest, expected)


def add_organisation(
    connection: Connection,
    organisation_id: str,
    name: str,
    identity_ref: str,
    *,
    now_us: int,
    operator: bool = False,
) -> None:
    """A new member organisation, known to STIX by ``identity_ref`` (``identity--<UUID>``). ``operator``: the hub's
    own organisation (one at most), whose identity stands in for the producers of anonymous submissions."""
    require_text(organisation_id, field="organisation")
    require_text(name, field="name")
    if id_type(identity_ref) != "identity":
        raise InputError("FIELD_TYPE_INVALID", field="identity_ref", expected="a STIX identity id (identity--UUID)")
    if operator and operator_of(connection) is not None:
        raise MamoriError(
            "STATE_CONFLICT", what="hub", id="operator", status="already operated", action="add a second operator"
        )
    connection.execute(
        insert(HubOrganisation).values(
            id=organisation_id, name=name, identity_ref=identity_ref, created_us=now_us, operator=operator
        )
    )


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    identity_ref: str


def operator_of(connection: Connection) -> Organisation | None:
    """The hub's operator organisation, if one is registered."""
    row = connection.execute(
        select(HubOrganisation.id, HubOrganisation.identity_ref).where(HubOrganisation.operator.is_(True))
    ).one_or_none()
    return Organisation(row.id, row.identity_ref) if row is not None else None


def organisation(connection: Connection, organisation_id: str) -> Organisation:
    row = connection.execute(
        select(HubOrganisation.id, HubOrganisation.identity_ref).where(HubOrganisation.id == organisation_id)
    ).one_or_none()
    if row is None:
        raise MamoriError("NOT_FOUND", what="member organisation", id=organisation_id)
    return Organisation(row.id, row.identity_ref)


def is_anonymous(connection: Connection, key_id: str) -> bool:
    """Whether the account's submissions are to carry the operator's identity instead of its organisation's."""
    return bool(connection.execute(select(_A.anonymous).where(_A.key_id == key_id)).scalar_one_or_none())


def account_ids(connection: Connection, names: list[str]) -> dict[str, str]:
    """The key ids of the active accounts named ``names`` (user names or key ids); ``NOT_FOUND`` for the first
    that is neither."""
    wanted = set(names)
    rows = connection.execute(
        select(_A.key_id, _A.name).where(or_(_A.name.in_(wanted), _A.key_id.in_(wanted)), _A.revoked_us.is_(None))
    ).all()
    found = {row.name: row.key_id for row in rows} | {row.key_id: row.key_id for row in rows}
    for name in names:
        if name not in found:
            raise MamoriError("NOT_FOUND", what="member account", id=name)
    return {name: found[name] for name in names}


def add_account(
    connection: Connection,
    organisation_id: str,
    name: str,
    *,
    password: str | None = None,
    anonymous: bool = False,
    now_us: int,
) -> str:
    """A new account of ``organisation_id`` (an active member); returns its token, shown once. With ``password``,
    the account may also use HTTP Basic as ``name``; ``anonymous``: its submissions name the hub as producer."""
    require_text(name, field="name")
    if ":" in name:
        raise InputError("FIELD_TYPE_INVALID", field="name", expected="a user name without ':' (HTTP Basic)")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError("FIELD_TYPE_INVALID", field="password", expected=f"at least {MIN_PASSWORD} characters")
    require_members(connection, [organisation_id])
    token, key_id, secret_sha256 = new_api_key()
    connection.execute(
        insert(HubAccount).values(
            key_id=key_id,
            organisation_id=organisation_id,
            name=name,
            secret_sha256=secret_sha256,
            password_hash=hash_password(password) if password is not None else None,
            created_us=now_us,
            anonymous=anonymous,
        )
    )
    return token


def require_members(connection: Connection, organisations: list[str]) -> None:
    """``NOT_FOUND`` for the first of ``organisations`` that is not a current member."""
    if not organisations:
        return
    found = set(
        connection.execute(
            select(HubOrganisation.id).where(
                HubOrganisation.id.in_(organisations), HubOrganisation.removed_us.is_(None)
            )
        ).scalars()
    )
    missing = sorted(set(organisations) - found)
    if missing:
        raise MamoriError("NOT_FOUND", what="member organisation", id=missing[0])


def revoke_account(connection: Connection, key_id: str, *, now_us: int) -> None:
    connection.execute(
        update(HubAccount).where(HubAccount.key_id == key_id, HubAccount.revoked_us.is_(None)).values(revoked_us=now_us)
    )


def authenticate_token(connection: Connection, token: str) -> Reader:
    """The member account behind a bearer token; ``AUTH_INVALID`` for anything else."""
    key_id, presented = parse_token(token)
    row = _active(connection, _A.key_id == key_id)
    if row is None or not secret_matches(row.secret_sha256, presented):
        raise MamoriError("AUTH_INVALID")
    return Reader(row.organisation_id, row.key_id)


def authenticate_basic(connection: Connection, name: str, password: str) -> Reader:
    """The member account of an HTTP Basic user name and password; ``AUTH_INVALID`` for anything else."""
    row = _active(connection, _A.name == name)
    stored = row.password_hash if row is not None and row.password_hash is not None else _DUMMY
    matches = password_matches(stored, password)  # hashed even for an unknown name: same time either way
    if row is None or row.password_hash is None or not matches:
        raise MamoriError("AUTH_INVALID")
    return Reader(row.organisation_id, row.key_id)


def _active(connection: Connection, condition: ColumnElement[bool]) -> Row[str, str, bytes, str | None] | None:
    """The account matching ``condition`` if neither it nor its organisation is revoked or removed."""
    statement = (
        select(_A.key_id, _A.organisation_id, _A.secret_sha256, _A.password_hash)
        .join(HubOrganisation, HubOrganisation.id == _A.organisation_id)
        .where(condition, _A.revoked_us.is_(None), HubOrganisation.removed_us.is_(None))
    )
    return connection.execute(statement).one_or_none()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
