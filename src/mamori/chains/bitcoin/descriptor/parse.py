"""Parsing an output descriptor's text into a :class:`Descriptor`: the script expressions and where each may
appear, the checksum, the network the keys imply, and the notes reported with it."""

from __future__ import annotations

import re
from enum import Enum

from mamori.chains.bitcoin.address import decode_address
from mamori.chains.bitcoin.descriptor.checksum import CHECKSUM_CHARSET, descriptor_checksum
from mamori.chains.bitcoin.descriptor.keys import HEX, DescriptorKey, parse_key
from mamori.chains.bitcoin.descriptor.model import Descriptor
from mamori.chains.bitcoin.descriptor.nodes import (
    Fixed,
    Multi,
    Node,
    Pk,
    Pkh,
    Sh,
    TapBranch,
    TapLeaf,
    TapTree,
    Tr,
    Wpkh,
    Wsh,
    script_size,
)
from mamori.chains.bitcoin.networks import Network, parse_network
from mamori.errors import InputError

MAX_DESCRIPTOR_LENGTH = 100_000
MAX_TAPTREE_DEPTH = 128  # BIP-341

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
NAME = re.compile(r"[a-z_][a-z0-9_]*")
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

    def script(self, ctx: _Ctx) -> Node:
        match = NAME.match(self.text, self.pos)
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

    def body(self, name: str, ctx: _Ctx) -> Node:
        segwit = ctx in (_Ctx.WSH, _Ctx.TAP) or name == "wpkh"
        if name == "pk":
            return Pk(self.key(segwit=segwit, xonly=ctx is _Ctx.TAP))
        if name == "pkh":
            return Pkh(self.key(segwit=segwit))
        if name == "wpkh":
            return Wpkh(self.key(segwit=True))
        if name == "sh":
            inner = self.script(_Ctx.SH)
            if script_size(inner) > 520:
                raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function="sh", reason="redeemScript above 520 bytes")
            return Sh(inner)
        if name == "wsh":
            return Wsh(self.script(_Ctx.WSH))
        if name in ("multi", "sortedmulti", "multi_a", "sortedmulti_a"):
            return self.multi(name, ctx, segwit)
        if name == "tr":
            key = self.key(segwit=True, xonly=True)
            tree = None
            if self.peek() == ",":
                self.pos += 1
                tree = self.tree(0)
            return Tr(key, tree)
        argument = self.argument()
        if name == "raw":
            if not argument or len(argument) % 2 or not HEX.fullmatch(argument):
                raise InputError(
                    "DESCRIPTOR_ARGUMENT_INVALID", function="raw", reason="not an even number of hex digits"
                )
            return Fixed("raw", argument, bytes.fromhex(argument))
        try:
            decoded = decode_address(argument)
        except InputError as exc:
            reason = str(exc.details.get("reason", "not a Bitcoin address"))
            raise InputError("DESCRIPTOR_ARGUMENT_INVALID", function="addr", reason=reason) from None
        return Fixed("addr", decoded.address, decoded.script_pubkey)

    def argument(self) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",)}{(":
            end += 1
        argument = self.text[self.pos : end]
        self.pos = end
        return argument

    def multi(self, name: str, ctx: _Ctx, segwit: bool) -> Multi:
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
        return Multi(threshold, tuple(keys), name.startswith("sorted"), name.endswith("_a"))

    def tree(self, depth: int) -> TapTree:
        if depth > MAX_TAPTREE_DEPTH:
            raise self.fail(f"script tree deeper than {MAX_TAPTREE_DEPTH}")
        if self.peek() != "{":
            return TapLeaf(self.script(_Ctx.TAP))
        self.pos += 1
        left = self.tree(depth + 1)
        self.expect(",")
        right = self.tree(depth + 1)
        self.expect("}")
        return TapBranch(left, right)

    def key(self, *, segwit: bool, xonly: bool = False) -> DescriptorKey:
        at = self.pos
        text = self.argument()
        if self.peek() == "(" and text in _UNSUPPORTED:
            raise InputError("DESCRIPTOR_UNSUPPORTED", function=text, reason=_UNSUPPORTED[text])
        if self.peek() == "(":
            shown = text[:20] if NAME.fullmatch(text) else "…"  # never echo what may be a private key
            raise self.fail(f"expected a key, found the script expression {shown}(…)", at)
        if not text:
            raise self.fail("expected a key")
        key = parse_key(text, segwit=segwit, xonly=xonly, ordinal=len(self.keys) + 1)
        self.keys.append(key)
        return key


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
        if len(given) != 8 or any(c not in CHECKSUM_CHARSET for c in given):
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


def _network(root: Node, keys: tuple[DescriptorKey, ...], chosen: Network | None) -> Network | None:
    families = {key.xpub.testnet for key in keys if key.xpub is not None}
    if len(families) > 1:
        raise InputError("DESCRIPTOR_NETWORK_MISMATCH", found="mainnet and test-network", expected="one network")
    if isinstance(root, Fixed) and root.function == "addr":
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
_WRAPPERS: dict[type, str] = {Sh: "sh", Wsh: "wsh", Wpkh: "wpkh"}


def _notes(root: Node, keys: tuple[DescriptorKey, ...]) -> tuple[str, ...]:
    """SLIP132_VERSION when a key was written ypub/zpub…; SLIP132_SCRIPT_MISMATCH when its hint names another script."""
    hints = {key.xpub.slip132_script for key in keys if key.xpub is not None and key.xpub.slip132_script}
    if not hints:
        return ()
    shape: list[str] = []
    node: Node | None = root
    while node is not None and type(node) in _WRAPPERS:
        shape.append(_WRAPPERS[type(node)])
        node = node.inner if isinstance(node, Sh | Wsh) else None
    if any(tuple(shape) != _SCRIPT_SHAPES[hint] for hint in hints):
        return ("SLIP132_VERSION", "SLIP132_SCRIPT_MISMATCH")
    return ("SLIP132_VERSION",)
