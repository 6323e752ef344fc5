"""BIP-32 extended public keys: decoding with every consistency check, public child derivation, paths.

Only public keys: an extended *private* key given to mamori is refused (``BIP32_PRIVATE_KEY_REFUSED``) and its
text is never echoed in the error. The SLIP-132 versions (``ypub``, ``zpub``, ``Ypub``, ``Zpub`` and their testnet
``upub``/``vpub``/``Upub``/``Vpub``) encode the same key as ``xpub``/``tpub`` with a hint of the script type; they
are accepted as that key (equal to it), the hint kept in :attr:`ExtendedPublicKey.slip132_script`.

CKDpub (``child``) is cached per (key, chain code, index): deriving the change branch once and then each change
index from it is the hot path of PSBT verification.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from coincurve import PublicKey

from mamori.chains.bitcoin.address import base58check_decode, base58check_encode
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.script import hash160
from mamori.chains.evm.crypto import SECP256K1_N
from mamori.errors import InputError

__all__ = [
    "HARDENED",
    "ExtendedPublicKey",
    "ckd_pub",
    "fingerprint",
    "format_path",
    "format_step",
    "is_private_key_prefix",
    "is_public_key_prefix",
    "parse_extended_key",
    "parse_path",
    "parse_path_step",
]

HARDENED = 0x80000000
MAX_DEPTH = 255


@dataclass(frozen=True, slots=True)
class _Version:
    prefix: str
    testnet: bool
    slip132_script: str | None  # the script type a SLIP-132 version announces; None for xpub/tpub


# BIP-32 and SLIP-132 (satoshilabs/slips slip-0132.md) version bytes of public keys.
_PUBLIC_VERSIONS: dict[bytes, _Version] = {
    bytes.fromhex("0488b21e"): _Version("xpub", testnet=False, slip132_script=None),
    bytes.fromhex("049d7cb2"): _Version("ypub", testnet=False, slip132_script="sh(wpkh)"),
    bytes.fromhex("04b24746"): _Version("zpub", testnet=False, slip132_script="wpkh"),
    bytes.fromhex("0295b43f"): _Version("Ypub", testnet=False, slip132_script="sh(wsh(multi))"),
    bytes.fromhex("02aa7ed3"): _Version("Zpub", testnet=False, slip132_script="wsh(multi)"),
    bytes.fromhex("043587cf"): _Version("tpub", testnet=True, slip132_script=None),
    bytes.fromhex("044a5262"): _Version("upub", testnet=True, slip132_script="sh(wpkh)"),
    bytes.fromhex("045f1cf6"): _Version("vpub", testnet=True, slip132_script="wpkh"),
    bytes.fromhex("024289ef"): _Version("Upub", testnet=True, slip132_script="sh(wsh(multi))"),
    bytes.fromhex("02575483"): _Version("Vpub", testnet=True, slip132_script="wsh(multi)"),
}
_PRIVATE_VERSIONS: dict[bytes, str] = {
    bytes.fromhex(v): p
    for v, p in (
        ("0488ade4", "xprv"),
        ("049d7878", "yprv"),
        ("04b2430c", "zprv"),
        ("0295b005", "Yprv"),
        ("02aa7a99", "Zprv"),
        ("04358394", "tprv"),
        ("044a4e28", "uprv"),
        ("045f18bc", "vprv"),
        ("024285b5", "Uprv"),
        ("02575048", "Vprv"),
    )
}
_PRIVATE_PREFIXES = tuple(_PRIVATE_VERSIONS.values())
_CANONICAL_VERSION = {False: bytes.fromhex("0488b21e"), True: bytes.fromhex("043587cf")}


@dataclass(frozen=True, slots=True)
class ExtendedPublicKey:
    """A decoded, validated extended public key. Equal keys compare equal whatever version they were written in."""

    depth: int
    parent_fingerprint: bytes
    child_number: int
    chain_code: bytes
    public_key: bytes  # compressed SEC1, a valid curve point
    testnet: bool  # True: tpub family (testnet, signet, regtest)
    prefix: str = field(default="xpub", compare=False)  # as written: xpub, zpub, Vpub …

    @property
    def fingerprint(self) -> bytes:
        """The first 4 bytes of HASH160 of the public key: what children name as their parent."""
        return fingerprint(self.public_key)

    @property
    def slip132_script(self) -> str | None:
        """The script type a SLIP-132 prefix announces (``wpkh`` for zpub …); None for xpub/tpub."""
        return _VERSION_BY_PREFIX[self.prefix].slip132_script

    def on_network(self, network: Network) -> bool:
        return self.testnet == network.is_test

    def child(self, index: int) -> ExtendedPublicKey:
        """CKDpub: the non-hardened child ``index``. A hardened index raises ``BIP32_HARDENED_FROM_XPUB``."""
        if self.depth >= MAX_DEPTH:
            raise InputError("BIP32_DERIVATION_INVALID", index=index, reason="depth would exceed 255")
        public_key, chain_code = ckd_pub(self.public_key, self.chain_code, index)
        return ExtendedPublicKey(
            self.depth + 1, self.fingerprint, index, chain_code, public_key, self.testnet, _CANONICAL[self.testnet]
        )

    def derive(self, path: Iterable[int]) -> ExtendedPublicKey:
        key = self
        for index in path:
            key = key.child(index)
        return key

    def to_base58(self) -> str:
        """The key in its canonical form (``xpub`` or ``tpub``), whatever form it was read from."""
        return base58check_encode(
            _CANONICAL_VERSION[self.testnet]
            + bytes((self.depth,))
            + self.parent_fingerprint
            + self.child_number.to_bytes(4, "big")
            + self.chain_code
            + self.public_key
        )


_VERSION_BY_PREFIX = {v.prefix: v for v in _PUBLIC_VERSIONS.values()}
_CANONICAL = {False: "xpub", True: "tpub"}


@lru_cache(maxsize=4096)
def fingerprint(public_key: bytes) -> bytes:
    """The first 4 bytes of HASH160 of a compressed public key. Cached: matching derivations asks for it often."""
    return hash160(public_key)[:4]


def is_private_key_prefix(text: str) -> bool:
    """True when ``text`` starts like an extended private key (xprv, tprv, zprv …)."""
    return text[:4] in _PRIVATE_PREFIXES


def is_public_key_prefix(text: str) -> bool:
    """True when ``text`` starts like an extended public key (xpub, tpub, zpub …)."""
    return text[:4] in _VERSION_BY_PREFIX


def parse_extended_key(text: str) -> ExtendedPublicKey:
    """Decode and check an extended public key (BIP-32 serialization, any SLIP-132 public version).

    Raises ``BIP32_KEY_INVALID`` (with the reason) or ``BIP32_PRIVATE_KEY_REFUSED``.
    """
    if not isinstance(text, str):
        raise InputError("FIELD_TYPE_INVALID", field="extended key", expected="a string")
    shown = _shown(text)
    raw = base58check_decode(text) if text.isascii() else None
    if raw is None:
        raise InputError("BIP32_KEY_INVALID", key=shown, reason="not base58check (bad character or checksum)")
    if len(raw) != 78:
        raise InputError("BIP32_KEY_INVALID", key=shown, reason=f"{len(raw)} bytes, an extended key has 78")
    version_bytes = raw[:4]
    if version_bytes in _PRIVATE_VERSIONS:
        raise InputError("BIP32_PRIVATE_KEY_REFUSED", prefix=_PRIVATE_VERSIONS[version_bytes])
    version = _PUBLIC_VERSIONS.get(version_bytes)
    if version is None:
        raise InputError("BIP32_KEY_INVALID", key=shown, reason=f"unknown version 0x{version_bytes.hex()}")
    depth, parent, child_number = raw[4], raw[5:9], int.from_bytes(raw[9:13], "big")
    if depth == 0 and parent != bytes(4):
        raise InputError("BIP32_KEY_INVALID", key=shown, reason="depth 0 with a non-zero parent fingerprint")
    if depth == 0 and child_number != 0:
        raise InputError("BIP32_KEY_INVALID", key=shown, reason="depth 0 with a non-zero child index")
    key_data = raw[45:]
    if key_data[0] == 0:
        raise InputError("BIP32_KEY_INVALID", key=shown, reason="private key data under a public version")
    if key_data[0] not in (2, 3):
        raise InputError("BIP32_KEY_INVALID", key=shown, reason=f"public key prefix 0x{key_data[0]:02x}")
    if not _on_curve(key_data):
        raise InputError("BIP32_KEY_INVALID", key=shown, reason="public key is not a point on secp256k1")
    return ExtendedPublicKey(depth, parent, child_number, raw[13:45], key_data, version.testnet, version.prefix)


def _shown(text: str) -> str:
    """What an error may show of untrusted key text: all of a public key, 4 characters of anything else."""
    if is_public_key_prefix(text):
        return text if len(text) <= 120 else text[:120] + "…"
    return text[:4] + "…"


def serialized_is_testnet(serialized: bytes) -> bool | None:
    """Whether a 78-byte serialized extended public key is of the test-network family (tpub, upub, vpub, Upub,
    Vpub), of mainnet (xpub, ypub, zpub, Ypub, Zpub); None for a version that is neither."""
    version = _PUBLIC_VERSIONS.get(serialized[:4])
    return version.testnet if version is not None else None


@lru_cache(maxsize=4096)
def _on_curve(key: bytes) -> bool:
    try:
        PublicKey(key)
    except Exception:  # noqa: BLE001 - coincurve raises ValueError or its own errors for an invalid point
        return False
    return True


@lru_cache(maxsize=1 << 15)
def ckd_pub(public_key: bytes, chain_code: bytes, index: int) -> tuple[bytes, bytes]:
    """BIP-32 CKDpub: (child public key, child chain code) of non-hardened ``index``. Cached."""
    if not 0 <= index < HARDENED:
        if index >= HARDENED and index < 1 << 32:
            raise InputError("BIP32_HARDENED_FROM_XPUB", step=format_step(index))
        raise InputError("BIP32_DERIVATION_INVALID", index=index, reason="index outside 0..2^31-1")
    digest = hmac.digest(chain_code, public_key + index.to_bytes(4, "big"), hashlib.sha512)
    tweak = digest[:32]
    if int.from_bytes(tweak, "big") >= SECP256K1_N:
        raise InputError("BIP32_DERIVATION_INVALID", index=index, reason="I_L is not below the curve order")
    try:
        # tweak·G by the generator tables, then one point addition: faster than PublicKey.add (a double multiply)
        child = PublicKey.combine_keys([_point(public_key), PublicKey.from_valid_secret(tweak)])
    except Exception as exc:  # I_L = 0, or the sum is the point at infinity: BIP-32 says try the next index
        raise InputError("BIP32_DERIVATION_INVALID", index=index, reason="child is the point at infinity") from exc
    return child.format(compressed=True), digest[32:]


@lru_cache(maxsize=1024)
def _point(public_key: bytes) -> PublicKey:
    """The parsed parent key: every child of a branch shares it."""
    return PublicKey(public_key)


# --- paths -----------------------------------------------------------------------------------------------------

_STEP = re.compile(r"([0-9]{1,10})(['h]?)")


def parse_path_step(text: str) -> int:
    """One path step: ``NUM`` or ``NUMh``/``NUM'`` (hardened). Raises ``BIP32_PATH_INVALID``."""
    match = _STEP.fullmatch(text)
    if match is None:
        raise InputError("BIP32_PATH_INVALID", path=text[:40], reason=f"step {text[:20]!r} is not NUM, NUMh or NUM'")
    value = int(match.group(1))
    if value >= HARDENED:
        raise InputError("BIP32_PATH_INVALID", path=text[:40], reason=f"step {value} is not below 2^31")
    return value | HARDENED if match.group(2) else value


