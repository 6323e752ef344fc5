"""One canonical form per address, by chain family, so that screening never misses a listed address.

Pure chain knowledge (no list, no I/O): the screening index (:mod:`mamori.intel`) and the policy layer both use it.

The family comes from the address's form alone. An asset label (``hint``, e.g. OFAC's ``XBT``) never changes the
family or the canonical form: the OFAC ``XBT`` file holds a TRON address and the ``USDT`` file mixes TRON, EVM and
Bitcoin ones. The hint only names the chain where a form is shared (version byte 0x1e is Dogecoin or Verge) and
raises a note where the form contradicts it. Because the canonical form depends on the text only, an address is
found whatever hint the list or the caller gave.

One key may have several written forms: a Bitcoin Cash P2PKH is ``1…`` in legacy base58check and ``q…`` in
CashAddr, a Litecoin P2SH is ``3…`` (version 5) or ``M…`` (version 50), a TRON account is ``T…`` or ``41`` + hex.
Such addresses (family ``hash``) are keyed on what they decode to, ``<kind>:<hex of the hash>`` (``p2pkh``,
``p2sh``, ``tron``), whatever the written form and whichever chain's version byte it carries: the same hash under
another chain's version byte matches too, which over-matches (the same key or script on another chain) but never
misses a written form.

Families that are case-insensitive on their chain (EVM hex, bech32, cashaddr) are lower-cased; base58 families and
unrecognised text are kept exactly. Forms that are invalid on their chain but differ from a valid address only by
case (an EIP-55 checksum that fails, bech32 in mixed case, which BIP-173 forbids) are still screened as that
address, with a note: a typo in case must not hide a sanctioned address.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from mamori.chains.evm.crypto import keccak256
from mamori.chains.evm.encoding import to_checksum_address
from mamori.errors import InputError

# Bump when a change could give an existing address another family or canonical form: saved indexes record it.
NORMALISER_VERSION = 2  # 2: base58check P2PKH/P2SH/TRON and CashAddr keyed on their hash


class Family(StrEnum):
    EVM = "evm"
    HASH = "hash"  # base58check P2PKH/P2SH/TRON, CashAddr and TRON hex: keyed on (kind, hash), not on the text
    BECH32 = "bech32"
    CASHADDR = "cashaddr"
    BASE58CHECK = "base58check"
    XRP = "xrp"
    MONERO = "monero"
    SOLANA = "solana"
    OTHER = "other"


# Non-fatal findings about an address. Each is reported with the address; none stops it being screened.
NOTE_MESSAGES: dict[str, tuple[str, str]] = {
    "EVM_CHECKSUM_MISMATCH": (
        "Mixed-case EVM address fails its EIP-55 checksum (mistyped or altered); screened case-insensitively",
        "大文字小文字混在の EVM アドレスが EIP-55 チェックサムと一致しません（誤入力または改ざんの可能性）。"
        "大文字小文字を区別せずに照合しました",
    ),
    "BECH32_MIXED_CASE": (
        "bech32 address in mixed case, which BIP-173 forbids; screened case-insensitively",
        "bech32 アドレスに大文字と小文字が混在しています（BIP-173 では無効）。大文字小文字を区別せずに照合しました",
    ),
    "CASHADDR_MIXED_CASE": (
        "cashaddr address in mixed case, which the format forbids; screened case-insensitively",
        "cashaddr アドレスに大文字と小文字が混在しています（形式上無効）。大文字小文字を区別せずに照合しました",
    ),
    "FORM_UNRECOGNISED": (
        "Not a recognised address form, or its checksum fails; screened by its exact text only",
        "認識できるアドレス形式ではないか、チェックサムが一致しません。文字列の完全一致でのみ照合しました",
    ),
    "ASSET_LABEL_MISMATCH": (
        "The address's form belongs to another chain than its asset label names",
        "アドレスの形式が資産ラベルの示すチェーンと一致しません",
    ),
}

CASE_INSENSITIVE_FAMILIES = frozenset({Family.EVM, Family.BECH32, Family.CASHADDR})


@dataclass(frozen=True, slots=True)
class ScreenKey:
    """A normalised address. Two keys are equal when they name the same address (family and canonical form)."""

    family: Family
    normalised: str
    chain: str = field(compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def identity(self) -> str:
        """The text the screening index hashes: family and canonical form."""
        return f"{self.family.value}:{self.normalised}"


def normalise(text: str, hint: str | None = None) -> ScreenKey:
    """The canonical form of ``text``; ``hint`` is an asset label or chain name (``ETH``, ``XBT``, ``tron`` …).

    Raises :class:`InputError` (``ADDRESS_EMPTY``) only for text that is empty once stripped; any other text is
    at worst family ``other``, matched exactly.
    """
    if not isinstance(text, str):
        raise InputError("FIELD_TYPE_INVALID", field="address", expected="a string")
    family, canonical, chains, notes = classify(text.strip())
    if not canonical:
        raise InputError("ADDRESS_EMPTY", field="address")
    chain, label_notes = _pick_chain(chains, hint)
    return ScreenKey(family, canonical, chain, notes + label_notes)


Classified = tuple[Family, str, tuple[str, ...], tuple[str, ...]]


def classify(text: str, *, check_case: bool = True) -> Classified:
    """(family, canonical form, candidate chains, notes) of already-stripped text: the fast path for bulk loads.

    ``check_case=False`` skips the EIP-55 checksum (a keccak-256 per mixed-case EVM address), which only ever
    adds a note: bulk index builds that keep no notes use it.
    """
    size = len(text)
    if size == 42 and _EVM_RE.fullmatch(text):
        return _evm(text, check_case)
    if size == 42 and _TRON_HEX_RE.fullmatch(text):  # TRON's hex form: 0x41 and the 20-byte account
        return Family.HASH, "tron:" + text[2:].lower(), ("tron",), ()
    if size == 40 and _HEX40_RE.fullmatch(text):  # an EVM address written without its 0x
        return _evm("0x" + text, check_case)
    # No address form is longer than 120 characters (Monero integrated: 106); bounding the decoders also bounds
    # their cost on hostile text (base58 decoding is quadratic in the length).
    if size < 8 or size > 120 or not text.isascii() or not text.isprintable():
        return _other(text)
    if ":" in text:
        return _cashaddr(text, prefixed=True) or _other(text)
    if "1" in text:
        found = _bech32(text)
        if found is not None:
            return found
    if text[0] in "qpzrQPZR" and size >= 42:  # CashAddr without its prefix: q/p, token-aware z/r
        found = _cashaddr(text, prefixed=False)
        if found is not None:
            return found
    return _base58(text) or _other(text)


def _other(text: str) -> Classified:
    return Family.OTHER, text, ("unknown",), ("FORM_UNRECOGNISED",) if text else ()


# --- EVM -------------------------------------------------------------------------------------------------------

_EVM_RE = re.compile(r"0[xX][0-9a-fA-F]{40}")
_HEX40_RE = re.compile(r"[0-9a-fA-F]{40}")
_TRON_HEX_RE = re.compile(r"41[0-9a-fA-F]{40}")
EVM_CHAINS = ("evm", "ethereum", "ethereum-classic", "arbitrum", "bnb-smart-chain", "polygon", "optimism", "base")


def _evm(text: str, check_case: bool) -> Classified:
    body = text[2:]
    lower = body.lower()
    notes: tuple[str, ...] = ()
    mixed = check_case and body != lower and body != body.upper()
    if mixed and to_checksum_address(bytes.fromhex(lower)) != "0x" + body:
        notes = ("EVM_CHECKSUM_MISMATCH",)
    return Family.EVM, "0x" + lower, EVM_CHAINS, notes


# --- bech32 / bech32m (BIP-173, BIP-350) ---------------------------------------------------------------------

_B32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
# Maps a character to its 5-bit value, anything else to 0xFF, so a whole string converts with one translate().
_B32_VALUES = bytes(_B32_CHARSET.find(chr(i)) & 0xFF if chr(i) in _B32_CHARSET else 0xFF for i in range(256))
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _top_table(generator: tuple[int, ...]) -> tuple[int, ...]:
    """The xor of generator terms for each value of the 5 bits shifted out: one look-up per step, not five ifs."""
    return tuple(_xor_all(generator[i] for i in range(5) if (top >> i) & 1) for top in range(32))


def _xor_all(values: Iterable[int]) -> int:
    acc = 0
    for value in values:
        acc ^= value
    return acc


_BECH32_TOP = _top_table(_BECH32_GEN)
_SEGWIT_HRPS = {"bc": "bitcoin", "tb": "bitcoin-testnet", "bcrt": "bitcoin-regtest", "ltc": "litecoin"}
_BECH32_CHAINS = {**_SEGWIT_HRPS, "tltc": "litecoin-testnet", "bnb": "bnb-beacon-chain"}


def bech32_polymod(values: bytes, start: int = 1) -> int:
    """BIP-173's checksum state over ``values``, from ``start`` (1, or the state after a common prefix)."""
    chk = start
    for value in values:
        chk = ((chk & 0x1FFFFFF) << 5) ^ value ^ _BECH32_TOP[chk >> 25]
    return chk


