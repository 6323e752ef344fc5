"""The parsed descriptor: :class:`Descriptor` derives its scripts and addresses and decides, with
:meth:`Descriptor.match_derivation`, whether an output a PSBT claims as the wallet's is provably so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mamori.chains.bitcoin.address import ScriptKind, describe_script, script_to_address
from mamori.chains.bitcoin.descriptor.keys import MAX_INDEX, DescriptorKey
from mamori.chains.bitcoin.descriptor.nodes import Node, Sh, Wsh
from mamori.chains.bitcoin.networks import Network
from mamori.errors import InputError

_SCRIPT_CACHE_LIMIT = 200_000  # derived scripts kept per descriptor before the cache is emptied

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
    root: Node
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
        if isinstance(root, Sh):
            redeem = root.inner.script(branch, index)
            if isinstance(root.inner, Wsh):
                witness = root.inner.inner.script(branch, index)
        elif isinstance(root, Wsh):
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
