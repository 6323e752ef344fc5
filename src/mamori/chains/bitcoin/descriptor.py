"""Output descriptors (BIP-380 to BIP-387, BIP-389): the exchange's wallets, so that change is *derived*, not trusted.

A PSBT may claim that an output is the sender's own change (its BIP32_DERIVATION entries name the wallet's key
fingerprints and paths). :meth:`Descriptor.match_derivation` never takes that claim at its word: it reads the
branch and index from the claimed paths, derives the script from the wallet's own extended public keys and
compares it with the output's script. Three outcomes (:class:`MatchOutcome`): the PSBT makes no claim on this
wallet (an external payment), the claim is proven (change), or the claim is false — the attack where an output
names the wallet's fingerprint and path but pays someone else.

Supported: ``pk``, ``pkh``, ``wpkh``, ``sh``, ``wsh``, ``multi``, ``sortedmulti``, ``tr`` (key path and script
trees of ``pk``, ``multi_a``, ``sortedmulti_a`` leaves), ``raw``, ``addr``; keys as hex public keys (x-only in
``tr``) or extended public keys (xpub/tpub and SLIP-132 forms) with origin, non-hardened steps, one BIP-389
multipath step and a ``/*`` wildcard; the ``#checksum`` verified when present. Refused with a stable code:
private keys (``DESCRIPTOR_PRIVATE_KEY_REFUSED``: mamori needs public descriptors only), hardened steps after an
extended public key (``DESCRIPTOR_HARDENED_AFTER_XPUB``), ``combo``, ``rawtr``, ``musig`` and miniscript
(``DESCRIPTOR_UNSUPPORTED``). Hardened steps are written ``h`` or ``'``: ``H`` is refused, as BIP-380's test
vectors and Bitcoin Core do.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from coincurve import PublicKey

from mamori.chains.bitcoin.address import (
    ScriptKind,
    base58check_decode,
    decode_address,
    describe_script,
    p2pkh_script,
    p2sh_script,
    p2tr_script,
    p2wpkh_script,
    p2wsh_script,
    script_to_address,
)
from mamori.chains.bitcoin.bip32 import (
    HARDENED,
    ExtendedPublicKey,
    ckd_pub,
    fingerprint,
    format_step,
    is_private_key_prefix,
    is_public_key_prefix,
    parse_extended_key,
    parse_path_step,
)
from mamori.chains.bitcoin.networks import Network, parse_network
from mamori.chains.bitcoin.script import hash160
from mamori.chains.evm.crypto import SECP256K1_N
from mamori.errors import InputError

__all__ = [
    "MATCH_REASONS",
    "NOTE_MESSAGES",
    "DerivationMatch",
    "Descriptor",
    "DescriptorKey",
    "MatchOutcome",
    "add_checksum",
    "descriptor_checksum",
    "load_wallets",
    "parse_descriptor",
    "parse_wallet_argument",
    "parse_wallets",
]

MAX_DESCRIPTOR_LENGTH = 100_000
MAX_TAPTREE_DEPTH = 128  # BIP-341
MAX_INDEX = HARDENED - 1
_SCRIPT_CACHE_LIMIT = 200_000  # derived scripts kept per descriptor before the cache is emptied

# Non-fatal findings about a descriptor, reported with it.
NOTE_MESSAGES: dict[str, tuple[str, str]] = {
    "SLIP132_VERSION": (
        "An extended key is written in a SLIP-132 form (ypub, zpub, Ypub, Zpub …); it is read as the same xpub/tpub",
        "拡張公開鍵が SLIP-132 形式（ypub、zpub など）で書かれています。同じ xpub/tpub として読み込みました",
    ),
    "SLIP132_SCRIPT_MISMATCH": (
        "A SLIP-132 key announces another script type than the descriptor uses; the descriptor is followed",
        "SLIP-132 形式の鍵が示すスクリプト種別がディスクリプタと異なります。ディスクリプタの指定に従いました",
    ),
}

# Why a claimed derivation is not proven; each makes the outcome NOT_PROVEN.
MATCH_REASONS: dict[str, tuple[str, str]] = {
    "PATH_OUTSIDE_DESCRIPTOR": (
        "A derivation names one of this wallet's key fingerprints with a path the descriptor does not produce",
        "このウォレットの鍵フィンガープリントを指す導出が、ディスクリプタの生成しないパスを示しています",
    ),
    "INDEX_INCONSISTENT": (
        "The derivations name different branches or indexes of this wallet for one output",
        "1つの出力に対して、このウォレットの異なるブランチまたはインデックスを示す導出があります",
    ),
    "SCRIPT_MISMATCH": (
        "The output's script is not the one this wallet's keys derive at the claimed path",
        "出力のスクリプトが、示されたパスでこのウォレットの鍵から導出されるものと一致しません",
    ),
    "PUBKEY_MISMATCH": (
        "A derivation names this wallet's fingerprint and path with a public key the wallet does not derive there",
        "このウォレットのフィンガープリントとパスを示す導出の公開鍵が、そのパスで導出される鍵と一致しません",
    ),
    "FOREIGN_KEY": (
        "A derivation for the output lists a public key that is not one of this wallet's",
        "出力の導出情報に、このウォレットのものではない公開鍵が含まれています",
    ),
    "FINGERPRINT_MISMATCH": (
        "One of this wallet's keys is listed under another fingerprint or path than the descriptor gives",
        "このウォレットの鍵が、ディスクリプタと異なるフィンガープリントまたはパスで記載されています",
    ),
}


# --- checksum (BIP-380) ----------------------------------------------------------------------------------------

_INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
_INPUT_VALUES = {c: i for i, c in enumerate(_INPUT_CHARSET)}
_CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _polymod(symbols: Iterable[int]) -> int:
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _expand(text: str) -> list[int]:
    symbols: list[int] = []
    groups: list[int] = []
    for position, char in enumerate(text):
        value = _INPUT_VALUES.get(char)
        if value is None:
            raise InputError(
                "DESCRIPTOR_SYNTAX_INVALID",
                position=position + 1,
                reason=f"character {char!r} is outside the descriptor character set",
            )
        symbols.append(value & 31)
        groups.append(value >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(text: str) -> str:
    """The 8-character BIP-380 checksum of ``text`` (a descriptor without ``#``)."""
    checksum = _polymod([*_expand(text), 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1
    return "".join(_CHECKSUM_CHARSET[(checksum >> (5 * (7 - i))) & 31] for i in range(8))


def add_checksum(text: str) -> str:
    """``text#checksum``."""
    return f"{text}#{descriptor_checksum(text)}"


# --- keys ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DescriptorKey:
    """One key expression: where it comes from (origin) and how children are derived below it.

    The public key at (branch, index) is ``xpub / path / multipath[branch] / tail / index`` (the last step only when
    ``wildcard``); the full path from the origin fingerprint is ``origin_path`` followed by those steps.
    """

    text: str
    origin_fingerprint: bytes | None  # as written in [fingerprint/path]
    origin_path: tuple[int, ...]
    xpub: ExtendedPublicKey | None
    public_key: bytes | None  # a fixed key as written: 33 or 65 bytes, or 32 (x-only, in tr())
    path: tuple[int, ...] = ()  # non-hardened steps after the xpub, before the multipath step
    multipath: tuple[int, ...] = ()  # BIP-389 alternatives; () when the key has no <…;…> step
    tail: tuple[int, ...] = ()  # steps after the multipath step
    wildcard: bool = False
    xonly: bool = False  # inside tr(): serialized as a 32-byte x-only key

    @property
    def fingerprint(self) -> bytes:
        """The fingerprint derivations name this key by: the origin's, else the key's own."""
        if self.origin_fingerprint is not None:
            return self.origin_fingerprint
        if self.xpub is not None:
            return self.xpub.fingerprint
        return fingerprint(self._compressed(self.public_key or b""))

    @property
    def derivation_suffix(self) -> str:
        """The steps after the key as written, e.g. ``/<0;1>/*``."""
        parts = [format_step(step, "h") for step in self.path]
        if self.multipath:
            parts.append("<" + ";".join(str(v) for v in self.multipath) + ">")
        parts += [format_step(step, "h") for step in self.tail]
        if self.wildcard:
            parts.append("*")
        return "".join("/" + part for part in parts)

    def steps(self, branch: int) -> tuple[int, ...]:
        """The steps from the xpub to the parent of the wildcard child on ``branch``."""
        chosen = (self.multipath[branch],) if self.multipath else ()
        return self.path + chosen + self.tail

    def full_path(self, branch: int, index: int) -> tuple[int, ...]:
        """The path a PSBT names for this key at (branch, index): origin path and every step below the xpub."""
        below = (*self.steps(branch), index) if self.wildcard else self.steps(branch)
        return self.origin_path + below if self.xpub is not None else self.origin_path

    def pubkey_at(self, branch: int, index: int) -> bytes:
        """The key at (branch, index) as it appears in scripts (x-only inside tr())."""
        if self.xpub is None:
            key = self.public_key or b""
        else:
            key, chain_code = _branch_node(self.xpub.public_key, self.xpub.chain_code, self.steps(branch))
            if self.wildcard:
                key, _ = ckd_pub(key, chain_code, index)
        if self.xonly and len(key) == 33:
            return key[1:]
        return key

    def claims(self, claimed_fingerprint: bytes, path: tuple[int, ...]) -> list[tuple[int, int]]:
        """The (branch, index) positions at which (fingerprint, path) names this key; [] when it names none."""
        prefixes: list[tuple[int, ...]] = []
        if self.origin_fingerprint == claimed_fingerprint:
            prefixes.append(self.origin_path)
        if self.xpub is not None and self.xpub.fingerprint == claimed_fingerprint:
            prefixes.append(())
        if self.origin_fingerprint is None and self.xpub is None and self.fingerprint == claimed_fingerprint:
            prefixes.append(())
        found: list[tuple[int, int]] = []
        for prefix in prefixes:
            if path[: len(prefix)] != prefix:
                continue
            rest = path[len(prefix) :]
            if self.xpub is None:
                if not rest:
                    found.append((0, 0))
                continue
            found += self._positions(rest)
        return found

    def _positions(self, rest: tuple[int, ...]) -> list[tuple[int, int]]:
        size = len(self.path) + (1 if self.multipath else 0) + len(self.tail) + (1 if self.wildcard else 0)
        if len(rest) != size or rest[: len(self.path)] != self.path:
            return []
        position = len(self.path)
        branches = [0]
        if self.multipath:
            branches = [b for b, value in enumerate(self.multipath) if value == rest[position]]
            position += 1
        if rest[position : position + len(self.tail)] != self.tail:
            return []
        index = rest[-1] if self.wildcard else 0
        if index > MAX_INDEX:
            return []
        return [(branch, index) for branch in branches]

    @staticmethod
    def _compressed(key: bytes) -> bytes:
        return b"\x02" + key if len(key) == 32 else key


@lru_cache(maxsize=4096)
def _branch_node(public_key: bytes, chain_code: bytes, steps: tuple[int, ...]) -> tuple[bytes, bytes]:
    for step in steps:
        public_key, chain_code = ckd_pub(public_key, chain_code, step)
    return public_key, chain_code


# --- script nodes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pk:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        key = self.key.pubkey_at(branch, index)
        return bytes((len(key),)) + key + b"\xac"


@dataclass(frozen=True, slots=True)
class _Pkh:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        return p2pkh_script(hash160(self.key.pubkey_at(branch, index)))


@dataclass(frozen=True, slots=True)
class _Wpkh:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        return p2wpkh_script(hash160(self.key.pubkey_at(branch, index)))


@dataclass(frozen=True, slots=True)
class _Multi:
    threshold: int
    keys: tuple[DescriptorKey, ...]
    sort: bool
    tapscript: bool  # multi_a / sortedmulti_a

    def script(self, branch: int, index: int) -> bytes:
        keys = [key.pubkey_at(branch, index) for key in self.keys]
        if self.sort:
            keys.sort()
        if self.tapscript:  # <k1> CHECKSIG <k2> CHECKSIGADD … <k> NUMEQUAL
            body = b"".join(bytes((len(k),)) + k + (b"\xac" if i == 0 else b"\xba") for i, k in enumerate(keys))
            return body + _push_number(self.threshold) + b"\x9c"
        body = b"".join(bytes((len(k),)) + k for k in keys)
        return _push_number(self.threshold) + body + _push_number(len(keys)) + b"\xae"


@dataclass(frozen=True, slots=True)
class _Sh:
    inner: _Node

    def script(self, branch: int, index: int) -> bytes:
        return p2sh_script(hash160(self.inner.script(branch, index)))


@dataclass(frozen=True, slots=True)
class _Wsh:
    inner: _Node

    def script(self, branch: int, index: int) -> bytes:
        return p2wsh_script(hashlib.sha256(self.inner.script(branch, index)).digest())


@dataclass(frozen=True, slots=True)
class _TapBranch:
    left: _TapTree
    right: _TapTree

    def leaf_hash(self, branch: int, index: int) -> bytes:
        left, right = self.left.leaf_hash(branch, index), self.right.leaf_hash(branch, index)
        return _tagged_hash("TapBranch", min(left, right) + max(left, right))


@dataclass(frozen=True, slots=True)
class _TapLeaf:
    script_node: _Node

    def leaf_hash(self, branch: int, index: int) -> bytes:
        script = self.script_node.script(branch, index)
        return _tagged_hash("TapLeaf", b"\xc0" + _compact_size(len(script)) + script)


@dataclass(frozen=True, slots=True)
class _Tr:
    key: DescriptorKey
    tree: _TapTree | None

    def script(self, branch: int, index: int) -> bytes:
        internal = self.key.pubkey_at(branch, index)
        merkle_root = self.tree.leaf_hash(branch, index) if self.tree is not None else b""
        tweak = _tagged_hash("TapTweak", internal + merkle_root)
        if int.from_bytes(tweak, "big") >= SECP256K1_N:  # probability ~2^-128
            raise InputError("DESCRIPTOR_INDEX_INVALID", index=index, branch=branch, reason="taproot tweak overflow")
        output = PublicKey(b"\x02" + internal).add(tweak).format(compressed=True)[1:]
        return p2tr_script(output)


@dataclass(frozen=True, slots=True)
class _Fixed:
    """raw(HEX) or addr(ADDR): one script whatever the index."""

    function: str
    argument: str
    fixed_script: bytes

    def script(self, branch: int, index: int) -> bytes:
        del branch, index  # one script for every position
        return self.fixed_script


_Node = _Pk | _Pkh | _Wpkh | _Multi | _Sh | _Wsh | _Tr | _Fixed
_TapTree = _TapBranch | _TapLeaf


def _push_number(value: int) -> bytes:
    """A minimal script number push: OP_1..OP_16, else the little-endian bytes."""
    if 1 <= value <= 16:
        return bytes((0x50 + value,))
    data = value.to_bytes((value.bit_length() + 8) // 8, "little")
    return bytes((len(data),)) + data


def _script_size(node: _Node) -> int:
    """The size of a node's script, known at parse time (derived keys are 33 bytes, 32 x-only)."""
    if isinstance(node, _Pk):
        return _key_size(node.key) + 2
    if isinstance(node, _Multi):
        numbers = len(_push_number(node.threshold)) + len(_push_number(len(node.keys)))
        return numbers + sum(_key_size(key) + 1 for key in node.keys) + 1
    return {_Pkh: 25, _Wpkh: 22, _Wsh: 34, _Sh: 23, _Tr: 34}.get(type(node), 0)


def _key_size(key: DescriptorKey) -> int:
    if key.public_key is not None:
        return len(key.public_key)
    return 32 if key.xonly else 33


def _compact_size(value: int) -> bytes:
    if value < 0xFD:
        return bytes((value,))
    if value <= 0xFFFF:
        return b"\xfd" + value.to_bytes(2, "little")
    return b"\xfe" + value.to_bytes(4, "little")


@lru_cache(maxsize=8)
def _tag(name: str) -> bytes:
    digest = hashlib.sha256(name.encode("ascii")).digest()
    return digest + digest


def _tagged_hash(name: str, data: bytes) -> bytes:
    return hashlib.sha256(_tag(name) + data).digest()


# --- the descriptor --------------------------------------------------------------------------------------------


class MatchOutcome(StrEnum):
    EXTERNAL = "external"  # no derivation names one of this wallet's keys: not claimed as ours
    PROVEN = "proven"  # re-derived from the wallet's keys at the claimed path: ours (change)
    NOT_PROVEN = "not_proven"  # claimed as ours, but the claim is false or inconsistent: raise CHANGE_NOT_OURS


@dataclass(frozen=True, slots=True)
class DerivationMatch:
    """What :meth:`Descriptor.match_derivation` decided about one output."""

    outcome: MatchOutcome
    branch: int | None = None  # the multipath index (0 receive, 1 change for <0;1>); 0 without multipath
    index: int | None = None
    reasons: tuple[str, ...] = ()  # codes of MATCH_REASONS when NOT_PROVEN

    @property
    def proven(self) -> bool:
        return self.outcome is MatchOutcome.PROVEN


class _Cache:
    """Derived scripts of one descriptor: (branch, index) -> scripts, and back for find_index."""

    __slots__ = ("by_fingerprint", "claims", "reverse", "scanned", "scripts")

    def __init__(self) -> None:
        self.scripts: dict[tuple[int, int], tuple[bytes, bytes | None, bytes | None]] = {}
        self.claims: dict[tuple[int, int], frozenset[tuple[bytes, bytes, tuple[int, ...]]]] = {}
        self.reverse: dict[bytes, tuple[int, int]] = {}
        self.scanned: dict[int, int] = {}
        self.by_fingerprint: dict[bytes, tuple[DescriptorKey, ...]] | None = None  # the keys each fingerprint names


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A parsed output descriptor. Derived scripts are memoised inside; the value itself never changes."""

    text: str  # as given, without the checksum
    checksum: str
    root: _Node
    keys: tuple[DescriptorKey, ...]
    network: Network | None  # as given, or inferred from the keys (None: a test-family key and no network named)
    branch_count: int  # 1, or the length of the multipath tuples
    ranged: bool  # True when a key ends in /*
    name: str | None = None
    notes: tuple[str, ...] = ()
    _cache: _Cache = field(default_factory=_Cache, init=False, repr=False, compare=False, hash=False)

    @property
    def with_checksum(self) -> str:
        return f"{self.text}#{self.checksum}"

    @property
    def kind(self) -> ScriptKind:
        """The type of output the descriptor produces (p2wsh, p2tr …)."""
        return describe_script(self.script_at(0, 0)).kind

    def script_at(self, index: int, branch: int = 0) -> bytes:
        """The scriptPubKey at ``index`` on ``branch`` (the multipath index: 0 receive, 1 change for <0;1>)."""
        return self._outputs(index, branch)[0]

    def redeem_script_at(self, index: int, branch: int = 0) -> bytes | None:
        """The P2SH redeemScript at (branch, index); None unless the descriptor is sh(…)."""
        return self._outputs(index, branch)[1]

    def witness_script_at(self, index: int, branch: int = 0) -> bytes | None:
        """The P2WSH witnessScript at (branch, index); None unless the descriptor is wsh(…) or sh(wsh(…))."""
        return self._outputs(index, branch)[2]

    def address_at(self, index: int, branch: int = 0, network: Network | None = None) -> str | None:
        chosen = network or self.network
        if chosen is None:
            raise InputError("FIELD_MISSING", field="network")
        return script_to_address(self.script_at(index, branch), chosen)

    def _outputs(self, index: int, branch: int) -> tuple[bytes, bytes | None, bytes | None]:
        self._check_position(index, branch)
        cache = self._cache.scripts
        found = cache.get((branch, index))
        if found is not None:
            return found
        root = self.root
        redeem = witness = None
        if isinstance(root, _Sh):
            redeem = root.inner.script(branch, index)
            if isinstance(root.inner, _Wsh):
                witness = root.inner.inner.script(branch, index)
        elif isinstance(root, _Wsh):
            witness = root.inner.script(branch, index)
        outputs = (root.script(branch, index), redeem, witness)
        if len(cache) >= _SCRIPT_CACHE_LIMIT:
            cache.clear()
            self._cache.claims.clear()
            self._cache.reverse.clear()
            self._cache.scanned.clear()
        cache[(branch, index)] = outputs
        self._cache.reverse.setdefault(outputs[0], (branch, index))
        return outputs

    def _check_position(self, index: int, branch: int) -> None:
        if type(index) is not int or type(branch) is not int:
            raise InputError("DESCRIPTOR_INDEX_INVALID", index=index, branch=branch, reason="not integers")
        if not 0 <= branch < self.branch_count:
            reason = f"the descriptor has {self.branch_count} branch(es)"
            raise InputError("DESCRIPTOR_INDEX_INVALID", index=index, branch=branch, reason=reason)
        if not 0 <= index <= (MAX_INDEX if self.ranged else 0):
            reason = "a descriptor without /* has index 0 only" if not self.ranged else "outside 0..2^31-1"
            raise InputError("DESCRIPTOR_INDEX_INVALID", index=index, branch=branch, reason=reason)

    def find_index(
        self, script_pubkey: bytes, branches: Iterable[int] | None = None, gap: int = 1000
    ) -> tuple[int, int] | None:
        """(branch, index) deriving ``script_pubkey`` among indexes 0..gap-1, or None. Derived scripts are kept.

        A fallback for outputs that carry no derivation: bounded, so a script of this wallet beyond ``gap`` is
        not found (and must not be assumed ours).
        """
        chosen = tuple(range(self.branch_count)) if branches is None else tuple(branches)
        for branch in chosen:
            self._check_position(0, branch)
        limit = max(0, gap) if self.ranged else 1
        hit = self._cache.reverse.get(script_pubkey)
        if hit is not None and hit[0] in chosen and hit[1] < limit:
            return hit
        scanned = self._cache.scanned
        start = min((scanned.get(b, 0) for b in chosen), default=limit)
        for index in range(start, limit):
            for branch in chosen:
                if index < scanned.get(branch, 0):
                    continue
                if self.script_at(index, branch) == script_pubkey:
                    return branch, index
                scanned[branch] = index + 1
        return None

    def match_derivation(
        self, script_pubkey: bytes, derivations: Iterable[tuple[bytes, bytes, tuple[int, ...]]]
    ) -> DerivationMatch:
        """Decide whether an output is provably this wallet's, from the derivations a PSBT claims for it.

        ``derivations`` are (public key, 4-byte master fingerprint, path) as in PSBT_OUT_BIP32_DERIVATION (33-byte
        keys) or PSBT_OUT_TAP_BIP32_DERIVATION (32-byte x-only keys). The claimed paths must be paths of this
        descriptor's keys (same fingerprints), agree on one (branch, index), name the keys the wallet derives
        there, list no other key, and the script derived there must equal ``script_pubkey``.
        """
        entries = _checked_derivations(derivations)
        proven = self._proven_at_a_glance(script_pubkey, entries)
        if proven is not None:
            return proven
        ours = self._keys_by_fingerprint()
        named: list[tuple[bytes, list[tuple[int, int, DescriptorKey]]]] = []
        foreign: list[bytes] = []
        for pubkey, claimed_fingerprint, path in entries:
            if claimed_fingerprint in ours:
                named.append((pubkey, self._places(claimed_fingerprint, path)))
            else:
                foreign.append(pubkey)
        if not named:
            return DerivationMatch(MatchOutcome.EXTERNAL)
        reasons: list[str] = []
        if any(not places for _, places in named):
            reasons.append("PATH_OUTSIDE_DESCRIPTOR")
        # A key without a wildcard (a fixed key, or an xpub path without /*) names itself at every index.
        claimed = [
            ({(b, i) for b, i, key in places if key.wildcard}, {b for b, _, key in places if not key.wildcard})
            for _, places in named
            if places
        ]
        pool = set().union(*(ranged for ranged, _ in claimed)) or {(b, 0) for _, fixed in claimed for b in fixed}
        candidates = sorted(p for p in pool if all(p in ranged or p[0] in fixed for ranged, fixed in claimed))
        if not candidates:
            reasons.append("INDEX_INCONSISTENT")
            return DerivationMatch(MatchOutcome.NOT_PROVEN, reasons=tuple(dict.fromkeys(reasons)))
        # Keys without a multipath step are claimed on every branch; the script decides which one is meant.
        matching = [c for c in candidates if self.script_at(c[1], c[0]) == script_pubkey]
        branch, index = matching[0] if matching else candidates[0]
        if not matching:
            reasons.append("SCRIPT_MISMATCH")
        position = (branch, index)
        for pubkey, places in named:
            wanted = [
                key.pubkey_at(branch, index)
                for b, i, key in places
                if (b, i) == position or (not key.wildcard and b == branch)
            ]
            if not any(_same_key(pubkey, key) for key in wanted):
                reasons.append("PUBKEY_MISMATCH" if places else "PATH_OUTSIDE_DESCRIPTOR")
        derived = [key.pubkey_at(branch, index) for key in self.keys] if foreign else []
        for pubkey in foreign:
            mine = any(_same_key(pubkey, key) for key in derived)
            reasons.append("FINGERPRINT_MISMATCH" if mine else "FOREIGN_KEY")
        if reasons:
            return DerivationMatch(MatchOutcome.NOT_PROVEN, branch, index, tuple(dict.fromkeys(reasons)))
        return DerivationMatch(MatchOutcome.PROVEN, branch, index)

    def _proven_at_a_glance(
        self, script_pubkey: bytes, entries: list[tuple[bytes, bytes, tuple[int, ...]]]
    ) -> DerivationMatch | None:
        """PROVEN when every claim is exactly one the wallet itself makes at a position the first claim names and
        the script derived there is ``script_pubkey``: the common case, decided with set look-ups. None sends the
        claims to the full analysis, which reaches the same verdict on these and says why on the rest."""
        if not entries:
            return None
        _, claimed_fingerprint, path = entries[0]
        for branch, index, _ in self._places(claimed_fingerprint, path):
            expected = self._claims_at(branch, index)
            if all(entry in expected for entry in entries) and self.script_at(index, branch) == script_pubkey:
                return DerivationMatch(MatchOutcome.PROVEN, branch, index)
        return None

    def _claims_at(self, branch: int, index: int) -> frozenset[tuple[bytes, bytes, tuple[int, ...]]]:
        """Every (public key, fingerprint, path) by which a PSBT may name this wallet's keys at (branch, index)."""
        cache = self._cache.claims
        found = cache.get((branch, index))
        if found is None:
            made: set[tuple[bytes, bytes, tuple[int, ...]]] = set()
            for key in self.keys:
                pubkey = key.pubkey_at(branch, index)
                if key.xpub is not None:
                    below = key.steps(branch) + ((index,) if key.wildcard else ())
                    made.add((pubkey, key.xpub.fingerprint, below))
                    if key.origin_fingerprint is not None:
                        made.add((pubkey, key.origin_fingerprint, key.origin_path + below))
                elif key.origin_fingerprint is not None:
                    made.add((pubkey, key.origin_fingerprint, key.origin_path))
                else:
                    made.add((pubkey, key.fingerprint, ()))
            found = cache[(branch, index)] = frozenset(made)
        return found

    def _places(self, claimed_fingerprint: bytes, path: tuple[int, ...]) -> list[tuple[int, int, DescriptorKey]]:
        """Every (branch, index, key) that (fingerprint, path) names; a key without multipath on every branch."""
        places = []
        for key in self._keys_by_fingerprint().get(claimed_fingerprint, ()):
            for branch, index in key.claims(claimed_fingerprint, path):
                branches = (branch,) if key.multipath else range(self.branch_count)
                places += [(b, index, key) for b in branches]
        return places

    def _keys_by_fingerprint(self) -> dict[bytes, tuple[DescriptorKey, ...]]:
        """The keys a fingerprint can name (origin, the xpub's own, a plain key's), built once per descriptor."""
        found = self._cache.by_fingerprint
        if found is None:
            grouped: dict[bytes, list[DescriptorKey]] = {}
            for key in self.keys:
                names = {key.fingerprint} | ({key.xpub.fingerprint} if key.xpub is not None else set())
                for name in names:
                    grouped.setdefault(name, []).append(key)
            found = self._cache.by_fingerprint = {name: tuple(keys) for name, keys in grouped.items()}
        return found


def _same_key(claimed: bytes, ours: bytes) -> bool:
    if len(ours) == 32:  # a tr() key: PSBTs list it x-only, a compressed form names the same x
        return claimed == ours or (len(claimed) == 33 and claimed[1:] == ours)
    return claimed == ours


def _checked_derivations(
    derivations: Iterable[tuple[bytes, bytes, tuple[int, ...]]],
) -> list[tuple[bytes, bytes, tuple[int, ...]]]:
    checked = []
    for entry in derivations:
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise InputError("DESCRIPTOR_DERIVATION_INVALID", reason="each entry is (pubkey, fingerprint, path)")
        pubkey, claimed_fingerprint, path = entry
        if not isinstance(pubkey, bytes) or len(pubkey) not in (32, 33, 65):
            raise InputError("DESCRIPTOR_DERIVATION_INVALID", reason="public key of 32, 33 or 65 bytes expected")
        if not isinstance(claimed_fingerprint, bytes) or len(claimed_fingerprint) != 4:
            raise InputError("DESCRIPTOR_DERIVATION_INVALID", reason="fingerprint of 4 bytes expected")
        steps = tuple(path) if isinstance(path, tuple | list) else None
        # One pass in C over the steps' types, then their range: this runs for every output and input of a PSBT.
        if steps is None or (steps and (set(map(type, steps)) != {int} or min(steps) < 0 or max(steps) >= 1 << 32)):
            raise InputError("DESCRIPTOR_DERIVATION_INVALID", reason="path of 32-bit unsigned integers expected")
        checked.append((pubkey, claimed_fingerprint, steps))
    return checked


# --- parsing ---------------------------------------------------------------------------------------------------


class _Ctx(Enum):
    TOP = "at the top level"
    SH = "inside sh()"
    WSH = "inside wsh()"
    TAP = "inside a tr() script tree"


_ALLOWED: dict[str, frozenset[_Ctx]] = {
    "pk": frozenset({_Ctx.TOP, _Ctx.SH, _Ctx.WSH, _Ctx.TAP}),
    "pkh": frozenset({_Ctx.TOP, _Ctx.SH, _Ctx.WSH}),
    "wpkh": frozenset({_Ctx.TOP, _Ctx.SH}),
    "sh": frozenset({_Ctx.TOP}),
    "wsh": frozenset({_Ctx.TOP, _Ctx.SH}),
    "multi": frozenset({_Ctx.TOP, _Ctx.SH, _Ctx.WSH}),
    "sortedmulti": frozenset({_Ctx.TOP, _Ctx.SH, _Ctx.WSH}),
    "multi_a": frozenset({_Ctx.TAP}),
    "sortedmulti_a": frozenset({_Ctx.TAP}),
    "tr": frozenset({_Ctx.TOP}),
    "raw": frozenset({_Ctx.TOP}),
    "addr": frozenset({_Ctx.TOP}),
}
_UNSUPPORTED = {
    "combo": "it stands for several script types at once; write the one the wallet uses (pkh, wpkh, sh(wpkh))",
    "rawtr": "a taproot output key without its internal key cannot be checked against a wallet",
    "musig": "MuSig2 aggregate keys (BIP-390) are not supported yet",
}
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_HEX = re.compile(r"[0-9a-fA-F]*")
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{8}")
_MULTI_LIMITS = {_Ctx.TOP: 3, _Ctx.SH: 15, _Ctx.WSH: 20, _Ctx.TAP: 999}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.keys: list[DescriptorKey] = []

    def fail(self, reason: str, at: int | None = None) -> InputError:
        return InputError("DESCRIPTOR_SYNTAX_INVALID", position=(self.pos if at is None else at) + 1, reason=reason)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected {char!r}, found {found}")
        self.pos += 1

    def script(self, ctx: _Ctx) -> _Node:
        match = _NAME.match(self.text, self.pos)
        if match is None or self.text[match.end() : match.end() + 1] != "(":
            raise self.fail("expected a script expression such as wpkh(…)")
        name = match.group()
        if name in _UNSUPPORTED:
            raise InputError("DESCRIPTOR_UNSUPPORTED", function=name, reason=_UNSUPPORTED[name])
        if name not in _ALLOWED:
            reason = "not a descriptor function mamori knows (miniscript is not supported)"
            raise InputError("DESCRIPTOR_UNSUPPORTED", function=name[:20], reason=reason)
        if ctx not in _ALLOWED[name]:
            raise InputError("DESCRIPTOR_CONTEXT_INVALID", function=name, where=ctx.value)
        self.pos = match.end() + 1
        node = self.body(name, ctx)
        self.expect(")")
        return node

    def body(self, name: str, ctx: _Ctx) -> _Node:
        segwit = ctx in (_Ctx.WSH, _Ctx.TAP) or name == "wpkh"
        if name == "pk":
            return _Pk(self.key(segwit=segwit, xonly=ctx is _Ctx.TAP))
        if name == "pkh":
            return _Pkh(self.key(segwit=segwit))
        if name == "wpkh":
            return _Wpkh(self.key(segwit=True))
        if name == "sh":
            inner = self.script(_Ctx.SH)
            if _script_size(inner) > 520:
                raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function="sh", reason="redeemScript above 520 bytes")
            return _Sh(inner)
        if name == "wsh":
            return _Wsh(self.script(_Ctx.WSH))
        if name in ("multi", "sortedmulti", "multi_a", "sortedmulti_a"):
            return self.multi(name, ctx, segwit)
        if name == "tr":
            key = self.key(segwit=True, xonly=True)
            tree = None
            if self.peek() == ",":
                self.pos += 1
                tree = self.tree(0)
            return _Tr(key, tree)
        argument = self.argument()
        if name == "raw":
            if not argument or len(argument) % 2 or not _HEX.fullmatch(argument):
                raise InputError(
                    "DESCRIPTOR_ARGUMENT_INVALID", function="raw", reason="not an even number of hex digits"
                )
            return _Fixed("raw", argument, bytes.fromhex(argument))
        try:
            decoded = decode_address(argument)
        except InputError as exc:
            reason = str(exc.details.get("reason", "not a Bitcoin address"))
            raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function="addr", reason=reason) from None
        return _Fixed("addr", decoded.address, decoded.script_pubkey)

    def argument(self) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",)}{(":
            end += 1
        argument = self.text[self.pos : end]
        self.pos = end
        return argument

    def multi(self, name: str, ctx: _Ctx, segwit: bool) -> _Multi:
        threshold_text = self.argument()
        if not threshold_text.isascii() or not threshold_text.isdigit() or len(threshold_text) > 4:
            raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function=name, reason="the threshold is not a number")
        threshold = int(threshold_text)
        keys = []
        while self.peek() == ",":
            self.pos += 1
            keys.append(self.key(segwit=segwit, xonly=ctx is _Ctx.TAP))
            if len(keys) > _MULTI_LIMITS[ctx]:
                reason = f"more than {_MULTI_LIMITS[ctx]} keys {ctx.value}"
                raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function=name, reason=reason)
        if not keys:
            raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function=name, reason="no keys")
        if not 1 <= threshold <= len(keys):
            reason = f"threshold {threshold} is not between 1 and the {len(keys)} key(s)"
            raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function=name, reason=reason)
        return _Multi(threshold, tuple(keys), name.startswith("sorted"), name.endswith("_a"))

    def tree(self, depth: int) -> _TapTree:
        if depth > MAX_TAPTREE_DEPTH:
            raise self.fail(f"script tree deeper than {MAX_TAPTREE_DEPTH}")
        if self.peek() != "{":
            return _TapLeaf(self.script(_Ctx.TAP))
        self.pos += 1
        left = self.tree(depth + 1)
        self.expect(",")
        right = self.tree(depth + 1)
        self.expect("}")
        return _TapBranch(left, right)

    def key(self, *, segwit: bool, xonly: bool = False) -> DescriptorKey:
        at = self.pos
        text = self.argument()
        if self.peek() == "(" and text in _UNSUPPORTED:
            raise InputError("DESCRIPTOR_UNSUPPORTED", function=text, reason=_UNSUPPORTED[text])
        if self.peek() == "(":
            shown = text[:20] if _NAME.fullmatch(text) else "…"  # never echo what may be a private key
            raise self.fail(f"expected a key, found the script expression {shown}(…)", at)
        if not text:
            raise self.fail("expected a key")
        key = _parse_key(text, segwit=segwit, xonly=xonly, ordinal=len(self.keys) + 1)
        self.keys.append(key)
        return key