def _bech32(text: str) -> Classified | None:
    lower = text.lower()
    pos = lower.rfind("1")
    if len(text) > 90 or pos < 1 or pos + 7 > len(text):
        return None
    data = lower[pos + 1 :].encode("ascii").translate(_B32_VALUES)
    hrp = lower[:pos]
    if 0xFF in data or " " in hrp:  # the caller checked printable ASCII; BIP-173 also excludes the space
        return None
    residue = bech32_polymod(_hrp_expand(hrp) + data)
    if residue not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    if hrp in _SEGWIT_HRPS and not _segwit_program_valid(data[:-6], residue):
        return None
    mixed = text != lower and text != text.upper()
    return Family.BECH32, lower, (_BECH32_CHAINS.get(hrp, "bech32:" + hrp),), ("BECH32_MIXED_CASE",) if mixed else ()


@lru_cache(maxsize=64)
def _hrp_expand(hrp: str) -> bytes:
    return bytes(ord(c) >> 5 for c in hrp) + b"\0" + bytes(ord(c) & 31 for c in hrp)


def _segwit_program_valid(data: bytes, residue: int) -> bool:
    """BIP-350: witness version 0 uses bech32 and a 20- or 32-byte program; versions 1-16 use bech32m."""
    if not data or data[0] > 16:
        return False
    size = _program_size(data[1:])
    if size is None or not 2 <= size <= 40:
        return False
    if data[0] == 0:
        return residue == _BECH32_CONST and size in (20, 32)
    return residue == _BECH32M_CONST


