"""Bitcoin scripts: what kind of script a scriptPubKey, redeem script or witness script is, and whose keys sign it.

Only the exact templates are recognised, with minimal pushes (what descriptors and Bitcoin Core's solver
produce): anything else is ``ScriptKind.NONSTANDARD`` or ``None``, never an exception, because a script is data to
report on, not input to refuse. ``parse_multisig`` reads ``OP_m <pubkey>… OP_n OP_CHECKMULTISIG`` (``sortedmulti``
is the same script with its keys in lexicographic order); ``parse_multi_a`` reads the tapscript
``<xonly> OP_CHECKSIG (<xonly> OP_CHECKSIGADD)… <m> OP_NUMEQUAL``.

Also here: HASH160 (RIPEMD-160 of SHA-256) that the P2PKH, P2SH and P2WPKH templates commit to, with a pure Python
RIPEMD-160 for Pythons whose OpenSSL no longer provides it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mamori.chains.bitcoin.transaction import compact_size

OP_0 = 0x00
OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x4C, 0x4D, 0x4E
OP_1NEGATE = 0x4F
OP_1, OP_16 = 0x51, 0x60
OP_RETURN = 0x6A
OP_DUP, OP_EQUAL, OP_EQUALVERIFY = 0x76, 0x87, 0x88
OP_NUMEQUAL = 0x9C
OP_HASH160 = 0xA9
OP_CODESEPARATOR = 0xAB
OP_CHECKSIG, OP_CHECKMULTISIG = 0xAC, 0xAE
OP_CHECKSIGADD = 0xBA

SECP256K1_P = 2**256 - 2**32 - 977
MAX_MULTISIG_KEYS = 20  # OP_CHECKMULTISIG's limit (consensus); P2SH policy allows 15, descriptors 20 in P2WSH
MAX_MULTI_A_KEYS = 999  # the tapscript stack limit bounds multi_a (BIP-387)


class ScriptKind(StrEnum):
    P2PKH = "p2pkh"
    P2SH = "p2sh"
    P2WPKH = "p2wpkh"
    P2WSH = "p2wsh"
    P2TR = "p2tr"
    WITNESS_UNKNOWN = "witness_unknown"  # witness v1-v16 other than P2TR: addressable, meaning not yet defined
    P2PK = "p2pk"
    MULTISIG = "multisig"  # bare OP_m <keys> OP_n OP_CHECKMULTISIG
    NULL_DATA = "null_data"  # OP_RETURN: carries data, pays nobody
    NONSTANDARD = "nonstandard"

    @property
    def addressable(self) -> bool:
        return self in _ADDRESSABLE


_ADDRESSABLE = frozenset(
    {
        ScriptKind.P2PKH,
        ScriptKind.P2SH,
        ScriptKind.P2WPKH,
        ScriptKind.P2WSH,
        ScriptKind.P2TR,
        ScriptKind.WITNESS_UNKNOWN,
    }
)


@dataclass(frozen=True, slots=True)
class ScriptInfo:
    """What a scriptPubKey is. ``program`` is the hash, witness program, public key or OP_RETURN payload (the
    whole script for bare multisig and non-standard scripts)."""

    kind: ScriptKind
    program: bytes = b""
    witness_version: int | None = None


@dataclass(frozen=True, slots=True)
class Multisig:
    """``m`` of the ``n`` ``keys`` (in script order) must sign."""

    m: int
    keys: tuple[bytes, ...]

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def is_sorted(self) -> bool:
        """True when the keys are in lexicographic order, as ``sortedmulti`` writes them."""
        return all(a <= b for a, b in zip(self.keys, self.keys[1:], strict=False))


def describe_script(script: bytes) -> ScriptInfo:
    """The standard template ``script`` matches exactly. Total: any bytes give a kind, at worst NONSTANDARD."""
    size = len(script)
    if size == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return ScriptInfo(ScriptKind.P2PKH, script[3:23])
    if size == 23 and script[:2] == b"\xa9\x14" and script[22] == OP_EQUAL:
        return ScriptInfo(ScriptKind.P2SH, script[2:22])
    program = witness_program(script)
    if program is not None:
        version, data = program
        kind = ScriptKind.WITNESS_UNKNOWN
        if version == 0:
            kind = ScriptKind.P2WPKH if size == 22 else ScriptKind.P2WSH
        elif version == 1 and size == 34:
            kind = ScriptKind.P2TR
        return ScriptInfo(kind, data, version)
    if size and script[0] == OP_RETURN:
        return ScriptInfo(ScriptKind.NULL_DATA, script[1:])
    key = p2pk_key(script)
    if key is not None:
        return ScriptInfo(ScriptKind.P2PK, key)
    if parse_multisig(script) is not None:
        return ScriptInfo(ScriptKind.MULTISIG, script)
    return ScriptInfo(ScriptKind.NONSTANDARD, script)


def witness_program(script: bytes) -> tuple[int, bytes] | None:
    """(version, program) of a BIP-141 witness program, else None."""
    size = len(script)
    if not 4 <= size <= 42 or script[1] != size - 2:
        return None
    if script[0] == OP_0:
        return (0, script[2:]) if size in (22, 34) else None
    if OP_1 <= script[0] <= OP_16:
        return script[0] - OP_1 + 1, script[2:]
    return None


def is_pubkey(data: bytes) -> bool:
    """A SEC1 public key encoding: 33 bytes with prefix 02/03 or 65 bytes with prefix 04, coordinates below p.

    An uncompressed key is also checked to be on the curve (two multiplications); a compressed key's x is not
    decompressed here (that costs a square root): whoever uses the key (a signature check) finds an invalid point.
    """
    size = len(data)
    if size == 33:
        return data[0] in (2, 3) and int.from_bytes(data[1:], "big") < SECP256K1_P
    if size == 65 and data[0] == 4:
        x = int.from_bytes(data[1:33], "big")
        y = int.from_bytes(data[33:], "big")
        return x < SECP256K1_P and y < SECP256K1_P and (y * y - x * x * x - 7) % SECP256K1_P == 0
    return False


def is_xonly_pubkey(data: bytes) -> bool:
    """A BIP-340 x-only key: 32 bytes below the field size (whether it is on the curve is left to its user)."""
    return len(data) == 32 and int.from_bytes(data, "big") < SECP256K1_P


def p2pk_key(script: bytes) -> bytes | None:
    """The key of ``<pubkey> OP_CHECKSIG``, else None."""
    size = len(script)
    if size in (35, 67) and script[0] == size - 2 and script[-1] == OP_CHECKSIG and is_pubkey(script[1:-1]):
        return script[1:-1]
    return None


def _small_number(script: bytes, pos: int, maximum: int) -> tuple[int, int] | None:
    """A positive number pushed minimally at ``pos`` (OP_1…OP_16, or a minimal CScriptNum push for 17 and up)."""
    if pos >= len(script):
        return None
    op = script[pos]
    if OP_1 <= op <= OP_16:
        return op - OP_1 + 1, pos + 1
    if op in (1, 2) and pos + 1 + op <= len(script):
        data = script[pos + 1 : pos + 1 + op]
        value = int.from_bytes(data, "little")
        minimal = (data[-1] & 0x80) == 0 and (data[-1] != 0 or (op == 2 and (data[0] & 0x80) != 0))
        if minimal and 16 < value <= maximum:
            return value, pos + 1 + op
    return None


def parse_multisig(script: bytes) -> Multisig | None:
    """m-of-n of ``OP_m <pubkey>… OP_n OP_CHECKMULTISIG`` with minimal pushes and 1 <= m <= n <= 20, else None."""
    if len(script) < 37 or script[-1] != OP_CHECKMULTISIG:
        return None
    found = _small_number(script, 0, MAX_MULTISIG_KEYS)
    if found is None:
        return None
    required, pos = found
    end = len(script) - 1
    keys: list[bytes] = []
    while pos < end and script[pos] in (33, 65):
        key = script[pos + 1 : pos + 1 + script[pos]]
        if not is_pubkey(key):
            return None
        keys.append(key)
        pos += 1 + len(key)
    found = _small_number(script, pos, MAX_MULTISIG_KEYS)
    if found is None or found[1] != end:
        return None
    count = found[0]
    if not 1 <= required <= count == len(keys):
        return None
    return Multisig(required, tuple(keys))


def parse_multi_a(script: bytes) -> Multisig | None:
    """The tapscript ``multi_a``: ``<k1> OP_CHECKSIG (<ki> OP_CHECKSIGADD)… <m> OP_NUMEQUAL`` with x-only keys."""
    keys: list[bytes] = []
    pos = 0
    size = len(script)
    while pos + 34 <= size and script[pos] == 32 and script[pos + 33] == (OP_CHECKSIGADD if keys else OP_CHECKSIG):
        keys.append(script[pos + 1 : pos + 33])
        pos += 34
    if not keys or size < 2 or script[-1] != OP_NUMEQUAL:
        return None
    found = _small_number(script, pos, MAX_MULTI_A_KEYS)
    if found is None or found[1] != size - 1 or not 1 <= found[0] <= len(keys):
        return None
    return Multisig(found[0], tuple(keys))


def pushed_data(script: bytes) -> tuple[bytes, ...] | None:
    """Every push's data in ``script`` (opcodes skipped), or None when a push runs past the end."""
    found: list[bytes] = []
    pos = 0
    size = len(script)
    while pos < size:
        step = _push_bounds(script, pos)
        if step is None:
            return None
        start, end = step
        if end > start or script[pos] <= OP_PUSHDATA4:
            found.append(script[start:end])
        pos = end
    return tuple(found)