def _key_error(code: str, text: str, ordinal: int, **details: Any) -> InputError:
    return InputError(code, key=_shown_key(text), ordinal=ordinal, **details)


def _shown_key(text: str) -> str:
    """What an error may show of a key expression: all of a public key, only 4 characters of anything else."""
    body = text.rpartition("]")[2]
    origin = text[: len(text) - len(body)]
    key = body.partition("/")[0]
    sec1 = len(key) in (66, 130) and key[:2] in ("02", "03", "04") and _HEX.fullmatch(key) is not None
    public = is_public_key_prefix(body) or sec1  # 64 hex digits may be a raw private key: not shown
    shown = text if public else origin + body[:4] + "…"
    return shown if len(shown) <= 200 else shown[:200] + "…"


def _parse_key(text: str, *, segwit: bool, xonly: bool, ordinal: int) -> DescriptorKey:
    origin_fingerprint: bytes | None = None
    origin_path: tuple[int, ...] = ()
    rest = text
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="key origin without ']'")
        origin = text[1:close].split("/")
        if not _FINGERPRINT.fullmatch(origin[0]):
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="fingerprint is not 8 hex digits")
        origin_fingerprint = bytes.fromhex(origin[0])
        if any("<" in step for step in origin[1:]):
            raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step inside a key origin")
        origin_path = tuple(_step(step, text, ordinal) for step in origin[1:])
        rest = text[close + 1 :]
    if "[" in rest or "]" in rest:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="misplaced '[' or ']' (one origin, first)")
    body, *parts = rest.split("/")
    if not body:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="no key after the origin")
    if len(body) in (64, 66, 130) and _HEX.fullmatch(body):
        if parts:
            raise _key_error(
                "DESCRIPTOR_KEY_INVALID", text, ordinal, reason="derivation steps after a non-extended key"
            )
        return DescriptorKey(
            text, origin_fingerprint, origin_path, None, _fixed_key(body, text, ordinal, segwit, xonly), xonly=xonly
        )
    path, multipath, tail, wildcard = _derivation(parts, text, ordinal)
    if is_private_key_prefix(body) or _is_wif(body):
        kind = "WIF private key" if _is_wif(body) else "extended private key"
        raise InputError("DESCRIPTOR_PRIVATE_KEY_REFUSED", kind=kind, ordinal=ordinal)
    try:
        xpub = parse_extended_key(body)
    except InputError as exc:
        if exc.code == "BIP32_PRIVATE_KEY_REFUSED":
            raise InputError("DESCRIPTOR_PRIVATE_KEY_REFUSED", kind="extended private key", ordinal=ordinal) from None
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=exc.details.get("reason", "")) from None
    hardened = [step for step in (*path, *multipath, *tail) if step >= HARDENED]
    if hardened or wildcard == "hardened":
        step = format_step(hardened[0]) if hardened else "*'"
        raise _key_error("DESCRIPTOR_HARDENED_AFTER_XPUB", text, ordinal, step=step)
    return DescriptorKey(
        text, origin_fingerprint, origin_path, xpub, None, path, multipath, tail, wildcard == "yes", xonly
    )