def _program_size(data: bytes) -> int | None:
    """Bytes in 5-bit groups regrouped by 8; None when padding exceeds 4 bits or is not zero (BIP-173).

    Only the size and the padding matter here, so no bytes are built: the padding lives in the last group.
    """
    bits = 5 * len(data)
    padding = bits % 8
    if padding > 4 or (data and data[-1] & ((1 << padding) - 1)):
        return None
    return bits // 8


# --- Bitcoin Cash cashaddr -----------------------------------------------------------------------------------

_CASH_GEN = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
_CASH_TOP = _top_table(_CASH_GEN)
_CASH_PREFIXES = {"bitcoincash": "bitcoin-cash", "bchtest": "bitcoin-cash-testnet", "bchreg": "bitcoin-cash-regtest"}
_CASH_PREFIX_VALUES = {prefix: bytes(ord(c) & 31 for c in prefix) + b"\0" for prefix in _CASH_PREFIXES}
_CASH_HASH_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)


def _cashaddr(text: str, *, prefixed: bool) -> Classified | None:
    lower = text.lower()
    if prefixed:
        prefix, _, payload = lower.partition(":")
        candidates: tuple[str, ...] = (prefix,) if prefix in _CASH_PREFIXES else ()
    else:
        payload, candidates = lower, tuple(_CASH_PREFIXES)
    data = payload.encode("ascii").translate(_B32_VALUES)
    if len(data) < 42 or 0xFF in data:
        return None
    for prefix in candidates:
        chk = 1
        for value in _CASH_PREFIX_VALUES[prefix] + data:
            chk = ((chk & 0x07FFFFFFFF) << 5) ^ value ^ _CASH_TOP[chk >> 35]
        if chk != 1:
            continue
        decoded = _cashaddr_payload(data[:-8])
        if decoded is None:
            return None
        mixed = text != lower and text != text.upper()
        notes = ("CASHADDR_MIXED_CASE",) if mixed else ()
        kind = _CASH_KINDS.get(decoded[0] >> 3)
        if kind is None:  # a type with no base58check counterpart: keyed on its text
            return Family.CASHADDR, f"{prefix}:{payload}", (_CASH_PREFIXES[prefix],), notes
        return Family.HASH, f"{kind}:{decoded[1:].hex()}", (_CASH_PREFIXES[prefix],), notes
    return None