def _push_bounds(script: bytes, pos: int) -> tuple[int, int] | None:
    """(data start, next op) for the op at ``pos``; for a non-push op both are the next op; None when truncated."""
    op = script[pos]
    pos += 1
    if op > OP_PUSHDATA4:
        return pos, pos
    if op < OP_PUSHDATA1:
        length = op
    else:
        width = 1 if op == OP_PUSHDATA1 else 2 if op == OP_PUSHDATA2 else 4
        if pos + width > len(script):
            return None
        length = int.from_bytes(script[pos : pos + width], "little")
        pos += width
    if pos + length > len(script):
        return None
    return pos, pos + length


def script_code_without_separators(script: bytes) -> bytes:
    """The legacy signature hash's script code: ``script`` serialized with a length prefix, OP_CODESEPARATORs removed.

    This mirrors Bitcoin Core's ``CTransactionSignatureSerializer::SerializeScriptCode`` byte for byte, including
    its treatment of a script whose last push runs past the end (bytes from that push's data on are dropped while
    the length prefix still counts them).
    """
    pieces: list[bytes] = []
    begin = 0
    pos = 0
    separators = 0
    size = len(script)
    while pos < size:
        op = script[pos]
        step = _core_get_op(script, pos)
        if step is None:
            pos = _core_failed_position(script, pos)
            break
        pos = step
        if op == OP_CODESEPARATOR:
            separators += 1
            pieces.append(script[begin : pos - 1])
            begin = pos
    if begin != size:
        pieces.append(script[begin:pos])
    return compact_size(size - separators) + b"".join(pieces)