def _step(step: str, text: str, ordinal: int) -> int:
    try:
        return parse_path_step(step)
    except InputError as exc:
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=exc.details["reason"]) from None


def _derivation(
    parts: list[str], text: str, ordinal: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str]:
    path: list[int] = []
    multipath: tuple[int, ...] = ()
    tail: list[int] = []
    wildcard = "no"
    for number, part in enumerate(parts):
        if part in ("*", "*'", "*h"):
            if number != len(parts) - 1:
                raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="'*' is not the last step")
            wildcard = "yes" if part == "*" else "hardened"
        elif part.startswith("<") or part.endswith(">") or ";" in part:
            if multipath:
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="more than one multipath step in a key")
            if not (part.startswith("<") and part.endswith(">")):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step is written <NUM;NUM…>")
            values = part[1:-1].split(";")
            if any(not value for value in values):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="an empty value in a multipath step")
            if len(values) < 2:
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="a multipath step needs two values or more")
            multipath = tuple(_step(value, text, ordinal) for value in values)
            if len(set(multipath)) != len(multipath):
                raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="duplicate values in a multipath step")
        else:
            (tail if multipath else path).append(_step(part, text, ordinal))
    return tuple(path), multipath, tuple(tail), wildcard


def _is_wif(body: str) -> bool:
    raw = base58check_decode(body) if 50 <= len(body) <= 52 else None
    return raw is not None and raw[0] in (0x80, 0xEF) and (len(raw) == 33 or (len(raw) == 34 and raw[-1] == 1))