def parse_path(text: str) -> tuple[int, ...]:
    """``m/48'/0'/0'/2'`` (``h`` or ``'`` for hardened; the leading ``m`` optional) as indexes."""
    if not isinstance(text, str):
        raise InputError("FIELD_TYPE_INVALID", field="path", expected="a string")
    if text == "m":
        return ()
    parts = text.split("/")
    if parts[0] == "m":
        parts = parts[1:]
    if len(parts) > MAX_DEPTH:
        raise InputError("BIP32_PATH_INVALID", path=text[:40], reason="more than 255 steps")
    try:
        return tuple(parse_path_step(part) for part in parts)
    except InputError as exc:
        raise InputError("BIP32_PATH_INVALID", path=text[:80], reason=exc.details["reason"]) from None


def format_step(index: int, marker: str = "'") -> str:
    return f"{index - HARDENED}{marker}" if index >= HARDENED else str(index)


def format_path(path: Iterable[int], marker: str = "'", *, prefix: str = "m") -> str:
    """``(48|H, 0|H, 0|H, 2|H)`` as ``m/48'/0'/0'/2'``; ``marker="h"`` writes ``48h``; ``prefix=""`` drops ``m/``."""
    steps = [format_step(index, marker) for index in path]
    return "/".join([prefix, *steps] if prefix else steps)