def _core_get_op(script: bytes, pos: int) -> int | None:
    bounds = _push_bounds(script, pos)
    return None if bounds is None else bounds[1]


def _core_failed_position(script: bytes, pos: int) -> int:
    """Where Core's GetScriptOp leaves its iterator when the op at ``pos`` fails (after what it consumed)."""
    op = script[pos]
    pos += 1
    if OP_PUSHDATA1 <= op <= OP_PUSHDATA4:
        width = 1 if op == OP_PUSHDATA1 else 2 if op == OP_PUSHDATA2 else 4
        if pos + width <= len(script):
            pos += width
    return pos


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ripemd160(data: bytes) -> bytes:
    """RIPEMD-160: OpenSSL's when it provides one, else the pure Python implementation below."""
    return _ripemd160(data)


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: what P2PKH, P2SH and P2WPKH commit to."""
    return _ripemd160(hashlib.sha256(data).digest())


def p2pkh_script(key_hash: bytes) -> bytes:
    return b"\x76\xa9\x14" + key_hash + b"\x88\xac"


def p2sh_script(script_hash: bytes) -> bytes:
    return b"\xa9\x14" + script_hash + b"\x87"


def p2wpkh_script(key_hash: bytes) -> bytes:
    return b"\x00\x14" + key_hash


def p2wsh_script(script_hash: bytes) -> bytes:
    return b"\x00\x20" + script_hash


# RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996): message word order, rotations and constants of both lines.
_R_LEFT = (
    *range(16),
    *(7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8),
    *(3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12),
    *(1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2),
    *(4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13),
)
_R_RIGHT = (
    *(5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12),
    *(6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2),
    *(15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13),
    *(8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14),
    *(12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11),
)
_S_LEFT = (
    *(11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8),
    *(7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12),
    *(11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5),
    *(11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12),
    *(9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6),
)
_S_RIGHT = (
    *(8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6),
    *(9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11),
    *(9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5),
    *(15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8),
    *(8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11),
)
_K_LEFT = (0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E)
_K_RIGHT = (0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000)
_MASK = 0xFFFFFFFF


def _f(round_: int, x: int, y: int, z: int) -> int:
    if round_ == 0:
        return x ^ y ^ z
    if round_ == 1:
        return (x & y) | (~x & z)
    if round_ == 2:
        return (x | ~y) ^ z
    if round_ == 3:
        return (x & z) | (y & ~z)
    return x ^ (y | ~z)


def _rotl(value: int, count: int) -> int:
    value &= _MASK
    return ((value << count) | (value >> (32 - count))) & _MASK


def ripemd160_pure(data: bytes) -> bytes:
    """RIPEMD-160 in pure Python (slow; used only when hashlib has no ripemd160)."""
    h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", 8 * len(data))
    for block in range(0, len(padded), 64):
        words = struct.unpack("<16I", padded[block : block + 64])
        al, bl, cl, dl, el = h0, h1, h2, h3, h4
        ar, br, cr, dr, er = h0, h1, h2, h3, h4
        for j in range(80):
            round_ = j >> 4
            t = _rotl(al + _f(round_, bl, cl, dl) + words[_R_LEFT[j]] + _K_LEFT[round_], _S_LEFT[j]) + el
            al, el, dl, cl, bl = el, dl, _rotl(cl, 10), bl, t & _MASK
            t = _rotl(ar + _f(4 - round_, br, cr, dr) + words[_R_RIGHT[j]] + _K_RIGHT[round_], _S_RIGHT[j]) + er
            ar, er, dr, cr, br = er, dr, _rotl(cr, 10), br, t & _MASK
        h0, h1, h2, h3, h4 = (
            (h1 + cl + dr) & _MASK,
            (h2 + dl + er) & _MASK,
            (h3 + el + ar) & _MASK,
            (h4 + al + br) & _MASK,
            (h0 + bl + cr) & _MASK,
        )
    return struct.pack("<5I", h0, h1, h2, h3, h4)


def _openssl_ripemd160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", data).digest()


_ripemd160: Callable[[bytes], bytes]
try:
    hashlib.new("ripemd160", b"")
    _ripemd160 = _openssl_ripemd160
except ValueError:  # OpenSSL 3 without its legacy provider
    _ripemd160 = ripemd160_pure