def _fixed_key(body: str, text: str, ordinal: int, segwit: bool, xonly: bool) -> bytes:
    data = bytes.fromhex(body)
    if len(data) == 32:
        if not xonly:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="x-only keys are allowed in tr() only")
        data_to_check = b"\x02" + data
    else:
        if data[0] not in ((2, 3) if len(data) == 33 else (4,)):
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason=f"key prefix 0x{data[0]:02x}")
        if len(data) == 65 and segwit:
            raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="uncompressed key in a segwit script")
        data_to_check = data
    try:
        PublicKey(data_to_check)
    except Exception:  # noqa: BLE001 - coincurve raises ValueError or its own errors
        raise _key_error("DESCRIPTOR_KEY_INVALID", text, ordinal, reason="not a point on secp256k1") from None
    return data


def parse_descriptor(
    text: str, network: Network | str | None = None, *, require_checksum: bool = False, name: str | None = None
) -> Descriptor:
    """Parse an output descriptor. With ``network``, every key and address must be of that network's family.

    Raises :class:`InputError` with a ``DESCRIPTOR_…`` code (see docs/codes.md); never another exception.
    """
    if not isinstance(text, str):
        raise InputError("FIELD_TYPE_INVALID", field="descriptor", expected="a string")
    chosen = parse_network(network) if network is not None else None
    stripped = text.strip()
    if not stripped:
        raise InputError("DESCRIPTOR_SYNTAX_INVALID", position=1, reason="empty")
    if len(stripped) > MAX_DESCRIPTOR_LENGTH:
        raise InputError("DESCRIPTOR_SYNTAX_INVALID", position=MAX_DESCRIPTOR_LENGTH, reason="too long")
    body, hash_mark, given = stripped.partition("#")
    checksum = descriptor_checksum(body)
    if hash_mark:
        if len(given) != 8 or any(c not in _CHECKSUM_CHARSET for c in given):
            reason = "a checksum is 8 characters of the bech32 alphabet"
            raise InputError("DESCRIPTOR_CHECKSUM_INVALID", given=given[:16], reason=reason)
        if given != checksum:
            reason = "it does not match the descriptor: the text was altered or mistyped"
            raise InputError("DESCRIPTOR_CHECKSUM_INVALID", given=given, reason=reason)
    elif require_checksum:
        raise InputError("DESCRIPTOR_CHECKSUM_MISSING")
    parser = _Parser(body)
    root = parser.script(_Ctx.TOP)
    if parser.pos != len(body):
        raise parser.fail("unexpected text after the descriptor")
    keys = tuple(parser.keys)
    lengths = {len(key.multipath) for key in keys if key.multipath}
    if len(lengths) > 1:
        raise InputError("DESCRIPTOR_MULTIPATH_INVALID", reason="multipath steps of different lengths")
    inferred = _network(root, keys, chosen)
    notes = _notes(root, keys)
    return Descriptor(
        body,
        checksum,
        root,
        keys,
        inferred,
        lengths.pop() if lengths else 1,
        any(k.wildcard for k in keys),
        name,
        notes,
    )


