"""What the verifier needs to know that a Safe record does not say: chain, Safe version, owners, threshold.

It comes from the operator (options, or a local file mapping Safe addresses to versions and owners), never
from the network: a compromised API is part of the threat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from mamori.chains.evm.encoding import parse_address, parse_uint, to_checksum_address
from mamori.chains.evm.safe.versions import SafeVersion, parse_safe_version
from mamori.errors import ContextError, MamoriError


@dataclass(frozen=True, slots=True)
class SafeProfile:
    """One Safe as the exchange knows it."""

    address: bytes
    chain_id: int | None
    version: SafeVersion | None
    owners: frozenset[bytes] | None
    threshold: int | None


class SafeContext(NamedTuple):
    chain_id: int
    version: SafeVersion
    owners: frozenset[bytes] | None = None
    threshold: int | None = None


@dataclass(frozen=True, slots=True)
class SafeBook:
    """The local Safe file: profiles by address (and chain, when one Safe address lives on several chains)."""

    profiles: tuple[SafeProfile, ...]

    def find(self, address: bytes, chain_id: int) -> SafeProfile | None:
        match: SafeProfile | None = None
        for profile in self.profiles:
            if profile.address != address:
                continue
            if profile.chain_id == chain_id:
                return profile
            if profile.chain_id is None:
                match = profile
        return match

    @classmethod
    def from_document(cls, document: Any) -> SafeBook:
        """``{"safes": [{"address", "chain_id"?, "version"?, "owners"?, "threshold"?}, ...]}``."""
        try:
            return cls(tuple(_profile(item, i) for i, item in enumerate(_safes_list(document))))
        except ContextError:
            raise
        except MamoriError as exc:
            raise ContextError("SAFES_FILE_INVALID", reason=exc.message_en, reason_ja=exc.message_ja) from exc


def _safes_list(document: Any) -> list[Any]:
    if not isinstance(document, Mapping) or not isinstance(document.get("safes"), list):
        raise ContextError(
            "SAFES_FILE_INVALID",
            reason="expected an object with a 'safes' list",
            reason_ja="'safes' リストを持つオブジェクトが必要です",
        )
    return list(document["safes"])


def _profile(item: Any, index: int) -> SafeProfile:
    where = f"safes[{index}]"
    if not isinstance(item, Mapping):
        raise ContextError(
            "SAFES_FILE_INVALID", reason=f"{where} is not an object", reason_ja=f"{where} がオブジェクトではありません"
        )
    owners_raw = item.get("owners")
    owners: frozenset[bytes] | None = None
    if owners_raw is not None:
        if not isinstance(owners_raw, list) or not owners_raw:
            raise ContextError(
                "SAFES_FILE_INVALID",
                reason=f"{where}.owners must be a non-empty list",
                reason_ja=f"{where}.owners は空でないリストでなければなりません",
            )
        owners = frozenset(parse_address(o, field=f"{where}.owners[{i}]") for i, o in enumerate(owners_raw))
    threshold = item.get("threshold")
    chain_id = item.get("chain_id")
    profile = SafeProfile(
        address=parse_address(item.get("address"), field=f"{where}.address"),
        chain_id=parse_uint(chain_id, field=f"{where}.chain_id", bits=64) if chain_id is not None else None,
        version=parse_safe_version(item["version"]) if item.get("version") is not None else None,
        owners=owners,
        threshold=parse_uint(threshold, field=f"{where}.threshold", bits=32) if threshold is not None else None,
    )
    if profile.threshold is not None and owners is not None and not 1 <= profile.threshold <= len(owners):
        raise ContextError(
            "SAFES_FILE_INVALID",
            reason=f"{where}.threshold must be between 1 and the owner count",
            reason_ja=f"{where}.threshold は 1 以上オーナー数以下でなければなりません",
        )
    return profile


def resolve_context(safe: bytes, chain_id: int, version_option: str | None, book: SafeBook | None) -> SafeContext:
    """Combine options and the Safe file; a contradiction is an error, never a silent choice."""
    if not 0 < chain_id < 1 << 64:
        raise ContextError("CHAIN_ID_INVALID", value=chain_id)
    profile = book.find(safe, chain_id) if book else None
    if book is not None and profile is None:
        raise ContextError("SAFE_NOT_IN_FILE", safe=to_checksum_address(safe), chain_id=chain_id)
    version = parse_safe_version(version_option) if version_option is not None else None
    if profile is not None and profile.version is not None:
        if version is not None and version.text != profile.version.text:
            raise ContextError(
                "CONTEXT_CONFLICT",
                reason=f"--safe-version {version.text} but the Safe file says {profile.version.text}",
            )
        version = profile.version
    if version is None:
        raise ContextError("SAFE_VERSION_REQUIRED", hint="", hint_ja="")
    return SafeContext(
        chain_id=chain_id,
        version=version,
        owners=profile.owners if profile else None,
        threshold=profile.threshold if profile else None,
    )