# CashAddr type (version byte >> 3) -> kind: 0 P2PKH, 1 P2SH, and their token-aware forms 2 and 3 (CashTokens),
# which lock to the same script.
_CASH_KINDS = {0: "p2pkh", 1: "p2sh", 2: "p2pkh", 3: "p2sh"}


def _cashaddr_payload(data: bytes) -> bytes | None:
    """The version byte and hash, or None unless the version's size bits match the hash length (160-512 bits)."""
    size = _program_size(data)
    if size is None or size < 2:
        return None
    number = 0
    for value in data:
        number = (number << 5) | value
    payload = (number >> (5 * len(data) - 8 * size)).to_bytes(size, "big")
    return payload if size - 1 == _CASH_HASH_SIZES[payload[0] & 7] else None


# --- base58: base58check (Bitcoin and its forks, TRON, ZEC t-addresses), XRP, Monero, Solana ----------------

_B58_BITCOIN = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_RIPPLE = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
_B58_BITCOIN_DIGITS = {c: i for i, c in enumerate(_B58_BITCOIN)}
_B58_BITCOIN_VALUES = bytes(_B58_BITCOIN.find(chr(i)) & 0xFF if chr(i) in _B58_BITCOIN else 0xFF for i in range(256))
_B58_RIPPLE_VALUES = bytes(_B58_RIPPLE.find(chr(i)) & 0xFF if chr(i) in _B58_RIPPLE else 0xFF for i in range(256))
# Version prefix of a base58check payload -> (kind, chains that use it). Several forks share Bitcoin's prefixes;
# whatever the prefix, the key is the kind and the 20-byte hash, so that every written form of one hash matches.
_B58_VERSIONS: dict[bytes, tuple[str, tuple[str, ...]]] = {
    b"\x00": ("p2pkh", ("bitcoin", "bitcoin-cash", "bitcoin-sv")),
    b"\x05": ("p2sh", ("bitcoin", "bitcoin-cash", "bitcoin-sv", "litecoin")),
    b"\x30": ("p2pkh", ("litecoin",)),
    b"\x32": ("p2sh", ("litecoin",)),
    b"\x4c": ("p2pkh", ("dash",)),
    b"\x10": ("p2sh", ("dash",)),
    b"\x41": ("tron", ("tron",)),
    b"\x1e": ("p2pkh", ("dogecoin", "verge")),
    b"\x16": ("p2sh", ("dogecoin",)),
    b"\x26": ("p2pkh", ("bitcoin-gold",)),
    b"\x17": ("p2sh", ("bitcoin-gold",)),
    b"\x6f": ("p2pkh", ("bitcoin-testnet",)),
    b"\xc4": ("p2sh", ("bitcoin-testnet",)),
    b"\x1c\xb8": ("p2pkh", ("zcash",)),
    b"\x1c\xbd": ("p2sh", ("zcash",)),
}
# Monero encodes 8-byte blocks as 11 characters; a shorter final block of n bytes takes this many characters.
_XMR_BLOCK_BYTES = {11: 8, 10: 7, 9: 6, 7: 5, 6: 4, 5: 3, 3: 2, 2: 1}