def _network(root: _Node, keys: tuple[DescriptorKey, ...], chosen: Network | None) -> Network | None:
    families = {key.xpub.testnet for key in keys if key.xpub is not None}
    if len(families) > 1:
        raise InputError("DESCRIPTOR_NETWORK_MISMATCH", found="mainnet and test-network", expected="one network")
    if isinstance(root, _Fixed) and root.function == "addr":
        networks = decode_address(root.argument).networks
        if chosen is not None and chosen not in networks:
            raise InputError("DESCRIPTOR_NETWORK_MISMATCH", found=networks[0].value, expected=chosen.value)
        return chosen or (networks[0] if len(networks) == 1 else None)
    if families:
        testnet = families.pop()
        if chosen is not None and chosen.is_test != testnet:
            found = "test-network (tpub)" if testnet else "mainnet (xpub)"
            raise InputError("DESCRIPTOR_NETWORK_MISMATCH", found=found, expected=chosen.value)
        return chosen or (None if testnet else Network.MAINNET)
    return chosen


_SCRIPT_SHAPES = {
    "wpkh": ("wpkh",),
    "sh(wpkh)": ("sh", "wpkh"),
    "wsh(multi)": ("wsh",),
    "sh(wsh(multi))": ("sh", "wsh"),
}
_WRAPPERS: dict[type, str] = {_Sh: "sh", _Wsh: "wsh", _Wpkh: "wpkh"}


