"""scriptPubKey ↔ address for Bitcoin: base58check (P2PKH, P2SH), bech32 (witness v0, BIP-173), bech32m (v1+, BIP-350).

Strict where :mod:`mamori.chains.addresses` (screening) is lenient: an address that decides where money goes must
be exactly valid, so mixed case, a bech32 checksum on a v1+ program (or bech32m on v0), non-zero padding and a
witness program of the wrong size are refused here, with ``BTC_ADDRESS_INVALID``. The bech32 checksum itself is
the screening module's ``bech32_polymod``.

Scripts that no address form covers (OP_RETURN data, bare multisig, P2PK, anything non-standard) are *described*
by :func:`describe_script` (in script.py) and give ``None`` from :func:`script_to_address`: shown as scripts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from mamori.chains.addresses import bech32_polymod
from mamori.chains.bitcoin.networks import Network
from mamori.chains.bitcoin.script import (
    OP_0,
    OP_1,
    ScriptInfo,
    ScriptKind,
    describe_script,
    p2pkh_script,
    p2sh_script,
    p2wpkh_script,
    p2wsh_script,
)
from mamori.errors import InputError

__all__ = [
    "DecodedAddress",
    "ScriptInfo",
    "ScriptKind",
    "address_to_script",
    "base58check_decode",
    "base58check_encode",
    "decode_address",
    "describe_script",
    "p2pkh_script",
    "p2sh_script",
    "p2tr_script",
    "p2wpkh_script",
    "p2wsh_script",
    "script_to_address",
    "witness_script_pubkey",
]

MAX_ADDRESS_LENGTH = 90  # BIP-173's limit; base58 addresses are at most 35 characters


@dataclass(frozen=True, slots=True)
class DecodedAddress:
    """A valid address: its canonical text, its script and the networks whose form it has."""

    address: str  # bech32 in lower case; base58 as written
    kind: ScriptKind
    script_pubkey: bytes
    networks: tuple[Network, ...]


# --- script templates (script.py's P2PKH, P2SH, P2WPKH, P2WSH and describe_script re-exported) ------------


def p2tr_script(output_key: bytes) -> bytes:
    return witness_script_pubkey(1, _exact(output_key, 32))


def witness_script_pubkey(version: int, program: bytes) -> bytes:
    """``OP_version <program>``: witness version n is written OP_n (0x00, then 0x51-0x60), never as a push."""
    if not 0 <= version <= 16 or not 2 <= len(program) <= 40:
        raise InputError("BTC_ADDRESS_INVALID", address="", reason="witness version or program size out of range")
    return bytes((OP_0 if version == 0 else OP_1 + version - 1, len(program))) + program


def _exact(data: bytes, size: int) -> bytes:
    if len(data) != size:
        raise InputError("BTC_ADDRESS_INVALID", address="", reason=f"expected a {size}-byte hash, got {len(data)}")
    return data


# --- script -> address -----------------------------------------------------------------------------------------


def script_to_address(script: bytes, network: Network) -> str | None:
    """The address paying to ``script`` on ``network``, or None when no address form covers it."""
    info = describe_script(script)
    params = network.params
    if info.kind is ScriptKind.P2PKH:
        return base58check_encode(bytes((params.p2pkh_version,)) + info.program)
    if info.kind is ScriptKind.P2SH:
        return base58check_encode(bytes((params.p2sh_version,)) + info.program)
    if info.witness_version is not None:
        return _segwit_encode(params.bech32_hrp, info.witness_version, info.program)
    return None


# --- address -> script -----------------------------------------------------------------------------------------

_BASE58_NETWORKS: dict[int, tuple[ScriptKind, tuple[Network, ...]]] = {
    0x00: (ScriptKind.P2PKH, (Network.MAINNET,)),
    0x05: (ScriptKind.P2SH, (Network.MAINNET,)),
    0x6F: (ScriptKind.P2PKH, (Network.TESTNET, Network.SIGNET, Network.REGTEST)),
    0xC4: (ScriptKind.P2SH, (Network.TESTNET, Network.SIGNET, Network.REGTEST)),
}
_HRP_NETWORKS: dict[str, tuple[Network, ...]] = {
    "bc": (Network.MAINNET,),
    "tb": (Network.TESTNET, Network.SIGNET),
    "bcrt": (Network.REGTEST,),
}


def address_to_script(address: str, network: Network | None = None) -> bytes:
    """The scriptPubKey ``address`` pays to. With ``network``, the address must have that network's form.

    Raises ``BTC_ADDRESS_INVALID`` or ``BTC_ADDRESS_NETWORK_MISMATCH``.
    """
    decoded = decode_address(address)
    if network is not None and network not in decoded.networks:
        raise InputError(
            "BTC_ADDRESS_NETWORK_MISMATCH",
            address=decoded.address,
            found="/".join(n.value for n in decoded.networks),
            expected=network.value,
        )
    return decoded.script_pubkey


def decode_address(address: str) -> DecodedAddress:
    """Decode a Bitcoin address of any network; raises ``BTC_ADDRESS_INVALID`` with the reason."""
    if not isinstance(address, str):
        raise InputError("FIELD_TYPE_INVALID", field="address", expected="a string")
    if not address or len(address) > MAX_ADDRESS_LENGTH or not address.isascii() or not address.isprintable():
        raise _invalid(address, "not a Bitcoin address form (empty, too long or not printable ASCII)")
    lower = address.lower()
    separator = lower.rfind("1")
    if separator > 0 and lower[:separator] in _HRP_NETWORKS:
        return _decode_segwit(address, lower, separator)
    segwit_error: InputError | None = None
    if separator > 0 and all(c in _CHARSET for c in lower[separator + 1 :]) and len(address) - separator > 6:
        try:  # a bech32 string with another prefix: name the prefix, not a base58 failure
            return _decode_segwit(address, lower, separator)
        except InputError as exc:
            segwit_error = exc
    raw = base58check_decode(address)
    if raw is None or len(raw) != 21 or raw[0] not in _BASE58_NETWORKS:
        if segwit_error is not None and "human-readable" in str(segwit_error.details.get("reason")):
            raise segwit_error
        reason = "bad base58 or checksum" if raw is None else "not a P2PKH or P2SH payload of a known network"
        raise _invalid(address, reason)
    kind, networks = _BASE58_NETWORKS[raw[0]]
    script = p2pkh_script(raw[1:]) if kind is ScriptKind.P2PKH else p2sh_script(raw[1:])
    return DecodedAddress(address, kind, script, networks)


def _invalid(address: str, reason: str) -> InputError:
    shown = address if len(address) <= MAX_ADDRESS_LENGTH else address[:MAX_ADDRESS_LENGTH] + "…"
    return InputError("BTC_ADDRESS_INVALID", address=shown, reason=reason)


# --- bech32 / bech32m ------------------------------------------------------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_BECH32, _BECH32M = 1, 0x2BC830A3


@lru_cache(maxsize=8)
def _hrp_expand(hrp: str) -> bytes:
    return bytes(ord(c) >> 5 for c in hrp) + b"\0" + bytes(ord(c) & 31 for c in hrp)


def _decode_segwit(address: str, lower: str, separator: int) -> DecodedAddress:
    if address != lower and address != address.upper():
        raise _invalid(address, "mixed upper and lower case (BIP-173)")
    hrp, data_part = lower[:separator], lower[separator + 1 :]
    if len(data_part) < 6 or any(c not in _VALUES for c in data_part):
        raise _invalid(address, "bad bech32 data characters or checksum too short")
    data = bytes(_VALUES[c] for c in data_part)
    residue = bech32_polymod(_hrp_expand(hrp) + data)
    if residue not in (_BECH32, _BECH32M):
        raise _invalid(address, "bech32 checksum does not match")
    networks = _HRP_NETWORKS.get(hrp)
    if networks is None:
        raise _invalid(address, f"human-readable part {hrp!r} is not a Bitcoin network's")
    words = data[:-6]
    if not words:
        raise _invalid(address, "empty data part")
    version = words[0]
    if version > 16:
        raise _invalid(address, f"witness version {version} is above 16")
    program = _from_words(words[1:])
    if program is None:
        raise _invalid(address, "padding of the 5-bit groups is more than 4 bits or not zero")
    if not 2 <= len(program) <= 40:
        raise _invalid(address, f"witness program of {len(program)} bytes (2 to 40 allowed)")
    if version == 0 and len(program) not in (20, 32):
        raise _invalid(address, f"witness v0 program of {len(program)} bytes (20 or 32 per BIP-141)")
    expected = _BECH32 if version == 0 else _BECH32M
    if residue != expected:
        wanted = "bech32" if version == 0 else "bech32m (BIP-350)"
        raise _invalid(address, f"witness v{version} must use the {wanted} checksum")
    script = witness_script_pubkey(version, program)
    return DecodedAddress(lower, describe_script(script).kind, script, networks)


def _from_words(words: bytes) -> bytes | None:
    acc, bits, out = 0, 0, bytearray()
    for value in words:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits > 4 or acc & ((1 << bits) - 1):
        return None
    return bytes(out)


def _to_words(data: bytes) -> list[int]:
    """The 5-bit groups of ``data``, zero-padded at the end (BIP-173's convertbits(data, 8, 5, pad=True))."""
    bits = len(data) * 8
    count = -(-bits // 5)
    number = int.from_bytes(data, "big") << (count * 5 - bits)
    return [(number >> shift) & 31 for shift in range(count * 5 - 5, -1, -5)]


_CHARSET_TABLE = bytes.maketrans(bytes(range(32)), _CHARSET.encode("ascii"))


@lru_cache(maxsize=16)
def _hrp_state(hrp: str) -> int:
    """The checksum state after the human-readable part: the same for every address of a network."""
    return bech32_polymod(_hrp_expand(hrp))


def _segwit_encode(hrp: str, version: int, program: bytes) -> str:
    words = bytes([version, *_to_words(program)])
    constant = _BECH32 if version == 0 else _BECH32M
    residue = bech32_polymod(words + bytes(6), _hrp_state(hrp)) ^ constant
    checksum = bytes((residue >> 5 * (5 - i)) & 31 for i in range(6))
    return hrp + "1" + (words + checksum).translate(_CHARSET_TABLE).decode("ascii")


# --- base58check -----------------------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUES = {c: i for i, c in enumerate(_B58)}
MAX_BASE58_LENGTH = 120  # extended keys are 111 characters; decoding is quadratic, so bound it


def base58check_encode(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(raw, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58[digit])
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def base58check_decode(text: str) -> bytes | None:
    """The payload of base58check ``text`` without its checksum, or None if it is not base58check."""
    if not text or len(text) > MAX_BASE58_LENGTH:
        return None
    number = 0
    for char in text:
        digit = _B58_VALUES.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    raw = bytes(zeros) + number.to_bytes((number.bit_length() + 7) // 8, "big")
    if len(raw) < 5 or hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] != raw[-4:]:
        return None
    return raw[:-4]
