"""The script nodes a descriptor parses into (pk, pkh, wpkh, multi, sh, wsh, tr and its script tree, raw/addr),
each deriving its script at a (branch, index), and the script-building helpers they share."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from coincurve import PublicKey

from mamori.chains.bitcoin.address import p2pkh_script, p2sh_script, p2tr_script, p2wpkh_script, p2wsh_script
from mamori.chains.bitcoin.descriptor.keys import DescriptorKey
from mamori.chains.bitcoin.script import hash160
from mamori.chains.evm.crypto import SECP256K1_N
from mamori.errors import InputError


@dataclass(frozen=True, slots=True)
class Pk:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        key = self.key.pubkey_at(branch, index)
        return bytes((len(key),)) + key + b"\xac"


@dataclass(frozen=True, slots=True)
class Pkh:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        return p2pkh_script(hash160(self.key.pubkey_at(branch, index)))


@dataclass(frozen=True, slots=True)
class Wpkh:
    key: DescriptorKey

    def script(self, branch: int, index: int) -> bytes:
        return p2wpkh_script(hash160(self.key.pubkey_at(branch, index)))


@dataclass(frozen=True, slots=True)
class Multi:
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
class Sh:
    inner: Node

    def script(self, branch: int, index: int) -> bytes:
        return p2sh_script(hash160(self.inner.script(branch, index)))


@dataclass(frozen=True, slots=True)
class Wsh:
    inner: Node

    def script(self, branch: int, index: int) -> bytes:
        return p2wsh_script(hashlib.sha256(self.inner.script(branch, index)).digest())


@dataclass(frozen=True, slots=True)
class TapBranch:
    left: TapTree
    right: TapTree

    def leaf_hash(self, branch: int, index: int) -> bytes:
        left, right = self.left.leaf_hash(branch, index), self.right.leaf_hash(branch, index)
        return _tagged_hash("TapBranch", min(left, right) + max(left, right))


@dataclass(frozen=True, slots=True)
class TapLeaf:
    script_node: Node

    def leaf_hash(self, branch: int, index: int) -> bytes:
        script = self.script_node.script(branch, index)
        return _tagged_hash("TapLeaf", b"\xc0" + _compact_size(len(script)) + script)


@dataclass(frozen=True, slots=True)
class Tr:
    key: DescriptorKey
    tree: TapTree | None

    def script(self, branch: int, index: int) -> bytes:
        internal = self.key.pubkey_at(branch, index)
        merkle_root = self.tree.leaf_hash(branch, index) if self.tree is not None else b""
        tweak = _tagged_hash("TapTweak", internal + merkle_root)
        if int.from_bytes(tweak, "big") >= SECP256K1_N:  # probability ~2^-128
            raise InputError("DESCRIPTOR_INDEX_INVALID", index=index, branch=branch, reason="taproot tweak overflow")
        output = PublicKey(b"\x02" + internal).add(tweak).format(compressed=True)[1:]
        return p2tr_script(output)


@dataclass(frozen=True, slots=True)
class Fixed:
    """raw(HEX) or addr(ADDR): one script whatever the index."""

    function: str
    argument: str
    fixed_script: bytes

    def script(self, branch: int, index: int) -> bytes:
        del branch, index  # one script for every position
        return self.fixed_script


Node = Pk | Pkh | Wpkh | Multi | Sh | Wsh | Tr | Fixed
TapTree = TapBranch | TapLeaf


def _push_number(value: int) -> bytes:
    """A minimal script number push: OP_1..OP_16, else the little-endian bytes."""
    if 1 <= value <= 16:
        return bytes((0x50 + value,))
    data = value.to_bytes((value.bit_length() + 8) // 8, "little")
    return bytes((len(data),)) + data


def script_size(node: Node) -> int:
    """The size of a node's script, known at parse time (derived keys are 33 bytes, 32 x-only)."""
    if isinstance(node, Pk):
        return _key_size(node.key) + 2
    if isinstance(node, Multi):
        numbers = len(_push_number(node.threshold)) + len(_push_number(len(node.keys)))
        return numbers + sum(_key_size(key) + 1 for key in node.keys) + 1
    return {Pkh: 25, Wpkh: 22, Wsh: 34, Sh: 23, Tr: 34}.get(type(node), 0)


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