def _notes(root: _Node, keys: tuple[DescriptorKey, ...]) -> tuple[str, ...]:
    """SLIP132_VERSION when a key was written ypub/zpub…; SLIP132_SCRIPT_MISMATCH when its hint names another script."""
    hints = {key.xpub.slip132_script for key in keys if key.xpub is not None and key.xpub.slip132_script}
    if not hints:
        return ()
    shape: list[str] = []
    node: _Node | None = root
    while node is not None and type(node) in _WRAPPERS:
        shape.append(_WRAPPERS[type(node)])
        node = node.inner if isinstance(node, _Sh | _Wsh) else None
    if any(tuple(shape) != _SCRIPT_SHAPES[hint] for hint in hints):
        return ("SLIP132_VERSION", "SLIP132_SCRIPT_MISMATCH")
    return ("SLIP132_VERSION",)


# --- wallet files ----------------------------------------------------------------------------------------------

MAX_WALLET_FILE_BYTES = 1 << 20


def parse_wallets(content: str, source: str, *, network: Network | str | None = None) -> list[Descriptor]:
    """The descriptors of a wallet file's text: YAML/JSON (``{wallets: [{name, descriptor}]}``) or one per line.

    In the line form, blank lines and lines starting with ``#`` are skipped and a ``# comment`` may follow a
    descriptor after a space. Raises ``DESCRIPTOR_WALLET_FILE_INVALID`` or the descriptor's own error, with the
    wallet (name or line) named.
    """
    first = next(
        (line.strip() for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")), ""
    )
    structured = first.startswith(("{", "[", "wallets:", "wallets :", "- "))
    entries = _structured_entries(content, source) if structured else _line_entries(content, source)
    if not entries:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason="no descriptor in it")
    names: set[str] = set()
    wallets = []
    for where, wallet_name, text, entry_network in entries:
        if wallet_name is not None:
            if wallet_name in names:
                raise InputError(
                    "DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"wallet {wallet_name!r} twice"
                )
            names.add(wallet_name)
        try:
            descriptor = parse_descriptor(text, entry_network or network, name=wallet_name)
        except InputError as exc:
            reason = f"{where}: {exc.code}: {exc.message_en}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason) from exc
        wallets.append(descriptor)
    return wallets