def _b58_decode(text: str, alphabet: bytes, zero: str) -> bytes | None:
    digits = text.encode("ascii").translate(alphabet)
    if 0xFF in digits:
        return None
    number = 0
    for digit in digits:  # iterating bytes yields ints: ~30 % faster than a dict look-up per character
        number = number * 58 + digit
    leading = len(text) - len(text.lstrip(zero))
    return bytes(leading) + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _checksum_ok(raw: bytes) -> bool:
    return len(raw) > 5 and hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def _base58(text: str) -> Classified | None:
    raw = _b58_decode(text, _B58_BITCOIN_VALUES, "1")
    if raw is None:
        return None
    if _checksum_ok(raw):
        payload = raw[:-4]
        version = payload[:1] if len(payload) == 21 else payload[:2] if len(payload) == 22 else b""
        known = _B58_VERSIONS.get(version)
        if known is None:  # no known version byte: keyed on the exact text
            return Family.BASE58CHECK, text, ("base58check",), ()
        kind, chains = known
        return Family.HASH, f"{kind}:{payload[len(version) :].hex()}", chains, ()
    if len(text) in (95, 106) and _monero_valid(text):
        return Family.MONERO, text, ("monero",), ()
    if len(raw) == 32 and 32 <= len(text) <= 44:
        return Family.SOLANA, text, ("solana",), ()
    if text[0] == "r":
        ripple = _b58_decode(text, _B58_RIPPLE_VALUES, "r")
        if ripple is not None and len(ripple) == 25 and ripple[0] == 0 and _checksum_ok(ripple):
            return Family.XRP, text, ("xrp",), ()
    return None


def _monero_valid(text: str) -> bool:
    """Monero's block base58, with the first 4 bytes of keccak-256 as checksum."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start : start + 11]
        size = _XMR_BLOCK_BYTES.get(len(block))
        number = 0
        for char in block:
            number = number * 58 + _B58_BITCOIN_DIGITS[char]
        if size is None or number >> (8 * size):
            return False
        out += number.to_bytes(size, "big")
    return len(out) > 4 and keccak256(bytes(out[:-4]))[:4] == out[-4:]


# --- asset labels --------------------------------------------------------------------------------------------

# OFAC asset labels (and common tickers) -> the chain they name. Token labels (USDT, USDC) name no chain.
LABEL_CHAINS = {
    "XBT": "bitcoin",
    "BTC": "bitcoin",
    "BCH": "bitcoin-cash",
    "BSV": "bitcoin-sv",
    "BTG": "bitcoin-gold",
    "LTC": "litecoin",
    "DASH": "dash",
    "ZEC": "zcash",
    "TRX": "tron",
    "XVG": "verge",
    "DOGE": "dogecoin",
    "XMR": "monero",
    "XRP": "xrp",
    "SOL": "solana",
    "ETH": "ethereum",
    "ETC": "ethereum-classic",
    "ARB": "arbitrum",
    "BSC": "bnb-smart-chain",
    "BNB": "bnb-beacon-chain",
}
_KNOWN_CHAINS = frozenset(LABEL_CHAINS.values())


def _pick_chain(chains: tuple[str, ...], hint: str | None) -> tuple[str, tuple[str, ...]]:
    if not hint:
        return chains[0], ()
    wanted = LABEL_CHAINS.get(hint.strip().upper(), hint.strip().lower())
    if wanted in chains:
        return wanted, ()
    if wanted in _KNOWN_CHAINS and chains != ("unknown",):
        return chains[0], ("ASSET_LABEL_MISMATCH",)
    return chains[0], ()


def chain_for(classified: Classified, hint: str | None) -> tuple[str, tuple[str, ...]]:
    """(chain, notes) for a :func:`classify` result: the chain the hint names if the form allows it."""
    chain, label_notes = _pick_chain(classified[2], hint)
    return chain, classified[3] + label_notes