_Entry = tuple[str, str | None, str, str | None]  # (where, name, descriptor, network)


def _line_entries(content: str, source: str) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, line in enumerate(content.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        descriptor, _, comment = stripped.partition(" ")
        if comment.strip() and not comment.strip().startswith("#"):
            reason = f"line {number}: text after the descriptor (a comment starts with '#')"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        entries.append((f"line {number}", None, descriptor, None))
    return entries


def _structured_entries(content: str, source: str) -> list[_Entry]:
    data: Any = None
    if content.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(content)
        except ValueError:
            data = None  # YAML's flow form, {wallets: [...]}, is not JSON
    if data is None:
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError as exc:
            reason = f"not valid YAML or JSON: {str(exc)[:200]}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason) from None
    items = data.get("wallets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason="'wallets' must be a list")
    entries: list[_Entry] = []
    for number, item in enumerate(items, start=1):
        where = f"wallet {number}"
        if isinstance(item, str):
            entries.append((where, None, item, None))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("descriptor"), str):
            reason = f"{where} needs a 'descriptor' string"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        unknown = set(item) - {"name", "descriptor", "network"}
        if unknown:
            reason = f"{where} has unknown field(s) {sorted(map(str, unknown))}"
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=reason)
        wallet_name = item.get("name")
        entry_network = item.get("network")
        if wallet_name is not None and not isinstance(wallet_name, str):
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"{where}: 'name' is not text")
        if entry_network is not None and not isinstance(entry_network, str):
            raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=source, reason=f"{where}: 'network' is not text")
        entries.append((f"wallet {wallet_name or number}", wallet_name, item["descriptor"], entry_network))
    return entries


def load_wallets(path: str | Path, *, network: Network | str | None = None) -> list[Descriptor]:
    """Read a wallet file (YAML, JSON or one descriptor per line). The only function here that does I/O."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_WALLET_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError("INPUT_UNREADABLE", source=str(file), reason=exc.strerror or type(exc).__name__) from exc
    if len(raw) > MAX_WALLET_FILE_BYTES:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=str(file), reason="larger than 1 MiB")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("DESCRIPTOR_WALLET_FILE_INVALID", source=str(file), reason="not UTF-8 text") from None
    return parse_wallets(content, str(file), network=network)


def parse_wallet_argument(value: str, *, network: Network | str | None = None) -> list[Descriptor]:
    """``--wallet``: a wallet file's path, or a descriptor written out."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("FIELD_TYPE_INVALID", field="--wallet", expected="a wallet file or a descriptor")
    try:
        is_file = len(value) < 4096 and Path(value).is_file()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        return load_wallets(value, network=network)
    if _NAME.match(value.strip()) and "(" in value:
        return [parse_descriptor(value, network)]
    raise InputError("INPUT_UNREADABLE", source=value[:80], reason="neither a wallet file nor a descriptor")
